"""The rest of the county's cases, in a scaled run: they queue for the same staff.

A scaled run simulates a slice of the county (and a ring around it) but staffs
it with the county's detectives and moderators, so that its cases wait as long
as the county's do and the pools are as busy. The cases of the homes outside the
population arrive here as a background stream with the county's rate: followed-up
reports per household per minute (thieves × thefts per thief × time of day ×
holiday × ``report_prob`` × ``follow_up_prob``), drawn by thinning like the
thefts. Each holds a detective for what a case holds one for on average before any
evidence comes in (the case work, the drafting of a request and the canvass, as
the policy says) and, if it posts a request, a moderator for a review. It posts
one with the slice's mean chance: the propensity at the detectives' backlog when
it is picked up, times the share of cases without usable video from the victim's
own camera (:func:`victim_video_share`). Their evidence reviews and follow-ups
are left out (a few minutes per case, against
hours of case work), and their report delay is not (they arrive when the thefts
happen): both are small next to the queues' time scale and are documented in
``docs/model.md``. Nothing of the background reaches the system or the records;
it is seen only in the pools' utilisation and in the slice's waits.
"""

from __future__ import annotations

import math

import numpy as np

from sim.core.params import ModelParams, expected_thefts_per_thief
from sim.core.world import Process, World


def background_cases_per_min(params: ModelParams, households: int) -> float:
    """The mean rate of followed-up reports from ``households`` homes (before the time
    of day and holiday multipliers, which average 1 over the year)."""
    thefts_per_thief = expected_thefts_per_thief(
        spree_prob=params.spree_prob,
        spree_thefts_mean=params.spree_thefts_mean,
        duration_median_min=params.spree_duration_median_min,
        duration_sigma=params.spree_duration_sigma,
        natural_end_hazard_per_min=params.spree_natural_end_hazard_per_min,
    )
    return (
        households
        * params.thieves_per_household_per_min
        * thefts_per_thief
        * params.report_prob
        * params.follow_up_prob
    )


def background_source(world: World) -> Process:
    """Followed-up cases of the homes outside the simulated population, by thinning."""
    p, rng = world.params, world.streams.background
    households = world.population.county_households - world.population.n_homes
    rate = background_cases_per_min(p, households)
    if rate <= 0 or world.detectives.capacity == 0:
        return
    victim_video = victim_video_share(world)
    bound = rate * p.max_theft_multiplier
    while True:
        yield world.env.timeout(rng.exponential(1.0 / bound))
        if rng.random() * p.max_theft_multiplier < p.theft_multiplier(world.env.now):
            world.env.process(background_case(world, victim_video))


def victim_video_share(world: World) -> float:
    """The share of cases whose victim's own camera gives usable video (these get no
    request): the theft-risk-weighted share of homes with a camera × handover × usable
    view (one camera each; retention, days against a report delay of hours, ignored)."""
    p, risk = world.params, world.county.home_risk
    has_camera = np.zeros(risk.size, dtype=bool)
    has_camera[world.population.camera_home] = True
    total = float(risk.sum())
    share = float(risk[has_camera].sum()) / total if total > 0 else 0.0
    return share * p.victim_handover_prob * p.usable_view_prob


def background_case(world: World, victim_video: float) -> Process:
    """A detective works the case: its case work, plus what the simulated cases have
    needed on average beyond theirs so far (drafting, canvassing, evidence review,
    follow-ups); a request it posts (with the detectives' propensity at the queue it
    sees, and never when the victim's own video was usable) goes to a moderator."""
    p, rng = world.params, world.streams.background
    minutes = rng.exponential(p.case_work_mean_min) if p.case_work_mean_min else 0.0
    minutes += extra_minutes_per_case(world)
    with world.detectives.request() as turn:
        yield turn
        with world.detectives.on_duty(for_slice=False, background=True):
            chance = (1 - victim_video) * p.request_chance(world.detectives.queue_length)
            posts = p.policy != "canvass" and p.max_requests_per_case > 0
            posts = posts and rng.random() < chance
            yield world.env.timeout(minutes)
    if posts and world.moderators.capacity > 0:
        world.env.process(background_review(world))


def extra_minutes_per_case(world: World) -> float:
    """The detective minutes a simulated case has needed beyond its case work, on average
    over the cases opened so far (before the first, what drafting and canvassing take)."""
    p, pool = world.params, world.detectives
    opened = len(world.log.cases)
    if opened >= 10:
        return max(0.0, (pool.simulated_minutes - pool.case_work_minutes) / opened)
    extra = 0.0
    if p.policy != "canvass" and p.max_requests_per_case > 0:
        extra += p.request_drafting_min
    if p.policy != "platform_request":
        extra += p.canvass_max_doors * p.canvass_min_per_door
    return extra


def background_review(world: World) -> Process:
    p, rng = world.params, world.streams.background
    review = rng.lognormal(math.log(p.moderation_review_median_min), p.moderation_review_sigma)
    with world.moderators.request() as turn:
        yield turn
        with world.moderators.on_duty(for_slice=False, background=True):
            yield world.env.timeout(review)
