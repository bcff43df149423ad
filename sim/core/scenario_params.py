"""From a scenario to the model: :func:`params_from_scenario` and :func:`county_spec`.

The scenario's units (hours, days, per week, MB) become the model's (minutes, per
minute, bytes) here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from scenarios.schema import BehaviourProfile, Residents, Scenario
from sim.core.params import (
    MIN_PER_DAY,
    MIN_PER_HOUR,
    MIN_PER_YEAR,
    FaceGroup,
    ModelParams,
    ResidentProfile,
    expected_thefts_per_thief,
)
from sim.core.population import CountySpec, nassau, suffolk

__all__ = ["MIN_PER_DAY", "TOWN_LAYOUTS", "county_spec", "params_from_scenario"]


TOWN_LAYOUTS: dict[str, Callable[[], CountySpec]] = {"nassau": nassau, "suffolk": suffolk}
"""The counties whose town-centre layout the population generator has; the scenario schema
refuses any other ``county.name`` (``scenarios.schema.COUNTIES_WITH_TOWN_LAYOUT``)."""


def county_spec(scenario: Scenario) -> CountySpec:
    """The population generator's county: the town layout of the named county, the rest
    from the scenario."""
    c = scenario.county
    base = TOWN_LAYOUTS[c.name]()
    return replace(
        base,
        name=c.name,
        households=c.households,
        land_area_sq_mi=c.land_area_sq_mi,
        center_lat=c.center_lat,
        center_lon=c.center_lon,
        aspect_ratio=c.aspect_ratio,
        background_weight=c.background_weight,
        camera_adoption_share=c.camera_adoption_share,
        extra_camera_share=c.extra_camera_share,
        retention_days_options=tuple(c.retention_days_options),
        retention_days_weights=tuple(c.retention_days_weights),
    )


def _mean_one(weights: tuple[float, ...]) -> tuple[float, ...]:
    mean = sum(weights) / len(weights)
    return tuple(w / mean for w in weights)


def _staff(count: float, scale: float) -> int:
    """Staff (full-time equivalents) for a part of the county: in proportion, at least one
    if the county has any."""
    return max(1, round(count * scale)) if count > 0 else 0


def params_from_scenario(scenario: Scenario, *, scale: float | None = None) -> ModelParams:
    """The scenario in simulation units. ``scale`` (default: the scenario's
    ``run.scale``) sizes detectives and moderators for that part of the county; the
    detective pool is the detectives' porch-theft share of their time, as full-time
    equivalents (``police.time_share_on_package_theft``).

    Thefts: the scenario's household rate is a yearly mean with sprees and the holiday
    peak included, so the thief arrival rate is divided by the holiday's share of the
    year's exposure and by the mean thefts per thief. Hour-of-day weights are
    normalised to mean 1; the holiday multiplier is the delivery peak times the theft
    exposure factor; a prevention habit scales porch exposure by its dwell factor.
    """
    s = scenario
    scale = s.run.scale if scale is None else scale
    holiday_start_day = (s.deliveries.holiday_peak_start_date - s.run.start_date).days
    holiday_days = (s.deliveries.holiday_peak_end_date - s.deliveries.holiday_peak_start_date).days
    holiday_days += 1  # the end date is inclusive
    holiday_multiplier = s.deliveries.holiday_peak_multiplier * s.thefts.holiday_exposure_multiplier
    holiday_year_factor = 1.0 + min(holiday_days, 365) / 365.25 * (holiday_multiplier - 1.0)
    spree = {
        "spree_prob": s.thefts.spree_start_prob,
        "spree_thefts_mean": s.thefts.spree_thefts_mean,
        "duration_median_min": s.thefts.spree_duration_median_h * MIN_PER_HOUR,
        "duration_sigma": s.thefts.spree_duration_sigma,
        "natural_end_hazard_per_min": s.thefts.spree_natural_end_hazard_per_day / MIN_PER_DAY,
    }
    thieves_rate = (
        s.thefts.household_rate_per_yr
        / MIN_PER_YEAR
        / holiday_year_factor
        / expected_thefts_per_thief(**spree)
    )
    residents = s.residents
    fr = s.identification.face_recognition
    return ModelParams(
        neighbour_view_prob=s.county.neighbour_view_prob,
        neighbour_view_max_m=s.county.neighbour_view_max_m,
        motion_clips_per_camera_per_min=s.county.motion_clips_per_camera_per_day / MIN_PER_DAY,
        thieves_per_household_per_min=thieves_rate,
        hourly_theft_multipliers=_mean_one(s.thefts.time_of_day_weights_by_hour),
        holiday_start_min=holiday_start_day * MIN_PER_DAY,
        holiday_end_min=(holiday_start_day + holiday_days) * MIN_PER_DAY,
        holiday_theft_multiplier=holiday_multiplier,
        prevention_share=s.deliveries.prevention_share,
        prevention_risk_multiplier=s.deliveries.prevention_dwell_factor,
        delivery_hour_weights=_mean_one(s.deliveries.time_of_day_weights_by_hour),
        porch_dwell_median_min=s.deliveries.porch_dwell_median_min,
        porch_dwell_sigma=s.deliveries.porch_dwell_sigma,
        packages_per_theft_mean=s.thefts.packages_per_theft_mean,
        parcels_per_household_per_min=s.deliveries.rate_per_household_per_week / (7 * MIN_PER_DAY),
        holiday_delivery_multiplier=s.deliveries.holiday_peak_multiplier,
        spree_prob=s.thefts.spree_start_prob,
        spree_thefts_mean=s.thefts.spree_thefts_mean,
        spree_duration_median_min=s.thefts.spree_duration_median_h * MIN_PER_HOUR,
        spree_duration_sigma=s.thefts.spree_duration_sigma,
        spree_natural_end_hazard_per_min=s.thefts.spree_natural_end_hazard_per_day / MIN_PER_DAY,
        spree_radius_m=s.thefts.spree_radius_m,
        report_prob=s.victims.report_prob,
        report_delay_median_min=s.victims.report_delay_median_h * MIN_PER_HOUR,
        report_delay_sigma=s.victims.report_delay_sigma,
        victim_handover_prob=s.victims.own_footage_handover_prob,
        max_clips_per_share=s.residents.max_clips_per_share,
        policy=s.police.policy,
        # The pool works porch thefts only: its full-time equivalents (Nassau: 300 x 0.05).
        detectives=_staff(s.police.detectives * s.police.time_share_on_package_theft, scale),
        supervisors=_staff(max(1, s.police.detectives // 8), scale),
        detective_hourly_cost_usd=s.police.detective_cost_per_hour_usd,
        follow_up_prob=s.police.follow_up_share,
        case_work_mean_min=s.police.hours_per_case * MIN_PER_HOUR,
        request_drafting_min=s.police.request_drafting_min,
        request_radius_m=s.police.request_radius_m,
        request_window_min=s.police.request_window_h * MIN_PER_HOUR,
        request_window_fit=s.police.request_window_fit,
        max_requests_per_case=s.police.max_requests_per_case,
        followup_request_prob=s.police.followup_request_prob,
        response_period_min=s.police.response_period_days * MIN_PER_DAY,
        canvass_max_doors=s.canvass.max_doors_per_case,
        canvass_min_per_door=s.canvass.min_per_door,
        canvass_answer_prob=s.canvass.door_answer_prob,
        canvass_handover_prob=s.canvass.handover_prob,
        canvass_export_min=s.canvass.onsite_export_min,
        moderators=_staff(s.moderation.moderators, scale),
        moderation_review_median_min=s.moderation.review_median_min,
        moderation_review_sigma=s.moderation.review_sigma,
        resident_profiles=tuple(_profile(residents, p) for p in residents.profiles),
        clip_duration_s=s.transfer.clip_length_s,
        clip_size_bytes=round(s.transfer.clip_size_mb * 1_000_000),
        byte_scale=s.transfer.byte_scale,
        worker_poll_min=s.transfer.worker_poll_min,
        upload_mbps_median=s.transfer.upload_mbps_median,
        upload_mbps_sigma=s.transfer.upload_sigma,
        fiber_share=s.transfer.fiber_share,
        fiber_upload_mbps=s.transfer.fiber_upload_mbps,
        usable_view_prob=s.identification.usable_view_prob,
        review_min_per_clip=s.identification.detective_review_min_per_clip,
        review_cap_min=s.identification.review_cap_min_per_case,
        clearance_prob=s.identification.clearance_prob,
        usable_video_clearance_multiplier=s.identification.usable_video_clearance_multiplier,
        face_recognition=fr.enabled,
        fr_baseline_false_match_prob=fr.baseline_false_match_rate,
        fr_candidate_list_size=fr.candidate_list_size,
        fr_hit_prob_low=fr.true_match_hit_prob_low,
        fr_hit_prob_high=fr.true_match_hit_prob_high,
        fr_corroboration_catch_prob=fr.corroboration_catch_prob,
        face_groups=tuple(
            FaceGroup(g.name, g.weight, g.false_match_multiplier_low, g.false_match_multiplier_high)
            for g in fr.groups
        ),
    )


def _profile(residents: Residents, profile: BehaviourProfile) -> ResidentProfile:
    """A behaviour profile: the residents' central values times its multipliers."""
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
