"""Platform administration: accounts, sessions, device tokens, audit-chain verification.

Agencies, retention settings, key rotation and metrics tokens are in
:mod:`system.api.routes.admin_settings`, included here under the same prefix.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from system.api.routes import admin_settings
from system.api.schemas import (
    AccountCreate,
    AccountPublic,
    AuditVerifyPublic,
    DeviceTokenPublic,
    Id,
    RevokedPublic,
)
from system.api.security import AdminAccount, AuditAccount, ServicesDep, SourceIp
from system.service_layer import accounts, audit

router = APIRouter(prefix="/admin", tags=["admin"])
router.include_router(admin_settings.router)


@router.post("/accounts", status_code=status.HTTP_201_CREATED)
async def create_account(
    body: AccountCreate, me: AdminAccount, svc: ServicesDep, source_ip: SourceIp
) -> AccountPublic:
    """Create a login; the TOTP secret is in this answer only."""
    new = await svc(
        accounts.create_account,
        username=body.username,
        password=body.password,
        role=body.role,
        subject_id=body.subject_id,
        with_totp=body.with_totp,
        created_by=me.actor,
        source_ip=source_ip,
    )
    return AccountPublic(
        account_id=new.account_id,
        username=new.username,
        role=new.role.value,
        totp_secret=new.totp_secret,
        totp_uri=new.totp_uri,
    )


@router.post("/accounts/{account_id}/revoke-tokens")
async def revoke_tokens(
    account_id: Id, me: AdminAccount, svc: ServicesDep, source_ip: SourceIp
) -> RevokedPublic:
    revoked = await svc(
        accounts.revoke_all_tokens, account_id=account_id, revoked_by=me.actor, source_ip=source_ip
    )
    return RevokedPublic(revoked=revoked)


@router.post("/cameras/{camera_id}/device-token", status_code=status.HTTP_201_CREATED)
async def issue_device_token(
    camera_id: Id, me: AdminAccount, svc: ServicesDep, source_ip: SourceIp
) -> DeviceTokenPublic:
    token = await svc(
        accounts.issue_device_token, camera_id=camera_id, issued_by=me.actor, source_ip=source_ip
    )
    return DeviceTokenPublic(camera_id=camera_id, device_token=token)


@router.get("/audit/verify")
async def verify_audit(me: AuditAccount, svc: ServicesDep) -> AuditVerifyPublic:
    result = await svc.in_thread(audit.verify_audit_chain, actor=me.actor)  # grows with the log
    return AuditVerifyPublic(
        ok=result.ok,
        entries=result.entries,
        problem=result.problem,
        bad_entry_id=result.bad_entry_id,
    )
