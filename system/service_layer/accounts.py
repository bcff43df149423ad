"""Accounts and sessions: create, log in, authenticate a bearer token, revoke (SEC-02, SEC-03).

Passwords are hashed with Argon2id; staff accounts need a TOTP code as well.
Five failed logins lock an account for ten minutes; a session token ends after
30 idle minutes, after its lifetime, or when revoked. Every login, success or
failure, is audited (SEC-04) without the password, the code or the token
(SEC-07); a failed attempt on an unknown username does not record the name
typed, since people sometimes type their password there.

Tokens are ``secrets.token_urlsafe(32)``; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from system.adapters.accounts_repo import AccountRecord
from system.adapters.db import DatabaseUnavailable
from system.adapters.migrate import head_revision
from system.adapters.ops_repo import Totals
from system.adapters.password_list import common_passwords
from system.domain.accounts import (
    AGENCY_ACCOUNT_ROLES,
    TOTP_REQUIRED_ROLES,
    TOTP_SECRET_BYTES,
    AccountRole,
    AuthenticationFailed,
    LoginPolicy,
    Principal,
    after_failure,
    decode_totp_secret,
    encode_totp_secret,
    is_locked,
    needs_touch,
    provisioning_uri,
    session_ended,
    verify_totp,
)
from system.domain.audit import AuditEvent
from system.domain.errors import InvalidInput, NotFound, Problem
from system.domain.passwords import password_problems
from system.domain.rules import check_text
from system.domain.stores import IntegrityError
from system.service_layer.context import ServiceContext
from system.service_layer.sessions import LiveSession
from system.service_layer.unit_of_work import UnitOfWork

POLICY = LoginPolicy()
MAX_TOKEN_CHARS = 128


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # Argon2id with the library's current recommended parameters


@cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown usernames, so timing does not reveal them."""
    return _hasher().hash(secrets.token_urlsafe(16))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewAccount:
    """A created account. ``totp_secret`` is shown once and never again."""

    account_id: int
    username: str
    role: AccountRole
    totp_secret: str | None
    totp_uri: str | None


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_at: datetime


def create_account(
    ctx: ServiceContext,
    *,
    username: str,
    password: str,
    role: AccountRole | str,
    subject_id: int,
    with_totp: bool = False,
    created_by: str = "operator:cli",
    source_ip: str | None = None,
) -> NewAccount:
    """Create a login for an existing officer, staff member or resident.

    Staff roles always get a TOTP secret (SEC-02); residents get one when
    ``with_totp``. The secret is returned here once, for enrolment.
    """
    problems = check_text(
        username, field="username", rule="SEC-02", max_chars=254, single_line=True
    )
    problems += _password_problems(password, username=username)
    if role not in AccountRole._value2member_map_:
        allowed = ", ".join(r.value for r in AccountRole)
        problems.append(Problem("role", "SEC-01", f"must be one of: {allowed}"))
    if problems:
        raise InvalidInput(problems)
    role = AccountRole(role)
    secret = None
    if role in TOTP_REQUIRED_ROLES or with_totp:
        secret = encode_totp_secret(secrets.token_bytes(TOTP_SECRET_BYTES))
    password_hash = _hasher().hash(password)
    sealed = None if secret is None else ctx.stores.secrets.seal(secret, context=username)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        _check_subject(uow, role, subject_id)
        accounts = uow.accounts
        if accounts.username_taken(username):
            raise InvalidInput([Problem("username", "SEC-02", "this username is taken")])
        if accounts.subject_taken(role, subject_id):
            raise InvalidInput(
                [Problem("subject_id", "SEC-02", f"this {role.value} already has an account")]
            )
        account_id = accounts.add(
            username=username,
            password_hash=password_hash,
            role=role,
            subject_id=subject_id,
            totp_secret=sealed,
            now=now,
        )
        uow.audit.record(
            AuditEvent(
                actor=created_by,
                role="admin",
                source_ip=source_ip,
                object=f"account:{account_id}",
                action="account.create",
                details={"role": role.value, "totp": secret is not None},
            ),
            now=now,
        )
        uow.commit()
    uri = None if secret is None else provisioning_uri(secret, username=username)
    return NewAccount(account_id, username, role, secret, uri)


