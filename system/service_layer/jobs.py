"""The job runner: one call, :func:`run_pending_jobs`, drives every background task.

The HTTP server's embedded worker, ``canvass worker`` processes and the
simulation's in-process driver all call it. Jobs are claimed in short
transactions (a lease), run by their handlers (which own their transactions and
are idempotent), then completed; a failure is retried with exponential backoff
until ``max_attempts``, then dead-lettered. To keep a run to few transactions,
the jobs a claim ran are completed in the transaction of the next claim, and
time-driven work is scheduled in the transaction of the first claim. A worker
that dies before that commit leaves the finished jobs to be run again, which
their idempotent handlers make harmless (as for a death just after a handler).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from system.adapters.jobs_repo import Job, JobStatus
from system.domain.audit import AuditEvent
from system.domain.errors import DomainError
from system.domain.model import RequestStatus
from system.service_layer import emergency, evidence, fanout, transfer
from system.service_layer.context import ServiceContext
from system.service_layer.unit_of_work import UnitOfWork

Handler = Callable[[ServiceContext, dict[str, Any]], object]
BatchHandler = Callable[[ServiceContext, list[dict[str, Any]]], list[Exception | None]]
"""Runs many jobs of one kind together; returns, per job in order, None or its error."""
Scheduler = Callable[[UnitOfWork, datetime], int]

LEASE = timedelta(minutes=5)
CLAIM_BATCH = 8  # jobs claimed per transaction; the lease covers the whole batch
MAX_BACKOFF = timedelta(hours=1)
DONE_JOBS_KEPT = timedelta(days=7)
"""How long a done job stays in the queue's table (dead jobs stay until an operator acts)."""
PRUNE_BATCH = 5_000
"""Done jobs deleted at most per scheduling pass (hourly at least): a backlog goes in steps."""


def fan_out_job(ctx: ServiceContext, payload: dict[str, Any]) -> None:
    """Fan out an approved request; a request already sent (or closed) is left alone."""
    with ctx.uow(read_only=True) as uow:
        request = uow.requests.get(int(payload["request_id"]))
    if request is not None and request.status is RequestStatus.APPROVED:
        fanout.fan_out(ctx, request_id=request.id)


def transfer_job(ctx: ServiceContext, payload: dict[str, Any]) -> None:
    transfer.run_transfer(ctx, transfer_id=int(payload["transfer_id"]))


def transfer_batch_job(
    ctx: ServiceContext, payloads: list[dict[str, Any]]
) -> list[Exception | None]:
    outcomes = transfer.run_transfers(ctx, [int(p["transfer_id"]) for p in payloads])
    return [o if isinstance(o, Exception) else None for o in outcomes]


def expire_request_job(ctx: ServiceContext, payload: dict[str, Any]) -> None:
    """End a request's response period (CON-08); idempotent."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        request = uow.requests.get_for_update(int(payload["request_id"]))
        if request is None or request.status is not RequestStatus.ACTIVE:
            return
        if request.expires_at is None or now < request.expires_at:
            return
        request.expire(now)
        uow.requests.save(request)
        uow.audit.record(
            AuditEvent(
                actor="system:expiry",
                role="system",
                object=f"request:{request.id}",
                action="request.expired",
            ),
            now=now,
        )
        uow.commit()


def delete_expired_clips_job(ctx: ServiceContext, payload: dict[str, Any]) -> None:
    """Delete a platform clip whose camera retention has run out."""
    delete_expired_clips_batch(ctx, [payload])


def delete_expired_clips_batch(
    ctx: ServiceContext, payloads: list[dict[str, Any]]
) -> list[Exception | None]:
    """Delete the listed clips that are (still) past their camera's retention: one
    transaction for all, then their content. Idempotent."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        clips = uow.clips.get_many([int(p["clip_id"]) for p in payloads])
        due = [
            clip
            for clip in clips.values()
            if clip.status == "stored"
            and clip.delete_after is not None
            and clip.delete_after <= now
        ]
        uow.clips.set_status_many([clip.id for clip in due], "deleted")
        uow.commit()
    ctx.stores.clips.delete_many([clip.sha256 for clip in due])
    return [None] * len(payloads)


