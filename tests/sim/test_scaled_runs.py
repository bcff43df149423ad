"""A scaled run is a sample of the county: its per-request and queueing outputs agree
across scales, and its slice is placed by the seed.

The equivalence test runs Nassau with requests made often (every theft reported, every
report followed up, a higher theft rate, 15 detectives about 80% busy and enough
moderators, so that the queue is long enough to measure) over 30 days, with the
in-memory system for speed. Each scale pools 6 replications (at least 300 requests at
1%, more at 2% and 5%), enough for the pooled means to agree within ±10% when the slice
is a sample; the box around the median home with its own staff did not (458 against
558 notifications per request at 1% and 2%).
"""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.loader import load_scenario
from sim.core.metrics import replication_metrics
from sim.core.model import CountyModel
from sim.core.population import generate_population
from sim.core.records import ModelResult
from sim.core.scenario_params import MIN_PER_DAY, county_spec, replication_inputs
from sim.runner import replication_seeds
from tests.sim.fake_system import FakeSystem

BUSY = (
    "thefts.household_rate_per_yr=0.25",
    "victims.report_prob=1.0",
    "police.follow_up_share=1.0",
    "police.request_propensity=1.0",
    "victims.own_footage_handover_prob=0.0",  # every case posts a request
    "police.hours_per_case=0.6",  # 15 detectives about 80% busy
    "moderation.moderators=16",  # about 70% busy too
    "identification.clearance_prob=0.0",  # no arrests: every scale sees the same sprees
)
SCALES = (0.01, 0.02, 0.05)
REPLICATIONS = 6
HORIZON_DAYS = 30.0


def pooled(scale: float) -> tuple[float, float]:
    """(notifications per request, mean detective wait in minutes) over the replications."""
    scenario = load_scenario("nassau", BUSY)
    notifications = requests = 0
    waits: list[float] = []
    for seed in replication_seeds(3, REPLICATIONS):
        population, params = replication_inputs(scenario, seed=seed, scale=scale)
        result = CountyModel(population, params, FakeSystem(), seed=seed).run(
            HORIZON_DAYS * MIN_PER_DAY
        )
        slice_cases = {r.report_id for r in result.reports if r.in_slice}
        published = [m for m in result.moderations if m.approved and m.case_id in slice_cases]
        requests += len(published)
        notifications += sum(m.notified for m in published)
        waits += [c.detective_wait_min for c in result.cases if c.case_id in slice_cases]
    assert requests > 300
    return notifications / requests, float(np.mean(waits))


@pytest.mark.slow
def test_notifications_per_request_and_waits_agree_across_scales() -> None:
    per_request, waits = zip(*(pooled(scale) for scale in SCALES), strict=True)
    for values in (per_request, waits):
        centre = float(np.mean(values))
        assert all(abs(v - centre) <= 0.10 * centre for v in values), (SCALES, values)


def test_the_slice_is_placed_by_the_seed_and_holds_the_share_of_homes() -> None:
    spec = county_spec(load_scenario("nassau"))
    a = generate_population(spec, seed=1, scale=0.01, ring_m=700.0)
    again = generate_population(spec, seed=1, scale=0.01, ring_m=700.0)
    other = generate_population(spec, seed=2, scale=0.01, ring_m=700.0)
    assert np.array_equal(a.home_lat, again.home_lat)
    assert a.n_slice_homes == round(0.01 * spec.households)
    assert a.slice_share == pytest.approx(0.01, rel=1e-3)
    assert a.n_homes > a.n_slice_homes  # the ring
    assert a.box != other.box


def test_outputs_count_the_slice_and_estimate_the_county() -> None:
    scenario = load_scenario("nassau", BUSY)
    population, params = replication_inputs(scenario, seed=4, scale=0.01)
    result: ModelResult = CountyModel(population, params, FakeSystem(), seed=4).run(5 * MIN_PER_DAY)
    assert any(not t.in_slice for t in result.thefts), "the ring's thefts are simulated"
    metrics = replication_metrics(result)
    assert metrics["thefts"] == sum(t.in_slice for t in result.thefts)
    assert metrics["thefts_county"] == pytest.approx(metrics["thefts"] / result.slice_share)
    assert result.utilisation[0].slice_busy_minutes <= result.utilisation[0].busy_minutes
