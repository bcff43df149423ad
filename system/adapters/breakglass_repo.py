"""Break-glass grants (SEC-05) in the database: add, read, approve, revoke.

A grant row is never deleted (see :mod:`system.adapters.tables_breakglass`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from system.adapters.tables_breakglass import break_glass_grants
from system.domain.breakglass import BreakGlassGrant


class BreakGlassRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, *, staff_id: int, clip_id: int, ticket: str, reason: str, now: datetime) -> int:
        result = self.connection.execute(
            insert(break_glass_grants).returning(break_glass_grants.c.id),
            {
                "staff_id": staff_id,
                "clip_id": clip_id,
                "ticket": ticket,
                "reason": reason,
                "created_at": now,
            },
        )
        return int(result.scalar_one())

    def get(self, grant_id: int, *, for_update: bool = False) -> BreakGlassGrant | None:
        query = select(break_glass_grants).where(break_glass_grants.c.id == grant_id)
        if for_update:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else _grant(row)

    def approve(self, grant_id: int, *, admin_id: int, now: datetime, expires_at: datetime) -> None:
        self._set(grant_id, approved_by=admin_id, approved_at=now, expires_at=expires_at)

    def revoke(self, grant_id: int, *, admin_id: int, now: datetime) -> None:
        self._set(grant_id, revoked_by=admin_id, revoked_at=now)

    def _set(self, grant_id: int, **values: Any) -> None:
        self.connection.execute(
            update(break_glass_grants).where(break_glass_grants.c.id == grant_id).values(**values)
        )


def _grant(row: Any) -> BreakGlassGrant:
    return BreakGlassGrant(
        id=row.id,
        staff_id=row.staff_id,
        clip_id=row.clip_id,
        ticket=row.ticket,
        reason=row.reason,
        created_at=row.created_at,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )
