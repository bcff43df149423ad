"""From a scenario to the model: one table, :data:`ROWS`, with one row per scenario key.

A row names what its key (dotted, ``police.request_window_h``) is to the model:

- ``sets``: the :class:`~sim.core.params.ModelParams` field it sets, through a
  :class:`Conversion` from the scenario's unit to the model's (hours → minutes, per
  day → per minute, MB → bytes), or the ``CountySpec`` field (``county.*``);
- ``derived``: it feeds a :class:`Derivation`, a named function that sets one or more
  fields from several keys (the thief arrival rate, the holiday window, staff pools,
  resident profiles, face groups);
- ``run``: a run-control key for the runner (how long, how many, which seed);
- ``unread``: a key the model does not read, with the reason (``canvass run --set``
  warns when one is set).

:func:`params_from_scenario` and :func:`county_spec` are loops over the rows, then the
derivations. ``canvass scenarios show --model`` and docs/parameters.md
(``python -m sim.core.parameter_docs > docs/parameters.md``) show the table.

Where each check lives: every key's rule (ranges, options, list shapes) and every rule
between keys is in ``scenarios/schema.py``, applied once when the scenario is loaded
(so the error names the file or ``--set`` that gave the value, and a county with no town
layout is refused there too); a row shows that rule's text (``rule_text``) rather than
restating it. :class:`~sim.core.params.ModelParams` checks nothing again: what it is
built from here was checked, and tests that build it by hand choose their values.

Adding a scenario parameter: its field in the schema section (with its rule), its value
in ``nassau.toml``, a row here (and its ``ModelParams`` field, if new), its use in the
model, and ``python -m sim.core.parameter_docs > docs/parameters.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from scenarios.schema import Scenario
from sim.core.counties import CountySpec, nassau, suffolk
from sim.core.county import slice_ring_m
from sim.core.params import MIN_PER_DAY, MIN_PER_HOUR, ModelParams
from sim.core.population import Population, generate_population
from sim.core.scenario_derivations import DERIVATIONS, Derivation

__all__ = [
    "DERIVATIONS",
    "MIN_PER_DAY",
    "MODEL_DEFAULTS",
    "ROWS",
    "TOWN_LAYOUTS",
    "Conversion",
    "Derivation",
    "Row",
    "county_spec",
    "params_from_scenario",
    "row_for",
    "scenario_value",
]

Kind = Literal["sets", "county", "derived", "run", "unread"]


@dataclass(frozen=True)
class Conversion:
    """From a value in the scenario's unit to the model's (``text`` says how)."""

    scenario_unit: str
    model_unit: str
    apply: Callable[[Any], Any]
    text: str


def _mean_one(weights: tuple[float, ...]) -> tuple[float, ...]:
    mean = sum(weights) / len(weights)
    return tuple(w / mean for w in weights)


HOURS = Conversion("h", "min", lambda v: v * MIN_PER_HOUR, "× 60")
DAYS = Conversion("days", "min", lambda v: v * MIN_PER_DAY, "× 1440")
PER_DAY = Conversion("/day", "/min", lambda v: v / MIN_PER_DAY, "÷ 1440")
PER_WEEK = Conversion("/week", "/min", lambda v: v / (7 * MIN_PER_DAY), "÷ 10080")
"""Rates: the row's own unit says what is counted (``scenario_unit``, ``model_unit``)."""
MEGABYTES = Conversion("MB", "bytes", lambda v: round(v * 1_000_000), "× 10⁶, rounded")
MEAN_ONE = Conversion("weights", "multipliers", _mean_one, "÷ their mean (mean 1)")

