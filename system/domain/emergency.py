"""Emergency disclosure: footage without the owner's consent, in narrow cases (EMG-01..03).

The path exists for "imminent danger of death or serious physical injury"
only. An officer attests to the danger and names one to three specific
addresses and the shortest window; a supervisor of the same agency (never the
submitter) approves; a platform reviewer then picks specific cameras, each
within a few metres of one of the addresses, never an area sweep. The owner
of every camera picked is told afterwards (EMG-02).

``submitted → supervisor_approved → approved``, or ``rejected`` at either step.
Camera ids stay on the platform side: the agency never sees which or how many
cameras were picked (PRV-02). Distances are metres; times are aware UTC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from system.domain import geo
from system.domain.errors import InvalidTransition, Problem
from system.domain.rules import check_text

OWNER_NOTICE_LIMIT = timedelta(days=30)
"""EMG-02 (design): the owner is told within 30 days; no policy may set a longer delay."""


@dataclass(frozen=True)
class EmergencyPolicy:
    """Limits of the emergency path. The defaults are our design choices (settings).

    ``max_window``: the shortest window only, at most an hour of footage, since
    an emergency concerns what happened just now, not a day's record.
    ``max_camera_distance_m``: a camera must be at one of the named addresses,
    about a lot's width away; anything farther would be a sweep of the area.
    ``owner_notice_delay``: long enough not to tip off a suspect while the
    danger lasts, short enough to tell the owner promptly (≤ 30 days, EMG-02).
    """

    max_window: timedelta = timedelta(minutes=60)
    max_lookback: timedelta = timedelta(days=180)  # the longest camera retention
    max_locations: int = 3
    max_cameras: int = 3
    max_camera_distance_m: float = 30.0
    owner_notice_delay: timedelta = timedelta(days=3)
    max_attestation_chars: int = 2000
    max_narrative_chars: int = 8000
    max_reason_chars: int = 2000

    def __post_init__(self) -> None:
        if not timedelta(0) <= self.owner_notice_delay <= OWNER_NOTICE_LIMIT:
            raise ValueError("owner_notice_delay must lie between 0 and 30 days (EMG-02)")


DEFAULT_EMERGENCY_POLICY = EmergencyPolicy()


class EmergencyStatus(StrEnum):
    SUBMITTED = "submitted"
    SUPERVISOR_APPROVED = "supervisor_approved"
    APPROVED = "approved"
    REJECTED = "rejected"


Location = tuple[float, float]
"""One specific address as (latitude, longitude) in degrees."""


@dataclass
class EmergencyDisclosure:
    """One emergency disclosure and its three decisions.

    ``camera_ids`` is platform-side bookkeeping, never shown to the agency (PRV-02).
    """

    id: int
    agency_id: int
    case_id: int
    officer_id: int
    attestation: str
    narrative: str
    locations: tuple[Location, ...]
    window_start: datetime
    window_end: datetime
    created_at: datetime
    status: EmergencyStatus = EmergencyStatus.SUBMITTED
    supervisor_id: int | None = None
    supervisor_decided_at: datetime | None = None
    reviewer_id: int | None = None
    reviewer_decided_at: datetime | None = None
    decision_reason: str | None = None
    camera_ids: tuple[int, ...] = field(default_factory=tuple)
    owner_notice_due_at: datetime | None = None

    def require(self, status: EmergencyStatus, step: str) -> None:
        """Refuse ``step`` unless the disclosure is in ``status`` (EMG-01's order)."""
        if self.status is not status:
            raise InvalidTransition(
                f"emergency disclosure {self.id} is {self.status.value}; {step} needs it "
                f"to be {status.value}",
                rule="EMG-01",
                field="status",
            )

    def supervisor_decide(
        self, *, supervisor_id: int, approve: bool, reason: str, now: datetime
    ) -> None:
        self.require(EmergencyStatus.SUBMITTED, "a supervisor's decision")
        self.supervisor_id = supervisor_id
        self.supervisor_decided_at = now
        self.decision_reason = reason
        self.status = EmergencyStatus.SUPERVISOR_APPROVED if approve else EmergencyStatus.REJECTED

    def platform_decide(
        self,
        *,
        reviewer_id: int,
        approve: bool,
        reason: str,
        camera_ids: Sequence[int],
        now: datetime,
        policy: EmergencyPolicy = DEFAULT_EMERGENCY_POLICY,
    ) -> None:
        self.require(EmergencyStatus.SUPERVISOR_APPROVED, "the platform review")
        self.reviewer_id = reviewer_id
        self.reviewer_decided_at = now
        self.decision_reason = reason
        if approve:
            self.status = EmergencyStatus.APPROVED
            self.camera_ids = tuple(camera_ids)
            self.owner_notice_due_at = now + policy.owner_notice_delay
        else:
            self.status = EmergencyStatus.REJECTED

    def owner_notice_is_due(self, now: datetime) -> bool:
        return self.owner_notice_due_at is not None and self.owner_notice_due_at <= now


def submission_problems(
    *,
    attestation: object,
    narrative: object,
    locations: object,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    policy: EmergencyPolicy = DEFAULT_EMERGENCY_POLICY,
) -> list[Problem]:
    """Everything wrong with an officer's submission that needs no database (EMG-01)."""
    found = check_text(
        attestation, field="attestation", rule="EMG-01", max_chars=policy.max_attestation_chars
    )
    found += check_text(
        narrative, field="narrative", rule="EMG-01", max_chars=policy.max_narrative_chars
    )
    found += location_problems(locations, policy=policy)
    found += window_problems(window_start, window_end, now=now, policy=policy)
    return found


def location_problems(locations: object, *, policy: EmergencyPolicy) -> list[Problem]:
    """One to ``max_locations`` specific points, each a valid (lat, lon): never an area."""
    if not isinstance(locations, list | tuple) or not locations:
        return [Problem("locations", "EMG-01", "name at least one specific address")]
    if len(locations) > policy.max_locations:
        return [
            Problem(
                "locations",
                "EMG-01",
                f"at most {policy.max_locations} specific addresses (got {len(locations)}); "
                "an emergency disclosure is never an area sweep",
            )
        ]
    found = []
    for i, point in enumerate(locations):
        if not (
            isinstance(point, list | tuple)
            and len(point) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
            and geo.coordinates_ok(float(point[0]), float(point[1]))
        ):
            found.append(
                Problem(f"locations[{i}]", "EMG-01", "must be one point: [latitude, longitude]")
            )
    return found


def window_problems(
    start: datetime, end: datetime, *, now: datetime, policy: EmergencyPolicy
) -> list[Problem]:
    """The shortest window: ended, positive, at most ``max_window`` long, still retained."""
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return [Problem("window", "EMG-01", "window times must be date-times")]
    if start.tzinfo is None or end.tzinfo is None:
        return [Problem("window", "EMG-01", "window times must carry a timezone")]
    if end <= start:
        return [Problem("window_end", "EMG-01", "window must end after it starts")]
    found = []
    if end - start > policy.max_window:
        minutes = math.ceil((end - start).total_seconds() / 60)
        limit = int(policy.max_window.total_seconds() // 60)
        found.append(
            Problem(
                "window",
                "EMG-01",
                f"an emergency window lasts at most {limit} minutes (got {minutes})",
            )
        )
    if end > now:
        found.append(Problem("window_end", "EMG-01", "window must end in the past"))
    if start < now - policy.max_lookback:
        found.append(
            Problem(
                "window_start",
                "EMG-01",
                f"window must start within the last {policy.max_lookback.days} days",
            )
        )
    return found


def camera_selection_problems(
    camera_ids: object,
    *,
    positions: Mapping[int, Location],
    locations: Sequence[Location],
    policy: EmergencyPolicy = DEFAULT_EMERGENCY_POLICY,
) -> list[Problem]:
    """The reviewer's pick: 1..max_cameras distinct, known cameras, each at a named address.

    ``positions`` maps the ids of known, active cameras to their positions.
    """
    if not isinstance(camera_ids, list | tuple) or not camera_ids:
        return [Problem("camera_ids", "EMG-01", "pick at least one specific camera")]
    if not all(isinstance(c, int) and not isinstance(c, bool) for c in camera_ids):
        return [Problem("camera_ids", "EMG-01", "camera ids must be integers")]
    if len(set(camera_ids)) != len(camera_ids):
        return [Problem("camera_ids", "EMG-01", "each camera may be picked once")]
    if len(camera_ids) > policy.max_cameras:
        return [
            Problem(
                "camera_ids",
                "EMG-01",
                f"at most {policy.max_cameras} cameras (got {len(camera_ids)}); "
                "an emergency disclosure is never an area sweep",
            )
        ]
    found = []
    for camera_id in camera_ids:
        position = positions.get(camera_id)
        if position is None:
            found.append(Problem("camera_ids", "EMG-01", f"no active camera {camera_id}"))
        elif nearest_location_m(position, locations) > policy.max_camera_distance_m:
            found.append(
                Problem(
                    "camera_ids",
                    "EMG-01",
                    f"camera {camera_id} is farther than {policy.max_camera_distance_m:g} m "
                    "from every named address; an emergency disclosure is never an area sweep",
                )
            )
    return found


def nearest_location_m(position: Location, locations: Sequence[Location]) -> float:
    """Distance in metres from ``position`` to the nearest of ``locations``."""
    return min(geo.distance_m(position[0], position[1], lat, lon) for lat, lon in locations)


@dataclass(frozen=True)
class OwnerNotice:
    subject: str
    body: str


def owner_notice(
    *,
    agency_name: str,
    cameras: Sequence[tuple[int, str, int]],
    window_start: datetime,
    window_end: datetime,
    approved_at: datetime,
) -> OwnerNotice:
    """The message telling an owner their footage went out without consent (EMG-02).

    ``cameras`` lists the owner's cameras that were picked as (id, kind, clips sent).
    """
    lines = []
    for camera_id, kind, clips in cameras:
        sent = f"{clips} recording(s) sent" if clips else "no recording fell in the window"
        lines.append(f"- your {kind} camera #{camera_id}: {sent}")
    window = f"{window_start:%Y-%m-%d %H:%M} to {window_end:%Y-%m-%d %H:%M} UTC"
    body = (
        f"On {approved_at:%Y-%m-%d}, {agency_name} received footage from your camera(s) "
        f"recorded between {window}, without asking you first:\n"
        + "\n".join(lines)
        + "\n\nWhy: an officer attested to an imminent danger of death or serious physical "
        "injury. A supervisor of the agency and a reviewer of our platform each approved the "
        "disclosure under our emergency policy, which allows only specific cameras at named "
        "addresses and the shortest window, without the owner's consent. Audio was not "
        "included. You can see every emergency disclosure of your footage in your account."
    )
    return OwnerNotice(subject=f"{agency_name} received footage from your camera", body=body)
