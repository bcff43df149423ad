"""Porch thefts and sprees.

**Thefts by thinning.** Thieves arrive as a non-homogeneous Poisson process over
the whole county with rate λ(t, home) = thieves_per_household × time-of-day(t) ×
holiday(t) × risk(home). :func:`theft_source` draws candidates from a homogeneous
process at the bound λ* = homes × rate × max multiplier × max risk, picks a home
uniformly, and keeps the candidate with probability λ(t, home) / λ* (Lewis &
Shedler thinning). Deliveries are never simulated one by one: porch exposure
enters the rate through the time-of-day, holiday and prevention multipliers, and
each theft draws the one parcel it took (:mod:`sim.core.parcels`: when it came,
from the delivery hours, and when it would have been taken in, from the porch
dwell), so a county costs events per theft, not per delivery.

**Sprees.** A thief goes on a spree with ``spree_prob``: further thefts (mean
``spree_thefts_mean`` in all) at homes within ``spree_radius_m`` of the first,
spread uniformly over a lognormal duration, cut short by a natural end
(exponential) or by an arrest, which interrupts the :func:`spree` process;
thefts planned but not committed at the arrest are ``thefts_prevented``.

Identities: a thief is the n-th candidate the thinning kept; a theft is (thief,
ordinal in the spree), and its id is ``thief × MAX_THEFTS_PER_THIEF + ordinal``, so
the same theft has the same id, and the same draws (:mod:`sim.core.streams`),
under every policy. A victim who reports starts the investigation
(:func:`sim.core.investigations.victim`).
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from sim.core import records as rec
from sim.core.investigations import victim
from sim.core.streams import Source
from sim.core.world import Process, Spree, World

MAX_THEFTS_PER_THIEF = 1000
"""A spree's thefts are capped here (the first included), so that ids stay unique;
at a spree mean of 5 the cap is reached about once in 10^97 sprees."""


def theft_id(thief: int, ordinal: int) -> int:
    """The id of the thief's ``ordinal``-th theft (0 for the first)."""
    return thief * MAX_THEFTS_PER_THIEF + ordinal


def theft_source(world: World) -> Process:
    """Thieves over the whole county, by thinning a homogeneous Poisson process."""
    p, county, rng = world.params, world.county, world.streams.thefts
    if county.n_homes == 0:
        return
    max_risk = float(county.home_risk.max())
    bound_multiplier = p.max_theft_multiplier * max_risk
    bound = county.n_homes * p.thieves_per_household_per_min * bound_multiplier
    if bound <= 0:
        return
    while True:
        yield world.env.timeout(rng.exponential(1.0 / bound))
        home = int(rng.integers(county.n_homes))
        keep = p.theft_multiplier(world.env.now) * county.home_risk[home]
        if rng.random() * bound_multiplier < keep:
            thief_arrives(world, home)


def thief_arrives(world: World, home: int) -> None:
    """A thief's first theft; with ``spree_prob`` the start of a spree."""
    p = world.params
    thief = next(world.thief_ids)
    rng = world.streams.entity(Source.SPREES, thief)
    offsets: list[float] = []
    if rng.random() < p.spree_prob and p.spree_thefts_mean > 1:
        extra = min(int(rng.geometric(1.0 / p.spree_thefts_mean)), MAX_THEFTS_PER_THIEF) - 1
        duration = rng.lognormal(math.log(p.spree_duration_median_min), p.spree_duration_sigma)
        times = np.sort(rng.uniform(0.0, duration, extra))
        hazard = p.spree_natural_end_hazard_per_min
        quits = rng.exponential(1.0 / hazard) if hazard > 0 else math.inf
        offsets = times[times < quits].tolist()
    commit_theft(world, home, thief, 0, in_spree=bool(offsets))
    if offsets:
        in_slice = bool(world.population.home_in_slice[home])
        spree_state = Spree(thief, world.now, planned=1 + len(offsets), in_slice=in_slice)
        world.sprees[thief] = spree_state
        spree_state.process = world.env.process(spree(world, spree_state, home, offsets))


def spree(world: World, state: Spree, first_home: int, offsets: list[float]) -> Process:
    """A thief's further thefts near the first; an arrest interrupts it."""
    rng = world.streams.entity(Source.SPREE_HOMES, state.thief_id)
    ended_by = "natural"
    nearby = world.county.homes_near(first_home, world.params.spree_radius_m)  # fixed
    try:
        elapsed = 0.0
        for ordinal, offset in enumerate(offsets, start=1):
            yield world.env.timeout(offset - elapsed)
            elapsed = offset
            home = int(nearby[int(rng.integers(nearby.size))])
            commit_theft(world, home, state.thief_id, ordinal, in_spree=True)
            state.committed += 1
    except simpy.Interrupt:
        ended_by = "arrest"
    del world.sprees[state.thief_id]
    world.log.sprees.append(spree_record(state, ended_at_min=world.now, ended_by=ended_by))


def spree_record(state: Spree, *, ended_at_min: float, ended_by: str) -> rec.SpreeRecord:
    """The spree's record (``ended_by`` "horizon" for one still going at the end)."""
    prevented = state.planned - state.committed if ended_by != "horizon" else 0
    return rec.SpreeRecord(
        thief_id=state.thief_id,
        started_at_min=state.started_at_min,
        ended_at_min=ended_at_min,
        planned_thefts=state.planned,
        thefts=state.committed,
        ended_by=ended_by,
        thefts_prevented=prevented,
        in_slice=state.in_slice,
    )


def commit_theft(world: World, home: int, thief: int, ordinal: int, *, in_spree: bool) -> None:
    """A theft at ``home``: the parcel it took, its record, and perhaps a report (the
    theft's own draws, in a fixed order)."""
    p = world.params
    rng = world.streams.entity(Source.PARCELS, thief, ordinal)
    viewing = world.county.cameras_viewing_porch(home).size
    # 1 + Poisson(mean - 1) packages: at least one, the scenario's mean.
    packages = 1 + int(rng.poisson(p.packages_per_theft_mean - 1))
    now = world.now
    parcel = world.parcels.draw(rng, now, prevention=bool(world.county.home_prevention[home]))
    reports = rng.random() < p.report_prob
    delay = rng.lognormal(math.log(p.report_delay_median_min), p.report_delay_sigma)
    theft = rec.TheftRecord(
        theft_id=theft_id(thief, ordinal),
        at_min=now,
        home=home,
        thief_id=thief,
        ordinal=ordinal,
        in_spree=in_spree,
        cameras_viewing=int(viewing),
        packages=packages,
        delivered_at_min=parcel.delivered_at_min,
        discovered_at_min=parcel.discovered_at_min,
        in_slice=bool(world.population.home_in_slice[home]),
    )
    world.log.thefts.append(theft)
    if reports:
        world.env.process(victim(world, theft, theft.discovered_at_min - theft.at_min + delay))
