"""Break-glass access to one resident clip by platform staff (SEC-05).

Staff have no other way to read clip content: this module is the only use
case that reads the platform clip store on behalf of a staff member. A grant
is asked for with a ticket and a reason, approved by another admin for at
most 4 hours, used only by its requester, and can be revoked at any time.

Every step is audited (SEC-04) with the ticket and the source address; a
refusal is audited with outcome ``denied``, committed, then raised.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from system.adapters.breakglass_repo import BreakGlassRepository
from system.domain.breakglass import (
    APPROVER_ROLE,
    REQUESTER_ROLES,
    RULE,
    BreakGlassGrant,
    GrantStatus,
    duration_problems,
    request_problems,
    use_refusal,
)
from system.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from system.domain.model import Role, Staff
from system.domain.stores import ObjectNotFound
from system.service_layer.attempts import AuditedAttempt
from system.service_layer.context import ServiceContext
from system.service_layer.unit_of_work import UnitOfWork


def _attempt(
    uow: UnitOfWork,
    ctx: ServiceContext,
    staff_id: int,
    *,
    obj: str,
    action: str,
    source_ip: str | None,
) -> AuditedAttempt:
    staff = uow.staff.get(staff_id)
    role = "unknown" if staff is None else staff.role.value
    return AuditedAttempt(uow, ctx.clock.now(), f"staff:{staff_id}", role, obj, action, source_ip)


def _active_staff(uow: UnitOfWork, staff_id: int, roles: frozenset[Role], *, field: str) -> Staff:
    staff = uow.staff.get(staff_id)
    if staff is None or not staff.active or staff.role not in roles:
        names = ", ".join(sorted(r.value for r in roles))
        raise PermissionDenied(f"staff {staff_id} is not an active {names}", rule=RULE, field=field)
    return staff


def _grant(
    grants: BreakGlassRepository, grant_id: int, *, for_update: bool = False
) -> BreakGlassGrant:
    grant = grants.get(grant_id, for_update=for_update)
    if grant is None:
        raise NotFound(f"no break-glass grant {grant_id}", rule=RULE, field="grant_id")
    return grant


def request_break_glass(
    ctx: ServiceContext,
    *,
    staff_id: int,
    clip_id: int,
    ticket: str,
    reason: str,
    source_ip: str | None = None,
) -> int:
    """Ask for access to one clip for an incident ticket; returns the grant's id.

    The grant does nothing until another admin approves it.
    """
    with ctx.uow() as uow:
        attempt = _attempt(
            uow,
            ctx,
            staff_id,
            obj=f"clip:{clip_id}",
            action="breakglass.request",
            source_ip=source_ip,
        )
        with attempt.checks():
            _active_staff(uow, staff_id, REQUESTER_ROLES, field="staff_id")
            problems = request_problems(ticket=ticket, reason=reason)
            if problems:
                raise InvalidInput(problems)
            clip = uow.clips.get(clip_id)
            if clip is None or clip.status != "stored":
                raise NotFound(f"no stored clip {clip_id}", rule=RULE, field="clip_id")
        grant_id = uow.break_glass.add(
            staff_id=staff_id,
            clip_id=clip_id,
            ticket=ticket.strip(),
            reason=reason.strip(),
            now=attempt.now,
        )
        attempt.record(grant_id=grant_id, ticket=ticket.strip(), reason=reason.strip())
        uow.commit()
    return grant_id


def approve_break_glass(
    ctx: ServiceContext,
    *,
    admin_id: int,
    grant_id: int,
    minutes: int,
    source_ip: str | None = None,
) -> datetime:
    """An admin other than the requester opens the grant for ``minutes`` (1..240).

    Returns when the grant expires. A grant is approved once; a new need is a new grant.
    """
    with ctx.uow() as uow:
        grants = uow.break_glass
        attempt = _attempt(
            uow,
            ctx,
            admin_id,
            obj=f"break_glass:{grant_id}",
            action="breakglass.approve",
            source_ip=source_ip,
        )
        with attempt.checks():
            _active_staff(uow, admin_id, frozenset({APPROVER_ROLE}), field="admin_id")
            grant = _grant(grants, grant_id, for_update=True)
            if grant.staff_id == admin_id:
                raise PermissionDenied(
                    "a break-glass grant must be approved by an admin other than its requester",
                    rule=RULE,
                    field="admin_id",
                )
            status = grant.status(attempt.now)
            if status is not GrantStatus.REQUESTED:
                raise Conflict(
                    f"this break-glass grant is {status.value}; ask for a new one",
                    rule=RULE,
                    field="grant_id",
                )
            problems = duration_problems(minutes)
            if problems:
                raise InvalidInput(problems)
        expires_at = attempt.now + timedelta(minutes=minutes)
        grants.approve(grant_id, admin_id=admin_id, now=attempt.now, expires_at=expires_at)
        attempt.record(
            ticket=grant.ticket,
            clip_id=grant.clip_id,
            requester=f"staff:{grant.staff_id}",
            minutes=minutes,
            expires_at=expires_at.isoformat(),
        )
        uow.commit()
    return expires_at


def view_clip_break_glass(
    ctx: ServiceContext, *, staff_id: int, grant_id: int, source_ip: str | None = None
) -> bytes:
    """The clip's content, for the grant's requester while it is approved and unexpired."""
    with ctx.uow() as uow:
        attempt = _attempt(
            uow,
            ctx,
            staff_id,
            obj=f"break_glass:{grant_id}",
            action="breakglass.view",
            source_ip=source_ip,
        )
        with attempt.checks():
            _active_staff(uow, staff_id, REQUESTER_ROLES, field="staff_id")
            grant = _grant(uow.break_glass, grant_id)
            refusal = use_refusal(grant, staff_id=staff_id, now=attempt.now)
            if refusal is not None:
                raise PermissionDenied(refusal, rule=RULE, field="grant_id")
            clip = uow.clips.get(grant.clip_id)
            if clip is None or clip.status != "stored":
                raise NotFound(
                    f"clip {grant.clip_id} is no longer stored", rule=RULE, field="clip_id"
                )
        try:
            content = ctx.stores.clips.read_all(clip.sha256)
        except ObjectNotFound:
            attempt.record("error", ticket=grant.ticket, reason="the clip store has no content")
            uow.commit()
            raise
        attempt.record(
            ticket=grant.ticket,
            clip_id=clip.id,
            sha256=clip.sha256,
            size_bytes=len(content),
            expires_at=grant.expires_at.isoformat() if grant.expires_at else None,
        )
        uow.commit()
    return content


def revoke_break_glass(
    ctx: ServiceContext, *, admin_id: int, grant_id: int, source_ip: str | None = None
) -> None:
    """Close a grant at once (any admin); revoking twice is harmless."""
    with ctx.uow() as uow:
        grants = uow.break_glass
        attempt = _attempt(
            uow,
            ctx,
            admin_id,
            obj=f"break_glass:{grant_id}",
            action="breakglass.revoke",
            source_ip=source_ip,
        )
        with attempt.checks():
            _active_staff(uow, admin_id, frozenset({APPROVER_ROLE}), field="admin_id")
            grant = _grant(grants, grant_id, for_update=True)
        already = grant.revoked_at is not None
        if not already:
            grants.revoke(grant_id, admin_id=admin_id, now=attempt.now)
        attempt.record(ticket=grant.ticket, clip_id=grant.clip_id, already_revoked=already)
        uow.commit()
