"""The emergency disclosure path (EMG-01..03) and the owner notices it owes (EMG-02, PRV-04).

Three people decide, each in their own trust domain: the officer attests, a
supervisor of the same agency approves, a platform reviewer (moderator or
admin) picks the specific cameras. Only then are the clips of those cameras
inside the window transferred, without audio and without asking the owner;
each owner is told afterwards. The agency learns the outcome of each step but
never which cameras, or how many, were picked (PRV-02).

Every step is audited on ``emergency:{id}``, refusals too (outcome ``refused``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from system.adapters.emergency_repo import NOTICE_KIND, EmergencyRepository, notice_ref
from system.domain import geo
from system.domain.audit import AuditEvent
from system.domain.emergency import (
    DEFAULT_EMERGENCY_POLICY,
    EmergencyDisclosure,
    EmergencyStatus,
    Location,
    camera_selection_problems,
    nearest_location_m,
    owner_notice,
    submission_problems,
)
from system.domain.errors import (
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from system.domain.model import Case, CaseStatus, Role, Staff
from system.domain.rules import check_text
from system.service_layer.context import ServiceContext
from system.service_layer.reads import reads_only
from system.service_layer.registration import active_officer, active_supervisor
from system.service_layer.transfer import enqueue_transfer
from system.service_layer.unit_of_work import UnitOfWork

POLICY = DEFAULT_EMERGENCY_POLICY
REVIEWER_ROLES = frozenset({Role.MODERATOR, Role.ADMIN})


@contextmanager
def _refusal_audited(ctx: ServiceContext, *, actor: str, obj: str, action: str) -> Iterator[None]:
    """Audit a refused step in its own transaction (the step's own one rolled back)."""
    try:
        yield
    except DomainError as err:
        with ctx.uow() as uow:
            uow.audit.record(
                AuditEvent(
                    actor=actor,
                    role="unverified",
                    object=obj,
                    action=action,
                    outcome="refused",
                    details={"error": err.code, "rule": err.rule, "field": err.field},
                ),
                now=ctx.clock.now(),
            )
            uow.commit()
        raise


def submit_emergency(
    ctx: ServiceContext,
    *,
    officer_id: int,
    case_id: int,
    attestation: str,
    narrative: str,
    locations: Sequence[Location],
    window_start: datetime,
    window_end: datetime,
) -> int:
    """An officer attests to an imminent danger for their agency's open case; returns the id.

    ``locations``: one to three specific addresses as (lat, lon), never an area.
    The window must have ended and last at most an hour (EMG-01).
    """
    with _refusal_audited(
        ctx, actor=f"officer:{officer_id}", obj=f"case:{case_id}", action="emergency.submit"
    ):
        now = ctx.clock.now()
        problems = submission_problems(
            attestation=attestation,
            narrative=narrative,
            locations=locations,
            window_start=window_start,
            window_end=window_end,
            now=now,
            policy=POLICY,
        )
        if problems:
            raise InvalidInput(problems)
        with ctx.uow() as uow:
            officer, agency = active_officer(uow, officer_id)
            case = _own_open_case(uow, agency.id, case_id)
            disclosure = EmergencyDisclosure(
                id=0,
                agency_id=agency.id,
                case_id=case.id,
                officer_id=officer.id,
                attestation=attestation,
                narrative=narrative,
                locations=tuple((float(lat), float(lon)) for lat, lon in locations),
                window_start=window_start,
                window_end=window_end,
                created_at=now,
            )
            emergency_id = uow.emergencies.add(disclosure)
            window_min = round((window_end - window_start).total_seconds() / 60, 1)
            _record(
                uow,
                now,
                actor=f"officer:{officer.id}",
                role=officer.role.value,
                emergency_id=emergency_id,
                action="emergency.submit",
                details={"case_id": case.id, "window_minutes": window_min},
            )
            uow.commit()
    return emergency_id


def _own_open_case(uow: UnitOfWork, agency_id: int, case_id: int) -> Case:
    case = uow.cases.get(case_id)
    if case is None or case.agency_id != agency_id:
        raise PermissionDenied(
            f"case {case_id} is not a case of your agency", rule="EMG-01", field="case_id"
        )
    if case.status is not CaseStatus.OPEN:
        raise RuleViolation(f"case {case.case_number} is closed", rule="EMG-01", field="case_id")
    return case


def supervisor_decide(
    ctx: ServiceContext, *, supervisor_id: int, emergency_id: int, approve: bool, reason: str
) -> None:
    """A supervisor of the submitting agency, not the submitter, approves or rejects.

    A reason is required either way: it is the supervisor's record of judgement.
    """
    action = "emergency.supervisor_" + ("approve" if approve else "reject")
    with _refusal_audited(
        ctx, actor=f"officer:{supervisor_id}", obj=f"emergency:{emergency_id}", action=action
    ):
        _require_reason(reason)
        now = ctx.clock.now()
        with ctx.uow() as uow:
            officer, agency = active_supervisor(
                uow, supervisor_id, may="approves an emergency disclosure", rule="EMG-01"
            )
            repo = uow.emergencies
            disclosure = repo.get(emergency_id, for_update=True)
            if disclosure is None or disclosure.agency_id != agency.id:
                raise NotFound(f"no emergency disclosure {emergency_id} in your agency")
            if disclosure.officer_id == officer.id:
                raise PermissionDenied(
                    "the officer who submitted an emergency disclosure cannot also approve it",
                    rule="EMG-01",
                    field="supervisor_id",
                )
            disclosure.supervisor_decide(
                supervisor_id=officer.id, approve=approve, reason=reason, now=now
            )
            repo.save(disclosure)
            _record(
                uow,
                now,
                actor=f"officer:{officer.id}",
                role=officer.role.value,
                emergency_id=emergency_id,
                action=action,
                details={"reason": reason},
            )
            uow.commit()


def platform_review(
    ctx: ServiceContext,
    *,
    reviewer_id: int,
    emergency_id: int,
    approve: bool,
    reason: str,
    camera_ids: Sequence[int],
) -> None:
    """A platform reviewer decides after the supervisor; on approval, transfers start.

    Approval picks one to three specific cameras, each within 30 m of a named
    address (EMG-01); the clips of those cameras recorded inside the window
    are transferred without audio, and the owners' notice falls due in 3 days
    (EMG-02). ``camera_ids`` is ignored on rejection.
    """
    action = "emergency.platform_" + ("approve" if approve else "reject")
    with _refusal_audited(
        ctx, actor=f"staff:{reviewer_id}", obj=f"emergency:{emergency_id}", action=action
    ):
        _require_reason(reason)
        now = ctx.clock.now()
        with ctx.uow() as uow:
            reviewer = _reviewer(uow, reviewer_id)
            repo = uow.emergencies
            disclosure = repo.get(emergency_id, for_update=True)
            if disclosure is None:
                raise NotFound(f"no emergency disclosure {emergency_id}", field="emergency_id")
            disclosure.require(EmergencyStatus.SUPERVISOR_APPROVED, "the platform review")
            picked = _checked_pick(repo, disclosure, camera_ids) if approve else []
            disclosure.platform_decide(
                reviewer_id=reviewer.id,
                approve=approve,
                reason=reason,
                camera_ids=picked,
                now=now,
                policy=POLICY,
            )
            repo.save(disclosure)
            clips = _start_transfers(uow, repo, disclosure, now) if approve else 0
            _record(
                uow,
                now,
                actor=f"staff:{reviewer.id}",
                role=reviewer.role.value,
                emergency_id=emergency_id,
                action=action,
                details={"reason": reason, "cameras": len(picked), "clips": clips},
            )
            uow.commit()


def _checked_pick(
    repo: EmergencyRepository, disclosure: EmergencyDisclosure, camera_ids: Sequence[int]
) -> list[int]:
    """The reviewer's cameras, if each is a known active camera at a named address."""
    picked = list(camera_ids)
    problems = camera_selection_problems(
        picked,
        positions=repo.camera_positions([c for c in picked if isinstance(c, int)]),
        locations=disclosure.locations,
        policy=POLICY,
    )
    if problems:
        raise InvalidInput(problems)
    return picked


def _start_transfers(
    uow: UnitOfWork, repo: EmergencyRepository, disclosure: EmergencyDisclosure, now: datetime
) -> int:
    clip_ids = repo.clips_in_window(
        disclosure.camera_ids, disclosure.window_start, disclosure.window_end
    )
    for clip_id in clip_ids:
        enqueue_transfer(
            uow,
            kind="emergency",
            clip_id=clip_id,
            agency_id=disclosure.agency_id,
            case_id=disclosure.case_id,
            request_id=None,
            include_audio=False,  # no owner ticked "include audio" (PRV-03)
            contributor=None,  # no owner chose to be named (CON-05)
            emergency_id=disclosure.id,
            now=now,
        )
    return len(clip_ids)


def _reviewer(uow: UnitOfWork, reviewer_id: int) -> Staff:
    staff = uow.staff.get(reviewer_id)
    if staff is None or not staff.active or staff.role not in REVIEWER_ROLES:
        raise PermissionDenied(
            "only platform moderators or admins review emergency disclosures", rule="EMG-01"
        )
    return staff


def _require_reason(reason: object) -> None:
    problems = check_text(reason, field="reason", rule="EMG-01", max_chars=POLICY.max_reason_chars)
    if problems:
        raise InvalidInput(problems)


def _record(
    uow: UnitOfWork,
    now: datetime,
    *,
    actor: str,
    role: str,
    emergency_id: int,
    action: str,
    details: dict[str, Any],
) -> None:
    uow.audit.record(
        AuditEvent(
            actor=actor,
            role=role,
            object=f"emergency:{emergency_id}",
            action=action,
            details=details,
        ),
        now=now,
    )


# --- what each side may see --------------------------------------------------------


@dataclass(frozen=True)
class EmergencyStatusView:
    """The agency-facing view: decisions only, never cameras or counts (PRV-02)."""

    emergency_id: int
    case_id: int
    status: EmergencyStatus
    submitted_at: datetime
    supervisor_decided_at: datetime | None
    reviewer_decided_at: datetime | None
    decision_reason: str | None


@reads_only
def emergency_status(
    ctx: ServiceContext, *, officer_id: int, emergency_id: int
) -> EmergencyStatusView:
    with ctx.uow(read_only=True) as uow:
        officer, _ = active_officer(uow, officer_id)
        d = uow.emergencies.get(emergency_id)
    if d is None or d.agency_id != officer.agency_id:
        raise NotFound(f"no emergency disclosure {emergency_id} in your agency")
    return EmergencyStatusView(
        d.id,
        d.case_id,
        d.status,
        d.created_at,
        d.supervisor_decided_at,
        d.reviewer_decided_at,
        d.decision_reason,
    )


@dataclass(frozen=True)
class CandidateCamera:
    """A camera a reviewer may pick: platform side only."""

    camera_id: int
    kind: str
    distance_m: float  # to the nearest named address


def candidate_cameras(
    ctx: ServiceContext, *, reviewer_id: int, emergency_id: int
) -> list[CandidateCamera]:
    """Active cameras within 30 m of a named address, nearest first (for the reviewer)."""
    with ctx.uow(read_only=True) as uow:
        _reviewer(uow, reviewer_id)
        repo = uow.emergencies
        disclosure = repo.get(emergency_id)
        if disclosure is None:
            raise NotFound(f"no emergency disclosure {emergency_id}", field="emergency_id")
        found: dict[int, CandidateCamera] = {}
        for lat, lon in disclosure.locations:
            box = geo.circle_bbox(lat, lon, POLICY.max_camera_distance_m)
            for camera_id, kind, c_lat, c_lon in repo.cameras_near(box):
                distance = nearest_location_m((c_lat, c_lon), disclosure.locations)
                if distance <= POLICY.max_camera_distance_m:
                    found[camera_id] = CandidateCamera(camera_id, kind, round(distance, 1))
    return sorted(found.values(), key=lambda c: (c.distance_m, c.camera_id))


# --- telling the owners afterwards (EMG-02, PRV-04) ---------------------------------


def schedule_owner_notices(uow: UnitOfWork, now: datetime) -> int:
    """Queue one ``owner_notice`` job per approved disclosure whose notice is due."""
    due = uow.emergencies.approved_due(now)
    return sum(
        uow.jobs.enqueue(
            "owner_notice", {"emergency_id": d.id}, now=now, dedupe_key=f"owner_notice:{d.id}"
        )
        is not None
        for d in due
    )


def owner_notice_job(ctx: ServiceContext, payload: dict[str, Any]) -> None:
    """Write the notice to each owner of a picked camera; running it again adds nothing."""
    emergency_id = int(payload["emergency_id"])
    now = ctx.clock.now()
    with ctx.uow() as uow:
        repo = uow.emergencies
        disclosure = repo.get(emergency_id)
        if disclosure is None or disclosure.status is not EmergencyStatus.APPROVED:
            return
        assert disclosure.reviewer_decided_at is not None
        agency = repo.agency_name(disclosure.agency_id)
        sent = repo.clips_sent_per_camera(emergency_id)
        written = 0
        for resident_id, cameras in repo.owners(disclosure.camera_ids).items():
            notice = owner_notice(
                agency_name=agency,
                cameras=[(cid, kind, sent.get(cid, 0)) for cid, kind in cameras],
                window_start=disclosure.window_start,
                window_end=disclosure.window_end,
                approved_at=disclosure.reviewer_decided_at,
            )
            written += repo.add_message_once(
                resident_id=resident_id,
                kind=NOTICE_KIND,
                ref=notice_ref(emergency_id),
                subject=notice.subject,
                body=notice.body,
                now=now,
            )
        if written:
            _record(
                uow,
                now,
                actor="system:owner-notice",
                role="system",
                emergency_id=emergency_id,
                action="emergency.owner_notified",
                details={"owners": written},
            )
        uow.commit()


@dataclass(frozen=True)
class ResidentDisclosure:
    """One emergency disclosure of a resident's footage, as the resident sees it (PRV-04)."""

    emergency_id: int
    agency_name: str
    camera_id: int
    window_start: datetime
    window_end: datetime
    approved_at: datetime
    clips_sent: int
    notified_at: datetime | None  # when the notice was written (None: due, not yet sent)


@reads_only
def resident_disclosures(ctx: ServiceContext, *, resident_id: int) -> list[ResidentDisclosure]:
    """Every emergency disclosure of this resident's footage whose notice is due (PRV-04).

    A disclosure appears once its owner notice falls due (or was sent), never
    earlier: the delay keeps a suspect from being tipped off while the danger lasts.
    """
    now = ctx.clock.now()
    with ctx.uow(read_only=True) as uow:
        if uow.residents.get(resident_id) is None:
            raise NotFound(f"no resident {resident_id}", field="resident_id")
        repo = uow.emergencies
        mine = repo.resident_camera_ids(resident_id)
        found: list[ResidentDisclosure] = []
        for d in repo.approved_due(now):
            cameras = sorted(mine.intersection(d.camera_ids))
            if not cameras:
                continue
            assert d.reviewer_decided_at is not None
            sent = repo.clips_sent_per_camera(d.id)
            notified = repo.message_sent_at(resident_id, NOTICE_KIND, notice_ref(d.id))
            agency = repo.agency_name(d.agency_id)
            found += [
                ResidentDisclosure(
                    d.id,
                    agency,
                    camera_id,
                    d.window_start,
                    d.window_end,
                    d.reviewer_decided_at,
                    sent.get(camera_id, 0),
                    notified,
                )
                for camera_id in cameras
            ]
    return found