_SUFFIX_UNITS = (
    ("_per_camera_per_day", "clips/camera/day"),
    ("_per_household_per_week", "parcels/household/week"),
    ("_per_yr", "thefts/household/yr"),
    ("_per_hour_usd", "USD/h"),
    ("_per_day", "/day"),
    ("_min_per_clip", "min/clip"),
    ("_min_per_case", "min/case"),
    ("_per_door", "min/door"),
    ("_sq_mi", "sq mi"),
    ("_mbps", "Mbps"),
    ("_mbps_median", "Mbps"),
    ("_min", "min"),
    ("_s", "s"),
    ("_m", "m"),
    ("_h", "h"),
    ("_days", "days"),
    ("_mb", "MB"),
    ("_prob", "prob"),
    ("_rate", "prob"),
    ("_share", "share"),
    ("_sigma", "log-sd"),
    ("_weights", "weights"),
    ("_multiplier", "×"),
    ("_factor", "×"),
    ("_date", "date"),
    ("_options", "days"),
    ("_by_hour", "24 weights"),
)
_NAMED_UNITS = {
    "name": "text",
    "description": "text",
    "households": "households",
    "center_lat": "degrees",
    "center_lon": "degrees",
    "aspect_ratio": "ratio",
    "background_weight": "share",
    "packages_per_theft_mean": "packages",
    "spree_thefts_mean": "thefts",
    "detectives": "detectives",
    "hours_per_case": "h",
    "policy": "option",
    "request_window_fit": "option",
    "profiles": "tables",
    "groups": "tables",
    "time_share_on_package_theft": "share",
    "max_requests_per_case": "requests",
    "request_propensity": "prob",
    "request_propensity_halving_backlog": "cases",
    "moderators": "moderators",
    "opt_out_hazard_per_request": "prob/request",
    "opt_out_hazard_growth_per_request": "×/request",
    "clips_per_share_mean": "clips",
    "max_doors_per_case": "doors",
    "enabled": "bool",
    "candidate_list_size": "candidates",
    "true_match_hit_prob_low": "prob",
    "true_match_hit_prob_high": "prob",
    "byte_scale": "share",
    "replications": "replications",
    "scale": "share",
}
"""Units of the keys whose names do not end in one (docs/scenarios.md, "Conventions")."""


def unit_of(key: str) -> str:
    """The unit of a scenario key: from its name's ending, or :data:`_NAMED_UNITS`."""
    name = key.rsplit(".", 1)[-1]
    if name in _NAMED_UNITS:
        return _NAMED_UNITS[name]
    return next((unit for suffix, unit in _SUFFIX_UNITS if name.endswith(suffix)), "—")


@dataclass(frozen=True)
class Row:
    """One scenario key and what it is to the model (see the module docstring)."""

    key: str
    kind: Kind
    field: str = ""  # "sets"/"county": the field it sets; "derived": the derivation's name
    conversion: Conversion | None = None  # "sets": None when the units are the same
    reason: str = ""  # "run"/"unread": what it is for, or why the model does not read it

    @property
    def scenario_unit(self) -> str:
        return unit_of(self.key)

    @property
    def model_unit(self) -> str:
        """The scenario's unit with the conversion's applied (``clips/camera/day`` →
        ``clips/camera/min``); the same unit when there is no conversion."""
        unit = unit_of(self.key)
        if self.conversion is None:
            return unit
        old, new = self.conversion.scenario_unit, self.conversion.model_unit
        return unit.removesuffix(old) + new if unit.endswith(old) else new

    def model_value(self, value: Any) -> Any:
        return self.conversion.apply(value) if self.conversion else value


def _sets(key: str, field: str, conversion: Conversion | None = None) -> Row:
    return Row(key, "sets", field, conversion)


def _county(key: str) -> Row:
    return Row(key, "county", key.removeprefix("county."))


def _derived(key: str, derivation: str) -> Row:
    return Row(key, "derived", derivation)


def _run(key: str, reason: str) -> Row:
    return Row(key, "run", reason=reason)


_FR = "identification.face_recognition"

ROWS: tuple[Row, ...] = (
    _run("name", "the scenario's name (its file stem): run folders and manifests"),
    _run("description", "one line for canvass scenarios list"),
    _county("county.name"),  # also picks the town layout (TOWN_LAYOUTS)
    _county("county.households"),
    _county("county.land_area_sq_mi"),
    _county("county.center_lat"),
    _county("county.center_lon"),
    _county("county.aspect_ratio"),
    _county("county.background_weight"),
    _county("county.camera_adoption_share"),
    _county("county.extra_camera_share"),
    _county("county.retention_days_options"),
    _county("county.retention_days_weights"),
    _sets("county.neighbour_view_prob", "neighbour_view_prob"),
    _sets("county.neighbour_view_max_m", "neighbour_view_max_m"),
    _sets("county.motion_clips_per_camera_per_day", "motion_clips_per_camera_per_min", PER_DAY),
    _sets("deliveries.rate_per_household_per_week", "parcels_per_household_per_min", PER_WEEK),
    _sets("deliveries.time_of_day_weights_by_hour", "delivery_hour_weights", MEAN_ONE),
    _sets("deliveries.holiday_peak_multiplier", "holiday_delivery_multiplier"),
    _derived("deliveries.holiday_peak_start_date", "holiday_window"),
    _derived("deliveries.holiday_peak_end_date", "holiday_window"),
    _sets("deliveries.porch_dwell_median_min", "porch_dwell_median_min"),
    _sets("deliveries.porch_dwell_sigma", "porch_dwell_sigma"),
    _sets("deliveries.prevention_share", "prevention_share"),
    _sets("deliveries.prevention_dwell_factor", "prevention_risk_multiplier"),
    _derived("thefts.household_rate_per_yr", "thief_arrival_rate"),
    _sets("thefts.packages_per_theft_mean", "packages_per_theft_mean"),
    _sets("thefts.time_of_day_weights_by_hour", "hourly_theft_multipliers", MEAN_ONE),
    _derived("thefts.holiday_exposure_multiplier", "holiday_theft_multiplier"),
    _sets("thefts.spree_start_prob", "spree_prob"),
    _sets("thefts.spree_thefts_mean", "spree_thefts_mean"),
    _sets("thefts.spree_duration_median_h", "spree_duration_median_min", HOURS),
    _sets("thefts.spree_duration_sigma", "spree_duration_sigma"),
    _sets("thefts.spree_radius_m", "spree_radius_m"),
    _sets("thefts.spree_natural_end_hazard_per_day", "spree_natural_end_hazard_per_min", PER_DAY),
    _sets("victims.report_prob", "report_prob"),
    _sets("victims.report_delay_median_h", "report_delay_median_min", HOURS),
    _sets("victims.report_delay_sigma", "report_delay_sigma"),
    _sets("victims.own_footage_handover_prob", "victim_handover_prob"),
    _derived("police.detectives", "staff_pools"),
    _derived("police.time_share_on_package_theft", "staff_pools"),
    _sets("police.hours_per_case", "case_work_mean_min", HOURS),
    _sets("police.follow_up_share", "follow_up_prob"),
    _sets("police.policy", "policy"),
    _sets("police.request_drafting_min", "request_drafting_min"),
    _sets("police.request_radius_m", "request_radius_m"),
    _sets("police.request_window_h", "request_window_min", HOURS),
    _sets("police.request_window_fit", "request_window_fit"),
    _sets("police.max_requests_per_case", "max_requests_per_case"),
    _sets("police.followup_request_prob", "followup_request_prob"),
    _sets("police.request_propensity", "request_propensity"),
    _sets("police.request_propensity_halving_backlog", "request_propensity_halving_backlog"),
    _sets("police.response_period_days", "response_period_min", DAYS),
    _sets("police.detective_cost_per_hour_usd", "detective_hourly_cost_usd"),
    _sets("platform.brand_share", "platform_brand_share"),
    _sets("platform.requests_enabled_share", "platform_requests_enabled_share"),
    _derived("moderation.moderators", "staff_pools"),
    _sets("moderation.review_median_min", "moderation_review_median_min"),
    _sets("moderation.review_sigma", "moderation_review_sigma"),
    _derived("residents.response_prob", "resident_profiles"),
    _derived("residents.share_prob", "resident_profiles"),
    _derived("residents.response_delay_median_h", "resident_profiles"),
    _derived("residents.response_delay_sigma", "resident_profiles"),
    _derived("residents.opt_out_hazard_per_request", "resident_profiles"),
    _derived("residents.opt_out_hazard_growth_per_request", "resident_profiles"),
    _sets("residents.clips_per_share_mean", "clips_per_share_mean"),
    _derived("residents.profiles", "resident_profiles"),
    _sets("canvass.door_answer_prob", "canvass_answer_prob"),
    _sets("canvass.min_per_door", "canvass_min_per_door"),
    _sets("canvass.max_doors_per_case", "canvass_max_doors"),
    _sets("canvass.onsite_export_min", "canvass_export_min"),
    _sets("canvass.handover_prob", "canvass_handover_prob"),
    _sets("identification.usable_view_prob", "usable_view_prob"),
    _sets("identification.detective_review_min_per_clip", "review_min_per_clip"),
    _sets("identification.review_cap_min_per_case", "review_cap_min"),
    _sets("identification.clearance_prob", "clearance_prob"),
    _sets("identification.usable_video_clearance_multiplier", "usable_video_clearance_multiplier"),
    _sets(f"{_FR}.enabled", "face_recognition"),
    _sets(f"{_FR}.baseline_false_match_rate", "fr_baseline_false_match_prob"),
    _sets(f"{_FR}.candidate_list_size", "fr_candidate_list_size"),
    _sets(f"{_FR}.true_match_hit_prob_low", "fr_hit_prob_low"),
    _sets(f"{_FR}.true_match_hit_prob_high", "fr_hit_prob_high"),
    _sets(f"{_FR}.corroboration_catch_prob", "fr_corroboration_catch_prob"),
    _derived(f"{_FR}.groups", "face_groups"),
    _sets("transfer.upload_mbps_median", "upload_mbps_median"),
    _sets("transfer.upload_sigma", "upload_mbps_sigma"),
    _sets("transfer.fiber_share", "fiber_share"),
    _sets("transfer.fiber_upload_mbps", "fiber_upload_mbps"),
    _sets("transfer.clip_length_s", "clip_duration_s"),
    _sets("transfer.clip_size_mb", "clip_size_bytes", MEGABYTES),
    _sets("transfer.byte_scale", "byte_scale"),
    _sets("transfer.worker_poll_min", "worker_poll_min"),
    _derived("run.start_date", "holiday_window"),
    _run("run.horizon_days", "the run's length (--horizon-days)"),
    _run("run.replications", "how many replications (--replications)"),
    _run("run.seed", "the root seed of every replication's streams (--seed)"),
    _run("run.scale", "the share of the county's homes a run simulates (--scale): a slice"),
)
"""Every scenario key, once (a test holds this to the keys of the resolved Nassau)."""

