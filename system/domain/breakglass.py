"""Break-glass access to one resident clip by platform staff (SEC-05).

Platform staff (moderators, auditors, admins) never see resident clips in the
normal course of work. When an incident needs it, a staff member asks for
access to *one* clip, naming a ticket (the incident's id in the tracker) and a
reason; an admin who is not the requester approves it for at most
:data:`MAX_GRANT_MINUTES` minutes. Only the requester may use the grant, only
between approval and expiry, and only until an admin revokes it. Every step,
and every refusal, is audited with the ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from system.domain.errors import Problem
from system.domain.model import PLATFORM_ROLES, Role
from system.domain.rules import check_text

RULE = "SEC-05"
MAX_GRANT_MINUTES = 240
"""A grant lasts at most 4 hours after approval (design constant)."""
MAX_TICKET_CHARS = 64
MAX_REASON_CHARS = 1000
REQUESTER_ROLES = PLATFORM_ROLES
"""Moderators, auditors and admins may ask; only admins approve or revoke."""
APPROVER_ROLE = Role.ADMIN


class GrantStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class BreakGlassGrant:
    """One staff member's time-boxed access to one clip, for one ticket."""

    id: int
    staff_id: int
    clip_id: int
    ticket: str
    reason: str
    created_at: datetime
    approved_by: int | None = None
    approved_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: int | None = None

    def status(self, now: datetime) -> GrantStatus:
        if self.revoked_at is not None:
            return GrantStatus.REVOKED
        if self.expires_at is None:
            return GrantStatus.REQUESTED
        if now >= self.expires_at:
            return GrantStatus.EXPIRED
        return GrantStatus.APPROVED


def request_problems(*, ticket: object, reason: object) -> list[Problem]:
    """Problems with a request's ticket and reason (both required)."""
    return [
        *check_text(
            ticket, field="ticket", rule=RULE, max_chars=MAX_TICKET_CHARS, single_line=True
        ),
        *check_text(reason, field="reason", rule=RULE, max_chars=MAX_REASON_CHARS),
    ]


def duration_problems(minutes: object) -> list[Problem]:
    """A grant's length: a whole number of minutes, 1 to :data:`MAX_GRANT_MINUTES`."""
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        return [Problem("minutes", RULE, "must be a whole number of minutes")]
    if not 1 <= minutes <= MAX_GRANT_MINUTES:
        return [
            Problem(
                "minutes",
                RULE,
                f"must be between 1 and {MAX_GRANT_MINUTES} minutes (got {minutes})",
            )
        ]
    return []


def use_refusal(grant: BreakGlassGrant, *, staff_id: int, now: datetime) -> str | None:
    """Why ``staff_id`` may not use ``grant`` at ``now``, or None when it may."""
    if grant.staff_id != staff_id:
        return "this break-glass grant belongs to another staff member; ask for your own"
    status = grant.status(now)
    if status is GrantStatus.REQUESTED:
        return "this break-glass grant has not been approved by an admin yet"
    if status is GrantStatus.REVOKED:
        return "this break-glass grant was revoked"
    if status is GrantStatus.EXPIRED:
        assert grant.expires_at is not None
        return f"this break-glass grant expired at {grant.expires_at.isoformat()}"
    return None
