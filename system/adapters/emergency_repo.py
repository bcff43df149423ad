"""Emergency disclosures and the owner notices they cause: rows in, domain objects out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from system.adapters import driver_sql
from system.adapters import tables as t
from system.domain import geo
from system.domain.emergency import EmergencyDisclosure, EmergencyStatus, Location

NOTICE_KIND = "emergency_disclosure"
"""``resident_messages.kind`` of an owner notice (EMG-02)."""


def notice_ref(emergency_id: int) -> str:
    return f"emergency:{emergency_id}"


_d = t.emergency_disclosures.c
_APPROVED_DUE = (
    select(t.emergency_disclosures)
    .where(
        _d.status == EmergencyStatus.APPROVED.value,
        _d.owner_notice_due_at.is_not(None),
        _d.owner_notice_due_at <= bindparam("now"),
    )
    .order_by(_d.owner_notice_due_at, _d.id)
)


class EmergencyRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, disclosure: EmergencyDisclosure) -> int:
        result = self.connection.execute(
            insert(t.emergency_disclosures).returning(t.emergency_disclosures.c.id),
            _row(disclosure),
        )
        disclosure.id = int(result.scalar_one())
        return disclosure.id

    def get(self, emergency_id: int, *, for_update: bool = False) -> EmergencyDisclosure | None:
        query = select(t.emergency_disclosures).where(t.emergency_disclosures.c.id == emergency_id)
        row = self.connection.execute(query.with_for_update() if for_update else query).first()
        return None if row is None else _disclosure(row)

    def save(self, disclosure: EmergencyDisclosure) -> None:
        self.connection.execute(
            update(t.emergency_disclosures)
            .where(t.emergency_disclosures.c.id == disclosure.id)
            .values(**_row(disclosure))
        )

    def approved_due(self, now: datetime) -> list[EmergencyDisclosure]:
        """Approved disclosures whose owner notice is due at ``now``, oldest first."""
        rows = driver_sql.select_rows(self.connection, _APPROVED_DUE, {"now": now})
        return [_disclosure(r) for r in rows]

    def with_status(self, status: EmergencyStatus) -> list[EmergencyDisclosure]:
        e = t.emergency_disclosures.c
        rows = self.connection.execute(
            select(t.emergency_disclosures).where(e.status == status.value).order_by(e.id)
        )
        return [_disclosure(r) for r in rows]

    def camera_positions(self, camera_ids: Sequence[int]) -> dict[int, Location]:
        """Positions of the active cameras among ``camera_ids``."""
        c = t.cameras.c
        rows = self.connection.execute(
            select(c.id, c.lat, c.lon).where(c.id.in_(list(camera_ids)), c.active.is_(True))
        )
        return {r.id: (r.lat, r.lon) for r in rows}

    def cameras_near(self, box: geo.BoundingBox) -> list[tuple[int, str, float, float]]:
        """Active cameras in ``box`` as (id, kind, lat, lon), whatever their owners' opt-outs.

        Opting out concerns requests (CON-04); an emergency disclosure asks no one.
        """
        c = t.cameras.c
        rows = self.connection.execute(
            select(c.id, c.kind, c.lat, c.lon)
            .where(
                c.grid_cell.in_(geo.grid_cells_covering(box)),
                c.lat.between(box.min_lat, box.max_lat),
                c.lon.between(box.min_lon, box.max_lon),
                c.active.is_(True),
            )
            .order_by(c.id)
        )
        return [(r.id, r.kind, r.lat, r.lon) for r in rows]

    def clips_in_window(
        self, camera_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[int]:
        """Stored clips of ``camera_ids`` recorded in [start, end], by id."""
        c = t.clips.c
        rows = self.connection.execute(
            select(c.id)
            .where(
                c.camera_id.in_(list(camera_ids)),
                c.status == "stored",
                c.recorded_at.is_not(None),
                c.recorded_at.between(start, end),
            )
            .order_by(c.id)
        )
        return [r.id for r in rows]

    def owners(self, camera_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
        """Owner resident id → their cameras among ``camera_ids`` as (camera id, kind)."""
        c = t.cameras.c
        rows = self.connection.execute(
            select(c.id, c.kind, c.resident_id).where(c.id.in_(list(camera_ids))).order_by(c.id)
        )
        owners: dict[int, list[tuple[int, str]]] = {}
        for r in rows:
            owners.setdefault(r.resident_id, []).append((r.id, r.kind))
        return owners

    def clips_sent_per_camera(self, emergency_id: int) -> dict[int, int]:
        """Camera id → number of clips this disclosure transferred (or is transferring)."""
        x, c = t.transfers.c, t.clips.c
        rows = self.connection.execute(
            select(c.camera_id, func.count())
            .select_from(t.transfers.join(t.clips, x.clip_id == c.id))
            .where(x.emergency_id == emergency_id)
            .group_by(c.camera_id)
        )
        return {camera_id: int(n) for camera_id, n in rows}

    def resident_camera_ids(self, resident_id: int) -> set[int]:
        rows = self.connection.execute(
            select(t.cameras.c.id).where(t.cameras.c.resident_id == resident_id)
        )
        return {r.id for r in rows}

    def add_message_once(
        self, *, resident_id: int, kind: str, ref: str, subject: str, body: str, now: datetime
    ) -> bool:
        """Insert a resident message unless (resident, kind, ref) exists; True when inserted."""
        values = {
            "resident_id": resident_id,
            "kind": kind,
            "ref": ref,
            "subject": subject[:200],
            "body": body,
            "created_at": now,
        }
        dialect = self.connection.dialect.name
        statement: Any
        if dialect == "postgresql":
            statement = postgresql.insert(t.resident_messages).on_conflict_do_nothing()
        elif dialect == "sqlite":
            statement = sqlite.insert(t.resident_messages).on_conflict_do_nothing()
        else:  # pragma: no cover - only the two supported backends reach here
            if self.message_sent_at(resident_id, kind, ref) is not None:
                return False
            statement = insert(t.resident_messages)
        return bool(self.connection.execute(statement, values).rowcount)

    def message_sent_at(self, resident_id: int, kind: str, ref: str) -> datetime | None:
        m = t.resident_messages.c
        found: datetime | None = self.connection.execute(
            select(m.created_at).where(m.resident_id == resident_id, m.kind == kind, m.ref == ref)
        ).scalar()
        return found

    def agency_name(self, agency_id: int) -> str:
        name = self.connection.execute(
            select(t.agencies.c.name).where(t.agencies.c.id == agency_id)
        ).scalar()
        return str(name) if name is not None else f"agency {agency_id}"


def _row(d: EmergencyDisclosure) -> dict[str, Any]:
    return {
        "agency_id": d.agency_id,
        "case_id": d.case_id,
        "officer_id": d.officer_id,
        "attestation": d.attestation,
        "narrative": d.narrative,
        "locations_json": json.dumps([[lat, lon] for lat, lon in d.locations]),
        "window_start": d.window_start,
        "window_end": d.window_end,
        "status": d.status.value,
        "supervisor_id": d.supervisor_id,
        "supervisor_decided_at": d.supervisor_decided_at,
        "reviewer_id": d.reviewer_id,
        "reviewer_decided_at": d.reviewer_decided_at,
        "decision_reason": d.decision_reason,
        "camera_ids_json": json.dumps(list(d.camera_ids)) if d.camera_ids else None,
        "created_at": d.created_at,
        "owner_notice_due_at": d.owner_notice_due_at,
    }


def _disclosure(row: Any) -> EmergencyDisclosure:
    return EmergencyDisclosure(
        id=row.id,
        agency_id=row.agency_id,
        case_id=row.case_id,
        officer_id=row.officer_id,
        attestation=row.attestation,
        narrative=row.narrative,
        locations=tuple((float(a), float(b)) for a, b in json.loads(row.locations_json)),
        window_start=row.window_start,
        window_end=row.window_end,
        created_at=row.created_at,
        status=EmergencyStatus(row.status),
        supervisor_id=row.supervisor_id,
        supervisor_decided_at=row.supervisor_decided_at,
        reviewer_id=row.reviewer_id,
        reviewer_decided_at=row.reviewer_decided_at,
        decision_reason=row.decision_reason,
        camera_ids=tuple(json.loads(row.camera_ids_json)) if row.camera_ids_json else (),
        owner_notice_due_at=row.owner_notice_due_at,
    )
