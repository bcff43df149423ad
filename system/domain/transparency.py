"""The public transparency report and request log: small counts hidden (TRN-01, TRN-02).

Two protections keep a published count from describing one request's area
(PRV-02, CON-03):

* :func:`suppress`: every count below 5 is shown as ``"<5"``, **zero
  included**. TRN-02 says "any count below 5", and zero is below 5; showing
  an exact 0 would also split "none" from "a few", which two overlapping
  reports could difference to recover a small count.
* :func:`merge_periods`: a period with fewer than 5 requests is published
  only merged with its neighbours: forward into the next periods until the
  group holds 5, and a short tail backward into the group before it. Only a
  report whose whole range holds fewer than 5 requests is one small group.

Periods are calendar months or quarters in UTC, ``[start, end)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from itertools import pairwise

from system.domain import geo
from system.domain.area import Area, CircleArea

MIN_COUNT = 5
"""TRN-02: the smallest count shown exactly, and the fewest requests a period may describe."""

SUPPRESSED = "<5"
BYTES_WITHHELD = "withheld (<5 clips)"
"""Shown for bytes when the clip count is suppressed: bytes would reveal how many clips."""

OTHER_REASON = "other"
"""Rejection category for a rejection whose checklist affirmed every item."""


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


def period_start(day: date, period: Period) -> date:
    """The first day of the month or quarter that holds ``day``."""
    if period is Period.MONTH:
        return date(day.year, day.month, 1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def next_period_start(start: date, period: Period) -> date:
    """The first day of the period after the one starting on ``start``."""
    months = 1 if period is Period.MONTH else 3
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def periods_between(first: date, last: date, period: Period) -> list[tuple[date, date]]:
    """Consecutive ``[start, end)`` periods covering the days ``first`` through ``last``."""
    if last < first:
        return []
    found = []
    start = period_start(first, period)
    while start <= last:
        end = next_period_start(start, period)
        found.append((start, end))
        start = end
    return found


def suppress(count: int) -> int | str:
    """A count as published: exact from 5 up, ``"<5"`` below (0 included, TRN-02)."""
    if count < 0:
        raise ValueError(f"a count cannot be negative (got {count})")
    return count if count >= MIN_COUNT else SUPPRESSED


@dataclass(frozen=True)
class PeriodCounts:
    """Raw counts of one period ``[start, end)``, or of several merged ones.

    ``requests`` (requests submitted) decides merging; ``counts`` holds every
    other count by name; ``merged`` says how many base periods it spans.
    """

    start: date
    end: date
    requests: int
    counts: Mapping[str, int] = field(default_factory=dict)
    merged: int = 1

    def __add__(self, later: PeriodCounts) -> PeriodCounts:
        if later.start != self.end:
            raise ValueError(f"periods must be contiguous: {self.end} then {later.start}")
        keys = dict.fromkeys([*self.counts, *later.counts])
        return PeriodCounts(
            start=self.start,
            end=later.end,
            requests=self.requests + later.requests,
            counts={k: self.counts.get(k, 0) + later.counts.get(k, 0) for k in keys},
            merged=self.merged + later.merged,
        )


def merge_periods(
    periods: Sequence[PeriodCounts], min_requests: int = MIN_COUNT
) -> list[PeriodCounts]:
    """Merge periods until each holds at least ``min_requests`` requests (TRN-02).

    Forward first: a short period absorbs the next ones until the group is
    big enough. A short tail left at the end merges backward into the group
    before it. Totals are preserved and the groups stay contiguous and in
    order; a group is short only when it is the only one.
    """
    for before, after in pairwise(periods):
        if after.start != before.end:
            raise ValueError(
                f"periods must be contiguous and ordered: {before.end} then {after.start}"
            )
    groups: list[PeriodCounts] = []
    pending: PeriodCounts | None = None
    for period in periods:
        pending = period if pending is None else pending + period
        if pending.requests >= min_requests:
            groups.append(pending)
            pending = None
    if pending is not None:
        if groups:
            groups[-1] = groups[-1] + pending
        else:
            groups.append(pending)
    return groups


# --- the published report -------------------------------------------------------------

SUBMITTED = "requests_submitted"
APPROVED = "requests_approved"
REJECTED = "requests_rejected"
NOTIFICATIONS = "notifications_sent"
RESIDENTS_SHARED = "residents_shared"
CLIPS = "clips_transferred"
BYTES = "bytes_transferred"
EMERGENCIES = "emergency_disclosures"
ONWARD_SHARES = "onward_shares"
PURGES = "purges"
REJECTED_FOR = "rejected_for:"
"""Prefix of the per-category rejection counts: ``rejected_for:lawful_purpose``."""


@dataclass(frozen=True)
class ReportPeriod:
    """One published period (possibly several merged): counts only, all suppressed.

    ``rejection_reasons`` counts rejected requests by the moderation checklist
    item they failed (a request failing two items counts under both), or
    ``"other"``. ``bytes_transferred`` is withheld while the clip count is.
    """

    start: date
    end: date  # exclusive
    periods_merged: int
    requests_submitted: int | str
    requests_approved: int | str
    requests_rejected: int | str
    rejection_reasons: dict[str, int | str]
    notifications_sent: int | str
    residents_shared: int | str
    clips_transferred: int | str
    bytes_transferred: int | str
    emergency_disclosures: int | str
    onward_shares: int | str
    purges: int | str


def publish(group: PeriodCounts, *, reason_categories: Sequence[str]) -> ReportPeriod:
    """The public form of a (merged) period: every count passed through :func:`suppress`."""
    c = group.counts
    clips = c.get(CLIPS, 0)
    reasons = [*reason_categories, OTHER_REASON]
    return ReportPeriod(
        start=group.start,
        end=group.end,
        periods_merged=group.merged,
        requests_submitted=suppress(group.requests),
        requests_approved=suppress(c.get(APPROVED, 0)),
        requests_rejected=suppress(c.get(REJECTED, 0)),
        rejection_reasons={r: suppress(c.get(REJECTED_FOR + r, 0)) for r in reasons},
        notifications_sent=suppress(c.get(NOTIFICATIONS, 0)),
        residents_shared=suppress(c.get(RESIDENTS_SHARED, 0)),
        clips_transferred=suppress(clips),
        bytes_transferred=c.get(BYTES, 0) if clips >= MIN_COUNT else BYTES_WITHHELD,
        emergency_disclosures=suppress(c.get(EMERGENCIES, 0)),
        onward_shares=suppress(c.get(ONWARD_SHARES, 0)),
        purges=suppress(c.get(PURGES, 0)),
    )


def failed_items(checklist: Mapping[str, object]) -> list[str]:
    """The checklist items a rejection failed, or ``["other"]`` when none failed."""
    failed = sorted(k for k, v in checklist.items() if v is not True)
    return failed or [OTHER_REASON]


# --- the public request log (TRN-01) ----------------------------------------------------

LOG_CENTRE_STEP_DEG = 0.01
"""The log's centres are rounded to 0.01° (about 1.1 km north-south)."""
LOG_RADIUS_STEP_M = 250.0
"""The log's radii are rounded up to a multiple of 250 m."""


