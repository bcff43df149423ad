"""Metrics scrape tokens: long-lived operator credentials that open ``/metrics`` only (SEC-01).

A Prometheus server cannot log in with a password and a TOTP code, and an
admin's session ends after 30 idle minutes (SEC-03). An admin therefore issues
a scrape token: ``metrics.`` followed by 43 random URL-safe characters, shown
once, stored as its SHA-256, revocable. It is not a session: no other route
accepts it, and agency accounts still cannot read ``/metrics`` (CON-03).
Issuing and revoking are audited; scrapes are not (they come every few seconds).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from system.adapters.admin_repo import MetricsToken
from system.domain.accounts import AuthenticationFailed
from system.domain.errors import InvalidInput, NotFound
from system.domain.rules import check_text
from system.service_layer.accounts import MAX_TOKEN_CHARS, token_hash
from system.service_layer.attempts import AuditedAttempt
from system.service_layer.context import ServiceContext

PREFIX = "metrics."
"""Every scrape token starts so; account tokens never contain a dot."""


@dataclass(frozen=True)
class IssuedMetricsToken:
    token_id: int
    label: str
    token: str  # shown once


def is_metrics_token(token: str) -> bool:
    return token.startswith(PREFIX)


def issue_metrics_token(
    ctx: ServiceContext, *, label: str, issued_by: str, source_ip: str | None = None
) -> IssuedMetricsToken:
    """A new scrape token named ``label`` (e.g. the Prometheus server it is for)."""
    now = ctx.clock.now()
    token = PREFIX + secrets.token_urlsafe(32)
    with ctx.uow() as uow:
        attempt = AuditedAttempt(
            uow, now, issued_by, "admin", "metrics-token:new", "metrics_token.issue", source_ip
        )
        with attempt.checks():
            problems = check_text(
                label, field="label", rule="SEC-01", max_chars=100, single_line=True
            )
            if problems:
                raise InvalidInput(problems)
        token_id = uow.metrics_tokens.add(
            token_hash=token_hash(token), label=label.strip(), created_by=issued_by, now=now
        )
        attempt.record(token_id=token_id, label=label.strip())
        uow.commit()
    return IssuedMetricsToken(token_id, label.strip(), token)


def list_metrics_tokens(ctx: ServiceContext) -> list[MetricsToken]:
    with ctx.uow(read_only=True) as uow:
        return uow.metrics_tokens.all()


def revoke_metrics_token(
    ctx: ServiceContext, *, token_id: int, revoked_by: str, source_ip: str | None = None
) -> MetricsToken:
    """Revoke at once; revoking twice is not an error (the first time stands)."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        attempt = AuditedAttempt(
            uow,
            now,
            revoked_by,
            "admin",
            f"metrics-token:{token_id}",
            "metrics_token.revoke",
            source_ip,
        )
        tokens = uow.metrics_tokens
        with attempt.checks():
            if tokens.get(token_id) is None:
                raise NotFound(f"no metrics token {token_id}", field="token_id")
        changed = tokens.revoke(token_id, now=now, by=revoked_by)
        attempt.record(changed=changed)
        uow.commit()
        found = tokens.get(token_id)
    assert found is not None
    return found


def authenticate_metrics_token(ctx: ServiceContext, *, token: str) -> int:
    """The id of a live scrape token; raises :class:`AuthenticationFailed`."""
    if not is_metrics_token(token) or len(token) > MAX_TOKEN_CHARS:
        raise AuthenticationFailed("missing or invalid metrics token")
    with ctx.uow(read_only=True) as uow:
        found = uow.metrics_tokens.live(token_hash(token))
    if found is None:
        raise AuthenticationFailed("missing or invalid metrics token")
    return found
