"""Break-glass access to one resident clip by platform staff (SEC-05).

Staff ask (ticket and reason), another admin approves for at most 4 hours,
the requester reads the clip, an admin revokes. The service layer checks and
audits every step; these routes only parse and format.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from system.api.schemas import BreakGlassApprove, BreakGlassCreate, BreakGlassPublic, Id
from system.api.security import AdminAccount, ServicesDep, SourceIp, require_role, subject
from system.domain.accounts import AccountRole, Principal
from system.service_layer import breakglass

router = APIRouter(prefix="/admin/break-glass", tags=["admin"])

StaffAccount = Annotated[
    Principal,
    Depends(require_role(AccountRole.MODERATOR, AccountRole.AUDITOR, AccountRole.ADMIN)),
]


@router.post("", status_code=status.HTTP_201_CREATED)
async def request_access(
    body: BreakGlassCreate, me: StaffAccount, svc: ServicesDep, source_ip: SourceIp
) -> BreakGlassPublic:
    grant_id = await svc(
        breakglass.request_break_glass,
        staff_id=subject(me),
        clip_id=body.clip_id,
        ticket=body.ticket,
        reason=body.reason,
        source_ip=source_ip,
    )
    return BreakGlassPublic(grant_id=grant_id)


@router.post("/{grant_id}/approve")
async def approve_access(
    grant_id: Id, body: BreakGlassApprove, me: AdminAccount, svc: ServicesDep, source_ip: SourceIp
) -> BreakGlassPublic:
    expires_at = await svc(
        breakglass.approve_break_glass,
        admin_id=subject(me),
        grant_id=grant_id,
        minutes=body.minutes,
        source_ip=source_ip,
    )
    return BreakGlassPublic(grant_id=grant_id, expires_at=expires_at)


@router.get(
    "/{grant_id}/clip",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def view_clip(
    grant_id: Id, me: StaffAccount, svc: ServicesDep, source_ip: SourceIp
) -> Response:
    content = await svc(
        breakglass.view_clip_break_glass,
        staff_id=subject(me),
        grant_id=grant_id,
        source_ip=source_ip,
    )
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Cache-Control": "no-store"},
    )


@router.delete("/{grant_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_access(
    grant_id: Id, me: AdminAccount, svc: ServicesDep, source_ip: SourceIp
) -> None:
    await svc(
        breakglass.revoke_break_glass, admin_id=subject(me), grant_id=grant_id, source_ip=source_ip
    )