MODEL_DEFAULTS: dict[str, str] = {
    "initial_opt_out_share": "no scenario key yet: the model's default (none opted out)",
    "share_identity_prob": "no scenario key yet: the model's default",
    "include_audio": "no scenario key yet: the model's default (clips without audio)",
    "clip_has_audio": "no scenario key yet: the model's default",
}
"""``ModelParams`` fields no row or derivation sets, and why (a test holds this)."""


def row_for(key: str) -> Row | None:
    """The row of the dotted scenario ``key``, or ``None`` if it is not a key."""
    return next((row for row in ROWS if row.key == key), None)


def scenario_value(scenario: Scenario, key: str) -> Any:
    """The value of the dotted ``key`` in ``scenario``."""
    value: Any = scenario
    for part in key.split("."):
        value = getattr(value, part)
    return value


def params_from_scenario(scenario: Scenario, *, scale: float | None = None) -> ModelParams:
    """The scenario in simulation units: every ``sets`` row converted, then every derivation.
    ``scale`` (default: the scenario's ``run.scale``) reaches the derivations; none reads
    it today, since a scaled run keeps the county's staff pools (:mod:`sim.core.background`)."""
    scale = scenario.run.scale if scale is None else scale
    fields: dict[str, Any] = {
        row.field: row.model_value(scenario_value(scenario, row.key))
        for row in ROWS
        if row.kind == "sets"
    }
    for derivation in DERIVATIONS:
        fields.update(derivation.function(scenario, scale, fields))
    return ModelParams(**fields)


TOWN_LAYOUTS: dict[str, Callable[[], CountySpec]] = {"nassau": nassau, "suffolk": suffolk}
"""The counties whose town-centre layout the population generator has; the scenario schema
refuses any other ``county.name`` (``scenarios.schema.COUNTIES_WITH_TOWN_LAYOUT``)."""


def county_spec(scenario: Scenario) -> CountySpec:
    """The population generator's county: the town layout of the named county, and every
    ``county`` row's field from the scenario."""
    base = TOWN_LAYOUTS[scenario.county.name]()
    return replace(
        base,
        **{row.field: scenario_value(scenario, row.key) for row in ROWS if row.kind == "county"},
    )


def replication_inputs(
    scenario: Scenario, *, seed: int, scale: float
) -> tuple[Population, ModelParams]:
    """The population and the parameters of one replication: a slice of ``scale`` of
    the county with the ring its requests reach (the whole county at scale 1)."""
    params = params_from_scenario(scenario, scale=scale)
    ring_m = slice_ring_m(params) if scale < 1 else 0.0
    population = generate_population(county_spec(scenario), seed=seed, scale=scale, ring_m=ring_m)
    return population, params
