"""What operators scrape from ``/metrics`` about the stored data: totals and the queue's lag.

Counts of whole tables: a scrape every few seconds costs a few milliseconds per
million notifications on SQLite. Resident-level detail never leaves here (only
totals, and ``/metrics`` is for operators only: SEC-01, CON-03).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from system.adapters import tables as t


@dataclass(frozen=True)
class Totals:
    notifications: int
    responses: dict[str, int]  # by decision
    transfers: dict[str, int]  # by status
    evidence_bytes: int  # every evidence item ever received, purged ones too
    clips: int  # clips stored now (uploads not yet purged by retention)
    evidence_items: int  # every evidence item ever received, purged ones too


class OperationsRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def totals(self) -> Totals:
        execute = self.connection.execute
        r, tr = t.responses.c, t.transfers.c
        return Totals(
            notifications=int(
                execute(select(func.count()).select_from(t.notifications)).scalar_one()
            ),
            responses={
                d: int(n) for d, n in execute(select(r.decision, func.count()).group_by(r.decision))
            },
            transfers={
                s: int(n) for s, n in execute(select(tr.status, func.count()).group_by(tr.status))
            },
            evidence_bytes=int(
                execute(
                    select(func.coalesce(func.sum(t.evidence_items.c.size_bytes), 0))
                ).scalar_one()
            ),
            clips=int(execute(select(func.count()).select_from(t.clips)).scalar_one()),
            evidence_items=int(
                execute(select(func.count()).select_from(t.evidence_items)).scalar_one()
            ),
        )