def _password_problems(password: object, *, username: object) -> list[Problem]:
    if not isinstance(password, str):
        return [Problem("password", "SEC-02", "must be text")]
    return password_problems(
        password,
        username=username if isinstance(username, str) else "",
        common=common_passwords(),
        min_chars=POLICY.min_password_chars,
        max_chars=POLICY.max_password_chars,
    )


def _check_subject(uow: UnitOfWork, role: AccountRole, subject_id: int) -> None:
    """The account's subject exists and holds the same role."""
    if role is AccountRole.RESIDENT:
        found = uow.residents.get(subject_id) is not None
    elif role in AGENCY_ACCOUNT_ROLES:
        officer = uow.officers.get(subject_id)
        found = officer is not None and officer.role.value == role.value
    else:
        staff = uow.staff.get(subject_id)
        found = staff is not None and staff.role.value == role.value
    if not found:
        raise NotFound(f"no {role.value} with id {subject_id}", field="subject_id")


def login(
    ctx: ServiceContext,
    *,
    username: str,
    password: str,
    totp_code: str | None,
    source_ip: str | None,
) -> IssuedToken:
    """Exchange credentials for a bearer token, or raise :class:`AuthenticationFailed`.

    The password is checked outside any transaction (Argon2 is slow on purpose)
    so a login never holds the database's write lock while hashing.

    Every attempt runs exactly one Argon2 verification, whatever the account's
    state: unknown and inactive usernames against a dummy hash, locked accounts
    against their own. Otherwise the answer's timing would tell which usernames
    exist and which accounts are locked (a locked account answered in 2-12 ms,
    an unknown username in 230-600 ms).
    """
    if not isinstance(username, str) or not isinstance(password, str) or len(username) > 254:
        _verify_password(_dummy_hash(), password if isinstance(password, str) else "")
        raise AuthenticationFailed()
    now = ctx.clock.now()
    with ctx.uow(read_only=True) as uow:
        account = uow.accounts.by_username(username)
    known = account is not None and account.active
    password_ok = _verify_password(
        account.password_hash if account is not None and known else _dummy_hash(), password
    )
    if account is None or not known:
        _record_failure(ctx, None, reason="unknown_account", source_ip=source_ip)
        raise AuthenticationFailed()
    if is_locked(account.locked_until, now=now):
        _record_failure(ctx, account, reason="locked", source_ip=source_ip, count=False)
        raise AuthenticationFailed()
    if not password_ok:
        _record_failure(ctx, account, reason="password", source_ip=source_ip)
        raise AuthenticationFailed()
    step = None
    if account.totp_secret is not None or account.role in TOTP_REQUIRED_ROLES:
        step = _verify_second_factor(ctx, account, totp_code, now=now)
        if step is None:
            _record_failure(ctx, account, reason="totp", source_ip=source_ip)
            raise AuthenticationFailed()
    return _open_session(ctx, account, totp_step=step, password=password, source_ip=source_ip)


def _verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _verify_second_factor(
    ctx: ServiceContext, account: AccountRecord, code: str | None, *, now: datetime
) -> int | None:
    if account.totp_secret is None or code is None:
        return None  # a staff account without a secret cannot log in (SEC-02)
    try:
        secret = ctx.stores.secrets.open(account.totp_secret, context=account.username)
    except IntegrityError:
        return None  # a sealed secret edited or copied from another account opens nothing
    return verify_totp(
        decode_totp_secret(secret),
        code.strip(),
        at=now,
        last_step=account.totp_last_step,
    )


