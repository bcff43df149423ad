"""Admin routes for agencies, retention settings, key rotation and metrics scrape tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from system.api.admin_schemas import (
    AgencyCreate,
    AgencyPublic,
    KeyDomain,
    KeyRingPublic,
    KeyRotation,
    KeyRotationPublic,
    MetricsTokenCreate,
    MetricsTokenIssued,
    MetricsTokenPublic,
    RetentionPublic,
    RetentionUpdate,
    RewrapPublic,
)
from system.api.schemas import Id
from system.api.security import AdminAccount, ServicesDep, SourceIp
from system.domain.model import Agency
from system.domain.retention import DEFAULT_POLICY
from system.service_layer import keys, operator_tokens, registration, retention

router = APIRouter()


def _agency(agency: Agency) -> AgencyPublic:
    return AgencyPublic(
        agency_id=agency.id, name=agency.name, county=agency.county, verified=agency.verified
    )


@router.get("/agencies")
async def list_agencies(_: AdminAccount, svc: ServicesDep) -> list[AgencyPublic]:
    return [_agency(a) for a in await svc(registration.list_agencies)]


@router.post("/agencies", status_code=status.HTTP_201_CREATED)
async def register_agency(
    body: AgencyCreate, me: AdminAccount, svc: ServicesDep, source_ip: SourceIp
) -> AgencyPublic:
    """Register a local agency; only a verified one may request video (REQ-05)."""
    agency = await svc(
        registration.register_agency,
        name=body.name,
        county=body.county,
        verified=body.verified,
        registered_by=me.actor,
        source_ip=source_ip,
    )
    return _agency(agency)


async def _set_verified(
    agency_id: int, verified: bool, me: AdminAccount, svc: ServicesDep, source_ip: str
) -> AgencyPublic:
    agency = await svc(
        registration.set_agency_verified,
        agency_id=agency_id,
        verified=verified,
        changed_by=me.actor,
        source_ip=source_ip,
    )
    return _agency(agency)


@router.post("/agencies/{agency_id}/verify")
async def verify_agency(
    agency_id: Id, me: AdminAccount, svc: ServicesDep, source_ip: SourceIp
) -> AgencyPublic:
    return await _set_verified(agency_id, True, me, svc, source_ip)


@router.post("/agencies/{agency_id}/unverify")
async def unverify_agency(
    agency_id: Id, me: AdminAccount, svc: ServicesDep, source_ip: SourceIp
) -> AgencyPublic:
    """Its officers are refused from the next call on (REQ-05); its evidence stays."""
    return await _set_verified(agency_id, False, me, svc, source_ip)


def _retention(
    settings: retention.RetentionSettings, redated: int | None = None
) -> RetentionPublic:
    return RetentionPublic(
        periods_days=settings.policy.as_dict(),
        defaults_days=DEFAULT_POLICY.as_dict(),
        updated_at=settings.updated_at,
        updated_by=settings.updated_by,
        items_redated=redated,
    )


@router.get("/retention")
async def show_retention(_: AdminAccount, svc: ServicesDep) -> RetentionPublic:
    return _retention(await svc(retention.show_retention))


@router.patch("/retention")
async def change_retention(
    body: RetentionUpdate, me: AdminAccount, svc: ServicesDep, source_ip: SourceIp
) -> RetentionPublic:
    """Change evidence retention periods (EVD-03); stored items are re-dated from receipt."""
    change = await svc(
        retention.change_retention, changes=body.periods_days, actor=me.actor, source_ip=source_ip
    )
    return _retention(change.settings, change.items_redated)


@router.get("/keys")
async def list_key_rings(_: AdminAccount, svc: ServicesDep) -> list[KeyRingPublic]:
    """Key ids and the active one per ring; never key material."""
    return [
        KeyRingPublic(
            domain=r.domain, managed_by=r.managed_by, key_ids=list(r.key_ids), active=r.active
        )
        for r in await svc(keys.key_rings)
    ]


@router.post("/keys/{domain}/rotate")
async def rotate_keys(
    domain: Annotated[KeyDomain, Path()],
    body: KeyRotation,
    me: AdminAccount,
    svc: ServicesDep,
    source_ip: SourceIp,
) -> KeyRotationPublic:
    """Add a key (file-backed rings) and rewrap every object's data key under it (EVD-05)."""
    report = await svc(
        keys.rotate_keys, domain=domain, new_key=body.new_key, actor=me.actor, source_ip=source_ip
    )
    return KeyRotationPublic(
        domain=report.domain,
        key_added=report.key_added,
        active=report.active,
        previous_active=report.previous_active,
        stores={
            name: RewrapPublic(rewrapped=s.rewrapped, unchanged=s.unchanged, failed=dict(s.failed))
            for name, s in report.stores.items()
        },
    )


@router.get("/metrics-tokens")
async def list_metrics_tokens(_: AdminAccount, svc: ServicesDep) -> list[MetricsTokenPublic]:
    return [
        MetricsTokenPublic(
            token_id=t.id,
            label=t.label,
            created_by=t.created_by,
            created_at=t.created_at,
            revoked_at=t.revoked_at,
        )
        for t in await svc(operator_tokens.list_metrics_tokens)
    ]


@router.post("/metrics-tokens", status_code=status.HTTP_201_CREATED)
async def issue_metrics_token(
    body: MetricsTokenCreate, me: AdminAccount, svc: ServicesDep, source_ip: SourceIp
) -> MetricsTokenIssued:
    """A scrape token for ``/metrics`` only; shown once, stored hashed (SEC-01)."""
    issued = await svc(
        operator_tokens.issue_metrics_token,
        label=body.label,
        issued_by=me.actor,
        source_ip=source_ip,
    )
    return MetricsTokenIssued(token_id=issued.token_id, label=issued.label, token=issued.token)


@router.delete("/metrics-tokens/{token_id}")
async def revoke_metrics_token(
    token_id: Id, me: AdminAccount, svc: ServicesDep, source_ip: SourceIp
) -> MetricsTokenPublic:
    t = await svc(
        operator_tokens.revoke_metrics_token,
        token_id=token_id,
        revoked_by=me.actor,
        source_ip=source_ip,
    )
    return MetricsTokenPublic(
        token_id=t.id,
        label=t.label,
        created_by=t.created_by,
        created_at=t.created_at,
        revoked_at=t.revoked_at,
    )
