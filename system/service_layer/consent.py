"""Residents' side of a request: clips, the consent screen, answers, withdrawal.

Rules: consent is per clip and only clips that overlap the window can be
attached (CON-02); identity is shared only when ticked, off by default
(CON-05); audio only when ticked (PRV-03); a share can be withdrawn until its
transfer starts (CON-07); the first answer stands (CON-09); after the response
period answers are refused (CON-08). Nothing here is visible to the agency:
a decline and silence leave the agency-facing state identical (CON-03).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from system.adapters.consent_repo import ClipRow
from system.domain.audit import AuditEvent
from system.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    Problem,
    RuleViolation,
)
from system.domain.evidence import RetentionCategory
from system.domain.model import RequestStatus, VideoRequest
from system.service_layer.clips import not_after
from system.service_layer.context import ServiceContext
from system.service_layer.reads import reads_only
from system.service_layer.residents import opt_out
from system.service_layer.retention import retention_policy
from system.service_layer.transfer import TransferOrder, enqueue_transfers
from system.service_layer.unit_of_work import UnitOfWork

MAX_CLIPS_PER_RESPONSE = 16  # XFR-05 (design)


@dataclass(frozen=True)
class EligibleClip:
    clip_id: int
    camera_id: int
    recorded_at: datetime
    duration_s: float | None
    has_audio: bool


@dataclass(frozen=True)
class ConsentScreen:
    """What the resident is shown before answering (CON-07)."""

    notification_id: int
    request_id: int
    agency_name: str
    case_number: str
    incident_type: str
    message: str
    window_start: datetime
    window_end: datetime
    respond_by: datetime | None
    retention_statement: str
    recall_statement: str
    identity_statement: str
    eligible_clips: tuple[EligibleClip, ...]
    answered: str | None  # None, "share" or "decline"
    open_for_responses: bool


def _notification(
    uow: UnitOfWork, resident_id: int, notification_id: int, *, lock: bool = False
) -> tuple[int, VideoRequest]:
    # Answering locks the notification so two concurrent answers cannot both pass CON-09.
    row = uow.notifications.get(notification_id, for_update=lock)
    if row is None or row.resident_id != resident_id:
        raise NotFound(f"no notification {notification_id} for you", field="notification_id")
    request = uow.requests.get(row.request_id)
    assert request is not None
    return row.id, request


def _eligible(clips: Sequence[ClipRow], request: VideoRequest) -> list[EligibleClip]:
    """Of the resident's stored clips, those that overlap the request's window (CON-02)."""
    found = []
    for clip in clips:
        if clip.recorded_at is None:
            continue  # flagged: no trustworthy time, so it cannot be matched to a window
        end = clip.recorded_at + timedelta(seconds=clip.duration_s or 0.0)
        if clip.recorded_at <= request.window_end and end >= request.window_start:
            found.append(
                EligibleClip(
                    clip.id, clip.camera_id, clip.recorded_at, clip.duration_s, clip.has_audio
                )
            )
    return found


@reads_only
def consent_screen(ctx: ServiceContext, *, resident_id: int, notification_id: int) -> ConsentScreen:
    now = ctx.clock.now()
    with ctx.uow(read_only=True) as uow:
        nid, request = _notification(uow, resident_id, notification_id)
        agency = uow.agencies.get(request.agency_id)
        case = uow.cases.get(request.case_id)
        assert agency is not None
        assert case is not None
        response = uow.responses.for_notification(nid)
        eligible = _eligible(uow.clips.for_resident(resident_id), request)
        period = retention_policy(uow).period(RetentionCategory.STANDARD)
    kept = _period_text(period)
    return ConsentScreen(
        notification_id=nid,
        request_id=request.id,
        agency_name=agency.name,
        case_number=case.case_number,
        incident_type=request.incident_type.value,
        message=request.message,
        window_start=request.window_start,
        window_end=request.window_end,
        respond_by=request.expires_at,
        retention_statement=(
            f"{agency.name} may keep shared clips for up to {kept} from receipt under case "
            f"{case.case_number}, less if they prove to have no investigative value."
        ),
        recall_statement=(
            "Clips already delivered cannot be recalled. You can withdraw a share until its "
            "transfer starts."
        ),
        identity_statement="Your name and contact are shared only if you tick 'share my identity'.",
        eligible_clips=tuple(eligible),
        answered=None if response is None else response.decision,
        open_for_responses=request.accepts_responses(now),
    )


def _period_text(period: timedelta | None) -> str:
    """A retention period as a resident reads it: whole years when it is, else days."""
    if period is None:
        return "until the case ends"
    if period.days % 365 == 0:
        years = period.days // 365
        return f"{years} year{'s' if years != 1 else ''}"
    return f"{period.days} day{'s' if period.days != 1 else ''}"


@dataclass(frozen=True)
class Receipt:
    response_id: int
    decision: str
    shared_clip_ids: tuple[int, ...]  # the ids of the clips shared (not of the share rows)
    agency_id: int


def respond(
    ctx: ServiceContext,
    *,
    resident_id: int,
    notification_id: int,
    clip_ids: Sequence[int] = (),
    share_identity: bool = False,
    include_audio: bool = False,
    opt_out_scope: str | None = None,
) -> Receipt:
    """Answer a request: share the chosen clips (possibly none = decline). Once only."""
    if opt_out_scope not in (None, "agency", "all"):
        problems = _clip_id_problems(list(clip_ids))
        problems.append(Problem("opt_out", "CON-04", "must be 'agency', 'all' or absent"))
        raise InvalidInput(problems)
    answer = Answer(resident_id, notification_id, tuple(clip_ids), share_identity, include_audio)
    outcome = respond_many(ctx, [answer])[0]
    if isinstance(outcome, DomainError):
        raise outcome
    if opt_out_scope is not None:
        opt_out(
            ctx,
            resident_id=resident_id,
            agency_id=outcome.agency_id if opt_out_scope == "agency" else None,
        )
    return outcome


@dataclass(frozen=True)
class Answer:
    """One resident's answer for :func:`respond_many`; no clips = decline."""

    resident_id: int
    notification_id: int
    clip_ids: tuple[int, ...] = ()
    share_identity: bool = False
    include_audio: bool = False
    at: datetime | None = None  # when it was given: default now, never later than now


