"""Evidence items in the agency's store: rows in, :class:`EvidenceItem` out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from system.adapters import tables as t
from system.domain.evidence import EvidenceItem, EvidenceStatus, RetentionCategory


class EvidenceRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, item: EvidenceItem) -> int:
        values = _row(item)
        result = self.connection.execute(
            insert(t.evidence_items).returning(t.evidence_items.c.id), values
        )
        return int(result.scalar_one())

    def get(self, evidence_id: int) -> EvidenceItem | None:
        row = self.connection.execute(
            select(t.evidence_items).where(t.evidence_items.c.id == evidence_id)
        ).first()
        return None if row is None else _item(row)

    def by_source_ref(self, source_ref: str) -> EvidenceItem | None:
        row = self.connection.execute(
            select(t.evidence_items).where(t.evidence_items.c.source_ref == source_ref)
        ).first()
        return None if row is None else _item(row)

    def for_case(self, case_id: int) -> list[EvidenceItem]:
        rows = self.connection.execute(
            select(t.evidence_items)
            .where(t.evidence_items.c.case_id == case_id)
            .order_by(t.evidence_items.c.id)
        )
        return [_item(r) for r in rows]

    def update(self, evidence_id: int, **values: Any) -> None:
        self.connection.execute(
            update(t.evidence_items).where(t.evidence_items.c.id == evidence_id).values(**values)
        )

    def due_for_purge(self, now: datetime, *, limit: int = 500) -> list[EvidenceItem]:
        e = t.evidence_items.c
        rows = self.connection.execute(
            select(t.evidence_items)
            .where(
                e.status == EvidenceStatus.STORED.value,
                e.legal_hold.is_(False),
                e.retain_until.is_not(None),
                e.retain_until <= now,
            )
            .order_by(e.retain_until, e.id)
            .limit(limit)
        )
        return [_item(r) for r in rows]


def _row(item: EvidenceItem) -> dict[str, Any]:
    return {
        "agency_id": item.agency_id,
        "case_id": item.case_id,
        "request_id": item.request_id,
        "source_ref": item.source_ref,
        "parent_id": item.parent_id,
        "derivation": item.derivation,
        "sha256": item.sha256,
        "size_bytes": item.size_bytes,
        "recorded_at": item.recorded_at,
        "has_audio": item.has_audio,
        "contributor_json": None if item.contributor is None else json.dumps(item.contributor),
        "received_at": item.received_at,
        "retention_category": item.retention_category.value,
        "retain_until": item.retain_until,
        "legal_hold": item.legal_hold,
        "status": item.status.value,
    }


def _item(row: Any) -> EvidenceItem:
    contributor: Mapping[str, str] | None = (
        None if row.contributor_json is None else json.loads(row.contributor_json)
    )
    return EvidenceItem(
        id=row.id,
        agency_id=row.agency_id,
        case_id=row.case_id,
        request_id=row.request_id,
        source_ref=row.source_ref,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        recorded_at=row.recorded_at,
        has_audio=row.has_audio,
        received_at=row.received_at,
        retention_category=RetentionCategory(row.retention_category),
        retain_until=row.retain_until,
        legal_hold=row.legal_hold,
        status=EvidenceStatus(row.status),
        parent_id=row.parent_id,
        derivation=row.derivation,
        contributor=None if contributor is None else dict(contributor),
    )
