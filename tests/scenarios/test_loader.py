"""Scenario files load, extend, override and fail the way a planner can act on."""

from __future__ import annotations

import dataclasses
import json
import pickle
import re
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from scenarios import (
    SCENARIO_DIR,
    Scenario,
    ScenarioError,
    from_dict,
    list_scenarios,
    load_scenario,
    parse_override,
    resolved_dict,
    shipped_names,
)
from sim.core.counties import nassau, suffolk

SHIPPED = shipped_names()
VARIANTS = [name for name in SHIPPED if name != "nassau"]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"


def leaves(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every non-table value of a tree by dotted key (lists are values)."""
    found: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            found.update(leaves(value, dotted))
        else:
            found[dotted] = value
    return found


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(name_or_path: str | Path, overrides: list[str] | None = None) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(name_or_path, overrides or [])
    return str(caught.value)


# --- shipped scenarios ---------------------------------------------------------------


def test_the_promised_scenarios_are_shipped() -> None:
    assert set(SHIPPED) >= {
        "nassau",
        "tiny",
        "suffolk",
        "nassau-holiday",
        "nassau-strict-privacy",
        "nassau-high-optout",
        "nassau-canvass",
        "nassau-face-recognition",
    }


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_loads(name: str) -> None:
    scenario = load_scenario(name)
    assert isinstance(scenario, Scenario)
    assert scenario.name == name


def test_list_scenarios_gives_every_shipped_name_with_a_description() -> None:
    listed = dict(list_scenarios())
    assert sorted(listed) == SHIPPED
    assert all(description.strip() for description in listed.values())


def test_nassau_holds_the_calibrated_central_values() -> None:
    s = load_scenario("nassau")
    assert s.county.households == 456_076
    assert s.county.land_area_sq_mi == 284.7
    assert s.police.detectives == 300
    assert s.thefts.household_rate_per_yr == 0.05  # the low end: docs/model.md, Validation
    assert s.victims.report_prob == 0.20
    assert s.residents.share_prob == 0.08
    assert s.police.follow_up_share == 0.40
    assert s.police.max_requests_per_case == 2
    assert s.canvass.door_answer_prob == 0.33
    assert s.police.policy == "platform_request"
    assert not s.identification.face_recognition.enabled
    assert s.run.horizon_days == 365
    assert s.run.scale == 1.0


@pytest.mark.parametrize(("name", "geography"), [("nassau", nassau), ("suffolk", suffolk)])
def test_county_section_agrees_with_the_population_generator(name: str, geography: Any) -> None:
    county, spec = load_scenario(name).county, geography()
    for field in (
        "name",
        "households",
        "land_area_sq_mi",
        "center_lat",
        "center_lon",
        "aspect_ratio",
        "background_weight",
        "camera_adoption_share",
        "extra_camera_share",
        "retention_days_options",
        "retention_days_weights",
    ):
        assert getattr(county, field) == getattr(spec, field), field


@pytest.mark.parametrize("name", VARIANTS)
def test_a_variant_changes_only_what_its_file_sets(name: str) -> None:
    base = leaves(resolved_dict(load_scenario("nassau")))
    variant = leaves(resolved_dict(load_scenario(name)))
    with (SCENARIO_DIR / f"{name}.toml").open("rb") as handle:
        written = set(leaves(tomllib.load(handle))) - {"extends"}
    changed = {key for key in base if base[key] != variant[key]}
    assert changed <= written | {"name"}
    assert changed - {"name", "description"}, "a variant should change something"


def test_tiny_is_a_few_hundred_homes_for_a_few_days() -> None:
    tiny = load_scenario("tiny")
    assert 100 <= tiny.county.households * tiny.run.scale <= 1000
    assert tiny.run.horizon_days <= 7
    nassau = load_scenario("nassau").county
    density = tiny.county.households / tiny.county.land_area_sq_mi
    assert density == pytest.approx(nassau.households / nassau.land_area_sq_mi, rel=0.01)
    assert tiny.run.scale == 1.0  # a whole county: no slice, no background cases


def test_suffolk_has_its_own_geography_and_nassaus_behaviour() -> None:
    suffolk_s, nassau_s = load_scenario("suffolk"), load_scenario("nassau")
    assert suffolk_s.county.name == "suffolk"
    assert suffolk_s.county.land_area_sq_mi == 912.0
    assert suffolk_s.residents == nassau_s.residents
    assert suffolk_s.thefts == nassau_s.thefts


def test_named_variants_set_what_their_names_promise() -> None:
    assert load_scenario("nassau-canvass").police.policy == "canvass"
    assert load_scenario("nassau-face-recognition").identification.face_recognition.enabled
    strict, base = load_scenario("nassau-strict-privacy").police, load_scenario("nassau").police
    assert strict.request_radius_m < base.request_radius_m
    assert strict.request_window_h < base.request_window_h
    high = load_scenario("nassau-high-optout").residents
    assert (
        high.opt_out_hazard_per_request
        > load_scenario("nassau").residents.opt_out_hazard_per_request
    )
    holiday = load_scenario("nassau-holiday")
    assert holiday.run.start_date <= holiday.deliveries.holiday_peak_start_date
    assert holiday.deliveries.holiday_peak_multiplier > 1


@pytest.mark.parametrize("name", SHIPPED)
def test_profiles_keep_the_central_response_and_share_rates(name: str) -> None:
    residents = load_scenario(name).residents
    total = sum(p.weight for p in residents.profiles)
    for multiplier in ("response_multiplier", "share_multiplier"):
        mean = sum(p.weight * getattr(p, multiplier) for p in residents.profiles) / total
        assert mean == pytest.approx(1.0, abs=1e-3), multiplier


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_value_in_a_shipped_file_has_a_comment_beside_it(path: Path) -> None:
    in_table_array = False
    uncommented = []
    previous = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            in_table_array = stripped.startswith("[[")
        elif (
            re.match(r"[a-z_]+ = ", stripped)
            and not in_table_array
            and not stripped.startswith("description =")
            and "#" not in stripped
            and not previous.startswith("#")
            and not stripped.endswith("[")
        ):
            uncommented.append(stripped)
        previous = stripped
    assert not uncommented, f"{path.name}: values without a source comment: {uncommented}"


# --- overrides -----------------------------------------------------------------------


def test_set_overrides_one_value_and_leaves_the_rest() -> None:
    base = load_scenario("tiny")
    changed = load_scenario("tiny", ["residents.share_prob=0.12"])
    assert changed.residents.share_prob == 0.12
    assert dataclasses.replace(changed.residents, share_prob=0.08) == base.residents
    assert changed.county == base.county


def test_later_overrides_win_and_accept_any_toml_literal() -> None:
    s = load_scenario(
        "tiny",
        [
            "police.policy='canvass'",
            'police.policy="both"',
            "deliveries.holiday_peak_start_date=2025-11-01",
            "identification.face_recognition.enabled=true",
            "county.retention_days_options=[30, 60]",
            "county.retention_days_weights=[1, 1]",
        ],
    )
    assert s.police.policy == "both"
    assert s.deliveries.holiday_peak_start_date.isoformat() == "2025-11-01"
    assert s.identification.face_recognition.enabled
    assert s.county.retention_days_options == (30, 60)


def test_parse_override_reads_a_dotted_key_and_a_toml_literal() -> None:
    assert parse_override("residents.share_prob=0.2") == ("residents.share_prob", 0.2)
    assert parse_override(" run.seed = 7 ") == ("run.seed", 7)


def test_set_with_an_unknown_key_names_it_and_suggests_the_closest() -> None:
    message = error_of("tiny", ["residents.share_probability=0.2"])
    assert message.startswith("--set: residents.share_probability")
    assert "unknown key" in message
    assert "did you mean residents.share_prob?" in message


def test_set_with_an_unknown_section_suggests_the_closest() -> None:
    assert "did you mean thefts?" in error_of("tiny", ["theft.household_rate_per_yr=0.1"])


def test_set_with_a_bad_literal_names_the_key_and_how_to_write_it() -> None:
    message = error_of("tiny", ["police.policy=canvass"])
    assert message.startswith("--set: police.policy:")
    assert "not a TOML literal" in message
    assert '"canvass"' in message


def test_set_without_an_equals_sign_shows_the_form() -> None:
    assert "KEY=VALUE" in error_of("tiny", ["residents.share_prob"])


def test_set_below_a_value_is_refused() -> None:
    assert "is a value, not a table" in error_of("tiny", ["run.seed.low=1"])


# --- errors in files -----------------------------------------------------------------


def test_an_unknown_key_in_a_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = write(
        tmp_path, "mine.toml", 'extends = "nassau"\n[thefts]\nhousehold_rate_per_year = 0.1\n'
    )
    message = error_of(path)
    assert message.startswith(f"{path}: thefts.household_rate_per_year: unknown key")
    assert "did you mean thefts.household_rate_per_yr?" in message


def test_an_unknown_section_in_a_file_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, "mine.toml", 'extends = "nassau"\n[thefs]\nspree_radius_m = 5\n')
    message = error_of(path)
    assert message.startswith(f"{path}: thefs: unknown key; did you mean thefts?")


def test_out_of_range_value_names_file_dotted_key_value_and_rule(tmp_path: Path) -> None:
    path = write(
        tmp_path, "nassau.toml", 'extends = "nassau"\n[thefts]\nhousehold_rate_per_yr = -1\n'
    )
    assert error_of(path) == f"{path}: thefts.household_rate_per_yr = -1: must be ≥ 0"


@pytest.mark.parametrize(
    ("override", "key", "rule"),
    [
        ("victims.report_prob=1.5", "victims.report_prob", "between 0 and 1"),
        ("police.detectives=-3", "police.detectives", "≥ 0"),
        ("police.request_radius_m=900", "police.request_radius_m", "REQ-03"),
        ("police.request_window_h=24", "police.request_window_h", "REQ-02"),
        ("run.scale=0", "run.scale", "> 0"),
        ("run.replications=0", "run.replications", "≥ 1"),
        ("transfer.clip_size_mb=0", "transfer.clip_size_mb", "> 0"),
        ("deliveries.porch_dwell_median_min=0", "deliveries.porch_dwell_median_min", "> 0"),
        (
            "deliveries.time_of_day_weights_by_hour=[1, 2]",
            "deliveries.time_of_day_weights_by_hour",
            "24",
        ),
        ("county.retention_days_weights=[1]", "county.retention_days_weights", "one weight per"),
        ("county.name='Nassau County'", "county.name", "lower-case"),
        ("residents.share_prob=0.5", "residents.share_prob", "≤ response_prob"),
        (
            "deliveries.holiday_peak_end_date=2025-11-01",
            "deliveries.holiday_peak_end_date",
            "on or after holiday_peak_start_date",
        ),
        (
            "identification.face_recognition.true_match_hit_prob_low=0.999",
            "identification.face_recognition.true_match_hit_prob_high",
            "≥ true_match_hit_prob_low",
        ),
        (
            "residents.profiles=[{name='a', weight=1, response_multiplier=1, share_multiplier=1,"
            " delay_multiplier=0, opt_out_multiplier=1}]",
            "residents.profiles[0].delay_multiplier",
            "> 0",
        ),
    ],
)
def test_out_of_range_values_are_reported_with_the_dotted_key(
    override: str, key: str, rule: str
) -> None:
    message = error_of("tiny", [override])
    assert message.startswith(f"--set: {key} = ")
    assert rule in message


@pytest.mark.parametrize(
    ("override", "fix"),
    [
        ('police.detectives="300"', 'write 300, not "300"'),
        ("police.detectives=300.5", "whole number"),
        ("thefts.spree_radius_m=true", "must be a number"),
        ("identification.face_recognition.enabled=1", "true or false"),
        ("run.start_date='next year'", "must be a date"),
        ("county.retention_days_options=30", "must be a list"),
        ("residents=3", "must be a table"),
    ],
)
def test_wrong_types_are_reported_with_how_to_write_them(override: str, fix: str) -> None:
    assert fix in error_of("tiny", [override])


def test_the_error_names_the_file_that_set_the_bad_value(tmp_path: Path) -> None:
    write(tmp_path, "parent.toml", 'extends = "nassau"\n[victims]\nreport_prob = 2.0\n')
    child = write(tmp_path, "child.toml", 'extends = "parent.toml"\n[run]\nseed = 1\n')
    assert error_of(child).startswith(f"{tmp_path / 'parent.toml'}: victims.report_prob = 2.0")


def test_a_missing_key_in_a_file_that_extends_nothing_says_how_to_fix_it(tmp_path: Path) -> None:
    path = write(tmp_path, "bare.toml", "[run]\nseed = 1\n")
    message = error_of(path)
    assert message.startswith(f"{path}: county: missing")
    assert 'extends = "nassau"' in message


def test_a_cycle_in_extends_is_reported_with_the_loop(tmp_path: Path) -> None:
    a = write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    write(tmp_path, "b.toml", 'extends = "a.toml"\n')
    message = error_of(a)
    assert "extends cycle a.toml → b.toml → a.toml" in message


def test_a_file_extending_itself_is_a_cycle(tmp_path: Path) -> None:
    path = write(tmp_path, "self.toml", 'extends = "self.toml"\n')
    assert "extends cycle self.toml → self.toml" in error_of(path)


def test_extending_an_unknown_scenario_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, "mine.toml", 'extends = "nasau"\n')
    message = error_of(path)
    assert message.startswith(f'{path}: extends = "nasau": unknown scenario')
    assert "did you mean nassau?" in message


def test_a_name_key_is_refused_because_the_name_is_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "mine.toml", 'extends = "nassau"\nname = "other"\n')
    assert "name is its file name" in error_of(path)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.toml", "[thefts\n")
    assert error_of(path).startswith(f"{path}: not valid TOML")


def test_an_unknown_scenario_name_suggests_the_closest() -> None:
    message = error_of("nasau")
    assert "unknown scenario 'nasau'; did you mean nassau?" in message


# --- extends semantics ---------------------------------------------------------------


def test_a_user_file_can_extend_a_shipped_scenario_by_name(tmp_path: Path) -> None:
    path = write(tmp_path, "busy.toml", 'extends = "tiny"\n[thefts]\nhousehold_rate_per_yr = 9.0\n')
    busy, tiny = load_scenario(path), load_scenario("tiny")
    assert busy.name == "busy"
    assert busy.thefts.household_rate_per_yr == 9.0
    assert busy.run == tiny.run


def test_lists_are_replaced_whole_not_merged(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "one.toml",
        'extends = "nassau"\n[[residents.profiles]]\nname = "only"\nweight = 1\n'
        "response_multiplier = 1\nshare_multiplier = 1\ndelay_multiplier = 1\n"
        "opt_out_multiplier = 1\n",
    )
    assert [p.name for p in load_scenario(path).residents.profiles] == ["only"]


def test_a_description_is_not_inherited(tmp_path: Path) -> None:
    path = write(tmp_path, "quiet.toml", 'extends = "nassau"\n')
    assert load_scenario(path).description == ""


# --- resolved form and immutability --------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_the_resolved_dict_round_trips(name: str) -> None:
    scenario = load_scenario(name)
    assert from_dict(resolved_dict(scenario)) == scenario


def test_the_resolved_dict_is_json_ready_and_round_trips_through_json() -> None:
    scenario = load_scenario("nassau-face-recognition")
    text = json.dumps(resolved_dict(scenario))
    assert from_dict(json.loads(text)) == scenario


def test_from_dict_names_the_given_source() -> None:
    data = resolved_dict(load_scenario("tiny"))
    data["run"]["seed"] = -1
    with pytest.raises(ScenarioError, match=r"^manifest\.json: run\.seed = -1: must be ≥ 0$"):
        from_dict(data, source="manifest.json")


def test_a_scenario_is_frozen() -> None:
    scenario = load_scenario("tiny")
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.thefts.household_rate_per_yr = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.run = scenario.run  # type: ignore[misc]
    assert isinstance(scenario.residents.profiles, tuple)
    assert isinstance(scenario.deliveries.time_of_day_weights_by_hour, tuple)


def test_sections_check_themselves_when_built_directly() -> None:
    thefts = load_scenario("tiny").thefts
    with pytest.raises(ScenarioError, match=r"household_rate_per_yr = -1\.0: must be ≥ 0"):
        dataclasses.replace(thefts, household_rate_per_yr=-1.0)


def test_a_scenario_error_survives_a_trip_to_another_process() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario("tiny", ["run.seed=-1"])
    assert str(pickle.loads(pickle.dumps(caught.value))) == str(caught.value)


# --- documentation and dependency direction -----------------------------------------


def test_every_key_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    keys = {re.sub(r"\[\d+\]", "[]", k) for k in leaves(resolved_dict(load_scenario("nassau")))}
    keys |= {
        f"{list_key}[].{item}"
        for list_key, item_keys in (
            (
                "residents.profiles",
                resolved_dict(load_scenario("nassau"))["residents"]["profiles"][0],
            ),
            (
                "identification.face_recognition.groups",
                resolved_dict(load_scenario("nassau"))["identification"]["face_recognition"][
                    "groups"
                ][0],
            ),
        )
        for item in item_keys
    }
    missing = sorted(k for k in keys if f"`{k.rsplit('.', 1)[-1]}`" not in text)
    assert not missing, f"docs/scenarios.md does not mention {missing}"


def test_scenarios_import_no_other_project_package() -> None:
    code = (
        "import sys, scenarios\n"
        "parts = {'canvass', 'system', 'sim', 'loadtests', 'results'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in parts))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
