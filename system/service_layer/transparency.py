"""The public transparency report (TRN-02, EMG-03) and request log (TRN-01) of an agency.

Both are public: they hold counts and coarsened areas, never a resident,
camera or notification record (CON-03, PRV-02).

How the report resists differencing, beyond suppressing small counts:

* Periods are calendar months or quarters (UTC), and only *complete*
  periods are reported: a running period changes daily, and two snapshots a
  day apart would isolate that day's requests.
* Periods are merged (see :func:`system.domain.transparency.merge_periods`)
  over the agency's whole history, from the period it registered in, and the
  report returns every merged group that overlaps the requested range, whole.
  So the grouping does not depend on where a reader starts the range; a
  group may reach outside it.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from system.adapters import tables as t
from system.domain import transparency as trn
from system.domain.area import Area, CircleArea, PolygonArea
from system.domain.emergency import EmergencyStatus
from system.domain.errors import InvalidInput, NotFound, Problem
from system.domain.geo import Point
from system.domain.moderation import CHECKLIST_ITEMS
from system.service_layer.context import ServiceContext


@dataclass(frozen=True)
class Report:
    """An agency's transparency report: merged periods, every count suppressed."""

    agency_name: str
    period: trn.Period
    start: date  # the range asked for; groups may reach outside it
    end: date
    periods: tuple[trn.ReportPeriod, ...]


class _Buckets:
    """Counts per base period, found by the day an event happened."""

    def __init__(self, bounds: list[tuple[date, date]]) -> None:
        self.bounds = bounds
        self.starts = [s for s, _ in bounds]
        self.counts: list[dict[str, int]] = [{} for _ in bounds]

    def index(self, moment: datetime) -> int | None:
        day = moment.date()
        i = bisect.bisect_right(self.starts, day) - 1
        return i if i >= 0 and day < self.bounds[i][1] else None

    def add(self, moment: datetime | None, key: str, amount: int = 1) -> None:
        i = None if moment is None else self.index(moment)
        if i is not None:
            self.counts[i][key] = self.counts[i].get(key, 0) + amount


def transparency_report(
    ctx: ServiceContext, *, agency_id: int, start: date, end: date, period: str
) -> Report:
    """The public report of ``agency_id`` for complete periods meeting ``[start, end]``.

    Per (merged) period: requests submitted, approved, rejected (by failed
    checklist item), notifications sent, residents who shared, clips and
    bytes transferred, emergency disclosures (EMG-03), onward shares and
    purges. Every count below 5 is shown as ``"<5"`` (TRN-02).
    """
    problems = []
    if period not in {p.value for p in trn.Period}:
        problems.append(Problem("period", "TRN-02", "must be 'month' or 'quarter'"))
    if not isinstance(start, date) or not isinstance(end, date) or end < start:
        problems.append(Problem("end", "TRN-02", "start and end must be dates, start ≤ end"))
    if problems:
        raise InvalidInput(problems)
    kind = trn.Period(period)
    today = ctx.clock.now().date()
    with ctx.uow(read_only=True) as uow:
        row = uow.connection.execute(
            select(t.agencies.c.name, t.agencies.c.created_at).where(t.agencies.c.id == agency_id)
        ).first()
        if row is None:
            raise NotFound(f"no agency {agency_id}", field="agency_id")
        last_complete_day = trn.period_start(today, kind) - timedelta(days=1)
        bounds = trn.periods_between(row.created_at.date(), last_complete_day, kind)
        buckets = _Buckets(bounds)
        sharers = _count_events(uow.connection, agency_id, buckets)
    base = [
        trn.PeriodCounts(s, e, counts.pop(trn.SUBMITTED, 0), counts)
        for (s, e), counts in zip(bounds, buckets.counts, strict=True)
    ]
    groups = [
        _with_distinct_sharers(g, sharers)
        for g in trn.merge_periods(base)
        if g.start <= end and g.end > start
    ]
    published = tuple(trn.publish(g, reason_categories=list(CHECKLIST_ITEMS)) for g in groups)
    return Report(row.name, kind, start, end, published)


def _with_distinct_sharers(
    group: trn.PeriodCounts, sharers: list[tuple[datetime, int]]
) -> trn.PeriodCounts:
    """Distinct residents who shared in the group: not a sum over its base periods."""
    residents = {r for at, r in sharers if group.start <= at.date() < group.end}
    return replace(group, counts={**group.counts, trn.RESIDENTS_SHARED: len(residents)})


