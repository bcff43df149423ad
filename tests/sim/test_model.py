"""The county model with an in-memory system: invariants, reproducibility, edge cases."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from sim.core.county import pairs_within
from sim.core.metrics import METRIC_UNITS, replication_metrics
from sim.core.model import CountyModel
from sim.core.params import MIN_PER_DAY, POLICIES, ModelParams, Policy
from sim.core.population import Population
from sim.core.records import ModelResult
from tests.sim.county_fixtures import busy_params, one_profile, tiny_county
from tests.sim.fake_system import FakeSystem

HORIZON_MIN = 10 * MIN_PER_DAY

SUMMARY_METRICS = (
    "thefts",
    "reports",
    "cases_with_request",
    "requests",
    "notifications",
    "notifications_per_request",
    "responses",
    "shares",
    "clips_shared",
    "clips_transferred",
    "evidence_items",
    "cases_with_usable_video",
    "identifications",
    "sprees_stopped",
    "thefts_prevented",
    "response_rate",
    "share_rate",
    "opt_out_rate",
    "households_notified_share",
    "repeat_notifications_per_household",
    "footage_lost_to_retention",
    "hours_report_to_request",
    "hours_request_to_approval",
    "hours_notification_to_response",
    "minutes_share_to_evidence",
    "hours_report_to_first_evidence",
    "detective_hours",
    "cost_per_usable_case_usd",
    "bystander_clips_transferred",
    "misidentifications",
)


@pytest.fixture(scope="module")
def county() -> Population:
    return tiny_county(households=300, camera_share=0.4)


def run(population: Population, params: ModelParams, seed: int = 11) -> ModelResult:
    return CountyModel(population, params, FakeSystem(), seed=seed).run(HORIZON_MIN)


@pytest.fixture(scope="module", params=POLICIES)
def result(request: pytest.FixtureRequest, county: Population) -> ModelResult:
    policy: Policy = request.param
    params = busy_params(county.n_homes, policy=policy, face_recognition=True)
    return run(county, params)


def test_every_stage_holds_at_most_the_one_before(result: ModelResult) -> None:
    m = replication_metrics(result)
    assert m["thefts"] > 0
    assert m["reports"] <= m["thefts"]
    assert len(result.cases) <= m["reports"]
    assert m["cases_with_request"] <= len(result.cases)
    assert m["requests"] <= len(result.requests)
    assert m["responses"] <= m["notifications"]
    assert m["shares"] <= m["responses"]
    assert m["clips_transferred"] <= m["clips_shared"]
    assert m["cases_with_usable_video"] <= len(result.cases)
    assert m["identifications"] <= m["reports"]  # every report has a clearance chance


def test_latencies_are_never_negative(result: ModelResult) -> None:
    for report in result.reports:
        assert report.reported_at_min >= report.theft_at_min
    for case in result.cases:
        assert case.detective_wait_min >= 0
    for response in result.responses:
        assert response.responded_at_min >= response.notified_at_min
    for item in result.evidence:
        assert item.seen_at_min >= item.shared_at_min
    for moderation in result.moderations:
        assert moderation.queued_at_min <= moderation.started_at_min <= moderation.decided_at_min
    latencies = [name for name in METRIC_UNITS if name.startswith(("hours_", "minutes_"))]
    for name in latencies:
        value = replication_metrics(result)[name]
        assert math.isnan(value) or value >= 0, name


def test_utilisation_is_a_share_of_staff_time(result: ModelResult) -> None:
    assert {u.resource for u in result.utilisation} == {"detectives", "moderators"}
    for u in result.utilisation:
        assert 0.0 <= u.utilisation <= 1.0
        assert u.busy_minutes <= u.capacity * u.horizon_min + 1e-6


def test_requests_respect_the_systems_window_and_area(result: ModelResult) -> None:
    for request in result.requests:
        assert request.window_end_min <= request.submitted_at_min
        assert 15 <= request.window_end_min - request.window_start_min <= 720
        assert request.refused_rule == ""


def test_the_same_seed_gives_identical_records(county: Population) -> None:
    params = busy_params(county.n_homes, policy="both", face_recognition=True)
    first, second = run(county, params, seed=5), run(county, params, seed=5)
    for name, rows in first.tables().items():
        assert [r.to_row() for r in rows] == [r.to_row() for r in second.tables()[name]], name
    other = run(county, params, seed=6)
    assert [t.to_row() for t in other.thefts] != [t.to_row() for t in first.thefts]


def test_a_county_without_cameras_yields_no_usable_video() -> None:
    county = tiny_county(households=200, camera_share=0.0)
    result = run(county, busy_params(county.n_homes, policy="both"))
    m = replication_metrics(result)
    assert m["reports"] > 0
    assert m["requests"] > 0
    assert m["notifications"] == 0
    assert m["cases_with_usable_video"] == 0
    assert m["evidence_items"] == 0


def test_when_everyone_has_opted_out_nobody_is_notified(county: Population) -> None:
    params = busy_params(county.n_homes, initial_opt_out_share=1.0)
    result = run(county, params)
    m = replication_metrics(result)
    assert m["requests"] > 0
    assert m["notifications"] == 0
    assert m["opt_out_rate"] == 1.0


def test_residents_only_share_after_answering_and_opt_outs_grow(county: Population) -> None:
    params = busy_params(
        county.n_homes,
        resident_profiles=one_profile(response_prob=1.0, share_prob=0.5, opt_out=0.2),
    )
    result = run(county, params)
    m = replication_metrics(result)
    assert m["responses"] == m["notifications"] > 0
    assert 0 < m["opt_out_rate"] <= 1
    opted = {o.resident: o.at_min for o in result.opt_outs}
    for n in result.notifications:  # opt-out applies to every later request
        assert n.resident not in opted or n.notified_at_min <= opted[n.resident]


def test_an_arrest_ends_the_spree_and_counts_what_it_prevented(county: Population) -> None:
    params = busy_params(
        county.n_homes,
        thieves_per_household_per_min=1 / MIN_PER_DAY / county.n_homes,
        spree_prob=1.0,
        spree_thefts_mean=8.0,
        spree_natural_end_hazard_per_min=0.0,
        policy="canvass",
        canvass_answer_prob=1.0,
        canvass_handover_prob=1.0,
        usable_view_prob=1.0,
        clearance_prob=1.0,
        usable_video_clearance_multiplier=1.0,
    )
    result = run(county, params)
    arrested = [s for s in result.sprees if s.ended_by == "arrest"]
    assert arrested
    for spree in result.sprees:
        assert spree.thefts + spree.thefts_prevented <= spree.planned_thefts
        assert spree.thefts_prevented == 0 or spree.ended_by == "arrest"
    thefts_by_thief: dict[int, int] = {}
    for theft in result.thefts:
        thefts_by_thief[theft.thief_id] = thefts_by_thief.get(theft.thief_id, 0) + 1
    for spree in arrested:
        assert thefts_by_thief[spree.thief_id] == spree.thefts


def test_metrics_cover_the_summary_table(result: ModelResult) -> None:
    metrics = replication_metrics(result)
    assert list(metrics) == list(METRIC_UNITS)
    assert set(SUMMARY_METRICS) <= set(metrics)
    assert all(isinstance(v, float) for v in metrics.values())


def test_record_rows_are_flat_and_follow_their_columns(result: ModelResult) -> None:
    for name, rows in result.tables().items():
        for row in rows[:3]:
            values = row.to_row()
            assert tuple(values) == type(row).COLUMNS, name
            assert all(isinstance(v, int | float | str | bool) for v in values.values())


def test_porch_view_pairs_match_brute_force() -> None:
    rng = np.random.default_rng(3)
    a = (rng.uniform(0, 500, 300), rng.uniform(0, 500, 300))
    b = (rng.uniform(0, 500, 200), rng.uniform(0, 500, 200))
    got = set(zip(*(x.tolist() for x in pairs_within(a, b, 30.0)), strict=True))
    distance = np.hypot(a[0][:, None] - b[0][None, :], a[1][:, None] - b[1][None, :])
    expected = set(zip(*(x.tolist() for x in np.nonzero(distance <= 30.0)), strict=True))
    assert got == expected


def test_a_resident_answers_the_same_way_whatever_the_policy(county: Population) -> None:
    """Common random numbers: a resident's first answer does not depend on the policy."""
    base = busy_params(county.n_homes, thieves_per_household_per_min=1 / MIN_PER_DAY / 300)
    a = run(county, base)
    b = run(county, dataclasses.replace(base, policy="both"))
    first_a = {r.resident: r.clips_shared > 0 for r in a.responses if r.request_id == 1}
    first_b = {r.resident: r.clips_shared > 0 for r in b.responses if r.request_id == 1}
    common = first_a.keys() & first_b.keys()
    assert [first_a[k] for k in sorted(common)] == [first_b[k] for k in sorted(common)]


def test_each_theft_takes_at_least_one_package_and_the_mean_is_the_scenarios(
    county: Population,
) -> None:
    params = dataclasses.replace(
        busy_params(county.n_homes, policy="platform_request"), packages_per_theft_mean=1.8
    )
    outcome = run(county, params)
    packages = np.array([t.packages for t in outcome.thefts])
    assert len(packages) > 100
    assert packages.min() >= 1
    # 1 + Poisson(0.8): mean 1.8, sd sqrt(0.8); a 4-sigma band around the mean.
    assert abs(packages.mean() - 1.8) < 4 * math.sqrt(0.8 / len(packages))
    metrics = replication_metrics(outcome)
    assert metrics["packages_stolen"] == packages.sum()
    assert metrics["parcels_delivered"] == pytest.approx(
        county.n_homes * params.parcels_per_household(HORIZON_MIN)
    )
    assert metrics["packages_stolen_per_1000_parcels"] == pytest.approx(
        1000 * packages.sum() / metrics["parcels_delivered"]
    )
