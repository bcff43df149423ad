"""The scenario schema: one frozen dataclass per TOML section, units in every name.

A scenario is a :class:`Scenario` of sections (``county``, ``deliveries``,
``thefts``, ``victims``, ``police``, ``moderation``, ``residents``, ``canvass``,
``identification``, ``transfer``, ``run``). No field has a default: the shipped
``nassau.toml`` sets every key (with its source beside it) and other scenarios
extend it, so there is one place a value comes from.

Units are in the names (``_min``, ``_h``, ``_days``, ``_m``, ``_mbps``, ``_mb``,
``_usd``, ``_per_week``, ``_per_yr``); the simulation converts them to minutes at
its edge. ``_prob`` and ``_share`` are in [0, 1]; ``_sigma`` is the shape of a
lognormal (the standard deviation of its log) whose median is the sibling
``_median_*`` field; ``_weights`` are relative (normalised by the sim).

Every section checks its own values when built (ranges per field, then the
cross-field rules), raising :class:`ScenarioError` with the field's key; the
loader adds the dotted prefix and the file the value came from.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal

Policy = Literal["platform_request", "canvass", "both"]
WindowFit = Literal["fixed", "exposure"]
"""How detectives look for video: the push-button request, door to door, or both."""

REQUEST_RADIUS_MIN_M = 144.0
"""Smallest circle the system accepts: 0.025 sq mi (REQ-03) is a radius of ≈143.6 m."""
REQUEST_RADIUS_MAX_M = 642.0
"""Largest circle the system accepts: 0.5 sq mi (REQ-03) is a radius of ≈642.0 m."""
REQUEST_WINDOW_MIN_H = 0.25  # REQ-02: 15 min
REQUEST_WINDOW_MAX_H = 12.0  # REQ-02: 12 h
COUNTIES_WITH_TOWN_LAYOUT = ("nassau", "suffolk")
"""Counties whose town-centre layout the population generator has (a test holds this to
``sim.core.scenario_params.TOWN_LAYOUTS``); any other ``county.name`` is refused."""

_NO_VALUE: Any = object()


def toml_literal(value: object, *, limit: int = 80) -> str:
    """``value`` written as a TOML literal (shortened past ``limit`` characters)."""
    text = _literal(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_literal(v)}" for k, v in value.items()) + "}"
    if is_dataclass(value) and not isinstance(value, type):
        items = (f"{f.name} = {_literal(getattr(value, f.name))}" for f in fields(value))
        return "{" + ", ".join(items) + "}"
    return repr(value)


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message says where, what and how to fix it.

    ``source`` is the file (or ``--set``) the value came from, ``key`` the dotted key,
    ``problem`` what is wrong, phrased as what it must be; ``related`` are the other
    keys a cross-field rule involves (the loader blames whichever was set last).
    """

    def __init__(
        self,
        key: str,
        value: object = _NO_VALUE,
        problem: str = "",
        source: str | None = None,
        related: tuple[str, ...] = (),
    ) -> None:
        super().__init__(key, value, problem, source, related)
        self.key = key
        self.value = value
        self.problem = problem
        self.source = source
        self.related = related

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.key) if p]
        where = ": ".join(parts)
        if self.value is not _NO_VALUE:
            where += f" = {toml_literal(self.value)}"
        return f"{where}: {self.problem}" if where else self.problem

    def located(self, *, prefix: str = "", source: str | None = None) -> ScenarioError:
        """The same error with ``prefix`` put before its keys and ``source`` set."""

        def full(key: str) -> str:
            return f"{prefix}.{key}" if prefix and key else prefix or key

        related = tuple(full(k) for k in self.related)
        return ScenarioError(
            full(self.key), self.value, self.problem, source or self.source, related
        )


Check = Callable[[Any], str | None]
"""A rule for one value: ``None`` if it holds, else what the value must be."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A :data:`Check` that can also say what it asks for (``text``), so tables of the
    keys (``canvass scenarios show --model``, docs/parameters.md) show the rule the loader
    applies instead of restating it."""

    text: str
    check: Check

    def __call__(self, value: Any) -> str | None:
        return self.check(value)


def _rules(*checks: Rule) -> dict[str, Any]:
    """Field metadata: ``checks`` run on the field's value when the section is built."""
    return {"checks": checks}


probability = Rule(
    "0 to 1", lambda value: None if 0.0 <= value <= 1.0 else "must be between 0 and 1"
)


def at_least(low: float) -> Rule:
    return Rule(f"≥ {low:g}", lambda value: None if value >= low else f"must be ≥ {low:g}")


