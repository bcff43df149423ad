"""Scenarios become model parameters in minutes, with the rate bookkeeping documented."""

from __future__ import annotations

import math

import pytest

from scenarios.loader import load_scenario, shipped_names
from sim.core.metrics import replication_metrics
from sim.core.model import CountyModel
from sim.core.params import (
    MIN_PER_DAY,
    MIN_PER_HOUR,
    MIN_PER_YEAR,
    expected_thefts_per_thief,
    params_from_scenario,
)
from tests.sim.county_fixtures import tiny_county
from tests.sim.fake_system import FakeSystem


@pytest.mark.parametrize("name", shipped_names())
def test_every_shipped_scenario_converts_to_minutes(name: str) -> None:
    scenario = load_scenario(name)
    params = params_from_scenario(scenario)
    assert params.policy == scenario.police.policy
    assert params.response_period_min == scenario.police.response_period_days * MIN_PER_DAY
    assert params.request_window_min == scenario.police.request_window_h * MIN_PER_HOUR
    assert math.isclose(sum(params.hourly_theft_multipliers) / 24, 1.0)
    assert params.holiday_end_min > params.holiday_start_min
    assert params.detectives >= 1
    assert params.face_recognition == scenario.identification.face_recognition.enabled


def test_staff_scale_with_the_part_of_the_county() -> None:
    scenario = load_scenario("nassau")
    full = params_from_scenario(scenario, scale=1.0)
    tenth = params_from_scenario(scenario, scale=0.1)
    assert tenth.detectives == max(1, round(full.detectives * 0.1))
    assert params_from_scenario(scenario, scale=1e-6).detectives == 1


def test_the_detective_pool_is_their_porch_theft_share_in_full_time_equivalents() -> None:
    nassau = load_scenario("nassau")
    assert nassau.police.detectives == 300
    assert params_from_scenario(nassau, scale=1.0).detectives == 15  # 300 x 0.05
    busier = load_scenario("nassau", ["police.time_share_on_package_theft=0.2"])
    assert params_from_scenario(busier, scale=1.0).detectives == 60
    assert params_from_scenario(busier, scale=0.1).detectives == 6
    none = load_scenario("nassau", ["police.time_share_on_package_theft=0.0"])
    assert params_from_scenario(none, scale=1.0).detectives == 0


def test_the_household_rate_includes_sprees() -> None:
    scenario = load_scenario("nassau")
    params = params_from_scenario(scenario)
    per_thief = expected_thefts_per_thief(
        spree_prob=params.spree_prob,
        spree_thefts_mean=params.spree_thefts_mean,
        duration_median_min=params.spree_duration_median_min,
        duration_sigma=params.spree_duration_sigma,
        natural_end_hazard_per_min=params.spree_natural_end_hazard_per_min,
    )
    thefts_per_yr = params.thieves_per_household_per_min * per_thief * MIN_PER_YEAR
    assert thefts_per_yr <= scenario.thefts.household_rate_per_yr  # the holiday peak adds back
    no_sprees = expected_thefts_per_thief(
        spree_prob=0.0,
        spree_thefts_mean=5,
        duration_median_min=60,
        duration_sigma=1,
        natural_end_hazard_per_min=0.01,
    )
    assert no_sprees == 1.0


def test_the_tiny_scenario_runs_end_to_end_on_the_fake_system() -> None:
    params = params_from_scenario(load_scenario("tiny"))
    county = tiny_county(households=300, camera_share=0.4)
    result = CountyModel(county, params, FakeSystem(), seed=1).run(30 * MIN_PER_DAY)
    metrics = replication_metrics(result)
    assert metrics["thefts"] > 0