def _open_session(
    ctx: ServiceContext,
    account: AccountRecord,
    *,
    totp_step: int | None,
    password: str,
    source_ip: str | None,
) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    now = ctx.clock.now()
    expires_at = now + POLICY.token_lifetime
    new_hash = (
        _hasher().hash(password) if _hasher().check_needs_rehash(account.password_hash) else None
    )
    with ctx.uow() as uow:
        accounts = uow.accounts
        current = accounts.get(account.id, for_update=True)
        assert current is not None
        if totp_step is not None and (current.totp_last_step or -1) >= totp_step:
            raise AuthenticationFailed()  # the same code raced in twice: refuse the replay
        accounts.record_success(account.id, totp_step=totp_step, password_hash=new_hash)
        accounts.add_token(
            account_id=account.id, token_hash=token_hash(token), now=now, expires_at=expires_at
        )
        uow.audit.record(
            AuditEvent(
                actor=f"account:{account.id}",
                role=account.role.value,
                source_ip=source_ip,
                object=f"account:{account.id}",
                action="auth.login",
            ),
            now=now,
        )
        uow.commit()
    return IssuedToken(token, expires_at)


def _record_failure(
    ctx: ServiceContext,
    account: AccountRecord | None,
    *,
    reason: str,
    source_ip: str | None,
    count: bool = True,
) -> None:
    """Audit a failed login and, for a known account, count it towards the lockout."""
    now = ctx.clock.now()
    details: dict[str, object] = {"reason": reason}
    with ctx.uow() as uow:
        if account is not None and count:
            accounts = uow.accounts
            current = accounts.get(account.id, for_update=True)
            assert current is not None
            outcome = after_failure(current.failed_logins, now=now, policy=POLICY)
            accounts.record_failure(
                account.id, failed_logins=outcome.failed_logins, locked_until=outcome.locked_until
            )
            details["locked"] = outcome.locked
        uow.audit.record(
            AuditEvent(
                actor="anonymous" if account is None else f"account:{account.id}",
                role="unknown" if account is None else account.role.value,
                source_ip=source_ip,
                object="account:unknown" if account is None else f"account:{account.id}",
                action="auth.login",
                outcome="failure",
                details=details,
            ),
            now=now,
        )
        uow.commit()


def authenticate(ctx: ServiceContext, *, token: str) -> Principal:
    """The account behind a live bearer token; raises :class:`AuthenticationFailed`.

    A session read in the last few seconds is answered from memory
    (:mod:`system.service_layer.sessions`) when its SEC-03 rules allow it.
    """
    found = remembered_principal(ctx, token=token)
    if found is not None:
        return found
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise AuthenticationFailed("missing or invalid bearer token")
    now = ctx.clock.now()
    digest = token_hash(token)
    cache = ctx.sessions
    generation = cache.generation  # a revocation during the read below voids what it finds
    with ctx.uow(read_only=True) as uow:
        record = uow.accounts.session(digest)
    if record is None or not record.active:
        raise AuthenticationFailed("missing or invalid bearer token")
    ended = session_ended(
        last_used_at=record.last_used_at,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
        now=now,
        policy=POLICY,
    )
    if ended is not None:
        cache.forget(digest)
        raise AuthenticationFailed(f"session {ended}: log in again")
    last_used_at = record.last_used_at
    if needs_touch(last_used_at, now=now, policy=POLICY):
        with ctx.uow() as uow:
            uow.accounts.touch_token(record.token_id, now=now)
            uow.commit()
        last_used_at = now
    principal = Principal(record.account_id, record.username, record.role, record.subject_id)
    cache.put(
        digest,
        LiveSession(principal, record.token_id, last_used_at, record.expires_at),
        read_at_generation=generation,
    )
    return principal


def remembered_principal(ctx: ServiceContext, *, token: str) -> Principal | None:
    """The principal from this process's session memory, or ``None``.

    No I/O: safe to call on the event loop before sending a request to a thread.
    """
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    return ctx.sessions.get(token_hash(token), now=ctx.clock.now(), policy=POLICY)


def revocation_epoch(ctx: ServiceContext) -> int:
    """The count of committed revocations (what each API process's revocation watcher polls)."""
    with ctx.uow(read_only=True) as uow:
        return uow.accounts.revocation_epoch()


