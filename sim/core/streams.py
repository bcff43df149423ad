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
numpy for a whole fan-out (:func:`hashed_uniforms`) and on Python ints for the
dozen camera-hours of a window (:func:`motion_clip_lists`), with the same values
either way: a resident's answer to a request comes from (resident, request), and
a camera's motion clips from (camera, hour), whichever request asks.

Shared streams remain only for what is drawn once per run (porch views, resident
profiles) or for no entity (the thinning of thefts, the background cases).

The population (homes, cameras) has its own seed and streams in
:mod:`sim.core.population`.
"""

from __future__ import annotations

import bisect
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


_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_GOLDEN_U64, _MIX1_U64, _MIX2_U64 = np.uint64(_GOLDEN), np.uint64(_MIX1), np.uint64(_MIX2)
_UNIT = 1.0 / (1 << 53)


def _mix(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """SplitMix64's finaliser: a bijective, well-mixing hash of 64-bit words."""
    x = (x ^ (x >> np.uint64(30))) * _MIX1_U64
    x = (x ^ (x >> np.uint64(27))) * _MIX2_U64
    mixed: np.ndarray[Any, Any] = x ^ (x >> np.uint64(31))
    return mixed


def _fold(h: int, key: int) -> int:
    """:func:`_mix` of ``h`` xor one key, on Python ints (the same 64-bit arithmetic; a
    negative key wraps as numpy's two's complement does): a key at a time costs far less
    this way than as a numpy scalar."""
    x = h ^ ((key + _GOLDEN) & _MASK)
    x = ((x ^ (x >> 30)) * _MIX1) & _MASK
    x = ((x ^ (x >> 27)) * _MIX2) & _MASK
    return x ^ (x >> 31)


@functools.lru_cache(maxsize=64)
def _seed_and_source(seed: int, source: int) -> int:
    return _fold(_fold(0, seed), source)  # the seed's own word, mixed, then the source


def hashed_uniforms(seed: int, *keys: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Uniforms in [0, 1), one per element of the broadcast ``keys`` (non-negative ints):
    the same seed and keys give the same numbers, in any order and batch.

    The hash runs on Python ints while the keys are single numbers (the seed and source
    first, cached), and on numpy arrays from the first array key on."""
    h: int | np.ndarray[Any, np.dtype[np.uint64]] = _fold(0, seed)
    for position, key in enumerate(keys):
        if np.ndim(key) == 0 and isinstance(h, int):
            h = _seed_and_source(seed, int(key)) if position == 0 else _fold(h, int(key))
        elif np.ndim(key) == 0:
            h = _mix(h ^ np.asarray((int(key) + _GOLDEN) & _MASK, dtype=np.uint64))
        else:
            key_words = np.asarray(key, dtype=np.uint64) + _GOLDEN_U64
            h = _mix(np.asarray(h, dtype=np.uint64) ^ key_words)
    if isinstance(h, int):
        return np.asarray((h >> 11) * _UNIT)
    uniforms: np.ndarray[Any, np.dtype[np.float64]] = (h >> np.uint64(11)).astype(np.float64)
    return uniforms * _UNIT


def motion_clip_lists(
    seed: int, cameras: Sequence[int], first_slot: int, last_slot: int, rate_per_hour: float
) -> list[list[float]]:
    """Times (minutes since the start, each camera's list sorted) of the motion clips
    each of ``cameras`` recorded in clock hours ``first_slot..last_slot``. An hour's count
    is the Poisson quantile of the uniform keyed (seed, clips, camera, hour, 0); its n-th
    clip falls at the uniform keyed (..., hour, n) inside the hour. So a camera's times
    are the same whichever other cameras or wider window are asked with it. Hours before
    the start (negative slots) have clips too: a window may begin there. A window holds a
    dozen camera-hours, so the hash runs on Python ints, sharing each camera's and each
    hour's prefix."""
    if rate_per_hour <= 0 or last_slot < first_slot:
        return [[] for _ in cameras]
    cdf = _poisson_cdf_list(rate_per_hour)
    base = _seed_and_source(seed, Source.CLIPS)
    out: list[list[float]] = []
    for camera in cameras:
        of_camera = _fold(base, int(camera))
        times: list[float] = []
        for slot in range(first_slot, last_slot + 1):
            # A negative hour is a key of its own: the same two's complement as numpy's.
            of_hour = _fold(of_camera, slot)
            count = bisect.bisect_left(cdf, (_fold(of_hour, 0) >> 11) * _UNIT)
            for draw in range(1, count + 1):
                times.append(slot * 60.0 + ((_fold(of_hour, draw) >> 11) * _UNIT) * 60.0)
        times.sort()
        out.append(times)
    return out


def poisson_quantile(u: float, rate: float) -> int:
    """The Poisson(``rate``) count at quantile ``u`` in [0, 1) (inverse CDF): a keyed
    uniform becomes a keyed count (0 when ``rate`` is 0)."""
    if rate <= 0:
        return 0
    return int(np.searchsorted(_poisson_cdf(rate), u))


@functools.lru_cache(maxsize=16)
def _poisson_cdf_list(rate: float) -> list[float]:
    return [float(c) for c in _poisson_cdf(rate)]


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