def schedule_expiries(uow: UnitOfWork, now: datetime) -> int:
    due = uow.requests.due_to_expire(now)
    return sum(
        uow.jobs.enqueue("expire_request", {"request_id": r}, now=now, dedupe_key=f"expire:{r}")
        is not None
        for r in due
    )


def schedule_clip_deletions(uow: UnitOfWork, now: datetime) -> int:
    added = uow.jobs.enqueue_many(
        "delete_clip",
        [({"clip_id": c.id}, f"delete_clip:{c.id}", None) for c in uow.clips.due_for_deletion(now)],
        now=now,
    )
    return sum(job_id is not None for job_id in added)


def prune_done_jobs(uow: UnitOfWork, now: datetime) -> int:
    """Delete done jobs that came due more than :data:`DONE_JOBS_KEPT` ago, so the queue's
    table holds about a week's work however long the system runs (what happened is in
    the audit trail, not the queue). It queues nothing, so it adds 0 to the count."""
    uow.jobs.prune_done(before=now - DONE_JOBS_KEPT, limit=PRUNE_BATCH)
    return 0


def default_handlers() -> dict[str, Handler]:
    return {
        "fan_out": fan_out_job,
        "transfer": transfer_job,
        "expire_request": expire_request_job,
        "delete_clip": delete_expired_clips_job,
        evidence.PURGE_JOB: evidence.purge_evidence_job,
        "owner_notice": emergency.owner_notice_job,
    }


def default_batch_handlers() -> dict[str, BatchHandler]:
    """Kinds whose claimed jobs run together (one transaction per step for all)."""
    return {"transfer": transfer_batch_job, "delete_clip": delete_expired_clips_batch}


def default_schedulers() -> list[Scheduler]:
    return [
        schedule_expiries,
        schedule_clip_deletions,
        evidence.schedule_purges,
        emergency.schedule_owner_notices,
        prune_done_jobs,
    ]


@dataclass
class RunReport:
    done: int = 0
    retried: int = 0
    dead: int = 0
    scheduled: int = 0
    errors: list[str] = field(default_factory=list)
    finished: Finished | None = None  # with ``finish_later``: jobs done, not yet completed

    @property
    def ran(self) -> int:
        return self.done + self.retried + self.dead


@dataclass(frozen=True)
class Finished:
    """Jobs that ran and succeeded at ``at`` but are not yet marked done (see
    :func:`run_pending_jobs`' ``finish_later``)."""

    job_ids: list[int]
    at: datetime


def complete_finished(ctx: ServiceContext, finished: Sequence[Finished]) -> None:
    """Mark done, each at its own time, jobs a run left for later."""
    if not any(f.job_ids for f in finished):
        return
    with ctx.uow() as uow:
        for f in finished:
            uow.jobs.complete_many(f.job_ids, now=f.at)
        uow.commit()


def backoff(attempts: int) -> timedelta:
    delay: timedelta = timedelta(seconds=30) * (2 ** max(attempts - 1, 0))
    return min(delay, MAX_BACKOFF)


def schedule_due_work(ctx: ServiceContext, schedulers: list[Scheduler] | None = None) -> int:
    """Enqueue time-driven work that has come due (expiries, purges, notices)."""
    with ctx.uow() as uow:
        added = _schedule(uow, ctx.clock.now(), schedulers)
        uow.commit()
    return added


def _schedule(uow: UnitOfWork, now: datetime, schedulers: list[Scheduler] | None) -> int:
    return sum(
        s(uow, now) for s in (schedulers if schedulers is not None else default_schedulers())
    )