def coarsen_centre(lat: float, lon: float) -> tuple[float, float]:
    """A centre rounded to the nearest 0.01° in each coordinate."""
    return (
        round(round(lat / LOG_CENTRE_STEP_DEG) * LOG_CENTRE_STEP_DEG, 2),
        round(round(lon / LOG_CENTRE_STEP_DEG) * LOG_CENTRE_STEP_DEG, 2),
    )


def coarsen_radius_m(radius_m: float) -> float:
    """``radius_m`` rounded up to the next multiple of 250 m (never below 250 m)."""
    return max(1, math.ceil(radius_m / LOG_RADIUS_STEP_M)) * LOG_RADIUS_STEP_M


@dataclass(frozen=True)
class CoarseArea:
    """What the public log shows of a request's area: a rounded circle."""

    centre_lat: float
    centre_lon: float
    radius_m: float


def coarsen(area: Area) -> CoarseArea:
    """A circle's centre rounded to 0.01° and radius rounded up to 250 m (TRN-01).

    A polygon is first described by the circle around the mean of its vertices
    that reaches its farthest vertex.
    """
    if isinstance(area, CircleArea):
        lat, lon, radius = area.center_lat, area.center_lon, area.radius_m
    else:
        lat = sum(v.lat for v in area.vertices) / len(area.vertices)
        lon = sum(v.lon for v in area.vertices) / len(area.vertices)
        radius = max(geo.distance_m(lat, lon, v.lat, v.lon) for v in area.vertices)
    c_lat, c_lon = coarsen_centre(lat, lon)
    return CoarseArea(c_lat, c_lon, coarsen_radius_m(radius))
