"""The county model's parameters, in simulation units.

Simulation time is minutes since the scenario's start (t = 0 is midnight of
its first day); distances are metres; rates say their time unit in the name.
:class:`ModelParams` is the only thing the model reads; scenarios (TOML, with
their own units) are converted once, in :func:`sim.core.scenario_params.params_from_scenario`.
Defaults follow ``docs/calibration.md`` (each comment names its section as calibration#<anchor>);
the ones marked ASSUMPTION are there so a run works and should be swept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

MIN_PER_HOUR = 60.0
MIN_PER_DAY = 1440.0
MIN_PER_YEAR = 365.25 * MIN_PER_DAY

Policy = Literal["platform_request", "canvass", "both"]
POLICIES: tuple[Policy, ...] = ("platform_request", "canvass", "both")
WindowFit = Literal["fixed", "exposure"]

# calibration#thefts time of day, normalised: night 8%, morning 25%, afternoon 42%, evening
# 25% over 00-06, 06-12, 12-18, 18-24; as hourly multipliers with mean 1.
_PERIOD_SHARES = (0.08, 0.25, 0.42, 0.25)
DEFAULT_HOURLY_THEFT_MULTIPLIERS: tuple[float, ...] = tuple(
    4 * share for share in _PERIOD_SHARES for _ in range(6)
)

# Deliveries (ASSUMPTION, as the Nassau scenario): carriers 08:00-22:00, most in the
# afternoon; hourly multipliers with mean 1.
_DELIVERY_WEIGHTS = (0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 6, 8, 9, 10, 10, 10, 9, 8, 7, 6, 4, 2, 1, 0)
DEFAULT_DELIVERY_HOUR_WEIGHTS: tuple[float, ...] = tuple(
    24 * w / sum(_DELIVERY_WEIGHTS) for w in _DELIVERY_WEIGHTS
)


@dataclass(frozen=True)
class ResidentProfile:
    """How a kind of camera owner answers requests (calibration#requests: all UNCONFIRMED)."""

    name: str
    weight: float  # relative share of camera owners with this profile
    response_prob: float  # answers within the response period (silence otherwise)
    share_given_response_prob: float  # shares at least one clip when answering
    # The answer's delay is this lognormal conditioned on falling inside the response
    # period (sim.core.residents.answer_delay_min), so response_prob holds exactly.
    response_delay_median_min: float  # lognormal delay from notification to answer
    response_delay_sigma: float  # lognormal shape (sd of the log)
    opt_out_hazard_per_request: float  # P(opt out after the 1st request)
    opt_out_hazard_growth_per_request: float  # each earlier request adds growth × base

    def opt_out_prob(self, requests_received: int) -> float:
        """P(opting out right after the ``requests_received``-th request):
        ``base × (1 + growth × (n − 1))``, capped at 1, as docs/scenarios.md defines it."""
        growth = 1.0 + self.opt_out_hazard_growth_per_request * (requests_received - 1)
        return min(1.0, self.opt_out_hazard_per_request * growth)


@dataclass(frozen=True)
class FaceGroup:
    """A demographic group in the face-recognition what-if (calibration#face-recognition)."""

    name: str
    weight: float  # relative share of the people a false match lands on
    false_match_multiplier_low: float  # the multiplier is drawn log-uniformly per search
    false_match_multiplier_high: float


DEFAULT_PROFILES = (
    # ASSUMPTION (calibration#requests): share 0.02-0.30 swept, median answer ~1 day.
    ResidentProfile("engaged", 0.2, 0.8, 0.45, 6 * MIN_PER_HOUR, 1.0, 0.002, 0.1),
    ResidentProfile("typical", 0.6, 0.4, 0.25, 1 * MIN_PER_DAY, 1.2, 0.01, 0.1),
    ResidentProfile("guarded", 0.2, 0.15, 0.1, 2 * MIN_PER_DAY, 1.2, 0.05, 0.1),
)

DEFAULT_FACE_GROUPS = (
    # calibration#face-recognition: race-group multipliers x10-x100 (log-uniform), women x2-5.
    FaceGroup("reference", 0.55, 1.0, 1.0),
    FaceGroup("women", 0.25, 2.0, 5.0),
    FaceGroup("black_women", 0.10, 10.0, 100.0),
    FaceGroup("black_men", 0.10, 10.0, 100.0),
)


@dataclass(frozen=True)
class ModelParams:
    """Everything the county model needs, in minutes, metres and probabilities.

    It checks nothing itself: built from a scenario, every value was checked once, by the
    scenario's rules when it was loaded (``sim.core.scenario_params`` says where each
    check lives); a test that builds it by hand chooses its values."""

    # County: what each camera sees, and how often it records motion (ASSUMPTION).
    neighbour_view_prob: float = 0.3
    neighbour_view_max_m: float = 25.0
    motion_clips_per_camera_per_min: float = 12 / MIN_PER_DAY
    # Clips a sharing resident attaches: 1 + Poisson(mean - 1), at most those that still
    # exist, the ones nearest the middle of the window. ASSUMPTION (no source).
    clips_per_share_mean: float = 1.5
    # A reporting victim whose own camera saw the porch gives its clip to police directly.
    # ASSUMPTION (no source; calibration#cameras: 58-60% of victims who report own a camera).
    victim_handover_prob: float = 0.8

    # Thieves arrive per household as an NHPP (time of day × holiday peak). Each thief
    # commits one theft, or with spree_prob goes on a spree; the scenario's household
    # theft rate (sprees included) is divided by the mean thefts per thief to get this.
    thieves_per_household_per_min: float = 0.12 / 1.6 / MIN_PER_YEAR
    hourly_theft_multipliers: tuple[float, ...] = DEFAULT_HOURLY_THEFT_MULTIPLIERS
    holiday_start_min: float = math.inf  # no holiday peak unless a scenario sets one
    holiday_end_min: float = math.inf
    holiday_theft_multiplier: float = 1.5  # calibration#deliveries: 1.4-1.6
    prevention_share: float = 0.15  # homes with a prevention habit: ASSUMPTION
    prevention_risk_multiplier: float = 0.3  # their porch exposure, relative: ASSUMPTION
    # The parcel behind each theft (sim.core.parcels): delivery hours (mean 1) and the
    # lognormal porch dwell (a prevention habit multiplies it by prevention_risk_multiplier)
    # set when it came and when it was found missing, which is what a request must cover.
    delivery_hour_weights: tuple[float, ...] = DEFAULT_DELIVERY_HOUR_WEIGHTS
    porch_dwell_median_min: float = 4 * MIN_PER_HOUR  # UNCONFIRMED
    porch_dwell_sigma: float = 0.8  # ASSUMPTION
    # Parcels and packages: thefts are drawn per household (calibration#derived), so these give
    # the implied per-parcel theft rate, a validation output, not the theft rate itself.
    packages_per_theft_mean: float = 1.37  # packages taken per theft (>= 1; calibration#thefts)
    parcels_per_household_per_min: float = 2.4 / (7 * MIN_PER_DAY)  # calibration#deliveries
    holiday_delivery_multiplier: float = 1.5  # the delivery peak alone (calibration#deliveries)

    # Sprees (ASSUMPTION): extra thefts at homes near the first, spread over a lognormal
    # duration; the thief may also stop early (exponential natural end).
    spree_prob: float = 0.15
    spree_thefts_mean: float = 5.0  # thefts in a spree, the first included (>= 1)
    spree_duration_median_min: float = 2 * MIN_PER_DAY
    spree_duration_sigma: float = 0.8
    spree_natural_end_hazard_per_min: float = 0.1 / MIN_PER_DAY
    spree_radius_m: float = 800.0

    # Victims (calibration#thefts: reported 0.17-0.25).
    report_prob: float = 0.20
    report_delay_median_min: float = 3 * MIN_PER_HOUR  # ASSUMPTION
    report_delay_sigma: float = 1.0

    # Police (calibration#workload, #requests, #canvass). Reports are screened first;
    # followed-up cases queue for a detective (FIFO) and hold one for case work, drafting
    # and canvassing.
    policy: Policy = "platform_request"
    detectives: int = 30  # detectives on property cases: ASSUMPTION (Nassau has ~300)
    supervisors: int = 4
    detective_hourly_cost_usd: float = 75.0  # loaded cost: ASSUMPTION
    follow_up_prob: float = 0.4  # calibration#workload
    case_work_mean_min: float = 2 * MIN_PER_HOUR  # exponential, per followed-up case
    request_drafting_min: float = 20.0
    request_radius_m: float = 400.0  # REQ-03 allows ~144-642 m
    request_window_min: float = 6 * MIN_PER_HOUR  # REQ-02: 15 min-12 h
    # "fixed": every window is request_window_min long; "exposure": the parcel's time on
    # the porch as the victim knows it, at least 15 min and at most request_window_min.
    request_window_fit: WindowFit = "fixed"
    max_requests_per_case: int = 1
    # A second request (up to max_requests_per_case) when the first's response period
    # ended without usable video and its window left part of the porch time out.
    followup_request_prob: float = 0.0
    # P(post a request for a followed-up case without usable video from the victim's own
    # camera): ASSUMPTION. It halves when request_propensity_halving_backlog cases wait
    # for a detective (workload); the model's default never halves.
    request_propensity: float = 1.0
    request_propensity_halving_backlog: float = math.inf
    response_period_min: float = 7 * MIN_PER_DAY  # CON-08
    canvass_max_doors: int = 30
    canvass_min_per_door: float = 3.0  # calibration#workload (L)
    canvass_answer_prob: float = 0.33  # calibration#canvass (L)
    canvass_handover_prob: float = 0.5  # UNCONFIRMED: sweep
    canvass_export_min: float = 20.0  # UNCONFIRMED: sweep

    # Platform reach (ASSUMPTION): the camera owners the platform's requests can reach are
    # those of its brand who get its police requests; only they are the system's residents.
    platform_brand_share: float = 1.0
    platform_requests_enabled_share: float = 1.0

    # Moderation (calibration#moderation: no source; sweep minutes to hours). Lognormal review.
    moderators: int = 3
    moderation_review_median_min: float = 30.0
    moderation_review_sigma: float = 0.5

    # Residents (calibration#requests).
    resident_profiles: tuple[ResidentProfile, ...] = DEFAULT_PROFILES
    initial_opt_out_share: float = 0.0
    share_identity_prob: float = 0.3
    include_audio: bool = False

    # Clips and transfer (calibration#retention).
    clip_duration_s: float = 30.0
    clip_size_bytes: int = 6_000_000  # 30 s of 1080p at ~1.6 Mbps
    clip_has_audio: bool = True
    byte_scale: float = 1.0  # share of each clip's bytes the system really stores
    worker_poll_min: float = 10.0  # ASSUMPTION: the platform's job worker runs this often
    upload_mbps_median: float = 27.0
    upload_mbps_sigma: float = 0.6
    fiber_share: float = 0.3
    fiber_upload_mbps: float = 100.0

    # Identification (calibration#cameras, #canvass, #workload).
    usable_view_prob: float = 0.6
    review_min_per_clip: float = 5.0
    review_cap_min: float = 20.0  # Met Police cap for low-level crime
    clearance_prob: float = 0.184  # FBI CIUS 2019, larceny-theft
    usable_video_clearance_multiplier: float = 1.2
    face_recognition: bool = False
    fr_baseline_false_match_prob: float = 1e-3
    fr_candidate_list_size: int = 50
    fr_hit_prob_low: float = 0.6  # NIST FIVE: 0.6 to >0.99 with video quality
    fr_hit_prob_high: float = 0.99
    fr_corroboration_catch_prob: float = 0.8  # a wrong lead is caught before arrest
    face_groups: tuple[FaceGroup, ...] = DEFAULT_FACE_GROUPS

    @property
    def max_theft_multiplier(self) -> float:
        """The largest rate multiplier (time of day × holiday): the thinning bound."""
        return max(self.hourly_theft_multipliers) * max(1.0, self.holiday_theft_multiplier)

    def parcels_per_household(self, until_min: float) -> float:
        """Expected parcels delivered to a household from time 0 to ``until_min`` (the peak
        counted only where it overlaps the run)."""
        peak = max(0.0, min(until_min, self.holiday_end_min) - max(0.0, self.holiday_start_min))
        extra = peak * (self.holiday_delivery_multiplier - 1.0)
        return self.parcels_per_household_per_min * (until_min + extra)

    def request_chance(self, waiting: int) -> float:
        """P(a detective posts a request for a case eligible for one) while ``waiting``
        cases wait for a detective: the propensity, halved at the halving backlog."""
        return self.request_propensity / (1.0 + waiting / self.request_propensity_halving_backlog)

    def theft_multiplier(self, at_min: float) -> float:
        """Time-of-day × holiday multiplier of the theft rate at ``at_min``."""
        hour = int(at_min // MIN_PER_HOUR) % 24
        holiday = self.holiday_start_min <= at_min < self.holiday_end_min
        return self.hourly_theft_multipliers[hour] * (
            self.holiday_theft_multiplier if holiday else 1.0
        )


def expected_thefts_per_thief(
    *,
    spree_prob: float,
    spree_thefts_mean: float,
    duration_median_min: float,
    duration_sigma: float,
    natural_end_hazard_per_min: float,
) -> float:
    """Mean thefts a thief commits before any arrest.

    A spree's later thefts fall uniformly over a lognormal duration D, and the thief
    quits at an exponential time with rate h, so each later theft happens with
    probability E[(1 - exp(-hD)) / (hD)]; the expectation is taken on 200 quantiles.
    """
    h = natural_end_hazard_per_min
    if h <= 0:
        survive = 1.0
    else:
        normal = NormalDist()
        quantiles = (normal.inv_cdf((i + 0.5) / 200) for i in range(200))
        durations = [duration_median_min * math.exp(duration_sigma * z) for z in quantiles]
        survive = sum(-math.expm1(-h * d) / (h * d) for d in durations) / len(durations)
    return 1.0 + spree_prob * (spree_thefts_mean - 1.0) * survive
