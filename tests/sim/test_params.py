"""Scenarios become model parameters in minutes, with the rate bookkeeping documented."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import pytest

from scenarios.loader import from_dict, load_scenario, resolved_dict, shipped_names
from scenarios.overrides import leaf_keys, set_dotted
from scenarios.schema import COUNTIES_WITH_TOWN_LAYOUT, Scenario, ScenarioError, rule_text
from sim.core.counties import CountySpec
from sim.core.metrics import replication_metrics
from sim.core.model import CountyModel
from sim.core.params import (
    MIN_PER_DAY,
    MIN_PER_HOUR,
    MIN_PER_YEAR,
    ModelParams,
    expected_thefts_per_thief,
)
from sim.core.scenario_params import (
    DERIVATIONS,
    MODEL_DEFAULTS,
    ROWS,
    TOWN_LAYOUTS,
    county_spec,
    params_from_scenario,
    row_for,
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


def test_a_scaled_run_keeps_the_countys_staff_pools() -> None:
    """A slice's cases queue behind the whole county's (sim.core.background), so the
    pools are the county's at every scale."""
    scenario = load_scenario("nassau")
    full = params_from_scenario(scenario, scale=1.0)
    for scale in (0.1, 1e-6):
        part = params_from_scenario(scenario, scale=scale)
        assert (part.detectives, part.supervisors, part.moderators) == (
            full.detectives,
            full.supervisors,
            full.moderators,
        )


def test_the_detective_pool_is_their_porch_theft_share_in_full_time_equivalents() -> None:
    nassau = load_scenario("nassau")
    assert nassau.police.detectives == 300
    assert params_from_scenario(nassau, scale=1.0).detectives == 15  # 300 x 0.05
    busier = load_scenario("nassau", ["police.time_share_on_package_theft=0.2"])
    assert params_from_scenario(busier, scale=1.0).detectives == 60
    assert params_from_scenario(busier, scale=0.1).detectives == 60
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


def test_parcels_per_household_count_the_weekly_rate_and_the_holiday_peak() -> None:
    nassau = params_from_scenario(load_scenario("nassau"), scale=1.0)
    week = 7 * MIN_PER_DAY
    assert nassau.parcels_per_household(week) == pytest.approx(2.4)  # January: no peak
    year = nassau.parcels_per_household(365 * MIN_PER_DAY)
    # 28 days of the peak (27 November to 24 December, inclusive) at 1.5x add half of
    # 28 days' parcels.
    assert year == pytest.approx(2.4 / 7 * (365 + 0.5 * 28))
    # A run that starts inside the peak counts only the peak days it holds.
    late = load_scenario("nassau", ["run.start_date=2025-12-20"])
    assert params_from_scenario(late, scale=1.0).parcels_per_household(week) == pytest.approx(
        2.4 / 7 * (7 + 0.5 * 5)  # 20-24 December
    )
    # A horizon that ends inside the peak counts only the peak days it holds.
    inside = nassau.holiday_start_min + 3 * MIN_PER_DAY
    assert nassau.parcels_per_household(inside) == pytest.approx(
        2.4 / week * (inside + 0.5 * 3 * MIN_PER_DAY)
    )


def _perturbations(value: object) -> list[object]:
    """Other values of the same kind, to try in turn until one passes the scenario rules."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):  # doubled first: a count may be scaled and rounded
        return [value * 2, value + 1, value - 1]
    if isinstance(value, float):
        return [value * 0.9, value * 1.05, value * 0.5] if value else [0.1]
    if isinstance(value, str):
        try:
            return [dt.date.fromisoformat(value) + dt.timedelta(days=1)]
        except ValueError:
            others = {"platform_request": "canvass", "nassau": "suffolk", "fixed": "exposure"}
            return [others.get(value, value + "-x")]
    if isinstance(value, list):
        index = next((i for i, v in enumerate(value) if v), 0)
        return [
            [*value[:index], other, *value[index + 1 :]] for other in _perturbations(value[index])
        ]
    raise TypeError(f"no perturbation for {value!r}")


def _variants(tree: dict[str, Any]) -> Iterator[tuple[str, Scenario]]:
    """(dotted key, the scenario with that key's value changed), for every leaf, and for
    every field of the first table of each list of tables."""
    for key in leaf_keys(tree):
        value = _get(tree, key)
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for field_name in value[0]:
                candidates = []
                for other in _perturbations(value[0][field_name]):
                    tables = [dict(v) for v in value]
                    tables[0][field_name] = other
                    candidates.append(_with(tree, key, tables))
                yield f"{key}[0].{field_name}", _first_valid(candidates, key)
        else:
            yield key, _first_valid([_with(tree, key, v) for v in _perturbations(value)], key)


def _first_valid(trees: list[dict[str, Any]], key: str) -> Scenario:
    for tree in trees:
        try:
            return from_dict(tree)
        except ScenarioError:
            continue
    raise AssertionError(f"no valid perturbation of {key}")


def _get(tree: dict[str, Any], key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        node = node[part]
    return node


def _with(tree: dict[str, Any], key: str, value: object) -> dict[str, Any]:
    changed = dict(tree)  # set_dotted copies the tables on its path: the rest is shared
    set_dotted(changed, key, value)
    return changed


def test_every_scenario_key_is_in_the_table_exactly_once() -> None:
    keys = list(leaf_keys(resolved_dict(load_scenario("nassau"))))
    table = [row.key for row in ROWS]
    assert len(set(table)) == len(table), "a key has two rows in sim/core/scenario_params.py"
    assert sorted(table) == sorted(keys), "every scenario key needs one row in ROWS"


def test_every_model_field_is_set_by_one_row_or_derivation_or_declared_a_default() -> None:
    setters = [row.field for row in ROWS if row.kind == "sets"]
    setters += [name for derivation in DERIVATIONS for name in derivation.sets]
    setters += list(MODEL_DEFAULTS)
    assert sorted(setters) == sorted(f.name for f in dataclasses.fields(ModelParams))
    county = [row.field for row in ROWS if row.kind == "county"]
    layout = {"town_centres"}  # from TOWN_LAYOUTS, by county.name
    assert sorted(county) == sorted(
        f.name for f in dataclasses.fields(CountySpec) if f.name not in layout
    )


def test_each_derived_key_is_read_by_the_derivation_its_row_names() -> None:
    derivations = {derivation.name: derivation for derivation in DERIVATIONS}
    keys = {row.key for row in ROWS}
    for row in ROWS:
        if row.kind == "derived":
            assert row.key in derivations[row.field].reads, row.key
    for derivation in DERIVATIONS:
        assert set(derivation.reads) <= keys, derivation.name
        assert any(row.field == derivation.name for row in ROWS if row.kind == "derived")


def test_the_tables_rules_are_the_schemas() -> None:
    """The range a row shows is read from the schema's rule, not restated."""
    radius = row_for("police.request_radius_m")
    assert radius is not None
    assert rule_text(radius.key) == "144 to 642 (REQ-03: area 0.025-0.5 sq mi)"
    assert rule_text("police.policy") == '"platform_request" or "canvass" or "both"'
    assert rule_text("residents.share_prob") == "0 to 1"


def _row_key(variant: str) -> str:
    """The row of a variant's key: a list of tables has one row (``residents.profiles``)."""
    return variant.split("[", 1)[0]


def test_every_scenario_key_reaches_the_model_or_is_declared_not_to() -> None:
    """A documented key that changes nothing would let a planner sweep it and conclude it
    does not matter. Driven by the table: a key whose row says the model does not read it
    must change nothing; every other key but run control must move the model's
    parameters or its county."""
    nassau = load_scenario("nassau")

    def model_of(scenario: Scenario) -> tuple[object, object]:
        return params_from_scenario(scenario, scale=0.5), county_spec(scenario)

    base = model_of(nassau)
    wrong = []
    for key, scenario in _variants(resolved_dict(nassau)):
        row = row_for(_row_key(key))
        assert row is not None, f"{key} has no row in sim.core.scenario_params.ROWS"
        if row.kind == "run":
            continue
        changes = model_of(scenario) != base
        if changes == (row.kind == "unread"):
            wrong.append(f"{key} ({row.kind}: {'changes' if changes else 'changes nothing'})")
    assert not wrong, (
        "a key that changes nothing must be declared unread (with its reason) in "
        "sim.core.scenario_params.ROWS, and a key declared so must really change nothing: "
        + "; ".join(wrong)
    )


def test_the_schema_accepts_exactly_the_counties_that_have_a_town_layout() -> None:
    assert set(COUNTIES_WITH_TOWN_LAYOUT) == set(TOWN_LAYOUTS)
    for name in COUNTIES_WITH_TOWN_LAYOUT:
        scenario = load_scenario("nassau", [f'county.name="{name}"'])
        assert county_spec(scenario).town_centres == TOWN_LAYOUTS[name]().town_centres
