"""Video requests: submission by a detective, moderation by the platform, closing.

The agency sees its requests only through :func:`request_status`, which never
reveals who or how many were notified (CON-03, PRV-02).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from system.domain.audit import AuditEvent
from system.domain.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    Problem,
    RuleViolation,
)
from system.domain.model import (
    COUNTED_STATUSES,
    PUBLISHED_STATUSES,
    CaseStatus,
    Decision,
    IncidentType,
    ModerationDecision,
    RequestStatus,
    Role,
    Staff,
    VideoRequest,
)
from system.domain.moderation import checklist_problems, lint
from system.domain.rules import RequestDraft, check_draft, check_text
from system.service_layer.context import ServiceContext
from system.service_layer.reads import reads_only
from system.service_layer.registration import active_officer
from system.service_layer.unit_of_work import UnitOfWork


def submit_request(ctx: ServiceContext, *, officer_id: int, draft: RequestDraft) -> int:
    """A detective submits a request for their agency's case; returns its id.

    Checks REQ-01..05; nothing is stored when any check fails. The request
    waits for moderation: no resident is notified before approval (REQ-08).
    """
    now = ctx.clock.now()
    problems = check_draft(draft, now=now, policy=ctx.policy)
    if not isinstance(draft.case_id, int) or isinstance(draft.case_id, bool):
        problems.insert(0, Problem("case_id", "REQ-01", "must be the id of an open case"))
    if problems:
        raise InvalidInput(problems)
    with ctx.uow() as uow:
        officer, agency = active_officer(uow, officer_id)
        case = uow.cases.get(draft.case_id, for_update=True)
        # Another agency's case answers exactly as a missing one (REQ-01, REQ-05): a
        # different answer would let a detective find which case ids exist elsewhere.
        if case is None or case.agency_id != agency.id:
            raise InvalidInput(
                [
                    Problem(
                        "case_id",
                        "REQ-01",
                        f"no case {draft.case_id} in your agency: open the case first",
                    )
                ]
            )
        if case.status is not CaseStatus.OPEN:
            raise RuleViolation(
                f"case {case.case_number} is closed", rule="REQ-01", field="case_id"
            )
        _check_limits(uow, ctx, agency_id=agency.id, case_id=case.id, now=now)
        request = VideoRequest(
            id=0,
            agency_id=agency.id,
            case_id=case.id,
            officer_id=officer.id,
            incident_type=IncidentType(draft.incident_type),
            description=draft.description,
            investigator_contact=draft.investigator_contact,
            incident_lat=float(draft.incident_lat),
            incident_lon=float(draft.incident_lon),
            window_start=draft.window_start,
            window_end=draft.window_end,
            area=draft.area,
            message=draft.message,
            submitted_at=now,
            lint_flags=lint(draft.description, draft.message),
        )
        request_id = uow.requests.add(request)
        uow.audit.record(
            AuditEvent(
                actor=f"officer:{officer.id}",
                role=officer.role.value,
                object=f"request:{request_id}",
                action="request.submit",
                details={"case_id": case.id, "lint_flags": len(request.lint_flags)},
            ),
            now=now,
        )
        uow.commit()
    return request_id


def _check_limits(
    uow: UnitOfWork, ctx: ServiceContext, *, agency_id: int, case_id: int, now: datetime
) -> None:
    limit = ctx.policy.max_requests_per_case
    if uow.requests.count_for_case(case_id, COUNTED_STATUSES) >= limit:
        raise RuleViolation(
            f"case already has {limit} requests, the most allowed per case",
            rule="REQ-04",
            field="case_id",
        )
    quota = ctx.policy.agency_daily_quota
    if uow.requests.count_for_agency_since(agency_id, now - timedelta(days=1)) >= quota:
        raise RuleViolation(
            f"the agency has used its quota of {quota} requests in 24 hours",
            rule="REQ-04",
            field="agency",
        )


def _moderator(uow: UnitOfWork, moderator_id: int) -> Staff:
    staff = uow.staff.get(moderator_id)
    if staff is None or not staff.active or staff.role is not Role.MODERATOR:
        raise PermissionDenied("only platform moderators may review requests", rule="REQ-08")
    return staff


def _request(uow: UnitOfWork, request_id: int, *, for_update: bool = False) -> VideoRequest:
    found = uow.requests.get_for_update(request_id) if for_update else uow.requests.get(request_id)
    if found is None:
        raise NotFound(f"no request {request_id}", field="request_id")
    return found


def start_review(ctx: ServiceContext, *, moderator_id: int, request_id: int) -> None:
    """A moderator takes a submitted request into review."""
    with ctx.uow() as uow:
        moderator = _moderator(uow, moderator_id)
        request = _request(uow, request_id, for_update=True)
        request.start_review(ctx.clock.now())
        uow.requests.save(request)
        uow.audit.record(
            AuditEvent(
                actor=f"staff:{moderator.id}",
                role=moderator.role.value,
                object=f"request:{request.id}",
                action="request.review_started",
            ),
            now=ctx.clock.now(),
        )
        uow.commit()


def moderate(
    ctx: ServiceContext,
    *,
    moderator_id: int,
    request_id: int,
    decision: Decision | str,
    reason: str,
    checklist: Mapping[str, object],
) -> None:
    """Approve or reject a request, storing the moderator's checklist (REQ-06..08).

    Approval needs every checklist item affirmed; rejection needs a reason.
    Approval makes the request eligible for fan-out; it notifies no one itself.
    """
    if decision not in {d.value for d in Decision}:
        raise InvalidInput([Problem("decision", "REQ-08", "must be 'approve' or 'reject'")])
    decision = Decision(decision)
    approving = decision is Decision.APPROVE
    problems = checklist_problems(checklist, approving=approving)
    problems += check_text(
        reason, field="reason", rule="REQ-08", max_chars=2000, required=not approving
    )
    if problems:
        raise InvalidInput(problems)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        moderator = _moderator(uow, moderator_id)
        request = _request(uow, request_id, for_update=True)
        if approving:
            limit = ctx.policy.max_requests_per_case
            if uow.requests.count_for_case(request.case_id, PUBLISHED_STATUSES) >= limit:
                raise RuleViolation(
                    f"case already has {limit} published requests", rule="REQ-04", field="case_id"
                )
            request.approve(now)
        else:
            request.reject(now)
        uow.requests.save(request)
        uow.moderation.add(
            ModerationDecision(
                request_id=request.id,
                moderator_id=moderator.id,
                decision=decision,
                reason=reason,
                checklist={k: bool(v) for k, v in checklist.items()},
                lint_flags=request.lint_flags,
                decided_at=now,
            )
        )
        if approving:
            # Fan-out runs in the background; nothing is sent inside this transaction.
            uow.jobs.enqueue(
                "fan_out", {"request_id": request.id}, now=now, dedupe_key=f"fan_out:{request.id}"
            )
        uow.audit.record(
            AuditEvent(
                actor=f"staff:{moderator.id}",
                role=moderator.role.value,
                object=f"request:{request.id}",
                action=f"request.{decision.value}",
                details={"reason": reason, "checklist": dict(checklist)},
            ),
            now=now,
        )
        uow.commit()


@dataclass(frozen=True)
class ReviewItem:
    """What a moderator sees in the review queue."""

    request_id: int
    agency_id: int
    status: RequestStatus
    incident_type: IncidentType
    description: str
    message: str
    submitted_at: datetime
    lint_flags: tuple[str, ...]


@reads_only
def review_queue(ctx: ServiceContext, *, moderator_id: int, limit: int = 50) -> list[ReviewItem]:
    """Requests awaiting a decision, oldest first, with their lint flags."""
    with ctx.uow(read_only=True) as uow:
        _moderator(uow, moderator_id)
        pending = uow.requests.with_status(RequestStatus.SUBMITTED, limit=limit)
        pending += uow.requests.with_status(RequestStatus.IN_REVIEW, limit=limit)
    pending.sort(key=lambda r: (r.submitted_at, r.id))
    return [
        ReviewItem(
            r.id,
            r.agency_id,
            r.status,
            r.incident_type,
            r.description,
            r.message,
            r.submitted_at,
            r.lint_flags,
        )
        for r in pending[:limit]
    ]


@dataclass(frozen=True)
class RequestStatusView:
    """The agency-facing view of a request. Deliberately holds no notification counts."""

    request_id: int
    case_id: int
    status: RequestStatus
    submitted_at: datetime
    decided_at: datetime | None
    expires_at: datetime | None
    ended_at: datetime | None
    rejection_reason: str | None


@reads_only
def request_status(ctx: ServiceContext, *, officer_id: int, request_id: int) -> RequestStatusView:
    """What an officer of the requesting agency may know about a request."""
    with ctx.uow(read_only=True) as uow:
        officer, _ = active_officer(uow, officer_id)
        request = uow.requests.get(request_id)
        if request is None or request.agency_id != officer.agency_id:
            raise NotFound(f"no request {request_id} in your agency", field="request_id")
        reason = None
        if request.status is RequestStatus.REJECTED:
            decisions = uow.moderation.for_request(request.id)
            reason = str(decisions[-1]["reason"]) if decisions else None
    return RequestStatusView(
        request.id,
        request.case_id,
        request.status,
        request.submitted_at,
        request.decided_at,
        request.expires_at,
        request.ended_at,
        reason,
    )


def close_request(ctx: ServiceContext, *, officer_id: int, request_id: int) -> None:
    """The requesting agency closes a request it no longer needs."""
    with ctx.uow() as uow:
        officer, _ = active_officer(uow, officer_id)
        request = uow.requests.get_for_update(request_id)
        if request is None or request.agency_id != officer.agency_id:
            raise NotFound(f"no request {request_id} in your agency", field="request_id")
        request.close(ctx.clock.now())
        uow.requests.save(request)
        uow.audit.record(
            AuditEvent(
                actor=f"officer:{officer.id}",
                role=officer.role.value,
                object=f"request:{request.id}",
                action="request.close",
            ),
            now=ctx.clock.now(),
        )
        uow.commit()
