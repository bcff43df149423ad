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

from sqlalchemy import Connection, and_, func, or_, select, update

from system.adapters import tables as t
from system.adapters.bulk import insert_returning_ids


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
    ) -> list[int | None]:
        """Add jobs of one kind as (payload, dedupe key, created at or None for ``now``);
        the id of each, None where a pending job already had that key (or an earlier one
        in the list did). A job runs from ``run_after``, by default when it was created."""
        keys = [key for _payload, key, _at in jobs if key is not None]
        taken: set[str] = set()
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            rows = self.connection.execute(
                select(t.jobs.c.dedupe_key).where(t.jobs.c.dedupe_key.in_(part))
            )
            taken.update(str(k) for k in rows.scalars())
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
        ids: list[int | None] = [None] * len(jobs)
        for position, job_id in zip(
            positions, insert_returning_ids(self.connection, t.jobs, rows_to_add), strict=True
        ):
            ids[position] = job_id
        return ids

    def claim(self, worker: str, *, now: datetime, lease: timedelta, limit: int = 1) -> list[Job]:
        """Take up to ``limit`` due jobs (or jobs whose lease ran out) for ``worker``."""
        j = t.jobs.c
        due = or_(
            and_(j.status == JobStatus.QUEUED, j.run_after <= now),
            and_(j.status == JobStatus.RUNNING, j.locked_until < now),
        )
        query = select(t.jobs).where(due).order_by(j.run_after, j.id).limit(limit)
        if self.connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = self.connection.execute(query).all()
        if not rows:
            return []
        ids = [r.id for r in rows]
        self.connection.execute(
            update(t.jobs)
            .where(j.id.in_(ids))
            .values(
                status=JobStatus.RUNNING,
                locked_by=worker,
                locked_until=now + lease,
                attempts=j.attempts + 1,
            )
        )
        return [
            Job(r.id, r.kind, json.loads(r.payload_json), r.attempts + 1, r.max_attempts)
            for r in rows
        ]

    def complete(self, job_id: int, *, now: datetime) -> None:
        self.complete_many([job_id], now=now)

    def complete_many(self, job_ids: Sequence[int], *, now: datetime) -> None:
        self.connection.execute(
            update(t.jobs)
            .where(t.jobs.c.id.in_(list(job_ids)))
            # Releasing the dedupe key lets a scheduler enqueue the same work again later
            # (e.g. a purge that found the item on hold); it dedupes only pending work.
            .values(
                status=JobStatus.DONE,
                finished_at=now,
                locked_by=None,
                locked_until=None,
                dedupe_key=None,
            )
        )

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