def at_most(high: float) -> Rule:
    return Rule(f"≤ {high:g}", lambda value: None if value <= high else f"must be ≤ {high:g}")


def each_at_least(low: float) -> Rule:
    return Rule(
        f"each ≥ {low:g}",
        lambda values: None if all(v >= low for v in values) else f"every value must be ≥ {low:g}",
    )


def above(low: float) -> Rule:
    return Rule(f"> {low:g}", lambda value: None if value > low else f"must be > {low:g}")


def between(low: float, high: float, why: str = "") -> Rule:
    reason = f" ({why})" if why else ""
    return Rule(
        f"{low:g} to {high:g}{reason}",
        lambda value: (
            None if low <= value <= high else f"must be between {low:g} and {high:g}{reason}"
        ),
    )


def _identifier(value: str) -> str | None:
    ok = re.fullmatch(r"[a-z][a-z0-9_-]*", value)
    return None if ok else "must be a lower-case name of letters, digits, '_' or '-'"


identifier = Rule("a lower-case name", _identifier)


def _weights(value: tuple[float, ...]) -> str | None:
    if not value or any(w < 0 for w in value) or sum(value) <= 0:
        return "must be a non-empty list of numbers ≥ 0 with a positive sum"
    return None


weights = Rule("numbers ≥ 0, positive sum", _weights)


def _hours_of_day(value: tuple[float, ...]) -> str | None:
    if len(value) != 24:
        return f"must have 24 values, one per hour from 00:00 (got {len(value)})"
    return _weights(value)


hours_of_day = Rule("24 numbers ≥ 0, positive sum", _hours_of_day)
non_empty = Rule("not empty", lambda value: None if value else "must not be empty")


def _unique_names(value: tuple[Any, ...]) -> str | None:
    names = [item.name for item in value]
    repeated = sorted({n for n in names if names.count(n) > 1})
    return f"names must be unique (repeated: {', '.join(repeated)})" if repeated else None


unique_names = Rule("unique names", _unique_names)


def _has_town_layout(value: str) -> str | None:
    if value in COUNTIES_WITH_TOWN_LAYOUT:
        return None
    return (
        f"county {value!r} has no town layout; the counties with one are "
        f"{', '.join(COUNTIES_WITH_TOWN_LAYOUT)}"
    )


has_town_layout = Rule("one of " + ", ".join(COUNTIES_WITH_TOWN_LAYOUT), _has_town_layout)


