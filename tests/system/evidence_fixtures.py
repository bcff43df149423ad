"""Evidence made directly for tests, without the transfer pipeline.

Content goes into the real encrypted evidence store and the item row into the
real database, exactly as a delivered transfer leaves them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from system.adapters import tables as t
from system.domain.evidence import (
    EvidenceItem,
    EvidenceStatus,
    RetentionCategory,
    Tombstone,
    retain_until,
)
from system.service_layer import registration
from system.service_layer.context import ServiceContext
from tests.system.world import World, build_world


def clip_bytes(label: str, size: int = 48 * 1024) -> bytes:
    """Deterministic pseudo-video bytes for ``label`` (``size`` bytes)."""
    seed = hashlib.sha256(label.encode()).digest()
    blocks = (hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def add_evidence(
    ctx: ServiceContext,
    *,
    agency_id: int,
    case_id: int,
    label: str,
    content: bytes | None = None,
    category: RetentionCategory = RetentionCategory.STANDARD,
    received_at: datetime | None = None,
    contributor: dict[str, str] | None = None,
    legal_hold: bool = False,
) -> int:
    """Store ``content`` (by default :func:`clip_bytes` of ``label``) as a new evidence item."""
    data = clip_bytes(label) if content is None else content
    stored = ctx.stores.evidence.put(data, max_bytes=len(data) + 1)
    received = ctx.clock.now() if received_at is None else received_at
    with ctx.uow() as uow:
        evidence_id = uow.evidence.add(
            EvidenceItem(
                id=0,
                agency_id=agency_id,
                case_id=case_id,
                request_id=None,
                source_ref=f"fixture:{label}",
                sha256=stored.sha256,
                size_bytes=stored.size,
                recorded_at=received,
                has_audio=False,
                received_at=received,
                retention_category=category,
                retain_until=retain_until(received, category),
                legal_hold=legal_hold,
                status=EvidenceStatus.STORED,
                contributor=contributor,
            )
        )
        uow.commit()
    return evidence_id


@dataclass
class EvidenceWorld:
    """Two agencies' officers around one case of the first agency, with one item in it.

    ``world.detective_id`` opened the case and is assigned to it.
    """

    world: World
    supervisor_id: int
    unassigned_detective_id: int
    other_supervisor_id: int
    item_id: int
    content: bytes

    @property
    def ctx(self) -> ServiceContext:
        return self.world.ctx

    @property
    def detective_id(self) -> int:
        return self.world.detective_id

    @property
    def case_id(self) -> int:
        return self.world.case_id

    def add_item(self, label: str, **options: Any) -> int:
        return add_evidence(
            self.ctx, agency_id=self.world.agency_id, case_id=self.case_id, label=label, **options
        )

    def close_case(self) -> None:
        registration.close_case(self.ctx, officer_id=self.detective_id, case_id=self.case_id)


def build_evidence_world(ctx: ServiceContext) -> EvidenceWorld:
    world = build_world(ctx)
    supervisor = registration.register_officer(
        ctx,
        agency_id=world.agency_id,
        name="Pat Byrne",
        email="byrne@ncpd.example",
        role="supervisor",
    )
    unassigned = registration.register_officer(
        ctx,
        agency_id=world.agency_id,
        name="Lee Park",
        email="park@ncpd.example",
        role="detective",
    )
    other_supervisor = registration.register_officer(
        ctx,
        agency_id=world.other_agency_id,
        name="Kim Doyle",
        email="doyle@scpd.example",
        role="supervisor",
    )
    content = clip_bytes("porch-front-door")
    item_id = add_evidence(
        ctx,
        agency_id=world.agency_id,
        case_id=world.case_id,
        label="porch-front-door",
        content=content,
    )
    return EvidenceWorld(world, supervisor.id, unassigned.id, other_supervisor.id, item_id, content)


@dataclass(frozen=True)
class StoredState:
    """Everything a refused action must leave unchanged about one item."""

    item: EvidenceItem | None
    tombstone: Tombstone | None
    shares: int
    content_present: bool
    assignments: int


def stored_state(ctx: ServiceContext, evidence_id: int) -> StoredState:
    with ctx.uow(read_only=True) as uow:
        item = uow.evidence.get(evidence_id)
        shares = len(uow.evidence.shares_for(evidence_id))
        tombstone = uow.evidence.tombstone(evidence_id)
        assignments = uow.connection.execute(
            select(func.count()).select_from(t.case_assignments)
        ).scalar_one()
    present = item is not None and ctx.stores.evidence.exists(item.sha256)
    return StoredState(item, tombstone, shares, present, int(assignments))