def respond_many(ctx: ServiceContext, answers: Sequence[Answer]) -> list[Receipt | DomainError]:
    """Record answers in the order given, each judged at its own time by the rules of
    :func:`respond`, in one transaction: a receipt for each accepted answer, the error
    for each refused one (a refusal changes nothing and does not stop the others)."""
    with ctx.uow() as uow:
        outcomes = respond_many_in(uow, answers, ctx.clock.now())
        uow.commit()
    return outcomes


def respond_many_in(
    uow: UnitOfWork, answers: Sequence[Answer], now: datetime
) -> list[Receipt | DomainError]:
    """:func:`respond_many` inside the caller's unit of work (which commits)."""
    outcomes: list[Receipt | DomainError | None] = [None] * len(answers)
    notifications = uow.notifications.get_many(
        [a.notification_id for a in answers], for_update=True
    )
    requests = uow.requests.get_many([row.request_id for row in notifications.values()])
    answered = uow.responses.answered_among(list(notifications))
    clips = uow.clips.for_residents([a.resident_id for a in answers if a.clip_ids])
    accepted: list[tuple[int, Answer, VideoRequest, datetime]] = []
    for position, answer in enumerate(answers):
        at = not_after(answer.at, now)
        row = notifications.get(answer.notification_id)
        try:
            problems = _clip_id_problems(list(answer.clip_ids))
            if problems:
                raise InvalidInput(problems)
            if row is None or row.resident_id != answer.resident_id:
                raise NotFound(
                    f"no notification {answer.notification_id} for you",
                    field="notification_id",
                )
            request = requests[row.request_id]
            _check_answer(answer, request, row.id in answered, clips, at)
        except DomainError as refused:
            outcomes[position] = refused
            continue
        answered.add(row.id)
        accepted.append((position, answer, request, at))
    _record_answers(uow, accepted, outcomes)
    return [o for o in outcomes if o is not None]


def _check_answer(
    answer: Answer,
    request: VideoRequest,
    already_answered: bool,
    clips: dict[int, list[ClipRow]],
    at: datetime,
) -> None:
    if already_answered:
        raise Conflict(
            "you have already answered this request; your first answer stands",
            rule="CON-09",
            field="notification_id",
        )
    if not request.accepts_responses(at):
        raise RuleViolation(
            "this request is no longer open for responses"
            + (
                " (it has expired)"
                if request.status is RequestStatus.EXPIRED
                or (request.expires_at is not None and at >= request.expires_at)
                else ""
            ),
            rule="CON-08",
            field="notification_id",
        )
    eligible = {c.clip_id for c in _eligible(clips.get(answer.resident_id, []), request)}
    outside = [c for c in answer.clip_ids if c not in eligible]
    if outside:
        raise InvalidInput(
            [
                Problem(
                    "clip_ids",
                    "CON-02",
                    f"clips {outside} are not yours or do not overlap the request's window",
                )
            ]
        )


def _record_answers(
    uow: UnitOfWork,
    accepted: Sequence[tuple[int, Answer, VideoRequest, datetime]],
    outcomes: list[Receipt | DomainError | None],
) -> None:
    """The accepted answers' rows, set-based: responses, shared clips, transfers, audit."""
    response_ids = uow.responses.add_many(
        [
            {
                "notification_id": answer.notification_id,
                "request_id": request.id,
                "resident_id": answer.resident_id,
                "decision": "share" if answer.clip_ids else "decline",
                "share_identity": answer.share_identity,
                "include_audio": answer.include_audio,
                "responded_at": at,
            }
            for _position, answer, request, at in accepted
        ]
    )
    shared_ids = uow.responses.add_shared_clips_many(
        [
            (response_id, clip_id, at)
            for response_id, (_p, answer, _r, at) in zip(response_ids, accepted, strict=True)
            for clip_id in answer.clip_ids
        ]
    )
    sharing = [a.resident_id for _p, a, _r, _at in accepted if a.clip_ids and a.share_identity]
    contributors = uow.residents.get_many(sharing)
    transfers: list[TransferOrder] = []
    shared = iter(shared_ids)
    for response_id, (position, answer, request, at) in zip(response_ids, accepted, strict=True):
        resident = contributors.get(answer.resident_id) if answer.share_identity else None
        contributor = None if resident is None else {"name": resident.name, "email": resident.email}
        mine = tuple(next(shared) for _ in answer.clip_ids)
        for shared_id, clip_id in zip(mine, answer.clip_ids, strict=True):
            transfers.append(
                TransferOrder(
                    kind="consent",
                    clip_id=clip_id,
                    agency_id=request.agency_id,
                    case_id=request.case_id,
                    request_id=request.id,
                    include_audio=answer.include_audio,
                    contributor=contributor,
                    at=at,
                    shared_clip_id=shared_id,
                )
            )
        decision = "share" if answer.clip_ids else "decline"
        shared_clips = tuple(answer.clip_ids)  # the clips shared, as the resident named them
        outcomes[position] = Receipt(response_id, decision, shared_clips, request.agency_id)
    enqueue_transfers(uow, transfers)
    uow.audit.record_many(
        [
            (
                AuditEvent(
                    actor=f"resident:{answer.resident_id}",
                    role="resident",
                    object=f"request:{request.id}",
                    action=f"consent.{'share' if answer.clip_ids else 'decline'}",
                    details={"clips": len(answer.clip_ids)},
                ),
                at,
            )
            for _position, answer, request, at in accepted
        ]
    )


def _clip_id_problems(clip_ids: list[int]) -> list[Problem]:
    if any(not isinstance(c, int) or isinstance(c, bool) for c in clip_ids):
        return [Problem("clip_ids", "CON-02", "must be a list of clip ids")]
    if len(set(clip_ids)) != len(clip_ids):
        return [Problem("clip_ids", "CON-02", "lists a clip more than once")]
    if len(clip_ids) > MAX_CLIPS_PER_RESPONSE:
        return [
            Problem(
                "clip_ids",
                "XFR-05",
                f"at most {MAX_CLIPS_PER_RESPONSE} clips per response (got {len(clip_ids)})",
            )
        ]
    return []


def withdraw(ctx: ServiceContext, *, resident_id: int, notification_id: int) -> int:
    """Withdraw every share of this answer whose transfer has not started; returns how many.

    Raises Conflict when every shared clip is already on its way (CON-07).
    """
    now = ctx.clock.now()
    with ctx.uow() as uow:
        nid, request = _notification(uow, resident_id, notification_id)
        response = uow.responses.for_notification(nid)
        if response is None or response.decision != "share":
            raise NotFound("there is no share to withdraw", rule="CON-07", field="notification_id")
        withdrawn = 0
        for shared in uow.responses.shared_clips(response.id):
            row = uow.responses.shared_clip_for_update(shared.id)
            if row.status == "pending":
                uow.responses.set_shared_clip_status(shared.id, "withdrawn", now=now)
                transfer = uow.transfers.for_shared_clip(shared.id)
                if transfer is not None and transfer.status == "queued":
                    uow.transfers.update(transfer.id, status="withdrawn")
                withdrawn += 1
        if withdrawn == 0:
            raise Conflict(
                "these clips are already being delivered; delivered clips cannot be recalled",
                rule="CON-07",
                field="notification_id",
            )
        uow.audit.record(
            AuditEvent(
                actor=f"resident:{resident_id}",
                role="resident",
                object=f"request:{request.id}",
                action="consent.withdraw",
                details={"clips": withdrawn},
            ),
            now=now,
        )
        uow.commit()
    return withdrawn


@dataclass(frozen=True)
class NotificationSummary:
    notification_id: int
    request_id: int
    agency_name: str
    incident_type: str
    notified_at: datetime
    answered: str | None
    status: str


@reads_only
def my_notifications(
    ctx: ServiceContext, *, resident_id: int, limit: int | None = None, before: int | None = None
) -> list[NotificationSummary]:
    """Every request this resident was sent, newest first (PRV-04), a page at a time.

    ``limit`` caps the page (``None``: all); ``before`` is the last notification of
    the previous page: the page continues after it in the same order. A ``before``
    that is not one of this resident's notifications is not found.
    """
    with ctx.uow(read_only=True) as uow:
        after = None
        if before is not None:
            at = uow.notifications.notified_at(before, resident_id=resident_id)
            if at is None:
                raise NotFound(f"no notification {before} for you", field="before")
            after = (at, before)
        rows = uow.notifications.for_resident(resident_id, limit=limit, after=after)
    return [NotificationSummary(*row) for row in rows]  # the repository's column order