@dataclass(frozen=True, slots=True)
class _Section:
    """Checks every field's rules, then :meth:`_cross_checks`, once built."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            for check in f.metadata.get("checks", ()):
                problem = check(value)
                if problem:
                    raise ScenarioError(f.name, value, problem)
        for key, problem, related in self._cross_checks():
            raise ScenarioError(key, getattr(self, key), problem, related=related)

    def _cross_checks(self) -> Iterable[tuple[str, str, tuple[str, ...]]]:
        """(field, problem, other fields involved) for every rule between fields that fails."""
        return ()


@dataclass(frozen=True, slots=True)
class County(_Section):
    """Geography, homes and cameras (what ``sim.core.counties.CountySpec`` needs; the
    town-centre layout comes from the population module's function of the same ``name``,
    so ``name`` must be one of :data:`COUNTIES_WITH_TOWN_LAYOUT`)."""

    name: str = field(metadata=_rules(identifier, has_town_layout))
    households: int = field(metadata=_rules(at_least(1)))
    land_area_sq_mi: float = field(metadata=_rules(above(0)))
    center_lat: float = field(metadata=_rules(between(-90, 90)))
    center_lon: float = field(metadata=_rules(between(-180, 180)))
    aspect_ratio: float = field(metadata=_rules(above(0)))  # east-west extent / north-south extent
    background_weight: float = field(metadata=_rules(probability))
    camera_adoption_share: float = field(metadata=_rules(probability))
    extra_camera_share: float = field(metadata=_rules(probability))
    retention_days_options: tuple[int, ...] = field(metadata=_rules(non_empty, each_at_least(1)))
    retention_days_weights: tuple[float, ...] = field(metadata=_rules(weights))
    neighbour_view_prob: float = field(metadata=_rules(probability))
    neighbour_view_max_m: float = field(metadata=_rules(at_least(0)))
    motion_clips_per_camera_per_day: float = field(metadata=_rules(at_least(0)))

    def _cross_checks(self) -> Iterable[tuple[str, str, tuple[str, ...]]]:
        if len(self.retention_days_weights) != len(self.retention_days_options):
            yield (
                "retention_days_weights",
                f"must have one weight per retention option "
                f"({len(self.retention_days_options)} options)",
                ("retention_days_options",),
            )
        if len(set(self.retention_days_options)) != len(self.retention_days_options):
            yield "retention_days_options", "must not repeat an option", ()


@dataclass(frozen=True, slots=True)
class Deliveries(_Section):
    """Parcels arriving on porches, and how long they sit there."""

    rate_per_household_per_week: float = field(metadata=_rules(at_least(0)))
    time_of_day_weights_by_hour: tuple[float, ...] = field(metadata=_rules(hours_of_day))
    holiday_peak_multiplier: float = field(metadata=_rules(at_least(0)))
    holiday_peak_start_date: dt.date
    holiday_peak_end_date: dt.date  # inclusive
    porch_dwell_median_min: float = field(metadata=_rules(above(0)))
    porch_dwell_sigma: float = field(metadata=_rules(at_least(0)))
    prevention_share: float = field(metadata=_rules(probability))
    prevention_dwell_factor: float = field(metadata=_rules(probability))

    def _cross_checks(self) -> Iterable[tuple[str, str, tuple[str, ...]]]:
        if self.holiday_peak_end_date < self.holiday_peak_start_date:
            yield (
                "holiday_peak_end_date",
                f"must be on or after holiday_peak_start_date "
                f"({self.holiday_peak_start_date.isoformat()})",
                ("holiday_peak_start_date",),
            )


@dataclass(frozen=True, slots=True)
class Thefts(_Section):
    """Porch thefts: a per-household rate (sprees included), and sprees."""

    household_rate_per_yr: float = field(metadata=_rules(at_least(0)))
    packages_per_theft_mean: float = field(metadata=_rules(at_least(1)))
    time_of_day_weights_by_hour: tuple[float, ...] = field(metadata=_rules(hours_of_day))
    holiday_exposure_multiplier: float = field(metadata=_rules(at_least(0)))
    spree_start_prob: float = field(metadata=_rules(probability))
    spree_thefts_mean: float = field(metadata=_rules(at_least(1)))
    spree_duration_median_h: float = field(metadata=_rules(above(0)))
    spree_duration_sigma: float = field(metadata=_rules(at_least(0)))
    spree_radius_m: float = field(metadata=_rules(above(0)))
    spree_natural_end_hazard_per_day: float = field(metadata=_rules(at_least(0)))


@dataclass(frozen=True, slots=True)
class Victims(_Section):
    """Whether and when a victim reports a theft to the police."""

    report_prob: float = field(metadata=_rules(probability))
    report_delay_median_h: float = field(metadata=_rules(above(0)))
    report_delay_sigma: float = field(metadata=_rules(at_least(0)))
    own_footage_handover_prob: float = field(metadata=_rules(probability))


@dataclass(frozen=True, slots=True)
class Police(_Section):
    """Detectives, which cases they follow up, and the requests they make."""

    detectives: int = field(metadata=_rules(at_least(0)))
    time_share_on_package_theft: float = field(metadata=_rules(probability))
    hours_per_case: float = field(metadata=_rules(at_least(0)))
    follow_up_share: float = field(metadata=_rules(probability))
    policy: Policy
    request_drafting_min: float = field(metadata=_rules(at_least(0)))
    request_radius_m: float = field(
        metadata=_rules(
            between(REQUEST_RADIUS_MIN_M, REQUEST_RADIUS_MAX_M, "REQ-03: area 0.025-0.5 sq mi")
        )
    )
    request_window_h: float = field(
        metadata=_rules(
            between(REQUEST_WINDOW_MIN_H, REQUEST_WINDOW_MAX_H, "REQ-02: 15 min to 12 h")
        )
    )
    request_window_fit: WindowFit
    max_requests_per_case: int = field(metadata=_rules(at_least(0)))
    followup_request_prob: float = field(metadata=_rules(probability))
    request_propensity: float = field(metadata=_rules(probability))
    request_propensity_halving_backlog: float = field(metadata=_rules(above(0)))
    response_period_days: float = field(metadata=_rules(above(0)))
    detective_cost_per_hour_usd: float = field(metadata=_rules(at_least(0)))


@dataclass(frozen=True, slots=True)
class Platform(_Section):
    """Which camera owners the platform's requests can reach: those whose camera is the
    platform's brand, of whom those who get its police requests (the app installed, the
    requests not switched off). Only they are the system's residents."""

    brand_share: float = field(metadata=_rules(probability))
    requests_enabled_share: float = field(metadata=_rules(probability))


@dataclass(frozen=True, slots=True)
class Moderation(_Section):
    """Platform moderators who review each request before anyone is notified."""

    moderators: int = field(metadata=_rules(at_least(0)))
    review_median_min: float = field(metadata=_rules(above(0)))
    review_sigma: float = field(metadata=_rules(at_least(0)))


