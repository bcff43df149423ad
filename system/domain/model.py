"""Entities of the reference system.

Agency side: agencies, officers (detectives and supervisors), cases and the
video requests they submit. Platform side: moderators and other staff,
residents, their cameras, opt-outs and notifications. The two sides are
separate trust domains: nothing on the agency side refers to a resident.

Times are timezone-aware UTC datetimes; they are always passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from system.domain.area import Area
from system.domain.errors import InvalidTransition


class Role(StrEnum):
    DETECTIVE = "detective"
    SUPERVISOR = "supervisor"
    MODERATOR = "moderator"
    RESIDENT = "resident"
    AUDITOR = "auditor"
    ADMIN = "admin"


AGENCY_ROLES = frozenset({Role.DETECTIVE, Role.SUPERVISOR})
PLATFORM_ROLES = frozenset({Role.MODERATOR, Role.AUDITOR, Role.ADMIN})


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACTIVE = "active"
    CLOSED = "closed"
    EXPIRED = "expired"


PUBLISHED_STATUSES = frozenset(
    {RequestStatus.APPROVED, RequestStatus.ACTIVE, RequestStatus.CLOSED, RequestStatus.EXPIRED}
)
"""Statuses of a request that has been (or is being) put in front of residents."""

COUNTED_STATUSES = PUBLISHED_STATUSES | {RequestStatus.SUBMITTED, RequestStatus.IN_REVIEW}
"""Statuses that count against the per-case limit (everything but rejected)."""

_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.SUBMITTED: frozenset(
        {RequestStatus.IN_REVIEW, RequestStatus.APPROVED, RequestStatus.REJECTED}
    ),
    RequestStatus.IN_REVIEW: frozenset({RequestStatus.APPROVED, RequestStatus.REJECTED}),
    RequestStatus.APPROVED: frozenset({RequestStatus.ACTIVE, RequestStatus.CLOSED}),
    RequestStatus.ACTIVE: frozenset({RequestStatus.CLOSED, RequestStatus.EXPIRED}),
    RequestStatus.REJECTED: frozenset(),
    RequestStatus.CLOSED: frozenset(),
    RequestStatus.EXPIRED: frozenset(),
}


class IncidentType(StrEnum):
    """The controlled vocabulary of incident types a request may name (REQ-01)."""

    PACKAGE_THEFT = "package_theft"
    BURGLARY = "burglary"
    VEHICLE_BREAK_IN = "vehicle_break_in"
    VEHICLE_THEFT = "vehicle_theft"
    VANDALISM = "vandalism"
    ROBBERY = "robbery"
    ASSAULT = "assault"
    HIT_AND_RUN = "hit_and_run"
    MISSING_PERSON = "missing_person"
    OTHER_PROPERTY_CRIME = "other_property_crime"


@dataclass(frozen=True)
class Agency:
    id: int
    name: str
    county: str
    verified: bool


@dataclass(frozen=True)
class Officer:
    id: int
    agency_id: int
    name: str
    email: str
    role: Role
    active: bool = True


@dataclass(frozen=True)
class Staff:
    """A platform-side person: moderator, auditor or admin."""

    id: int
    name: str
    email: str
    role: Role
    active: bool = True


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Case:
    id: int
    agency_id: int
    case_number: str
    incident_type: IncidentType
    opened_at: datetime
    opened_by: int
    status: CaseStatus = CaseStatus.OPEN


@dataclass(frozen=True)
class Resident:
    id: int
    name: str
    email: str
    home_lat: float
    home_lon: float


@dataclass(frozen=True)
class Camera:
    id: int
    resident_id: int
    lat: float
    lon: float
    retention_days: int
    kind: str = "doorbell"


@dataclass(frozen=True)
class OptOut:
    """A resident's opt-out, global when ``agency_id`` is None (CON-04)."""

    resident_id: int
    agency_id: int | None
    opted_out_at: datetime


@dataclass
class VideoRequest:
    """A detective's request for video near an incident, and its lifecycle.

    ``submitted → in_review → approved | rejected → active → closed | expired``.
    ``notified_count`` is platform-side bookkeeping and never shown to the agency
    (CON-03, PRV-02).
    """

    id: int
    agency_id: int
    case_id: int
    officer_id: int
    incident_type: IncidentType
    description: str
    investigator_contact: str
    incident_lat: float
    incident_lon: float
    window_start: datetime
    window_end: datetime
    area: Area
    message: str
    submitted_at: datetime
    status: RequestStatus = RequestStatus.SUBMITTED
    lint_flags: tuple[str, ...] = ()
    reviewed_at: datetime | None = None
    decided_at: datetime | None = None
    activated_at: datetime | None = None
    ended_at: datetime | None = None
    expires_at: datetime | None = None
    notified_count: int | None = None
    history: list[tuple[RequestStatus, datetime]] = field(default_factory=list)

    def _move(self, to: RequestStatus, now: datetime) -> None:
        if to not in _TRANSITIONS[self.status]:
            raise InvalidTransition(
                f"request {self.id} is {self.status.value}; it cannot become {to.value}",
                rule="REQ-08",
                field="status",
            )
        self.status = to
        self.history.append((to, now))

    def start_review(self, now: datetime) -> None:
        self._move(RequestStatus.IN_REVIEW, now)
        self.reviewed_at = now

    def approve(self, now: datetime) -> None:
        self._move(RequestStatus.APPROVED, now)
        self.decided_at = now

    def reject(self, now: datetime) -> None:
        self._move(RequestStatus.REJECTED, now)
        self.decided_at = now

    def activate(self, now: datetime, *, notified_count: int, response_period: timedelta) -> None:
        self._move(RequestStatus.ACTIVE, now)
        self.activated_at = now
        self.expires_at = now + response_period
        self.notified_count = notified_count

    def close(self, now: datetime) -> None:
        self._move(RequestStatus.CLOSED, now)
        self.ended_at = now

    def expire(self, now: datetime) -> None:
        if self.expires_at is None or now < self.expires_at:
            raise InvalidTransition(
                f"request {self.id} is open for responses until {self.expires_at}",
                rule="CON-08",
                field="status",
            )
        self._move(RequestStatus.EXPIRED, now)
        self.ended_at = now

    def accepts_responses(self, now: datetime) -> bool:
        return (
            self.status is RequestStatus.ACTIVE
            and self.expires_at is not None
            and now < self.expires_at
        )


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class ModerationDecision:
    """What a moderator decided, why, and the checklist they filled in (REQ-06, REQ-08)."""

    request_id: int
    moderator_id: int
    decision: Decision
    reason: str
    checklist: dict[str, bool]
    lint_flags: tuple[str, ...]
    decided_at: datetime
