"""Tiny counties and fast parameters shared by the model's unit and statistical tests."""

from __future__ import annotations

import dataclasses

from sim.core.counties import CountySpec
from sim.core.params import MIN_PER_DAY, ModelParams, ResidentProfile
from sim.core.population import Population, generate_population

HOMES_PER_SQ_MI = 1600.0  # about Nassau's density


def tiny_county(*, households: int = 300, camera_share: float = 0.3, seed: int = 1) -> Population:
    """A uniform square county of ``households`` homes at Nassau-like density."""
    spec = CountySpec(
        name="tiny",
        center_lat=40.7,
        center_lon=-73.6,
        land_area_sq_mi=households / HOMES_PER_SQ_MI,
        households=households,
        aspect_ratio=1.0,
        town_centres=(),
        background_weight=1.0,
        camera_adoption_share=camera_share,
    )
    return generate_population(spec, seed=seed)


def busy_params(homes: int, **changes: object) -> ModelParams:
    """About ten thefts a day in the whole county, every one reported and followed up."""
    base = ModelParams(
        thieves_per_household_per_min=10 / MIN_PER_DAY / homes,
        report_prob=1.0,
        follow_up_prob=1.0,
        detectives=3,
        moderators=2,
        response_period_min=2 * MIN_PER_DAY,
        motion_clips_per_camera_per_min=4 / 60,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def one_profile(
    *, response_prob: float, share_prob: float, delay_min: float = 30.0, opt_out: float = 0.0
) -> tuple[ResidentProfile, ...]:
    return (ResidentProfile("only", 1.0, response_prob, share_prob, delay_min, 0.5, opt_out, 0.0),)
