"""The parcel behind each theft: the sampler against its closed forms, the request
window a detective derives from it, and what the delivery hours and dwell change."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from scenarios.loader import load_scenario
from scenarios.schema import ScenarioError
from sim.core.metrics import replication_metrics
from sim.core.model import CountyModel
from sim.core.params import MIN_PER_DAY, MIN_PER_HOUR
from sim.core.parcels import Parcel, ParcelExposure, followup_window, request_window
from sim.core.population import Population
from sim.core.records import ModelResult
from tests.sim.county_fixtures import busy_params, tiny_county
from tests.sim.fake_system import FakeSystem

FLAT = (1.0,) * 24
DRAWS = 20_000


def _draws(exposure: ParcelExposure, *, seed: int = 3, prevention: bool = False) -> np.ndarray:
    """(theft, delivered, discovered) for thefts spread uniformly over ten days."""
    rng = np.random.default_rng(seed)
    thefts = rng.uniform(0, 10 * MIN_PER_DAY, DRAWS)
    rows = []
    for at in thefts.tolist():
        parcel = exposure.draw(rng, at, prevention=prevention)
        rows.append((at, parcel.delivered_at_min, parcel.discovered_at_min))
    return np.array(rows)


def test_the_stolen_parcel_is_length_biased_as_in_an_m_g_infinity_queue() -> None:
    """With deliveries at every hour alike, a parcel on the porch at a random moment has
    a length-biased dwell (mean E[D^2]/E[D]) and is halfway through it on average."""
    median, sigma = 240.0, 0.8
    draws = _draws(
        ParcelExposure(FLAT, dwell_median_min=median, dwell_sigma=sigma, prevention_dwell_factor=1)
    )
    theft, delivered, discovered = draws.T
    assert (delivered <= theft).all()
    assert (theft <= discovered).all()
    dwell, age = discovered - delivered, theft - delivered
    biased_mean = median * math.exp(1.5 * sigma**2)  # E[D^2]/E[D] for a lognormal
    se = dwell.std() / math.sqrt(DRAWS)
    assert abs(dwell.mean() - biased_mean) < 4 * se
    assert abs(age.mean() - biased_mean / 2) < 4 * age.std() / math.sqrt(DRAWS)
    # An unbiased dwell would have mean median * e^(sigma^2 / 2), far below.
    assert dwell.mean() > 1.5 * median * math.exp(sigma**2 / 2)


def test_parcels_come_only_in_the_delivery_hours() -> None:
    """One delivery hour (10:00-11:00) and dwells of about an hour: every stolen parcel
    came in that hour of some day, and was taken from a porch that still held it."""
    weights = tuple(1.0 if hour == 10 else 0.0 for hour in range(24))
    exposure = ParcelExposure(
        weights, dwell_median_min=60.0, dwell_sigma=0.5, prevention_dwell_factor=1.0
    )
    _theft, delivered, discovered = _draws(exposure).T
    hours = (delivered // MIN_PER_HOUR).astype(int) % 24
    assert set(hours.tolist()) == {10}
    assert (discovered >= delivered).all()


def test_a_theft_no_parcel_explains_gets_the_latest_delivery_found_at_once() -> None:
    """A one-minute dwell with no spread, deliveries only at 10:00: a 15:00 theft finds
    no parcel that could still be there, so it takes the 10:55-11:00 delivery."""
    weights = tuple(1.0 if hour == 10 else 0.0 for hour in range(24))
    exposure = ParcelExposure(
        weights, dwell_median_min=1.0, dwell_sigma=0.0, prevention_dwell_factor=1
    )
    theft = 15 * MIN_PER_HOUR + 2.0
    parcel = exposure.draw(np.random.default_rng(1), theft, prevention=False)
    assert 10 * MIN_PER_HOUR + 55 <= parcel.delivered_at_min < 11 * MIN_PER_HOUR
    assert parcel.discovered_at_min == pytest.approx(theft)


def test_a_prevention_habit_shortens_the_time_on_the_porch() -> None:
    exposure = ParcelExposure(
        FLAT, dwell_median_min=240.0, dwell_sigma=0.8, prevention_dwell_factor=0.1
    )
    usual = _draws(exposure)
    prevented = _draws(exposure, prevention=True)

    def on_porch(draws: np.ndarray) -> float:
        return float((draws[:, 2] - draws[:, 1]).mean())

    assert on_porch(prevented) == pytest.approx(0.1 * on_porch(usual), rel=0.05)


def test_the_same_stream_gives_the_same_parcels() -> None:
    exposure = ParcelExposure(
        FLAT, dwell_median_min=240.0, dwell_sigma=0.8, prevention_dwell_factor=0.1
    )
    assert (_draws(exposure, seed=9) == _draws(exposure, seed=9)).all()


def test_bad_parcel_parameters_are_refused_with_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="not all zero"):
        ParcelExposure((0.0,) * 24, dwell_median_min=60, dwell_sigma=1, prevention_dwell_factor=1)
    with pytest.raises(ValueError, match="positive median"):
        ParcelExposure(FLAT, dwell_median_min=0, dwell_sigma=1, prevention_dwell_factor=1)
    # The window fit is the scenario's to check, once, where it names the key and source.
    with pytest.raises(ScenarioError, match=r'police\.request_window_fit = "exact": must be one'):
        load_scenario("tiny", ['police.request_window_fit="exact"'])


@pytest.mark.parametrize(
    ("delivered", "discovered", "now", "fit", "expected"),
    [
        (100.0, 160.0, 1000.0, "fixed", (-230.0, 490.0)),  # 12 h centred on 130
        (100.0, 160.0, 300.0, "fixed", (-420.0, 300.0)),  # ... but not past now
        (100.0, 160.0, 1000.0, "exposure", (100.0, 160.0)),  # the porch time itself
        (100.0, 104.0, 1000.0, "exposure", (94.5, 109.5)),  # widened to 15 min (REQ-02)
        (0.0, 1000.0, 2000.0, "exposure", (140.0, 860.0)),  # cut to 12 h about its middle
    ],
)
def test_the_request_window_is_placed_on_the_porch_time(
    delivered: float,
    discovered: float,
    now: float,
    fit: str,
    expected: tuple[float, float],
) -> None:
    window = request_window(
        Parcel(delivered, discovered), now_min=now, length_min=12 * MIN_PER_HOUR, fit=fit
    )
    assert window == pytest.approx(expected)


@pytest.mark.parametrize(
    ("delivered", "discovered", "asked", "expected"),
    [
        (0.0, 1000.0, (140.0, 860.0), (860.0, 1000.0)),  # the later gap on a tie
        (0.0, 1000.0, (100.0, 900.0), (900.0, 1000.0)),
        (0.0, 1000.0, (300.0, 950.0), (0.0, 300.0)),  # the longer gap, before
        (0.0, 2000.0, (1000.0, 2000.0), (280.0, 1000.0)),  # at most 12 h, next to the first
        (0.0, 1000.0, (5.0, 995.0), (985.0, 1000.0)),  # widened to 15 min (REQ-02) ...
        (0.0, 1000.0, (10.0, 1000.0), (0.0, 15.0)),  # ... into what was asked already
        (100.0, 160.0, (-230.0, 490.0), None),  # the first window covered it all
    ],
)
def test_a_follow_up_window_asks_for_the_porch_time_the_first_left_out(
    delivered: float,
    discovered: float,
    asked: tuple[float, float],
    expected: tuple[float, float] | None,
) -> None:
    window = followup_window(
        Parcel(delivered, discovered), asked, now_min=5000.0, length_min=12 * MIN_PER_HOUR
    )
    assert window == (None if expected is None else pytest.approx(expected))
    if window is not None:
        assert 15.0 <= window[1] - window[0] <= 12 * MIN_PER_HOUR  # REQ-02


def test_a_follow_up_window_never_ends_after_now() -> None:
    window = followup_window(Parcel(0.0, 1200.0), (0.0, 995.0), now_min=1000.0, length_min=720.0)
    assert window == pytest.approx((985.0, 1000.0))
    # A porch time shorter than 15 min: widened, and moved back to end by now.
    window = followup_window(Parcel(0.0, 10.0), (5.0, 20.0), now_min=12.0, length_min=720.0)
    assert window == pytest.approx((-3.0, 12.0))


@pytest.fixture(scope="module")
def county() -> Population:
    return tiny_county(households=300, camera_share=0.4)


def _run(county: Population, **changes: object) -> ModelResult:
    params = dataclasses.replace(busy_params(county.n_homes), **changes)  # type: ignore[arg-type]
    return CountyModel(county, params, FakeSystem(), seed=5).run(10 * MIN_PER_DAY)


def test_victims_report_only_after_finding_the_parcel_gone(county: Population) -> None:
    result = _run(county)
    found = {t.theft_id: t.discovered_at_min for t in result.thefts}
    assert result.reports
    assert all(r.reported_at_min >= found[r.theft_id] for r in result.reports)


def test_a_longer_dwell_means_later_reports_and_windows_that_miss_the_theft(
    county: Population,
) -> None:
    """Short dwells: the victim's interval pins the theft, a fitted window always holds
    it. Long dwells with short fixed windows: reports come later and windows miss."""
    short = _run(
        county,
        delivery_hour_weights=FLAT,  # a parcel can be there at any hour a thief comes
        porch_dwell_median_min=30.0,
        porch_dwell_sigma=0.0,
        request_window_fit="exposure",
    )
    long = _run(
        county,
        porch_dwell_median_min=10 * MIN_PER_HOUR,
        porch_dwell_sigma=0.8,
        request_window_min=60.0,
    )
    short_m, long_m = replication_metrics(short), replication_metrics(long)
    assert short_m["requests"] > 10
    assert long_m["requests"] > 10
    assert short_m["request_windows_holding_theft"] == 1.0
    assert long_m["request_windows_holding_theft"] < 0.3

    def lag_h(result: ModelResult) -> float:
        return float(np.mean([r.reported_at_min - r.theft_at_min for r in result.reports])) / 60

    assert lag_h(long) > lag_h(short) + 5
    # A window without the theft brings only bystanders; every shared clip lies inside it.
    windows = {q.request_id: q for q in long.requests if q.request_id >= 0}
    shared = [c for c in long.clip_shares if not windows[c.request_id].holds_theft]
    assert shared
    assert not any(c.saw_theft for c in shared)
    assert all(
        windows[c.request_id].window_start_min
        <= c.recorded_at_min
        <= windows[c.request_id].window_end_min
        for c in long.clip_shares
    )


def test_a_follow_up_request_asks_for_the_rest_of_the_porch_time(county: Population) -> None:
    """Long dwells and 1 h windows: a case whose first request brought no usable video
    gets a second (never a third), next to the first, after its response period."""
    long_dwell = {
        "porch_dwell_median_min": 10 * MIN_PER_HOUR,
        "porch_dwell_sigma": 0.8,
        "request_window_min": 60.0,
        "max_requests_per_case": 2,
    }
    once = _run(county, **long_dwell, followup_request_prob=0.0)
    twice = _run(county, **long_dwell, followup_request_prob=1.0)
    assert not any(q.attempt > 1 for q in once.requests)
    by_case: dict[int, list[object]] = {}
    for q in twice.requests:
        by_case.setdefault(q.case_id, []).append(q)
    seconds = [qs for qs in by_case.values() if len(qs) == 2]
    assert len(seconds) > 5
    assert all(len(qs) <= 2 for qs in by_case.values())  # REQ-04
    expired_at = 2 * MIN_PER_DAY  # busy_params' response period
    for first, second in seconds:
        assert (first.attempt, second.attempt) == (1, 2)
        assert second.submitted_at_min >= first.submitted_at_min + expired_at
        # Next to the first window (overlapping it only to reach 15 min), asking for more.
        assert second.window_start_min <= first.window_end_min + 1e-6
        assert second.window_end_min >= first.window_start_min - 1e-6
        assert (
            second.window_start_min < first.window_start_min
            or second.window_end_min > first.window_end_min
        )
        # Only a case without usable video by the first period's end posts again.
        assert all(
            u.at_min >= first.submitted_at_min + expired_at
            for u in twice.usable_videos
            if u.case_id == first.case_id
        )
    metrics = replication_metrics(twice)
    published = {m.request_id for m in twice.moderations if m.approved}
    assert metrics["followup_requests"] == sum(
        1 for q in twice.requests if q.attempt == 2 and q.request_id in published
    )
    assert metrics["requests"] > replication_metrics(once)["requests"]
    # Windows that asked for more of the porch time hold the theft more often, together.
    held = {q.case_id for q in twice.requests if q.holds_theft}
    assert len(held) > len({q.case_id for q in once.requests if q.holds_theft})


def test_no_follow_up_for_a_case_whose_thief_was_arrested_meanwhile(county: Population) -> None:
    """A spree's thief arrested through one case clears the others: none of them posts a
    follow-up once its first period has ended after the arrest."""
    result = _run(
        county,
        porch_dwell_median_min=10 * MIN_PER_HOUR,
        porch_dwell_sigma=0.8,
        request_window_min=60.0,
        max_requests_per_case=2,
        followup_request_prob=1.0,
        spree_prob=0.9,
        clearance_prob=0.5,
    )
    thief_of_theft = {t.theft_id: t.thief_id for t in result.thefts}
    thief_of_case = {r.report_id: thief_of_theft[r.theft_id] for r in result.reports}
    arrested_at: dict[int, float] = {}
    for i in result.identifications:
        if i.correct and i.arrest:
            arrested_at[i.thief_id] = min(i.at_min, arrested_at.get(i.thief_id, math.inf))
    period_ends = {m.request_id: m.decided_at_min + 2 * MIN_PER_DAY for m in result.moderations}
    attempts: dict[int, int] = {}
    for q in result.requests:
        attempts[q.case_id] = max(q.attempt, attempts.get(q.case_id, 0))
    cleared = [
        q
        for q in result.requests
        if q.attempt == 1
        and q.request_id in period_ends
        and arrested_at.get(thief_of_case[q.case_id], math.inf) < period_ends[q.request_id]
    ]
    assert cleared  # the run had cases whose thief was caught through another case first
    assert [q.case_id for q in cleared if attempts[q.case_id] > 1] == []
    assert any(n > 1 for n in attempts.values())  # cases whose thief was free did post again
