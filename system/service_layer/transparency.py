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

from system.adapters.agency_history_repo import AgencyHistoryRepository
from system.domain import transparency as trn
from system.domain.area import Area, CircleArea, PolygonArea
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
        registered = uow.agency_history.registered(agency_id)
        if registered is None:
            raise NotFound(f"no agency {agency_id}", field="agency_id")
        name, created_at = registered
        last_complete_day = trn.period_start(today, kind) - timedelta(days=1)
        bounds = trn.periods_between(created_at.date(), last_complete_day, kind)
        buckets = _Buckets(bounds)
        sharers = _count_events(uow.agency_history, agency_id, buckets)
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
    return Report(name, kind, start, end, published)


def _with_distinct_sharers(
    group: trn.PeriodCounts, sharers: list[tuple[datetime, int]]
) -> trn.PeriodCounts:
    """Distinct residents who shared in the group: not a sum over its base periods."""
    residents = {r for at, r in sharers if group.start <= at.date() < group.end}
    return replace(group, counts={**group.counts, trn.RESIDENTS_SHARED: len(residents)})


def _count_events(
    history: AgencyHistoryRepository, agency_id: int, buckets: _Buckets
) -> list[tuple[datetime, int]]:
    """Fill ``buckets`` with the agency's counts; returns (time, resident) of each share."""
    for submitted_at in history.submissions(agency_id):
        buckets.add(submitted_at, trn.SUBMITTED)
    for decided_at, decision, checklist_json in history.decisions(agency_id):
        if decision == "approve":
            buckets.add(decided_at, trn.APPROVED)
            continue
        buckets.add(decided_at, trn.REJECTED)
        for item in trn.failed_items(json.loads(checklist_json)):
            buckets.add(decided_at, trn.REJECTED_FOR + item)
    for activated_at, notified in history.activations(agency_id):
        buckets.add(activated_at, trn.NOTIFICATIONS, int(notified or 0))
    for delivered_at, size_bytes in history.deliveries(agency_id):
        buckets.add(delivered_at, trn.CLIPS)
        buckets.add(delivered_at, trn.BYTES, size_bytes)
    for decided_at in history.emergency_approvals(agency_id):
        buckets.add(decided_at, trn.EMERGENCIES)
    for created_at in history.onward_shares(agency_id):
        buckets.add(created_at, trn.ONWARD_SHARES)
    for removed_at in history.purges(agency_id):
        buckets.add(removed_at, trn.PURGES)
    return history.shares(agency_id)


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
    with ctx.uow(read_only=True) as uow:
        if uow.agencies.get(agency_id) is None:
            raise NotFound(f"no agency {agency_id}", field="agency_id")
        rows = uow.agency_history.requests(agency_id)
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
