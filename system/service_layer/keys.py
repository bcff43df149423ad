"""Key rings and key rotation for everything encrypted at rest (EVD-05, SEC-02).

Three rings (see :mod:`system.adapters.stores`): ``platform`` (clip store and
outbox), ``agency`` (evidence store) and ``accounts`` (sealed TOTP secrets).
A rotation adds a fresh key to a file-backed ring, makes it active, and
rewraps every object's data key (or reseals every TOTP secret) under it; the
content itself is never re-encrypted. Old keys stay in the ring so that an
object a slower process wrote meanwhile still opens; rotating again rewraps
such stragglers. A ring given in settings is changed by the operator (see
docs/operations.md); ``rotate_keys(new_key=False)`` then rewraps under the
ring's active key. Every rotation is audited with its counts, never with keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from system.adapters.stores import KEY_DOMAINS, SETTING_FOR_DOMAIN, KeyRingFile
from system.domain.errors import RuleViolation, invalid
from system.domain.stores import RewrapSummary, StoreError
from system.service_layer.attempts import AuditedAttempt
from system.service_layer.context import ServiceContext
from system.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class KeyRingInfo:
    """A ring as an operator may see it: ids only, never key material."""

    domain: str
    managed_by: str  # "file" (rotated here) or "settings" (the operator edits the setting)
    key_ids: tuple[str, ...]
    active: str


def key_rings(ctx: ServiceContext) -> list[KeyRingInfo]:
    found = []
    for domain, source in ctx.stores.key_sources.items():
        ring = source.current()
        found.append(KeyRingInfo(domain, source.managed_by, tuple(sorted(ring.keys)), ring.active))
    return found


@dataclass(frozen=True)
class RotationReport:
    domain: str
    key_added: bool
    active: str
    previous_active: str
    # Per store ("clips", "outbox", "evidence", or "totp_secrets"): what was rewrapped.
    stores: dict[str, RewrapSummary] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(len(s.failed) for s in self.stores.values())


def rotate_keys(
    ctx: ServiceContext,
    *,
    domain: str,
    new_key: bool = True,
    actor: str,
    role: str = "admin",
    source_ip: str | None = None,
) -> RotationReport:
    """Add a key to ``domain``'s ring (when ``new_key``) and rewrap everything under it."""
    if domain not in KEY_DOMAINS:
        raise invalid("domain", "EVD-05", f"must be one of: {', '.join(KEY_DOMAINS)}")
    source = ctx.stores.key_sources[domain]

    def attempt(uow: UnitOfWork) -> AuditedAttempt:
        obj = f"keyring:{domain}"
        return AuditedAttempt(uow, ctx.clock.now(), actor, role, obj, "keys.rotate", source_ip)

    with ctx.uow() as uow, attempt(uow).checks():  # a refusal is audited and committed
        if new_key and not isinstance(source, KeyRingFile):
            raise RuleViolation(
                f"the {domain} key ring comes from {SETTING_FOR_DOMAIN[domain]}: add the new "
                "key there (made active), restart every process, then rewrap with "
                "new_key false",
                rule="EVD-05",
                field="new_key",
            )
    previous = source.current().active
    if new_key:
        assert isinstance(source, KeyRingFile)
        source.add_key()
    active = source.current().active
    stores = {name: store.rewrap_all() for name, store in ctx.stores.stores_of(domain).items()}
    if domain == "accounts":
        stores["totp_secrets"] = _reseal_totp_secrets(ctx)
    report = RotationReport(domain, new_key, active, previous, stores)
    with ctx.uow() as uow:
        attempt(uow).record(
            "ok" if report.failed == 0 else "partial",
            key_added=new_key,
            active=active,
            previous_active=previous,
            **{
                name: {"rewrapped": s.rewrapped, "unchanged": s.unchanged, "failed": len(s.failed)}
                for name, s in stores.items()
            },
        )
        uow.commit()
    return report


def _reseal_totp_secrets(ctx: ServiceContext) -> RewrapSummary:
    """Reseal every TOTP secret not under the active key, one short transaction each."""
    box = ctx.stores.secrets
    with ctx.uow(read_only=True) as uow:
        sealed = uow.sealed_secrets.all()
    rewrapped, unchanged, failed = 0, 0, {}
    for account_id, username, value in sealed:
        try:
            if box.is_current(value):
                unchanged += 1
                continue
            resealed = box.seal(box.open(value, context=username), context=username)
        except StoreError as error:
            failed[f"account:{account_id}"] = error.message
            continue
        with ctx.uow() as uow:
            uow.sealed_secrets.replace_if(account_id, value, resealed)
            uow.commit()
        rewrapped += 1
    return RewrapSummary(rewrapped, unchanged, failed)
