"""The audit chain in the database: append under a per-stream row lock, verify all.

Entries recorded in a unit of work are held until it commits (or until the chain is
read in it) and then appended together: the heads of the streams touched are locked
once per unit of work, with one insert for all its entries and one update for the
heads, however many steps recorded them. Entries keep the order they were recorded
in, each with its own time; a unit of work that rolls back appends nothing, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from system.adapters import driver_sql
from system.adapters import tables as t
from system.adapters.bulk import ids
from system.domain.audit import (
    STREAMS,
    AuditEntry,
    AuditEvent,
    VerifyResult,
    canonical_details,
    entry_hash,
    stream_for,
    verify_stream,
)

_HEADS = (
    select(t.audit_streams.c.stream, t.audit_streams.c.last_seq, t.audit_streams.c.last_hash)
    .where(t.audit_streams.c.stream.in_(ids()))
    .order_by(t.audit_streams.c.stream)
    .with_for_update()
)
_ADVANCE_HEAD = (
    update(t.audit_streams)
    .where(t.audit_streams.c.stream == bindparam("_stream"))
    .values(last_seq=bindparam("_seq"), last_hash=bindparam("_hash"))
)


class AuditLog:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._pending: list[tuple[AuditEvent, datetime]] = []

    def record(self, event: AuditEvent, *, now: datetime) -> None:
        """Append one entry to its stream (at :meth:`flush`, which the commit calls)."""
        self._pending.append((event, now))

    def record_many(self, events: Sequence[tuple[AuditEvent, datetime]]) -> None:
        """Append entries in the given order (at :meth:`flush`, which the commit calls)."""
        self._pending.extend(events)

    def flush(self) -> None:
        """Write the entries recorded so far, set-based: the heads of every stream touched
        are locked in one statement (in stream order, so writers never deadlock), then
        one insert for all entries and one update for all heads."""
        events, self._pending = self._pending, []
        if not events:
            return
        by_stream: dict[str, list[tuple[AuditEvent, datetime]]] = {}
        for event, at in events:
            by_stream.setdefault(stream_for(event.object), []).append((event, at.astimezone(UTC)))
        heads = {
            row.stream: row
            for row in driver_sql.select_rows(self.connection, _HEADS, {"ids": sorted(by_stream)})
        }
        rows, new_heads = [], []
        for stream in sorted(by_stream):
            seq, prev_hash = heads[stream].last_seq, heads[stream].last_hash
            for event, at in by_stream[stream]:
                seq += 1
                details_json = canonical_details(event.details)
                digest = entry_hash(
                    stream=stream,
                    seq=seq,
                    at=at,
                    actor=event.actor,
                    role=event.role,
                    source_ip=event.source_ip,
                    object=event.object,
                    action=event.action,
                    outcome=event.outcome,
                    details_json=details_json,
                    prev_hash=prev_hash,
                )
                rows.append(
                    {
                        "stream": stream,
                        "seq": seq,
                        "at": at,
                        "actor": event.actor,
                        "role": event.role,
                        "source_ip": event.source_ip,
                        "object": event.object,
                        "action": event.action,
                        "outcome": event.outcome,
                        "details_json": details_json,
                        "prev_hash": prev_hash,
                        "entry_hash": digest,
                    }
                )
                prev_hash = digest
            new_heads.append({"_stream": stream, "_seq": seq, "_hash": prev_hash})
        driver_sql.insert_many(self.connection, t.audit_entries, rows)
        driver_sql.execute_many(self.connection, _ADVANCE_HEAD, new_heads)

    def entries(self, *, obj: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """Entries in time order, optionally only those about ``obj``."""
        self.flush()
        query = select(t.audit_entries).order_by(t.audit_entries.c.at, t.audit_entries.c.id)
        if obj is not None:
            query = query.where(t.audit_entries.c.object == obj)
        return [_entry(row) for row in self.connection.execute(query.limit(limit))]

    def verify(self) -> VerifyResult:
        """Walk every stream; the first broken entry is named in the result."""
        self.flush()
        heads = {
            row.stream: row
            for row in self.connection.execute(
                select(t.audit_streams).order_by(t.audit_streams.c.stream)
            )
        }
        total = 0
        e = t.audit_entries.c
        orphan = self.connection.execute(
            select(e.id, e.stream).where(e.stream.not_in(list(heads))).limit(1)
        ).first()
        if orphan is not None:
            return VerifyResult(
                False, 0, f"entry id {orphan.id} is in unknown stream {orphan.stream}", orphan.id
            )
        missing = sorted(set(STREAMS) - set(heads))
        if missing:
            return VerifyResult(False, 0, f"stream heads were removed: {', '.join(missing)}")
        for stream, head in heads.items():
            rows = self.connection.execute(
                select(t.audit_entries).where(e.stream == stream).order_by(e.seq, e.id)
            )
            count, failure = verify_stream(
                stream, (_entry(r) for r in rows), head_seq=head.last_seq, head_hash=head.last_hash
            )
            total += count
            if failure is not None:
                return VerifyResult(False, total, failure.problem, failure.bad_entry_id)
        return VerifyResult(True, total)


def _entry(r: Any) -> AuditEntry:
    return AuditEntry(
        r.id,
        r.stream,
        r.seq,
        r.at,
        r.actor,
        r.role,
        r.source_ip,
        r.object,
        r.action,
        r.outcome,
        r.details_json,
        r.prev_hash,
        r.entry_hash,
    )
