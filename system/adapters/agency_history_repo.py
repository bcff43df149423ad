"""An agency's history as dated events: what its transparency report counts and its
public request log lists (TRN-01, TRN-02, EMG-03).

Every method reads one agency's rows and returns plain times and values, never a
resident's record beyond the id the report needs to count distinct sharers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from system.adapters import tables as t
from system.domain.emergency import EmergencyStatus


class AgencyHistoryRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def registered(self, agency_id: int) -> tuple[str, datetime] | None:
        """The agency's name and when it registered; ``None`` if there is no such agency."""
        a = t.agencies.c
        row = self.connection.execute(select(a.name, a.created_at).where(a.id == agency_id)).first()
        return None if row is None else (row.name, row.created_at)

    def submissions(self, agency_id: int) -> list[datetime]:
        vr = t.video_requests.c
        rows = self.connection.execute(select(vr.submitted_at).where(vr.agency_id == agency_id))
        return [submitted_at for (submitted_at,) in rows]

    def decisions(self, agency_id: int) -> list[tuple[datetime, str, str]]:
        """(decided at, ``approve`` or ``reject``, checklist JSON) of each moderation decision."""
        vr, md = t.video_requests.c, t.moderation_decisions.c
        rows = self.connection.execute(
            select(md.decided_at, md.decision, md.checklist_json)
            .join(t.video_requests, vr.id == md.request_id)
            .where(vr.agency_id == agency_id)
        )
        return [(decided_at, decision, checklist) for decided_at, decision, checklist in rows]

    def activations(self, agency_id: int) -> list[tuple[datetime, int | None]]:
        """(activated at, residents notified) of each request that went live."""
        vr = t.video_requests.c
        rows = self.connection.execute(
            select(vr.activated_at, vr.notified_count).where(
                vr.agency_id == agency_id, vr.activated_at.is_not(None)
            )
        )
        return [(activated_at, notified) for activated_at, notified in rows]

    def deliveries(self, agency_id: int) -> list[tuple[datetime, int]]:
        """(delivered at, clip bytes) of each clip delivered to the agency."""
        x, c = t.transfers.c, t.clips.c
        rows = self.connection.execute(
            select(x.delivered_at, c.size_bytes)
            .join(t.clips, c.id == x.clip_id)
            .where(x.agency_id == agency_id, x.status == "delivered")
        )
        return [(delivered_at, int(size_bytes)) for delivered_at, size_bytes in rows]

    def emergency_approvals(self, agency_id: int) -> list[datetime]:
        """When each of the agency's emergency disclosures was approved (EMG-03)."""
        e = t.emergency_disclosures.c
        rows = self.connection.execute(
            select(e.reviewer_decided_at).where(
                e.agency_id == agency_id, e.status == EmergencyStatus.APPROVED.value
            )
        )
        return [decided_at for (decided_at,) in rows]

    def onward_shares(self, agency_id: int) -> list[datetime]:
        """When each share link to the agency's evidence was made."""
        ev, sh = t.evidence_items.c, t.evidence_shares.c
        rows = self.connection.execute(
            select(sh.created_at)
            .join(t.evidence_items, ev.id == sh.evidence_id)
            .where(ev.agency_id == agency_id)
        )
        return [created_at for (created_at,) in rows]

    def purges(self, agency_id: int) -> list[datetime]:
        """When each of the agency's evidence items was purged at the end of its retention."""
        ev, ts = t.evidence_items.c, t.evidence_tombstones.c
        rows = self.connection.execute(
            select(ts.removed_at)
            .join(t.evidence_items, ev.id == ts.evidence_id)
            .where(ev.agency_id == agency_id, ts.kind == "purged")
        )
        return [removed_at for (removed_at,) in rows]

    def shares(self, agency_id: int) -> list[tuple[datetime, int]]:
        """(answered at, resident id) of each answer that shared clips with the agency."""
        vr, rs = t.video_requests.c, t.responses.c
        rows = self.connection.execute(
            select(rs.responded_at, rs.resident_id)
            .join(t.video_requests, vr.id == rs.request_id)
            .where(vr.agency_id == agency_id, rs.decision == "share")
        )
        return [(at, resident) for at, resident in rows]

    def requests(self, agency_id: int) -> list[Any]:
        """Every request the agency submitted, oldest first: the public log's columns only."""
        vr = t.video_requests.c
        return list(
            self.connection.execute(
                select(
                    vr.incident_type,
                    vr.window_start,
                    vr.window_end,
                    vr.area_kind,
                    vr.center_lat,
                    vr.center_lon,
                    vr.radius_m,
                    vr.polygon_json,
                    vr.submitted_at,
                    vr.decided_at,
                    vr.ended_at,
                    vr.status,
                )
                .where(vr.agency_id == agency_id)
                .order_by(vr.submitted_at, vr.id)
            ).all()
        )
