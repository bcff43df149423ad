"""Residents, their cameras and their opt-outs (CON-04): rows in, domain objects out.

The population import is set-based: one statement for many residents, cameras or opt-outs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, or_, select

from system.adapters import driver_sql
from system.adapters import tables as t
from system.adapters.bulk import advance_sequence, chunks, ids, lock_for_bulk_insert, rows_in
from system.adapters.repo_base import Repository, email_taken
from system.domain import geo
from system.domain.model import Camera, OptOut, Resident


class ResidentRepository(Repository):
    def homes(self) -> dict[int, tuple[float, float]]:
        """Every resident's home point, ``id -> (lat, lon)``."""
        r = t.residents.c
        rows = self.connection.execute(select(r.id, r.home_lat, r.home_lon))
        return {row.id: (row.home_lat, row.home_lon) for row in rows}

    def add(
        self, *, name: str, email: str, home_lat: float, home_lon: float, now: datetime
    ) -> Resident:
        new_id = self._insert(
            t.residents,
            name=name,
            email=email,
            home_lat=home_lat,
            home_lon=home_lon,
            created_at=now,
        )
        return Resident(new_id, name, email, home_lat, home_lon)

    def get(self, resident_id: int, *, for_update: bool = False) -> Resident | None:
        return self.get_many([resident_id], for_update=for_update).get(resident_id)

    def get_many(
        self, resident_ids: Sequence[int], *, for_update: bool = False
    ) -> dict[int, Resident]:
        """Residents by id (missing ids are absent); ``for_update`` locks them in id order."""
        query = _RESIDENTS_FOR_UPDATE if for_update else _RESIDENTS
        return {
            r.id: Resident(r.id, r.name, r.email, r.home_lat, r.home_lon)
            for r in rows_in(self.connection, query, resident_ids)
        }

    def email_taken(self, email: str) -> bool:
        return email_taken(self.connection, t.residents, email)

    def add_many(self, rows: Sequence[dict[str, Any]], *, now: datetime) -> list[int]:
        """Insert many residents (``name``, ``email``, ``home_lat``, ``home_lon``); ids in order."""
        if not rows:
            return []
        first = self._next_id(t.residents)
        self.connection.execute(
            insert(t.residents),
            [{**row, "id": first + i, "created_at": now} for i, row in enumerate(rows)],
        )
        advance_sequence(self.connection, t.residents)
        return list(range(first, first + len(rows)))

    def count(self) -> int:
        return int(
            self.connection.execute(select(func.count()).select_from(t.residents)).scalar_one()
        )

    def _next_id(self, table: Any) -> int:
        # Explicit ids make bulk inserts one statement and let callers know the ids.
        # Safe because the unit of work holds the write lock (SQLite: BEGIN IMMEDIATE;
        # PostgreSQL: the table lock taken in lock_for_bulk_insert).
        lock_for_bulk_insert(self.connection, table)
        current = self.connection.execute(select(func.max(table.c.id))).scalar()
        return int(current or 0) + 1