@dataclass(frozen=True, slots=True)
class BehaviourProfile(_Section):
    """A kind of camera owner: multipliers on the residents' central values."""

    name: str = field(metadata=_rules(identifier))
    weight: float = field(metadata=_rules(at_least(0)))
    response_multiplier: float = field(metadata=_rules(at_least(0)))
    share_multiplier: float = field(metadata=_rules(at_least(0)))
    delay_multiplier: float = field(metadata=_rules(above(0)))
    opt_out_multiplier: float = field(metadata=_rules(at_least(0)))


@dataclass(frozen=True, slots=True)
class Residents(_Section):
    """How notified camera owners answer. ``response_prob`` is P(answering within the
    response period) and ``share_prob`` P(sharing): the share of *notified* owners who
    share (the model's central unknown, docs/calibration.md#requests; the ``share_rate``
    metric), exactly, whatever the delay: an answer's delay is the lognormal
    (``response_delay_median_h``, ``response_delay_sigma``) conditioned on falling inside
    the response period. A profile's probabilities are the central ones times its
    multipliers, capped at 1. ``clips_per_share_mean``: a sharer attaches 1 + Poisson(mean
    − 1) clips (ASSUMPTION), at most the clips that still exist."""

    response_prob: float = field(metadata=_rules(probability))
    share_prob: float = field(metadata=_rules(probability))
    response_delay_median_h: float = field(metadata=_rules(above(0)))
    response_delay_sigma: float = field(metadata=_rules(at_least(0)))
    opt_out_hazard_per_request: float = field(metadata=_rules(probability))
    opt_out_hazard_growth_per_request: float = field(metadata=_rules(at_least(0)))
    clips_per_share_mean: float = field(metadata=_rules(at_least(1)))
    profiles: tuple[BehaviourProfile, ...] = field(metadata=_rules(non_empty, unique_names))

    @property
    def share_given_response_prob(self) -> float:
        """P(share | answered): ``share_prob / response_prob`` (0 if nobody answers)."""
        return self.share_prob / self.response_prob if self.response_prob else 0.0

    def _cross_checks(self) -> Iterable[tuple[str, str, tuple[str, ...]]]:
        if self.share_prob > self.response_prob:
            yield (
                "share_prob",
                f"must be ≤ response_prob ({self.response_prob:g}): only owners who answer "
                f"can share; raise response_prob or lower share_prob",
                ("response_prob",),
            )
            return
        if sum(p.weight for p in self.profiles) <= 0:
            yield "profiles", "at least one profile needs a weight > 0", ()
        for p in self.profiles:
            shares = min(1.0, self.share_prob * p.share_multiplier)
            answers = min(1.0, self.response_prob * p.response_multiplier)
            if shares > answers + 1e-12:
                yield (
                    "profiles",
                    f"profile {p.name!r} would share more often ({shares:g}) than it answers "
                    f"({answers:g}); lower its share_multiplier",
                    ("share_prob", "response_prob"),
                )


@dataclass(frozen=True, slots=True)
class Canvass(_Section):
    """The door-to-door baseline: knocking, answers, on-site footage export."""

    door_answer_prob: float = field(metadata=_rules(probability))
    min_per_door: float = field(metadata=_rules(above(0)))
    max_doors_per_case: int = field(metadata=_rules(at_least(0)))
    onsite_export_min: float = field(metadata=_rules(at_least(0)))
    handover_prob: float = field(metadata=_rules(probability))


@dataclass(frozen=True, slots=True)
class FaceRecognitionGroup(_Section):
    """A demographic group with a false-match multiplier drawn log-uniformly in [low, high]."""

    name: str = field(metadata=_rules(identifier))
    weight: float = field(metadata=_rules(at_least(0)))
    false_match_multiplier_low: float = field(metadata=_rules(above(0)))
    false_match_multiplier_high: float = field(metadata=_rules(above(0)))

    def _cross_checks(self) -> Iterable[tuple[str, str, tuple[str, ...]]]:
        if self.false_match_multiplier_high < self.false_match_multiplier_low:
            yield (
                "false_match_multiplier_high",
                f"must be ≥ false_match_multiplier_low ({self.false_match_multiplier_low:g})",
                ("false_match_multiplier_low",),
            )


