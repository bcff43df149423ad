"""The job queue in the database: enqueue, claim with a lease, finish or retry.

Claiming on PostgreSQL uses ``FOR UPDATE SKIP LOCKED`` so many workers share
one queue without taking the same job; on SQLite the writer lock (``BEGIN
IMMEDIATE``) does the same. A worker that dies leaves its job ``running``
with an expired lease; the next claim takes it again (at-least-once), and
handlers are written to be idempotent so the effect is exactly-once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select, update

from system.adapters import driver_sql
from system.adapters import tables as t
from system.adapters.bulk import chunks, ids, insert_returning_ids, rows_in


class JobStatus:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"  # out of attempts: the dead-letter state


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


_j = t.jobs.c
_CLAIM = (
    select(t.jobs)
    .where(
        or_(
            and_(_j.status == JobStatus.QUEUED, _j.run_after <= bindparam("now")),
            and_(_j.status == JobStatus.RUNNING, _j.locked_until < bindparam("now")),
        )
    )
    .order_by(_j.run_after, _j.id)
    .limit(bindparam("limit"))
)
_CLAIM_PG = _CLAIM.with_for_update(skip_locked=True)
_TAKE = (
    update(t.jobs)
    .where(_j.id.in_(ids()))
    .values(
        status=JobStatus.RUNNING,
        locked_by=bindparam("v_worker"),
        locked_until=bindparam("v_until"),
        attempts=_j.attempts + 1,
    )
)
_COMPLETE = (
    update(t.jobs)
    .where(_j.id.in_(ids()))
    .values(
        status=JobStatus.DONE,
        finished_at=bindparam("v_now"),
        locked_by=None,
        locked_until=None,
        dedupe_key=None,
    )
)
_DONE_BEFORE = (  # the claim index's (status, run_after): a range, not a scan
    select(_j.id)
    .where(_j.status == JobStatus.DONE, _j.run_after < bindparam("before"))
    .order_by(_j.run_after, _j.id)
    .limit(bindparam("limit"))
)
_DELETE = delete(t.jobs).where(_j.id.in_(ids()))
_PENDING_KEYS = select(_j.dedupe_key).where(_j.dedupe_key.in_(ids()))


class JobQueue:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        now: datetime,
        run_after: datetime | None = None,
        dedupe_key: str | None = None,
        max_attempts: int = 8,
    ) -> int | None:
        """Add a job; while one with the same ``dedupe_key`` is pending, a second adds nothing."""
        return self.enqueue_many(
            kind,
            [(payload, dedupe_key, None)],
            now=now,
            run_after=run_after,
            max_attempts=max_attempts,
        )[0]

    def enqueue_many(
        self,
        kind: str,
        jobs: Sequence[tuple[dict[str, Any], str | None, datetime | None]],
        *,
        now: datetime,
        run_after: datetime | None = None,
        max_attempts: int = 8,
        fresh_keys: bool = False,
    ) -> list[int | None]:
        """Add jobs of one kind as (payload, dedupe key, created at or None for ``now``);
        the id of each, None where a pending job already had that key (or an earlier one
        in the list did). A job runs from ``run_after``, by default when it was created.
        ``fresh_keys``: the keys name rows made in this transaction (a new transfer's id),
        so no pending job can hold one and they are not looked up."""
        keys = [key for _payload, key, _at in jobs if key is not None]
        taken = (
            set()
            if fresh_keys
            else {str(r[0]) for r in rows_in(self.connection, _PENDING_KEYS, keys)}
        )
        rows_to_add: list[dict[str, Any]] = []
        positions: list[int] = []
        for position, (payload, key, at) in enumerate(jobs):
            if key is not None:
                if key in taken:
                    continue
                taken.add(key)
            positions.append(position)
            rows_to_add.append(
                {
                    "kind": kind,
                    "payload_json": json.dumps(payload, sort_keys=True),
                    "dedupe_key": key,
                    "status": JobStatus.QUEUED,
                    "attempts": 0,
                    "max_attempts": max_attempts,
                    "run_after": run_after or at or now,
                    "created_at": at or now,
                }
            )
        job_ids: list[int | None] = [None] * len(jobs)
        for position, job_id in zip(
            positions, insert_returning_ids(self.connection, t.jobs, rows_to_add), strict=True
        ):
            job_ids[position] = job_id
        return job_ids

    def any_due(self, now: datetime) -> bool:
        """Whether a claim would find a job (a read: no write lock on SQLite)."""
        return driver_sql.first_row(self.connection, _CLAIM, {"now": now, "limit": 1}) is not None

    def claim(self, worker: str, *, now: datetime, lease: timedelta, limit: int = 1) -> list[Job]:
        """Take up to ``limit`` due jobs (or jobs whose lease ran out) for ``worker``."""
        query = _CLAIM_PG if self.connection.dialect.name == "postgresql" else _CLAIM
        rows = driver_sql.select_rows(self.connection, query, {"now": now, "limit": limit})
        if not rows:
            return []
        driver_sql.execute(
            self.connection,
            _TAKE,
            {"ids": [r.id for r in rows], "v_worker": worker, "v_until": now + lease},
        )
        return [
            Job(r.id, r.kind, json.loads(r.payload_json), r.attempts + 1, r.max_attempts)
            for r in rows
        ]

    def complete(self, job_id: int, *, now: datetime) -> None:
        self.complete_many([job_id], now=now)

    def complete_many(self, job_ids: Sequence[int], *, now: datetime) -> None:
        # Releasing the dedupe key lets a scheduler enqueue the same work again later
        # (e.g. a purge that found the item on hold); it dedupes only pending work.
        for part in chunks(job_ids):
            driver_sql.execute(self.connection, _COMPLETE, {"ids": list(part), "v_now": now})

    def fail(self, job: Job, error: str, *, now: datetime, backoff: timedelta) -> str:
        """Record a failure: retry after ``backoff``, or dead-letter when out of attempts."""
        dead = job.attempts >= job.max_attempts
        status = JobStatus.DEAD if dead else JobStatus.QUEUED
        self.connection.execute(
            update(t.jobs)
            .where(t.jobs.c.id == job.id)
            .values(
                status=status,
                last_error=error[:2000],
                run_after=now + backoff,
                locked_by=None,
                locked_until=None,
                finished_at=now if dead else None,
                dedupe_key=None if dead else t.jobs.c.dedupe_key,
            )
        )
        return status

    def oldest_due(self, now: datetime) -> datetime | None:
        """When the longest-waiting queued job became due (``None``: none is due)."""
        found: datetime | None = self.connection.execute(
            select(func.min(t.jobs.c.run_after)).where(
                t.jobs.c.status == JobStatus.QUEUED, t.jobs.c.run_after <= now
            )
        ).scalar()
        return found

    def prune_done(self, *, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` done jobs that came due before ``before``, oldest first;
        how many went. Queued, running and dead jobs stay."""
        found = [
            int(r.id)
            for r in driver_sql.select_rows(
                self.connection, _DONE_BEFORE, {"before": before, "limit": limit}
            )
        ]
        for part in chunks(found):
            driver_sql.execute(self.connection, _DELETE, {"ids": list(part)})
        return len(found)

    def counts(self) -> dict[str, int]:
        rows = self.connection.execute(
            select(t.jobs.c.status, func.count()).group_by(t.jobs.c.status)
        )
        return {status: int(n) for status, n in rows}

    def dead(self, *, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(t.jobs)
            .where(t.jobs.c.status == JobStatus.DEAD)
            .order_by(t.jobs.c.id)
            .limit(limit)
        )
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "payload": json.loads(r.payload_json),
                "attempts": r.attempts,
                "last_error": r.last_error,
            }
            for r in rows
        ]