class CameraRepository(Repository):
    def add(
        self,
        *,
        resident_id: int,
        lat: float,
        lon: float,
        retention_days: int,
        kind: str,
        now: datetime,
    ) -> Camera:
        new_id = self._insert(
            t.cameras,
            resident_id=resident_id,
            lat=lat,
            lon=lon,
            grid_cell=geo.grid_cell(lat, lon),
            retention_days=retention_days,
            kind=kind,
            active=True,
            created_at=now,
        )
        return Camera(new_id, resident_id, lat, lon, retention_days, kind)

    def add_many(self, rows: Sequence[dict[str, Any]], *, now: datetime) -> None:
        """Insert many cameras (``resident_id``, ``lat``, ``lon``, ``retention_days``, ``kind``)."""
        if not rows:
            return
        self.connection.execute(
            insert(t.cameras),
            [
                {
                    **row,
                    "grid_cell": geo.grid_cell(row["lat"], row["lon"]),
                    "active": True,
                    "created_at": now,
                }
                for row in rows
            ],
        )

    def for_resident(self, resident_id: int) -> list[Camera]:
        rows = self.connection.execute(
            select(t.cameras).where(t.cameras.c.resident_id == resident_id).order_by(t.cameras.c.id)
        )
        return [Camera(r.id, r.resident_id, r.lat, r.lon, r.retention_days, r.kind) for r in rows]

    def count(self) -> int:
        return int(
            self.connection.execute(select(func.count()).select_from(t.cameras)).scalar_one()
        )

    def active(self, camera_ids: Sequence[int]) -> dict[int, Camera]:
        """The active cameras among ``camera_ids``, by id (unknown and inactive ones absent)."""
        wanted = sorted(set(camera_ids))
        found: dict[int, Camera] = {}
        for start in range(0, len(wanted), 500):
            rows = driver_sql.select_rows(
                self.connection, _CAMERAS, {"ids": wanted[start : start + 500]}
            )
            found.update(
                (r.id, Camera(r.id, r.resident_id, r.lat, r.lon, r.retention_days, r.kind))
                for r in rows
                if r.active
            )
        return found

    def placements(self) -> list[tuple[int, int, float, float]]:
        """Every camera's id, owner and point, ``(id, resident_id, lat, lon)``, by id."""
        c = t.cameras.c
        rows = self.connection.execute(
            select(c.id, c.resident_id, c.lat, c.lon).order_by(c.id)
        ).all()
        return [(row.id, row.resident_id, row.lat, row.lon) for row in rows]

    def candidates_in(
        self, box: geo.BoundingBox, *, agency_id: int
    ) -> list[tuple[int, float, float]]:
        """Active cameras in ``box`` whose owner has not opted out (globally or of the agency).

        Uses the location index (grid cell, then latitude/longitude inside the
        index); the caller filters exactly on the sphere.
        """
        c, o = t.cameras.c, t.opt_outs.c
        opted_out = exists().where(
            o.resident_id == c.resident_id, or_(o.agency_id.is_(None), o.agency_id == agency_id)
        )
        query = select(c.resident_id, c.lat, c.lon).where(
            c.grid_cell.in_(geo.grid_cells_covering(box)),
            and_(c.lat >= box.min_lat, c.lat <= box.max_lat),
            and_(c.lon >= box.min_lon, c.lon <= box.max_lon),
            c.active.is_(True),
            ~opted_out,
        )
        return [(r.resident_id, r.lat, r.lon) for r in self.connection.execute(query)]


class OptOutRepository(Repository):
    def get(self, resident_id: int, agency_id: int | None) -> OptOut | None:
        o = t.opt_outs.c
        scope = o.agency_id.is_(None) if agency_id is None else o.agency_id == agency_id
        row = self.connection.execute(
            select(t.opt_outs).where(o.resident_id == resident_id, scope)
        ).first()
        return None if row is None else OptOut(row.resident_id, row.agency_id, row.opted_out_at)

    def add(self, resident_id: int, agency_id: int | None, *, now: datetime) -> None:
        self.connection.execute(
            insert(t.opt_outs),
            {"resident_id": resident_id, "agency_id": agency_id, "opted_out_at": now},
        )

    def remove(self, resident_id: int, agency_id: int | None) -> None:
        o = t.opt_outs.c
        scope = o.agency_id.is_(None) if agency_id is None else o.agency_id == agency_id
        self.connection.execute(t.opt_outs.delete().where(o.resident_id == resident_id, scope))

    def for_resident(self, resident_id: int) -> list[OptOut]:
        rows = self.connection.execute(
            select(t.opt_outs)
            .where(t.opt_outs.c.resident_id == resident_id)
            .order_by(t.opt_outs.c.id)
        )
        return [OptOut(r.resident_id, r.agency_id, r.opted_out_at) for r in rows]

    def add_many(self, rows: Iterable[tuple[int, int | None]], *, now: datetime) -> None:
        values = [{"resident_id": r, "agency_id": a, "opted_out_at": now} for r, a in rows]
        if values:
            self.connection.execute(insert(t.opt_outs), values)

    def add_many_at(self, rows: Sequence[tuple[int, datetime]]) -> None:
        """Global opt-outs as (resident id, time)."""
        values = [{"resident_id": r, "agency_id": None, "opted_out_at": at} for r, at in rows]
        if values:
            self.connection.execute(insert(t.opt_outs), values)

    def global_among(self, resident_ids: Sequence[int]) -> list[OptOut]:
        """The global opt-outs of these residents."""
        o = t.opt_outs.c
        found: list[OptOut] = []
        ids = sorted(set(resident_ids))
        for part in chunks(ids):
            rows = self.connection.execute(
                select(t.opt_outs).where(o.resident_id.in_(part), o.agency_id.is_(None))
            )
            found.extend(OptOut(r.resident_id, r.agency_id, r.opted_out_at) for r in rows)
        return found


_CAMERAS = select(t.cameras).where(t.cameras.c.id.in_(ids()))
_RESIDENTS = select(t.residents).where(t.residents.c.id.in_(ids())).order_by(t.residents.c.id)
_RESIDENTS_FOR_UPDATE = _RESIDENTS.with_for_update()