@dataclass(frozen=True, slots=True)
class FaceRecognition(_Section):
    """What-if: downstream police run shared stills through 1:N face recognition."""

    enabled: bool
    baseline_false_match_rate: float = field(metadata=_rules(probability))
    candidate_list_size: int = field(metadata=_rules(at_least(1)))
    true_match_hit_prob_low: float = field(metadata=_rules(probability))
    true_match_hit_prob_high: float = field(metadata=_rules(probability))
    corroboration_catch_prob: float = field(metadata=_rules(probability))
    groups: tuple[FaceRecognitionGroup, ...] = field(metadata=_rules(non_empty, unique_names))

    def _cross_checks(self) -> Iterable[tuple[str, str, tuple[str, ...]]]:
        if self.true_match_hit_prob_high < self.true_match_hit_prob_low:
            yield (
                "true_match_hit_prob_high",
                f"must be ≥ true_match_hit_prob_low ({self.true_match_hit_prob_low:g})",
                ("true_match_hit_prob_low",),
            )
        if sum(g.weight for g in self.groups) <= 0:
            yield "groups", "at least one group needs a weight > 0", ()


@dataclass(frozen=True, slots=True)
class Identification(_Section):
    """From clips to a suspect: usable views, review time, clearance."""

    usable_view_prob: float = field(metadata=_rules(probability))
    detective_review_min_per_clip: float = field(metadata=_rules(at_least(0)))
    review_cap_min_per_case: float = field(metadata=_rules(above(0)))
    clearance_prob: float = field(metadata=_rules(probability))
    usable_video_clearance_multiplier: float = field(metadata=_rules(at_least(0)))
    face_recognition: FaceRecognition

    def _cross_checks(self) -> Iterable[tuple[str, str, tuple[str, ...]]]:
        if self.clearance_prob * self.usable_video_clearance_multiplier > 1:
            yield (
                "usable_video_clearance_multiplier",
                f"times clearance_prob ({self.clearance_prob:g}) must be ≤ 1 (a probability)",
                ("clearance_prob",),
            )


@dataclass(frozen=True, slots=True)
class Transfer(_Section):
    """Clip sizes and residents' upload bandwidth (lognormal, plus a fibre share)."""

    upload_mbps_median: float = field(metadata=_rules(above(0)))
    upload_sigma: float = field(metadata=_rules(at_least(0)))
    fiber_share: float = field(metadata=_rules(probability))
    fiber_upload_mbps: float = field(metadata=_rules(above(0)))
    clip_length_s: float = field(metadata=_rules(above(0)))
    clip_size_mb: float = field(metadata=_rules(above(0)))
    byte_scale: float = field(metadata=_rules(above(0), at_most(1)))
    worker_poll_min: float = field(metadata=_rules(above(0)))


@dataclass(frozen=True, slots=True)
class Run(_Section):
    """How long, from when, how many replications, which seed, what part of the county."""

    start_date: dt.date
    horizon_days: float = field(metadata=_rules(above(0)))
    replications: int = field(metadata=_rules(at_least(1)))
    seed: int = field(metadata=_rules(at_least(0)))
    scale: float = field(metadata=_rules(above(0), at_most(1)))


@dataclass(frozen=True, slots=True)
class Scenario(_Section):
    """A complete, validated scenario. ``name`` is the file's stem."""

    name: str = field(
        metadata=_rules(Rule("not blank", lambda v: None if v.strip() else "must not be empty"))
    )
    description: str
    county: County
    deliveries: Deliveries
    thefts: Thefts
    victims: Victims
    police: Police
    platform: Platform
    moderation: Moderation
    residents: Residents
    canvass: Canvass
    identification: Identification
    transfer: Transfer
    run: Run


SECTIONS: tuple[str, ...] = tuple(
    f.name for f in fields(Scenario) if f.name not in ("name", "description")
)
"""The TOML tables of a scenario, in file order."""


def rule_text(key: str) -> str:
    """What the scenario key ``key`` (dotted) must be, as its field's rules say it: the
    rules' texts, else its type's options (``"fixed" or "exposure"``, a date, ...)."""
    section: Any = Scenario
    *tables, name = key.split(".")
    for table in tables:
        section = _item_type(typing.get_type_hints(section)[table])
    found = {f.name: f for f in fields(section)}[name]
    texts = [rule.text for rule in found.metadata.get("checks", ())]
    if texts:
        return ", ".join(texts)
    kind = typing.get_type_hints(section)[name]
    if typing.get_origin(kind) is Literal:
        return " or ".join(f'"{option}"' for option in typing.get_args(kind))
    return {bool: "true or false", dt.date: "a date", str: "text"}.get(kind, "")


def _item_type(kind: Any) -> Any:
    """The section a table key holds (the item type for a list of tables)."""
    return typing.get_args(kind)[0] if typing.get_origin(kind) is tuple else kind
