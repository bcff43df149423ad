"""The audit chain (SEC-04): append-only entries, hash-chained per stream.

Writers spread over a fixed set of streams (shards) so that concurrent
transactions do not queue on one global lock; each entry holds the hash of
the previous entry of its stream. Verification walks every stream from its
genesis and compares its end with the stream's head, so an edited, removed,
inserted or reordered entry is found and named.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STREAM_COUNT = 16
STREAMS = tuple(f"shard-{i:02d}" for i in range(STREAM_COUNT))
GENESIS_HASH = "0" * 64


def stream_for(obj: str) -> str:
    """The stream an entry about ``obj`` goes to: stable, spread evenly."""
    return STREAMS[zlib.crc32(obj.encode()) % STREAM_COUNT]


@dataclass(frozen=True)
class AuditEvent:
    """What happened: who (actor, role, source address), to what, and how it ended.

    ``details`` must not hold secrets or resident PII; counts are fine.
    """

    actor: str
    role: str
    object: str
    action: str
    outcome: str = "ok"
    source_ip: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    stream: str
    seq: int
    at: datetime
    actor: str
    role: str
    source_ip: str | None
    object: str
    action: str
    outcome: str
    details_json: str
    prev_hash: str
    entry_hash: str


def canonical_details(details: Mapping[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(
    *,
    stream: str,
    seq: int,
    at: datetime,
    actor: str,
    role: str,
    source_ip: str | None,
    object: str,
    action: str,
    outcome: str,
    details_json: str,
    prev_hash: str,
) -> str:
    body = json.dumps(
        [
            stream,
            seq,
            at.isoformat(),
            actor,
            role,
            source_ip,
            object,
            action,
            outcome,
            details_json,
            prev_hash,
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    problem: str | None = None
    bad_entry_id: int | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain verified: {self.entries} entries in {STREAM_COUNT} streams"
        return f"audit chain broken: {self.problem}"


def verify_stream(
    stream: str, entries: Iterable[AuditEntry], *, head_seq: int, head_hash: str
) -> tuple[int, VerifyResult | None]:
    """Check one stream's entries (in seq order); returns (count, failure or None)."""
    prev, expected_seq, count = GENESIS_HASH, 1, 0
    for entry in entries:
        count += 1
        where = f"entry id {entry.id} (stream {stream}, seq {entry.seq})"
        if entry.seq != expected_seq:
            problem = f"{where}: expected seq {expected_seq}; an entry was removed or reordered"
            return count, VerifyResult(False, count, problem, entry.id)
        if entry.prev_hash != prev:
            problem = f"{where}: does not follow the previous entry; removed or reordered"
            return count, VerifyResult(False, count, problem, entry.id)
        recomputed = entry_hash(
            stream=entry.stream,
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            role=entry.role,
            source_ip=entry.source_ip,
            object=entry.object,
            action=entry.action,
            outcome=entry.outcome,
            details_json=entry.details_json,
            prev_hash=entry.prev_hash,
        )
        if recomputed != entry.entry_hash:
            return count, VerifyResult(False, count, f"{where}: content was edited", entry.id)
        prev, expected_seq = entry.entry_hash, expected_seq + 1
    if expected_seq - 1 != head_seq or prev != head_hash:
        problem = (
            f"stream {stream} ends at seq {expected_seq - 1} but its head says {head_seq}: "
            "entries were removed from its end"
        )
        return count, VerifyResult(False, count, problem, None)
    return count, None
