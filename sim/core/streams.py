"""The one place the county model spawns its random streams.

Every stochastic source has its own generator, derived from the replication's
seed with :class:`numpy.random.SeedSequence` and a fixed spawn key per source
(``SeedSequence(seed, spawn_key=(SOURCE,))``), so adding a source never shifts
another source's numbers. Draws that belong to one entity of the world get a
generator keyed by that entity too:

* each resident's choices come from ``(RESIDENT, resident_index)``, so a
  resident answers their k-th request the same way whatever the policy did to
  other residents (common random numbers survive policy changes);
* motion clips come from ``(CLIPS, camera, hour_slot)``, so a camera recorded
  the same clips in an hour whichever request later asks for them.

The population (homes, cameras) has its own seed and streams in
:mod:`sim.core.population`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

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


def generator(seed: int, *key: int) -> np.random.Generator:
    """A generator for one source (and entity) of one replication's seed."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


@dataclass(frozen=True, eq=False)
class Streams:
    """One generator per shared source; per-entity generators come from the methods."""

    seed: int
    thefts: np.random.Generator
    sprees: np.random.Generator
    reports: np.random.Generator
    detectives: np.random.Generator
    moderators: np.random.Generator
    identification: np.random.Generator
    views: np.random.Generator
    profiles: np.random.Generator
    canvass: np.random.Generator

    def resident(self, resident: int) -> np.random.Generator:
        """The resident's own generator (same seed and index ⇒ same choices)."""
        return generator(self.seed, Source.RESIDENTS, resident)

    def motion_clips(self, camera: int, hour_slot: int) -> np.random.Generator:
        """Draws for the motion clips a camera recorded in one clock hour of the run."""
        return generator(self.seed, Source.CLIPS, camera, hour_slot)


def make_streams(seed: int) -> Streams:
    """All shared streams of one replication."""
    if seed < 0:
        raise ValueError(f"seed must be non-negative (got {seed})")
    return Streams(
        seed=seed,
        thefts=generator(seed, Source.THEFTS),
        sprees=generator(seed, Source.SPREES),
        reports=generator(seed, Source.REPORTS),
        detectives=generator(seed, Source.DETECTIVES),
        moderators=generator(seed, Source.MODERATORS),
        identification=generator(seed, Source.IDENTIFICATION),
        views=generator(seed, Source.VIEWS),
        profiles=generator(seed, Source.PROFILES),
        canvass=generator(seed, Source.CANVASS),
    )
