"""Clips, responses, shared clips and transfers (the platform side of consent)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from system.adapters import tables as t


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
        values["flags_json"] = json.dumps(list(values.pop("flags", ())))
        result = self.connection.execute(insert(t.clips).returning(t.clips.c.id), values)
        return int(result.scalar_one())

    def get(self, clip_id: int) -> ClipRow | None:
        row = self.connection.execute(select(t.clips).where(t.clips.c.id == clip_id)).first()
        return None if row is None else _clip(row)

    def for_resident(self, resident_id: int, *, status: str = "stored") -> list[ClipRow]:
        c = t.clips.c
        rows = self.connection.execute(
            select(t.clips)
            .where(c.resident_id == resident_id, c.status == status)
            .order_by(c.recorded_at, c.id)
        )
        return [_clip(r) for r in rows]

    def set_status(self, clip_id: int, status: str) -> None:
        self.connection.execute(
            update(t.clips).where(t.clips.c.id == clip_id).values(status=status)
        )

    def due_for_deletion(self, now: datetime, *, limit: int = 500) -> list[ClipRow]:
        c = t.clips.c
        rows = self.connection.execute(
            select(t.clips)
            .where(c.status == "stored", c.delete_after.is_not(None), c.delete_after <= now)
            .order_by(c.delete_after, c.id)
            .limit(limit)
        )
        return [_clip(r) for r in rows]


class ResponseRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def for_notification(self, notification_id: int) -> Any:
        return self.connection.execute(
            select(t.responses).where(t.responses.c.notification_id == notification_id)
        ).first()

    def add(self, **values: Any) -> int:
        result = self.connection.execute(insert(t.responses).returning(t.responses.c.id), values)
        return int(result.scalar_one())

    def add_shared_clips(
        self, response_id: int, clip_ids: Sequence[int], *, now: datetime
    ) -> list[int]:
        ids = []
        for clip_id in clip_ids:
            result = self.connection.execute(
                insert(t.shared_clips).returning(t.shared_clips.c.id),
                {
                    "response_id": response_id,
                    "clip_id": clip_id,
                    "status": "pending",
                    "updated_at": now,
                },
            )
            ids.append(int(result.scalar_one()))
        return ids

    def shared_clips(self, response_id: int) -> list[Any]:
        return list(
            self.connection.execute(
                select(t.shared_clips)
                .where(t.shared_clips.c.response_id == response_id)
                .order_by(t.shared_clips.c.id)
            )
        )

    def set_shared_clip_status(self, shared_clip_id: int, status: str, *, now: datetime) -> None:
        self.connection.execute(
            update(t.shared_clips)
            .where(t.shared_clips.c.id == shared_clip_id)
            .values(status=status, updated_at=now)
        )

    def shared_clip_for_update(self, shared_clip_id: int) -> Any:
        return self.connection.execute(
            select(t.shared_clips).where(t.shared_clips.c.id == shared_clip_id).with_for_update()
        ).first()


class TransferRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, **values: Any) -> int:
        contributor = values.pop("contributor", None)
        values["contributor_json"] = None if contributor is None else json.dumps(contributor)
        result = self.connection.execute(insert(t.transfers).returning(t.transfers.c.id), values)
        return int(result.scalar_one())

    def get(self, transfer_id: int, *, for_update: bool = False) -> TransferRow | None:
        query = select(t.transfers).where(t.transfers.c.id == transfer_id)
        row = self.connection.execute(query.with_for_update() if for_update else query).first()
        return None if row is None else _transfer(row)

    def for_shared_clip(self, shared_clip_id: int) -> TransferRow | None:
        row = self.connection.execute(
            select(t.transfers).where(t.transfers.c.shared_clip_id == shared_clip_id)
        ).first()
        return None if row is None else _transfer(row)

    def update(self, transfer_id: int, **values: Any) -> None:
        self.connection.execute(
            update(t.transfers).where(t.transfers.c.id == transfer_id).values(**values)
        )


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