def _count_events(
    connection: Connection, agency_id: int, buckets: _Buckets
) -> list[tuple[datetime, int]]:
    """Fill ``buckets`` with the agency's counts; returns (time, resident) of each share."""
    vr, md = t.video_requests.c, t.moderation_decisions.c
    for (submitted_at,) in connection.execute(
        select(vr.submitted_at).where(vr.agency_id == agency_id)
    ):
        buckets.add(submitted_at, trn.SUBMITTED)
    decisions = select(md.decided_at, md.decision, md.checklist_json).join(
        t.video_requests, vr.id == md.request_id
    )
    for decided_at, decision, checklist_json in connection.execute(
        decisions.where(vr.agency_id == agency_id)
    ):
        if decision == "approve":
            buckets.add(decided_at, trn.APPROVED)
            continue
        buckets.add(decided_at, trn.REJECTED)
        for item in trn.failed_items(json.loads(checklist_json)):
            buckets.add(decided_at, trn.REJECTED_FOR + item)
    for activated_at, notified in connection.execute(
        select(vr.activated_at, vr.notified_count).where(
            vr.agency_id == agency_id, vr.activated_at.is_not(None)
        )
    ):
        buckets.add(activated_at, trn.NOTIFICATIONS, int(notified or 0))
    _count_transfers(connection, agency_id, buckets)
    _count_evidence_events(connection, agency_id, buckets)
    rs = t.responses.c
    shares = connection.execute(
        select(rs.responded_at, rs.resident_id)
        .join(t.video_requests, vr.id == rs.request_id)
        .where(vr.agency_id == agency_id, rs.decision == "share")
    )
    return [(at, resident) for at, resident in shares]


def _count_transfers(connection: Connection, agency_id: int, buckets: _Buckets) -> None:
    x, c = t.transfers.c, t.clips.c
    delivered = connection.execute(
        select(x.delivered_at, c.size_bytes)
        .join(t.clips, c.id == x.clip_id)
        .where(x.agency_id == agency_id, x.status == "delivered")
    )
    for delivered_at, size_bytes in delivered:
        buckets.add(delivered_at, trn.CLIPS)
        buckets.add(delivered_at, trn.BYTES, int(size_bytes))
    e = t.emergency_disclosures.c
    for (decided_at,) in connection.execute(
        select(e.reviewer_decided_at).where(
            e.agency_id == agency_id, e.status == EmergencyStatus.APPROVED.value
        )
    ):
        buckets.add(decided_at, trn.EMERGENCIES)


def _count_evidence_events(connection: Connection, agency_id: int, buckets: _Buckets) -> None:
    ev, sh, ts = t.evidence_items.c, t.evidence_shares.c, t.evidence_tombstones.c
    for (created_at,) in connection.execute(
        select(sh.created_at)
        .join(t.evidence_items, ev.id == sh.evidence_id)
        .where(ev.agency_id == agency_id)
    ):
        buckets.add(created_at, trn.ONWARD_SHARES)
    for (removed_at,) in connection.execute(
        select(ts.removed_at)
        .join(t.evidence_items, ev.id == ts.evidence_id)
        .where(ev.agency_id == agency_id, ts.kind == "purged")
    ):
        buckets.add(removed_at, trn.PURGES)


# --- the public request log (TRN-01) ------------------------------------------------


@dataclass(frozen=True)
class PublicLogEntry:
    """One request as the public sees it: no case number, notified count or exact area."""

    incident_type: str
    window_start: datetime
    window_end: datetime
    area_centre_lat: float  # rounded to 0.01°
    area_centre_lon: float
    area_radius_m: float  # rounded up to a multiple of 250 m
    submitted_on: date
    decided_on: date | None
    ended_on: date | None
    status: str


def public_request_log(ctx: ServiceContext, *, agency_id: int) -> list[PublicLogEntry]:
    """Every request the agency ever submitted, oldest first (TRN-01).

    Nothing here can be deleted by the agency: the log is read from the
    requests themselves, which have no delete path.
    """
    vr = t.video_requests.c
    with ctx.uow(read_only=True) as uow:
        if uow.agencies.get(agency_id) is None:
            raise NotFound(f"no agency {agency_id}", field="agency_id")
        rows = uow.connection.execute(
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
    return [_log_entry(r) for r in rows]


def _log_entry(r: Any) -> PublicLogEntry:
    area = trn.coarsen(_area(r))
    return PublicLogEntry(
        incident_type=r.incident_type,
        window_start=r.window_start,
        window_end=r.window_end,
        area_centre_lat=area.centre_lat,
        area_centre_lon=area.centre_lon,
        area_radius_m=area.radius_m,
        submitted_on=r.submitted_at.date(),
        decided_on=_day(r.decided_at),
        ended_on=_day(r.ended_at),
        status=r.status,
    )


def _area(r: Any) -> Area:
    if r.area_kind == "circle":
        return CircleArea(r.center_lat, r.center_lon, r.radius_m)
    vertices: Iterable[list[float]] = json.loads(r.polygon_json)
    return PolygonArea(tuple(Point(lat, lon) for lat, lon in vertices))


def _day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.date()