def run_pending_jobs(
    ctx: ServiceContext,
    *,
    worker_id: str = "inprocess",
    limit: int = 1000,
    handlers: dict[str, Handler] | None = None,
    batch_handlers: dict[str, BatchHandler] | None = None,
    schedule: bool = True,
    claim_batch: int = CLAIM_BATCH,
    work_queued: bool = False,
    finished: Sequence[Finished] = (),
    finish_later: bool = False,
) -> RunReport:
    """Run due jobs until none is left or ``limit`` have run; returns what happened.

    Jobs are claimed ``claim_batch`` at a time; claimed jobs of a kind with a batch
    handler run together. Batch handlers are used only with the default handlers
    (custom ``handlers`` run one job at a time unless ``batch_handlers`` are given).
    An idle queue is found with a read before any write lock is taken, unless the
    caller knows it queued work (``work_queued``): then the first claim looks.

    With the default handlers (none of which queues jobs) a claim that finds fewer jobs
    than it asked for is the last: nothing else is due. A caller that calls again soon,
    before the lease runs out (the simulation's driver), may pass ``finish_later``: the
    last jobs that ran are then not marked done in a transaction of their own but left
    in the report's ``finished``, for the caller to pass back as ``finished`` to its next
    call, whose first transaction marks them done at the time they finished (before
    it claims, so they are never claimed again) -- or to :func:`complete_finished`.
    """
    drains = handlers is None  # no default handler queues jobs: a short claim is the last
    if batch_handlers is None:
        batch_handlers = default_batch_handlers() if handlers is None else {}
    handlers = handlers if handlers is not None else default_handlers()
    report = RunReport()
    earlier = [f for f in finished if f.job_ids]
    if not schedule and not work_queued and not earlier:
        with ctx.uow(read_only=True) as uow:
            # An idle queue is found with a read; a claim takes SQLite's write lock.
            if not uow.jobs.any_due(ctx.clock.now()):
                return report
    done: list[int] = []  # finished jobs, completed with the next claim
    last = False
    while True:
        with ctx.uow() as uow:
            now = ctx.clock.now()
            for f in earlier:
                uow.jobs.complete_many(f.job_ids, now=f.at)
            earlier = []
            if done:
                uow.jobs.complete_many(done, now=now)
                done = []
            if schedule:
                report.scheduled = _schedule(uow, now, None)
                schedule = False
            wanted = min(claim_batch, limit - report.ran)
            claimed = (
                uow.jobs.claim(worker_id, now=now, lease=LEASE, limit=wanted)
                if wanted > 0 and not last
                else []
            )
            uow.commit()
        if not claimed:
            return report
        last = drains and len(claimed) < wanted
        batches: dict[str, list[Job]] = {}
        for job in claimed:
            if job.kind in batch_handlers:
                batches.setdefault(job.kind, []).append(job)
            else:
                done += _run_one(ctx, job, handlers, report)
        for kind, jobs in batches.items():
            done += _run_batch(ctx, jobs, batch_handlers[kind], report)
        if last and finish_later:
            report.finished = Finished(done, ctx.clock.now())
            return report
        if last and not done:
            return report


def _run_batch(
    ctx: ServiceContext, jobs: list[Job], handler: BatchHandler, report: RunReport
) -> list[int]:
    """Run jobs of one kind together; returns the ids of those that succeeded."""
    try:
        outcomes = handler(ctx, [job.payload for job in jobs])
    except Exception as exc:  # the whole batch failed (e.g. the database went away)
        outcomes = [exc] * len(jobs)
    done = [job.id for job, error in zip(jobs, outcomes, strict=True) if error is None]
    report.done += len(done)
    for job, error in zip(jobs, outcomes, strict=True):
        if error is not None:
            _record_failure(ctx, job, error, report)
    return done


def _run_one(
    ctx: ServiceContext, job: Job, handlers: dict[str, Handler], report: RunReport
) -> list[int]:
    """Run one job; returns its id if it succeeded."""
    handler = handlers.get(job.kind)
    try:
        if handler is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        handler(ctx, job.payload)
    except Exception as exc:  # a failed job must never stop the worker
        _record_failure(ctx, job, exc, report)
        return []
    report.done += 1
    return [job.id]


def _record_failure(ctx: ServiceContext, job: Job, exc: Exception, report: RunReport) -> None:
    detail = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, DomainError | transfer.TransferFailed):
        detail += "\n" + "".join(traceback.format_exception(exc, limit=5))
    with ctx.uow() as uow:
        status = uow.jobs.fail(job, detail, now=ctx.clock.now(), backoff=backoff(job.attempts))
        uow.commit()
    report.errors.append(f"job {job.id} ({job.kind}): {type(exc).__name__}: {exc}")
    if status == JobStatus.DEAD:
        report.dead += 1
    else:
        report.retried += 1
