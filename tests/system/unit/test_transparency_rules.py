"""Pure transparency rules: small-count suppression, period merging, coarsening (TRN-01, TRN-02)."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from system.domain import geo
from system.domain import transparency as trn
from system.domain.area import CircleArea, PolygonArea
from system.domain.transparency import Period, PeriodCounts, merge_periods, suppress


def months(requests: list[int], *, first: date = date(2026, 1, 1)) -> list[PeriodCounts]:
    """Consecutive months holding ``requests[i]`` requests and twice as many notifications."""
    found, start = [], first
    for n in requests:
        end = trn.next_period_start(start, Period.MONTH)
        found.append(PeriodCounts(start, end, n, {"notifications_sent": 2 * n, "clips": 1}))
        start = end
    return found


# --- suppress ---------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4])
def test_trn02_counts_below_five_are_shown_as_less_than_five(count: int) -> None:
    assert suppress(count) == "<5"


@pytest.mark.parametrize("count", [5, 6, 99, 10**9])
def test_trn02_counts_from_five_are_shown_exactly(count: int) -> None:
    assert suppress(count) == count


def test_trn02_negative_count_is_a_bug() -> None:
    with pytest.raises(ValueError, match="negative"):
        suppress(-1)


# --- merge_periods ------------------------------------------------------------------------


def test_trn02_periods_with_five_requests_stand_alone() -> None:
    periods = months([5, 7, 5])
    assert merge_periods(periods) == periods


def test_trn02_small_period_merges_forward_into_the_next() -> None:
    [merged, last] = merge_periods(months([2, 3, 6]))
    assert (merged.start, merged.end) == (date(2026, 1, 1), date(2026, 3, 1))
    assert merged.requests == 5
    assert merged.merged == 2
    assert merged.counts == {"notifications_sent": 10, "clips": 2}
    assert (last.start, last.requests, last.merged) == (date(2026, 3, 1), 6, 1)


def test_trn02_small_tail_merges_backward_into_the_group_before() -> None:
    [first, tail] = merge_periods(months([6, 1, 5, 2]))
    assert (first.start, first.end, first.requests) == (date(2026, 1, 1), date(2026, 2, 1), 6)
    assert (tail.start, tail.end, tail.requests, tail.merged) == (
        date(2026, 2, 1),
        date(2026, 5, 1),
        8,
        3,
    )


def test_trn02_fewer_than_five_requests_in_all_make_one_period() -> None:
    [only] = merge_periods(months([1, 0, 2]))
    assert (only.start, only.end, only.requests, only.merged) == (
        date(2026, 1, 1),
        date(2026, 4, 1),
        3,
        3,
    )


def test_trn02_no_periods_merge_to_none() -> None:
    assert merge_periods([]) == []


def test_trn02_gaps_between_periods_are_a_bug() -> None:
    jan, _, mar = months([5, 5, 5])
    with pytest.raises(ValueError, match="contiguous"):
        merge_periods([jan, mar])


@given(st.lists(st.integers(min_value=0, max_value=12), max_size=30), st.integers(1, 8))
def test_trn02_merging_preserves_totals_and_order_and_reaches_the_minimum(
    requests: list[int], minimum: int
) -> None:
    periods = months(requests)
    groups = merge_periods(periods, min_requests=minimum)
    # totals preserved
    assert sum(g.requests for g in groups) == sum(requests)
    assert sum(g.counts.get("notifications_sent", 0) for g in groups) == 2 * sum(requests)
    assert sum(g.merged for g in groups) == len(periods)
    # contiguous and ordered, covering exactly the input
    if periods:
        assert groups[0].start == periods[0].start
        assert groups[-1].end == periods[-1].end
    for before, after in pairwise(groups):
        assert before.end == after.start
        assert before.start < after.start
    # every group reaches the minimum, unless it is the only one
    if len(groups) > 1:
        assert all(g.requests >= minimum for g in groups)
    # a group is never merged needlessly: its first base period alone was too small
    starts = {p.start: p for p in periods}
    for g in groups[:-1]:
        if g.merged > 1:
            assert starts[g.start].requests < minimum


@given(st.lists(st.integers(min_value=5, max_value=50), max_size=20))
def test_trn02_big_enough_periods_are_never_merged(requests: list[int]) -> None:
    periods = months(requests)
    assert merge_periods(periods) == periods


# --- periods ------------------------------------------------------------------------------


def test_trn02_quarters_start_in_january_april_july_october() -> None:
    assert trn.period_start(date(2026, 11, 27), Period.QUARTER) == date(2026, 10, 1)
    assert trn.period_start(date(2026, 3, 31), Period.QUARTER) == date(2026, 1, 1)
    assert trn.next_period_start(date(2026, 10, 1), Period.QUARTER) == date(2027, 1, 1)
    assert trn.next_period_start(date(2026, 12, 1), Period.MONTH) == date(2027, 1, 1)


def test_trn02_periods_between_cover_both_ends() -> None:
    assert trn.periods_between(date(2026, 11, 27), date(2027, 1, 1), Period.MONTH) == [
        (date(2026, 11, 1), date(2026, 12, 1)),
        (date(2026, 12, 1), date(2027, 1, 1)),
        (date(2027, 1, 1), date(2027, 2, 1)),
    ]
    assert trn.periods_between(date(2027, 1, 2), date(2027, 1, 1), Period.MONTH) == []


# --- publish --------------------------------------------------------------------------------


def test_trn02_published_period_suppresses_every_count_and_withholds_bytes() -> None:
    group = PeriodCounts(
        date(2026, 1, 1),
        date(2026, 2, 1),
        12,
        {
            trn.APPROVED: 9,
            trn.REJECTED: 3,
            trn.REJECTED_FOR + "lawful_purpose": 3,
            trn.NOTIFICATIONS: 140,
            trn.RESIDENTS_SHARED: 4,
            trn.CLIPS: 4,
            trn.BYTES: 123_456,
            trn.EMERGENCIES: 1,
        },
    )
    report = trn.publish(group, reason_categories=["lawful_purpose", "no_pressure"])
    assert report.requests_submitted == 12
    assert report.requests_approved == 9
    assert report.requests_rejected == "<5"
    assert report.rejection_reasons == {"lawful_purpose": "<5", "no_pressure": "<5", "other": "<5"}
    assert report.notifications_sent == 140
    assert report.residents_shared == "<5"
    assert report.clips_transferred == "<5"
    assert report.bytes_transferred == trn.BYTES_WITHHELD  # bytes would reveal the clip count
    assert report.emergency_disclosures == "<5"
    assert report.onward_shares == "<5"
    assert report.purges == "<5"


def test_trn02_bytes_are_shown_once_five_clips_moved() -> None:
    group = PeriodCounts(date(2026, 1, 1), date(2026, 2, 1), 5, {trn.CLIPS: 5, trn.BYTES: 999})
    assert trn.publish(group, reason_categories=[]).bytes_transferred == 999


def test_trn02_rejection_reasons_are_the_failed_checklist_items() -> None:
    checklist = {"lawful_purpose": False, "no_pressure": True, "proportionate_scope": False}
    assert trn.failed_items(checklist) == ["lawful_purpose", "proportionate_scope"]
    assert trn.failed_items({"lawful_purpose": True}) == ["other"]


# --- the public log's coarsened area ----------------------------------------------------------


def test_trn01_circle_is_coarsened_to_a_rounded_centre_and_250_m_steps() -> None:
    coarse = trn.coarsen(CircleArea(40.70621, -73.61874, 400.0))
    assert (coarse.centre_lat, coarse.centre_lon, coarse.radius_m) == (40.71, -73.62, 500.0)
    assert trn.coarsen_radius_m(250.0) == 250.0
    assert trn.coarsen_radius_m(250.1) == 500.0
    assert trn.coarsen_radius_m(1.0) == 250.0


def test_trn01_polygon_is_described_by_a_coarse_circle() -> None:
    square = PolygonArea(
        (
            geo.Point(40.700, -73.610),
            geo.Point(40.700, -73.600),
            geo.Point(40.706, -73.600),
            geo.Point(40.706, -73.610),
        )
    )
    coarse = trn.coarsen(square)
    assert (coarse.centre_lat, coarse.centre_lon) == (40.70, -73.60)
    assert coarse.radius_m % 250 == 0
    assert coarse.radius_m >= geo.distance_m(40.703, -73.605, 40.700, -73.610)


@given(
    st.floats(min_value=-89, max_value=89),
    st.floats(min_value=-179, max_value=179),
    st.floats(min_value=1, max_value=5000),
)
def test_trn01_coarse_values_are_on_their_grids(lat: float, lon: float, radius: float) -> None:
    coarse = trn.coarsen(CircleArea(lat, lon, radius))
    assert abs(coarse.centre_lat - lat) <= 0.005 + 1e-9
    assert abs(coarse.centre_lon - lon) <= 0.005 + 1e-9
    assert coarse.radius_m >= radius
    assert coarse.radius_m - radius < 250
    assert coarse.radius_m % 250 == 0