def logout(ctx: ServiceContext, *, token: str, source_ip: str | None = None) -> None:
    """Revoke the token presented (idempotent)."""
    principal = authenticate(ctx, token=token)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        accounts = uow.accounts
        record = accounts.token(token_hash(token))
        assert record is not None
        accounts.revoke_token(record.id, now=now)
        accounts.count_revocation()
        uow.audit.record(
            AuditEvent(
                actor=principal.actor,
                role=principal.role.value,
                source_ip=source_ip,
                object=principal.actor,
                action="auth.logout",
            ),
            now=now,
        )
        uow.commit()
    ctx.sessions.forget(token_hash(token))  # after the commit: see SessionCache


def revoke_all_tokens(
    ctx: ServiceContext, *, account_id: int, revoked_by: str, source_ip: str | None = None
) -> int:
    """End every session of an account at once; returns how many were live."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        accounts = uow.accounts
        if accounts.get(account_id) is None:
            raise NotFound(f"no account {account_id}", field="account_id")
        revoked = accounts.revoke_all_tokens(account_id, now=now)
        accounts.count_revocation()
        uow.audit.record(
            AuditEvent(
                actor=revoked_by,
                role="admin",
                source_ip=source_ip,
                object=f"account:{account_id}",
                action="auth.revoke_all",
                details={"tokens": revoked},
            ),
            now=now,
        )
        uow.commit()
    ctx.sessions.forget_account(account_id)
    return revoked


def issue_device_token(
    ctx: ServiceContext, *, camera_id: int, issued_by: str, source_ip: str | None = None
) -> str:
    """A bearer token a camera uses to upload clips; shown once."""
    token = secrets.token_urlsafe(32)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        accounts = uow.accounts
        if not accounts.camera_exists(camera_id):
            raise NotFound(f"no active camera {camera_id}", field="camera_id")
        accounts.add_device_token(camera_id=camera_id, token_hash=token_hash(token), now=now)
        uow.audit.record(
            AuditEvent(
                actor=issued_by,
                role="admin",
                source_ip=source_ip,
                object=f"camera:{camera_id}",
                action="device.token_issued",
            ),
            now=now,
        )
        uow.commit()
    return token


def authenticate_device(ctx: ServiceContext, *, token: str) -> int:
    """The camera id behind a device token; raises :class:`AuthenticationFailed`."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise AuthenticationFailed("missing or invalid device token")
    with ctx.uow(read_only=True) as uow:
        camera_id = uow.accounts.device_camera(token_hash(token))
    if camera_id is None:
        raise AuthenticationFailed("missing or invalid device token")
    return camera_id


# --- operator probes (readiness and queue depth for /readyz and /metrics) ------------
# They live here until an operations module exists; they hold no account logic.


@dataclass(frozen=True)
class Readiness:
    database: bool
    revision: str | None
    head: str

    @property
    def ready(self) -> bool:
        return self.database and self.revision == self.head


def readiness(ctx: ServiceContext) -> Readiness:
    """Whether the database answers and its schema is at the newest migration."""
    head = _head_revision()
    try:
        revision = ctx.schema_revision()
    except DatabaseUnavailable:
        return Readiness(False, None, head)
    return Readiness(True, revision, head)


@cache
def _head_revision() -> str:
    return head_revision()  # reads the migration scripts: once per process is enough


@dataclass(frozen=True)
class OperationsFigures:
    """What ``/metrics`` reports about the stored data (operators only)."""

    jobs: dict[str, int]  # by status
    queue_lag_s: float  # how long the longest-waiting due job has waited (0: none)
    totals: Totals


def operations_figures(ctx: ServiceContext) -> OperationsFigures:
    now = ctx.clock.now()
    with ctx.uow(read_only=True) as uow:
        oldest = uow.jobs.oldest_due(now)
        return OperationsFigures(
            jobs=uow.jobs.counts(),
            queue_lag_s=0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()),
            totals=uow.operations.totals(),
        )
