"""Evidence items, their shares and tombstones: rows in, domain objects out."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, insert, select, update

from system.adapters import driver_sql
from system.adapters import tables as t
from system.adapters.bulk import ids, insert_returning_ids, rows_in
from system.domain.evidence import (
    AccessLevel,
    EvidenceItem,
    EvidenceShare,
    EvidenceStatus,
    RetentionCategory,
    Tombstone,
    TombstoneKind,
)

_e = t.evidence_items.c
_FOR_CASE = (
    select(t.evidence_items)
    .where(_e.case_id == bindparam("case_id"), _e.id > bindparam("after_id"))
    .order_by(_e.id)
)
_STORED_FOR_CASE = _FOR_CASE.where(_e.status == EvidenceStatus.STORED.value)
_BY_SOURCE_REFS = select(t.evidence_items).where(_e.source_ref.in_(ids("refs")))


class EvidenceRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # --- items -----------------------------------------------------------------

    def add(self, item: EvidenceItem) -> int:
        return self.add_many([item])[0]

    def add_many(self, items: Sequence[EvidenceItem]) -> list[int]:
        return insert_returning_ids(self.connection, t.evidence_items, [_row(i) for i in items])

    def get(self, evidence_id: int, *, for_update: bool = False) -> EvidenceItem | None:
        query = select(t.evidence_items).where(t.evidence_items.c.id == evidence_id)
        row = self.connection.execute(query.with_for_update() if for_update else query).first()
        return None if row is None else _item(row)

    def by_source_ref(self, source_ref: str) -> EvidenceItem | None:
        return self.by_source_refs([source_ref]).get(source_ref)

    def by_source_refs(self, source_refs: Sequence[str]) -> dict[str, EvidenceItem]:
        rows = rows_in(self.connection, _BY_SOURCE_REFS, source_refs, name="refs")
        return {r.source_ref: _item(r) for r in rows}

    def for_case(
        self, case_id: int, *, stored_only: bool = False, after_id: int = 0
    ) -> list[EvidenceItem]:
        query = _STORED_FOR_CASE if stored_only else _FOR_CASE
        rows = driver_sql.select_rows(
            self.connection, query, {"case_id": case_id, "after_id": after_id}
        )
        return [_item(r) for r in rows]

    def update(self, evidence_id: int, **values: Any) -> None:
        self.connection.execute(
            update(t.evidence_items).where(t.evidence_items.c.id == evidence_id).values(**values)
        )

    def sha256_in_use(self, sha256: str) -> bool:
        """Whether a stored item still refers to this content (the store is content-addressed)."""
        e = t.evidence_items.c
        query = select(exists().where(e.sha256 == sha256, e.status == EvidenceStatus.STORED.value))
        return bool(self.connection.execute(query).scalar())

    # --- shares (EVD-02) ---------------------------------------------------------

    def add_share(self, share: EvidenceShare, *, token_hash: str) -> int:
        result = self.connection.execute(
            insert(t.evidence_shares).returning(t.evidence_shares.c.id),
            {
                "evidence_id": share.evidence_id,
                "granted_by": share.granted_by,
                "grantee_name": share.grantee_name,
                "grantee_email": share.grantee_email,
                "grantee_org": share.grantee_org,
                "outside_agency": share.outside_agency,
                "justification": share.justification,
                "access_level": share.access_level.value,
                "token_hash": token_hash,
                "created_at": share.created_at,
                "expires_at": share.expires_at,
                "revoked_at": None,
                "revoked_by": None,
            },
        )
        return int(result.scalar_one())

    def get_share(self, share_id: int, *, for_update: bool = False) -> EvidenceShare | None:
        query = select(t.evidence_shares).where(t.evidence_shares.c.id == share_id)
        row = self.connection.execute(query.with_for_update() if for_update else query).first()
        return None if row is None else _share(row)

    def share_by_token_hash(self, token_hash: str) -> EvidenceShare | None:
        row = self.connection.execute(
            select(t.evidence_shares).where(t.evidence_shares.c.token_hash == token_hash)
        ).first()
        return None if row is None else _share(row)

    def shares_for(self, evidence_id: int) -> list[EvidenceShare]:
        s = t.evidence_shares.c
        rows = self.connection.execute(
            select(t.evidence_shares).where(s.evidence_id == evidence_id).order_by(s.id)
        )
        return [_share(r) for r in rows]

    def revoke_share(self, share_id: int, *, by: int, now: datetime) -> None:
        self.connection.execute(
            update(t.evidence_shares)
            .where(t.evidence_shares.c.id == share_id)
            .values(revoked_at=now, revoked_by=by)
        )

    # --- tombstones (EVD-04) -----------------------------------------------------

    def add_tombstone(self, tombstone: Tombstone) -> None:
        self.connection.execute(
            insert(t.evidence_tombstones),
            {
                "evidence_id": tombstone.evidence_id,
                "sha256": tombstone.sha256,
                "kind": tombstone.kind.value,
                "actor": tombstone.actor,
                "reason": tombstone.reason,
                "removed_at": tombstone.removed_at,
            },
        )

    def tombstone(self, evidence_id: int) -> Tombstone | None:
        row = self.connection.execute(
            select(t.evidence_tombstones).where(t.evidence_tombstones.c.evidence_id == evidence_id)
        ).first()
        if row is None:
            return None
        return Tombstone(
            evidence_id=row.evidence_id,
            sha256=row.sha256,
            kind=TombstoneKind(row.kind),
            actor=row.actor,
            reason=row.reason,
            removed_at=row.removed_at,
        )


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


def _share(row: Any) -> EvidenceShare:
    return EvidenceShare(
        id=row.id,
        evidence_id=row.evidence_id,
        granted_by=row.granted_by,
        grantee_name=row.grantee_name,
        grantee_email=row.grantee_email,
        grantee_org=row.grantee_org,
        outside_agency=row.outside_agency,
        justification=row.justification,
        access_level=AccessLevel(row.access_level),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )
