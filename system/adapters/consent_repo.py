"""Clips, responses, shared clips and transfers (the platform side of consent)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from system.adapters import driver_sql
from system.adapters import tables as t
from system.adapters.bulk import chunks, ids, insert_returning_ids, rows_in, update_by_id


@dataclass(frozen=True)
class ClipRow:
    id: int
    camera_id: int
    resident_id: int
    sha256: str
    size_bytes: int
    recorded_at: datetime | None
    duration_s: float | None
    has_audio: bool
    flags: tuple[str, ...]
    uploaded_at: datetime
    delete_after: datetime | None
    status: str


@dataclass(frozen=True)
class TransferRow:
    id: int
    kind: str
    shared_clip_id: int | None
    emergency_id: int | None
    clip_id: int
    agency_id: int
    case_id: int
    request_id: int | None
    include_audio: bool
    contributor: dict[str, str] | None
    status: str
    evidence_id: int | None


class ClipRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, **values: Any) -> int:
        return self.add_many([values])[0]

    def add_many(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert clips (each a dict of column values, ``flags`` a sequence); their ids in order."""
        values = [
            {**{k: v for k, v in row.items() if k != "flags"}, "flags_json": _flags(row)}
            for row in rows
        ]
        return insert_returning_ids(self.connection, t.clips, values)

    def get(self, clip_id: int) -> ClipRow | None:
        row = self.connection.execute(select(t.clips).where(t.clips.c.id == clip_id)).first()
        return None if row is None else _clip(row)

    def get_many(self, clip_ids: Sequence[int]) -> dict[int, ClipRow]:
        return {r.id: _clip(r) for r in rows_in(self.connection, _CLIPS_BY_ID, clip_ids)}

    def for_resident(self, resident_id: int, *, status: str = "stored") -> list[ClipRow]:
        return self.for_residents([resident_id], status=status).get(resident_id, [])

    def for_residents(
        self, resident_ids: Sequence[int], *, status: str = "stored"
    ) -> dict[int, list[ClipRow]]:
        """Each resident's clips with ``status``, in recording order.

        The status is checked here, not in the statement: given ``status = ?`` beside
        an ``IN`` list of five or more residents, SQLite's planner chose the status
        index, which reads every stored clip (about 100 ms per call at 100,000 clips)."""
        found: dict[int, list[ClipRow]] = {}
        for r in rows_in(self.connection, _CLIPS_OF_RESIDENTS, resident_ids):
            if r.status == status:
                found.setdefault(r.resident_id, []).append(_clip(r))
        return found

    def set_status(self, clip_id: int, status: str) -> None:
        self.set_status_many([clip_id], status)

    def set_status_many(self, clip_ids: Sequence[int], status: str) -> None:
        for part in chunks(clip_ids):
            driver_sql.execute(self.connection, _CLIP_STATUS, {"ids": part, "v_status": status})

    def due_for_deletion(self, now: datetime, *, limit: int = 500) -> list[ClipRow]:
        rows = driver_sql.select_rows(
            self.connection, _CLIPS_DUE_FOR_DELETION, {"now": now, "limit": limit}
        )
        return [_clip(r) for r in rows]


class ResponseRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def for_notification(self, notification_id: int) -> Any:
        return self.connection.execute(
            select(t.responses).where(t.responses.c.notification_id == notification_id)
        ).first()

    def answered_among(self, notification_ids: Sequence[int]) -> set[int]:
        """Which of these notifications already have an answer."""
        return {int(r[0]) for r in rows_in(self.connection, _ANSWERED, notification_ids)}

    def add(self, **values: Any) -> int:
        return self.add_many([values])[0]

    def add_many(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        return insert_returning_ids(self.connection, t.responses, rows)

    def add_shared_clips(
        self, response_id: int, clip_ids: Sequence[int], *, now: datetime
    ) -> list[int]:
        return self.add_shared_clips_many([(response_id, c, now) for c in clip_ids])

    def add_shared_clips_many(self, rows: Sequence[tuple[int, int, datetime]]) -> list[int]:
        """Shared clips as (response id, clip id, time), pending; their ids in order."""
        return insert_returning_ids(
            self.connection,
            t.shared_clips,
            [
                {"response_id": r, "clip_id": c, "status": "pending", "updated_at": at}
                for r, c, at in rows
            ],
        )

    def shared_clips(self, response_id: int) -> list[Any]:
        return list(
            self.connection.execute(
                select(t.shared_clips)
                .where(t.shared_clips.c.response_id == response_id)
                .order_by(t.shared_clips.c.id)
            )
        )

    def set_shared_clip_status(self, shared_clip_id: int, status: str, *, now: datetime) -> None:
        self.set_shared_clips_status([shared_clip_id], status, now=now)

    def set_shared_clips_status(
        self, shared_clip_ids: Sequence[int], status: str, *, now: datetime
    ) -> None:
        for part in chunks(shared_clip_ids):
            driver_sql.execute(
                self.connection,
                _SHARED_STATUS,
                {"ids": part, "v_status": status, "v_updated_at": now},
            )

    def shared_clip_for_update(self, shared_clip_id: int) -> Any:
        return self.shared_clips_for_update([shared_clip_id])[shared_clip_id]

    def shared_clips_for_update(self, shared_clip_ids: Sequence[int]) -> dict[int, Any]:
        return {r.id: r for r in rows_in(self.connection, _SHARED_FOR_UPDATE, shared_clip_ids)}


class TransferRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, **values: Any) -> int:
        return self.add_many([values])[0]

    def add_many(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        values = []
        for row in rows:
            contributor = row.get("contributor")
            values.append(
                {
                    **{k: v for k, v in row.items() if k != "contributor"},
                    "contributor_json": None if contributor is None else json.dumps(contributor),
                }
            )
        return insert_returning_ids(self.connection, t.transfers, values)

    def get(self, transfer_id: int, *, for_update: bool = False) -> TransferRow | None:
        return self.get_many([transfer_id], for_update=for_update).get(transfer_id)

    def get_many(
        self, transfer_ids: Sequence[int], *, for_update: bool = False
    ) -> dict[int, TransferRow]:
        query = _TRANSFERS_FOR_UPDATE if for_update else _TRANSFERS
        return {r.id: _transfer(r) for r in rows_in(self.connection, query, transfer_ids)}

    def for_shared_clip(self, shared_clip_id: int) -> TransferRow | None:
        row = self.connection.execute(
            select(t.transfers).where(t.transfers.c.shared_clip_id == shared_clip_id)
        ).first()
        return None if row is None else _transfer(row)

    def update(self, transfer_id: int, **values: Any) -> None:
        self.connection.execute(
            update(t.transfers).where(t.transfers.c.id == transfer_id).values(**values)
        )

    def update_many(self, transfer_ids: Sequence[int], **values: Any) -> None:
        """Give every listed transfer the same ``values``."""
        if not transfer_ids:
            return
        names = tuple(sorted(values))
        statement = _TRANSFER_UPDATES.get(names)
        if statement is None:
            statement = _TRANSFER_UPDATES[names] = (
                update(t.transfers)
                .where(t.transfers.c.id.in_(ids()))
                .values({name: bindparam(f"v_{name}") for name in names})
            )
        for part in chunks(transfer_ids):
            bound = {"ids": part, **{f"v_{k}": v for k, v in values.items()}}
            driver_sql.execute(self.connection, statement, bound)

    def deliver_many(self, rows: Sequence[tuple[int, int, datetime]]) -> None:
        """Mark transfers delivered as (transfer id, evidence id, time)."""
        update_by_id(
            self.connection,
            t.transfers,
            [
                {"id": i, "status": "delivered", "evidence_id": e, "delivered_at": at}
                for i, e, at in rows
            ],
            ("status", "evidence_id", "delivered_at"),
        )


"""Ids per ``IN (...)`` list: well under SQLite's and PostgreSQL's parameter limits."""

_c, _s, _tr = t.clips.c, t.shared_clips.c, t.transfers.c
_CLIPS_BY_ID = select(t.clips).where(_c.id.in_(ids()))
_CLIPS_OF_RESIDENTS = (
    select(t.clips).where(_c.resident_id.in_(ids())).order_by(_c.resident_id, _c.recorded_at, _c.id)
)
_CLIPS_DUE_FOR_DELETION = (
    select(t.clips)
    .where(_c.status == "stored", _c.delete_after.is_not(None), _c.delete_after <= bindparam("now"))
    .order_by(_c.delete_after, _c.id)
    .limit(bindparam("limit"))
)
_CLIP_STATUS = update(t.clips).where(_c.id.in_(ids())).values(status=bindparam("v_status"))
_ANSWERED = select(t.responses.c.notification_id).where(t.responses.c.notification_id.in_(ids()))
_SHARED_STATUS = (
    update(t.shared_clips)
    .where(_s.id.in_(ids()))
    .values(status=bindparam("v_status"), updated_at=bindparam("v_updated_at"))
)
_SHARED_FOR_UPDATE = (
    select(t.shared_clips).where(_s.id.in_(ids())).order_by(_s.id).with_for_update()
)
_TRANSFERS = select(t.transfers).where(_tr.id.in_(ids())).order_by(_tr.id)
_TRANSFERS_FOR_UPDATE = _TRANSFERS.with_for_update()
_TRANSFER_UPDATES: dict[tuple[str, ...], Any] = {}


def _flags(row: dict[str, Any]) -> str:
    return json.dumps(list(row.get("flags", ())))


def _clip(r: Any) -> ClipRow:
    return ClipRow(
        r.id,
        r.camera_id,
        r.resident_id,
        r.sha256,
        r.size_bytes,
        r.recorded_at,
        r.duration_s,
        r.has_audio,
        tuple(json.loads(r.flags_json)),
        r.uploaded_at,
        r.delete_after,
        r.status,
    )


def _transfer(r: Any) -> TransferRow:
    return TransferRow(
        r.id,
        r.kind,
        r.shared_clip_id,
        r.emergency_id,
        r.clip_id,
        r.agency_id,
        r.case_id,
        r.request_id,
        r.include_audio,
        None if r.contributor_json is None else json.loads(r.contributor_json),
        r.status,
        r.evidence_id,
    )
