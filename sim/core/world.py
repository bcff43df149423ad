"""What every actor of the county model shares: the :class:`World` of one replication.

The actors' processes (in :mod:`sim.core.thefts`, :mod:`sim.core.investigations`,
:mod:`sim.core.moderation`, :mod:`sim.core.residents`, :mod:`sim.core.evidence` and
:mod:`sim.core.canvassing`) are generator functions that take the world as their
first argument, in the manner of SimPy's own examples. The world holds the
environment, the parameters, the population and its county view, the random
streams, the staff pools, the port to the system and the record sink, plus the
few registries more than one actor reads (the sprees going on, the thieves
arrested, the clips recorded, the residents' running counts, the platform
worker's next run). Time is minutes since the scenario's start; t = 0 is midnight.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from sim.core import records as rec
from sim.core.clips import ClipCatalogue
from sim.core.county import County
from sim.core.params import ModelParams
from sim.core.parcels import ParcelExposure
from sim.core.population import Population
from sim.core.ports import AnswerVerdict, SystemPort
from sim.core.staff import Staff
from sim.core.streams import Streams

Process = Generator[Any, Any, None]
"""A SimPy process: a generator of events that returns nothing."""


@dataclass
class RecordLog:
    """The record sink: every table of :class:`~sim.core.records.ModelResult` but the
    utilisation, which the staff pools compute at the end."""

    thefts: list[rec.TheftRecord] = field(default_factory=list)
    reports: list[rec.ReportRecord] = field(default_factory=list)
    cases: list[rec.CaseRecord] = field(default_factory=list)
    requests: list[rec.RequestRecord] = field(default_factory=list)
    moderations: list[rec.ModerationRecord] = field(default_factory=list)
    notifications: list[rec.NotificationRecord] = field(default_factory=list)
    responses: list[rec.ResponseRecord] = field(default_factory=list)
    clip_shares: list[rec.ClipShareRecord] = field(default_factory=list)
    transfers: list[rec.TransferRecord] = field(default_factory=list)
    evidence: list[rec.EvidenceRecord] = field(default_factory=list)
    listings: list[rec.EvidenceListingRecord] = field(default_factory=list)
    usable_videos: list[rec.UsableVideoRecord] = field(default_factory=list)
    identifications: list[rec.IdentificationRecord] = field(default_factory=list)
    canvasses: list[rec.CanvassRecord] = field(default_factory=list)
    sprees: list[rec.SpreeRecord] = field(default_factory=list)
    opt_outs: list[rec.OptOutRecord] = field(default_factory=list)


@dataclass
class Spree:
    """A thief's spree as it goes on (its record is written when it ends)."""

    thief_id: int
    started_at_min: float
    planned: int
    in_slice: bool  # its first theft was in the slice a scaled run counts
    committed: int = 1
    process: Any = None  # the SimPy process an arrest interrupts


@dataclass
class ResidentBook:
    """The residents' running state: requests received, opted out, answers sent.

    ``answers`` pairs each answer's record with the system's verdict, which a driver
    may settle later (it defers answers); the records are completed at the end.
    """

    requests_received: np.ndarray[Any, np.dtype[np.int64]]
    opted_out: np.ndarray[Any, np.dtype[np.bool_]]
    answers: list[tuple[rec.ResponseRecord, AnswerVerdict]] = field(default_factory=list)


@dataclass
class WorkerState:
    """The platform's job worker as the model sees it: uploads that finished since its
    last run, and the event its next run succeeds."""

    ran: simpy.Event
    uploads_waiting: int = 0


@dataclass(eq=False)
class World:
    """One replication's shared state (built by :class:`sim.core.model.CountyModel`)."""

    env: simpy.Environment
    params: ModelParams
    population: Population
    seed: int
    streams: Streams
    county: County
    parcels: ParcelExposure
    detectives: Staff
    moderators: Staff
    port: SystemPort
    clips: ClipCatalogue
    residents: ResidentBook
    worker: WorkerState
    log: RecordLog = field(default_factory=RecordLog)
    sprees: dict[int, Spree] = field(default_factory=dict)
    arrested: set[int] = field(default_factory=set)
    thief_ids: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def now(self) -> float:
        """The simulated time, in minutes since the start."""
        return float(self.env.now)

    def arrest(self, thief: int) -> None:
        """The thief is arrested: a spree still going on ends at once (the interrupt)."""
        if thief in self.arrested:
            return
        self.arrested.add(thief)
        spree = self.sprees.get(thief)
        if spree is not None and spree.process.is_alive:
            spree.process.interrupt("arrest")
