"""The job queue in the database: enqueue, claim with a lease, finish or retry.

Claiming on PostgreSQL uses ``FOR UPDATE SKIP LOCKED`` so many workers share
one queue without taking the same job; on SQLite the writer lock (``BEGIN
IMMEDIATE``) does the same. A worker that dies leaves its job ``running``
with an expired lease; the next claim takes it again (at-least-once), and
handlers are written to be idempotent so the effect is exactly-once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from system.adapters import tables as t


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
        if dedupe_key is not None:
            existing = self.connection.execute(
                select(t.jobs.c.id).where(t.jobs.c.dedupe_key == dedupe_key)
            ).scalar()
            if existing is not None:
                return None
        result = self.connection.execute(
            insert(t.jobs).returning(t.jobs.c.id),
            {
                "kind": kind,
                "payload_json": json.dumps(payload, sort_keys=True),
                "dedupe_key": dedupe_key,
                "status": JobStatus.QUEUED,
                "attempts": 0,
                "max_attempts": max_attempts,
                "run_after": run_after or now,
                "created_at": now,
            },
        )
        return int(result.scalar_one())

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
        self.connection.execute(
            update(t.jobs)
            .where(t.jobs.c.id == job_id)
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
