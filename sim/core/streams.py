"""The one place the county model spawns its random streams.

Every stochastic source has its own key, and every draw that belongs to an
entity of the world (a thief, a theft, a case, a request, a notified resident, a
camera-hour) comes from a stream keyed by that entity's identity, never by the
order in which events happened: ``SeedSequence(seed, spawn_key=(SOURCE, *ids))``
(:meth:`Streams.entity`). A thief is the n-th candidate the thinning kept (the
thinning's own stream serves nothing else, so the same thieves arrive under
every policy); a theft is (thief, its ordinal in the thief's spree); a case is
its theft; a request is (case, attempt). So when a policy change stops a spree
earlier or later, every theft, parcel, report, case and answer that exists in
both runs draws the same numbers, and comparisons between policies keep their
common random numbers.

Two kinds of entity are too many for a generator each (one costs ~30 µs to
seed): notified residents and camera-hours. Their draws are counter-based: the
uniforms are a SplitMix64 hash of (seed, source, ids..., draw), vectorised with
numpy (:func:`hashed_uniforms`), so a whole fan-out or a window's camera-hours
take one call: a resident's answer to a request comes from (resident, request),
and a camera's motion clips from (camera, hour), whichever request asks.

Shared streams remain only for what is drawn once per run (porch views, resident
profiles) or for no entity (the thinning of thefts, the background cases).

The population (homes, cameras) has its own seed and streams in
:mod:`sim.core.population`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np


class Source(IntEnum):
    """Spawn keys of the model's random sources (never renumber: it changes every run)."""

    THEFTS = 1
    SPREES = 2
    REPORTS = 3
    DETECTIVES = 4
    MODERATORS = 5
    RESIDENTS = 6
    CLIPS = 7
    IDENTIFICATION = 8
    VIEWS = 9
    PROFILES = 10
    CANVASS = 11
    PACKAGES = 12
    PARCELS = 13
    FOLLOWUPS = 14
    BACKGROUND = 15
    SPREE_HOMES = 16
    REQUEST_POSTING = 17


def generator(seed: int, *key: int) -> np.random.Generator:
    """A generator for one source (and entity) of one replication's seed."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


@dataclass(frozen=True, eq=False)
class Streams:
    """One generator per shared source; per-entity generators come from :meth:`entity`."""

    seed: int
    thefts: np.random.Generator  # the thinning of thief arrivals, and nothing else
    views: np.random.Generator
    profiles: np.random.Generator
    background: np.random.Generator

    def entity(self, source: Source, *ids: int) -> np.random.Generator:
        """The generator of one entity's draws from ``source`` (ids non-negative)."""
        return generator(self.seed, source, *ids)

    def uniforms(self, source: Source, *keys: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Counter-based uniforms for many entities at once (see :func:`hashed_uniforms`)."""
        return hashed_uniforms(self.seed, source, *keys)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray[Any, np.dtype[np.uint64]]) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """SplitMix64's finaliser: a bijective, well-mixing hash of 64-bit words."""
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def hashed_uniforms(seed: int, *keys: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Uniforms in [0, 1), one per element of the broadcast ``keys`` (non-negative ints):
    the same seed and keys give the same numbers, in any order and batch."""
    with np.errstate(over="ignore"):
        h = _mix(np.asarray(seed, dtype=np.uint64) + _GOLDEN)
        for key in keys:
            h = _mix(h ^ (np.asarray(key, dtype=np.uint64) + _GOLDEN))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def motion_clip_times(
    seed: int, camera: int, first_slot: int, last_slot: int, rate_per_hour: float
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Times (minutes since the start, sorted) of the motion clips ``camera`` recorded in
    clock hours ``first_slot..last_slot``: a Poisson count per hour (by inverting its
    distribution function) at uniform times inside it, each hour from its own draws.
    Hours before the start (negative slots) have clips too: a window may begin there."""
    return motion_clip_times_many(seed, [camera], first_slot, last_slot, rate_per_hour)[0]


def motion_clip_times_many(
    seed: int, cameras: Sequence[int], first_slot: int, last_slot: int, rate_per_hour: float
) -> list[np.ndarray[Any, np.dtype[np.float64]]]:
    """:func:`motion_clip_times` of each of ``cameras`` over the same hours, drawn in one
    block: the draws are keyed by (camera, hour, clip), so each camera's times are the
    same as when drawn alone."""
    slots = np.arange(first_slot, last_slot + 1, dtype=np.int64)
    if rate_per_hour <= 0 or slots.size == 0 or not len(cameras):
        return [np.empty(0) for _ in cameras]
    keys = slots.astype(np.uint64)  # two's complement: a negative hour is a key of its own
    camera_keys = np.asarray(cameras, dtype=np.int64).astype(np.uint64)
    counts = np.searchsorted(
        _poisson_cdf(rate_per_hour),
        hashed_uniforms(seed, Source.CLIPS, camera_keys[:, None], keys[None, :], 0),
    )  # (camera, hour)
    per_camera = counts.sum(axis=1)
    if not per_camera.any():
        return [np.empty(0) for _ in cameras]
    flat = counts.ravel()
    slot_of = np.repeat(np.tile(slots, len(camera_keys)), flat)
    camera_of = np.repeat(np.repeat(camera_keys, slots.size), flat)
    draw = np.arange(slot_of.size) - np.repeat(np.cumsum(flat) - flat, flat) + 1
    u = hashed_uniforms(seed, Source.CLIPS, camera_of, slot_of.astype(np.uint64), draw)
    times = slot_of * 60.0 + u * 60.0
    ends = np.cumsum(per_camera)
    return [
        np.sort(times[end - n : end])
        for n, end in zip(per_camera.tolist(), ends.tolist(), strict=True)
    ]


def poisson_quantile(u: float, rate: float) -> int:
    """The Poisson(``rate``) count at quantile ``u`` in [0, 1) (inverse CDF): a keyed
    uniform becomes a keyed count (0 when ``rate`` is 0)."""
    if rate <= 0:
        return 0
    return int(np.searchsorted(_poisson_cdf(rate), u))


@functools.lru_cache(maxsize=16)
def _poisson_cdf(rate: float) -> np.ndarray[Any, np.dtype[np.float64]]:
    k = np.arange(0, int(rate + 12 * math.sqrt(rate) + 20))
    log_pmf = k * math.log(rate) - rate - np.array([math.lgamma(i + 1) for i in k])
    cdf = np.cumsum(np.exp(log_pmf))
    cdf[-1] = 1.0  # the tail beyond (< 1e-12) folds into the last count
    return cdf


def make_streams(seed: int) -> Streams:
    """All shared streams of one replication."""
    if seed < 0:
        raise ValueError(f"seed must be non-negative (got {seed})")
    return Streams(
        seed=seed,
        thefts=generator(seed, Source.THEFTS),
        views=generator(seed, Source.VIEWS),
        profiles=generator(seed, Source.PROFILES),
        background=generator(seed, Source.BACKGROUND),
    )
