"""The scenario keys that feed model fields through a named function, not one by one.

Each :class:`Derivation` in :data:`DERIVATIONS` names the keys it reads and the
:class:`~sim.core.params.ModelParams` fields it sets; the rows of those keys in
:data:`sim.core.scenario_params.ROWS` name the derivation. They run in order after the
one-to-one rows, so a derivation may read the fields those set (in model units).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scenarios.schema import BehaviourProfile, Residents, Scenario
from sim.core.params import (
    MIN_PER_DAY,
    MIN_PER_HOUR,
    MIN_PER_YEAR,
    FaceGroup,
    ResidentProfile,
    expected_thefts_per_thief,
)

Fields = Mapping[str, Any]


@dataclass(frozen=True)
class Derivation:
    """A named function from several scenario keys (``reads``) to model fields (``sets``):
    ``function(scenario, scale, fields set so far)`` returns the fields it sets."""

    name: str
    reads: tuple[str, ...]
    sets: tuple[str, ...]
    function: Callable[[Scenario, float, Fields], dict[str, Any]]

    @property
    def summary(self) -> str:
        """The first line of the function's docstring."""
        return (self.function.__doc__ or "").strip().splitlines()[0]


def _holiday_days(s: Scenario) -> int:
    """Calendar days of the holiday peak (the end date is inclusive)."""
    return (s.deliveries.holiday_peak_end_date - s.deliveries.holiday_peak_start_date).days + 1


def _holiday_window(s: Scenario, _scale: float, _fields: Fields) -> dict[str, Any]:
    """The peak's first and last dates as minutes from the run's start (midnight, day 0)."""
    start_day = (s.deliveries.holiday_peak_start_date - s.run.start_date).days
    return {
        "holiday_start_min": start_day * MIN_PER_DAY,
        "holiday_end_min": (start_day + _holiday_days(s)) * MIN_PER_DAY,
    }


def _holiday_theft_multiplier(s: Scenario, _scale: float, _fields: Fields) -> dict[str, Any]:
    """The theft rate's holiday multiplier: the delivery peak times the theft exposure factor."""
    multiplier = s.deliveries.holiday_peak_multiplier * s.thefts.holiday_exposure_multiplier
    return {"holiday_theft_multiplier": multiplier}


def _thief_arrival_rate(s: Scenario, _scale: float, fields: Fields) -> dict[str, Any]:
    """Thieves per household-minute: the yearly household theft rate (sprees and the holiday
    peak included) divided by the peak's share of the year's exposure and by the mean
    thefts per thief (``expected_thefts_per_thief``)."""
    holiday_multiplier = fields["holiday_theft_multiplier"]
    holiday_year_factor = 1.0 + min(_holiday_days(s), 365) / 365.25 * (holiday_multiplier - 1.0)
    per_thief = expected_thefts_per_thief(
        spree_prob=fields["spree_prob"],
        spree_thefts_mean=fields["spree_thefts_mean"],
        duration_median_min=fields["spree_duration_median_min"],
        duration_sigma=fields["spree_duration_sigma"],
        natural_end_hazard_per_min=fields["spree_natural_end_hazard_per_min"],
    )
    rate = s.thefts.household_rate_per_yr / MIN_PER_YEAR / holiday_year_factor / per_thief
    return {"thieves_per_household_per_min": rate}


def _staff(count: float) -> int:
    """Staff as whole full-time equivalents: at least one if the county has any."""
    return max(1, round(count)) if count > 0 else 0


def _staff_pools(s: Scenario, _scale: float, _fields: Fields) -> dict[str, Any]:
    """The county's detectives (their porch-theft share of time, as full-time
    equivalents: Nassau 300 × 0.05 = 15), one supervisor per 8 detectives, and its
    moderators. A scaled run keeps the county's pools: its slice's cases queue behind
    the whole county's (:mod:`sim.core.background`)."""
    return {
        "detectives": _staff(s.police.detectives * s.police.time_share_on_package_theft),
        "supervisors": _staff(max(1, s.police.detectives // 8)),
        "moderators": _staff(s.moderation.moderators),
    }


def _resident_profiles(s: Scenario, _scale: float, _fields: Fields) -> dict[str, Any]:
    """Each behaviour profile: the residents' central values times its multipliers."""
    return {"resident_profiles": tuple(_profile(s.residents, p) for p in s.residents.profiles)}


def _profile(residents: Residents, profile: BehaviourProfile) -> ResidentProfile:
    answers = min(1.0, residents.response_prob * profile.response_multiplier)
    shares = min(1.0, residents.share_prob * profile.share_multiplier)
    return ResidentProfile(
        name=profile.name,
        weight=profile.weight,
        response_prob=answers,
        share_given_response_prob=min(1.0, shares / answers) if answers > 0 else 0.0,
        response_delay_median_min=residents.response_delay_median_h
        * MIN_PER_HOUR
        * profile.delay_multiplier,
        response_delay_sigma=residents.response_delay_sigma,
        opt_out_hazard_per_request=min(
            1.0, residents.opt_out_hazard_per_request * profile.opt_out_multiplier
        ),
        opt_out_hazard_growth_per_request=residents.opt_out_hazard_growth_per_request,
    )


def _face_groups(s: Scenario, _scale: float, _fields: Fields) -> dict[str, Any]:
    """The face-recognition what-if's demographic groups, as they are."""
    groups = s.identification.face_recognition.groups
    return {
        "face_groups": tuple(
            FaceGroup(g.name, g.weight, g.false_match_multiplier_low, g.false_match_multiplier_high)
            for g in groups
        )
    }


_PROFILE_KEYS = tuple(
    f"residents.{name}"
    for name in (
        "response_prob",
        "share_prob",
        "response_delay_median_h",
        "response_delay_sigma",
        "opt_out_hazard_per_request",
        "opt_out_hazard_growth_per_request",
        "profiles",
    )
)
_HOLIDAY_DATES = ("deliveries.holiday_peak_start_date", "deliveries.holiday_peak_end_date")
_SPREES = (
    "thefts.spree_start_prob",
    "thefts.spree_thefts_mean",
    "thefts.spree_duration_median_h",
    "thefts.spree_duration_sigma",
    "thefts.spree_natural_end_hazard_per_day",
)

DERIVATIONS: tuple[Derivation, ...] = (
    Derivation(
        "holiday_window",
        ("run.start_date", *_HOLIDAY_DATES),
        ("holiday_start_min", "holiday_end_min"),
        _holiday_window,
    ),
    Derivation(
        "holiday_theft_multiplier",
        ("deliveries.holiday_peak_multiplier", "thefts.holiday_exposure_multiplier"),
        ("holiday_theft_multiplier",),
        _holiday_theft_multiplier,
    ),
    Derivation(
        "thief_arrival_rate",
        (
            "thefts.household_rate_per_yr",
            *_HOLIDAY_DATES,
            "deliveries.holiday_peak_multiplier",
            "thefts.holiday_exposure_multiplier",
            *_SPREES,
        ),
        ("thieves_per_household_per_min",),
        _thief_arrival_rate,
    ),
    Derivation(
        "staff_pools",
        (
            "police.detectives",
            "police.time_share_on_package_theft",
            "moderation.moderators",
        ),
        ("detectives", "supervisors", "moderators"),
        _staff_pools,
    ),
    Derivation("resident_profiles", _PROFILE_KEYS, ("resident_profiles",), _resident_profiles),
    Derivation(
        "face_groups",
        ("identification.face_recognition.groups",),
        ("face_groups",),
        _face_groups,
    ),
)
"""The derivations, in the order they run (a later one may read an earlier one's fields)."""
