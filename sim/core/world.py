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

import dataclasses
import itertools
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from sim.core import records as rec
from sim.core.clips import ClipCatalogue
from sim.core.county import County
from sim.core.packed_records import PackedRecords
from sim.core.params import ModelParams
from sim.core.parcels import ParcelExposure
from sim.core.population import Population
from sim.core.ports import AnswerVerdict, SystemPort
from sim.core.staff import Staff
from sim.core.streams import Streams

Process = Generator[Any, Any, None]
"""A SimPy process: a generator of events that returns nothing."""

SETTLE_EVERY = 4096  # answers kept before the settled ones go to the log (at least)


@dataclass
class RecordLog:
    """The record sink: every table of :class:`~sim.core.records.ModelResult` but the
    utilisation, which the staff pools compute at the end; each kept packed (a
    county-year's millions of records as objects were most of a run's memory)."""

    thefts: PackedRecords[rec.TheftRecord] = field(init=False)
    reports: PackedRecords[rec.ReportRecord] = field(init=False)
    cases: PackedRecords[rec.CaseRecord] = field(init=False)
    requests: PackedRecords[rec.RequestRecord] = field(init=False)
    moderations: PackedRecords[rec.ModerationRecord] = field(init=False)
    notifications: PackedRecords[rec.NotificationRecord] = field(init=False)
    responses: PackedRecords[rec.ResponseRecord] = field(init=False)
    clip_shares: PackedRecords[rec.ClipShareRecord] = field(init=False)
    transfers: PackedRecords[rec.TransferRecord] = field(init=False)
    evidence: PackedRecords[rec.EvidenceRecord] = field(init=False)
    listings: PackedRecords[rec.EvidenceListingRecord] = field(init=False)
    usable_videos: PackedRecords[rec.UsableVideoRecord] = field(init=False)
    identifications: PackedRecords[rec.IdentificationRecord] = field(init=False)
    canvasses: PackedRecords[rec.CanvassRecord] = field(init=False)
    sprees: PackedRecords[rec.SpreeRecord] = field(init=False)
    opt_outs: PackedRecords[rec.OptOutRecord] = field(init=False)

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, PackedRecords(rec.ModelResult.record_type(name)))


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
    _settle_at: int = field(default=SETTLE_EVERY, init=False, repr=False)

    def answer(self, record: rec.ResponseRecord, verdict: AnswerVerdict, log: RecordLog) -> None:
        """Keep an answer until its verdict is known. Now and then the settled ones, oldest
        first, go to ``log`` (packed): a county-year's answers held as objects with their
        verdicts cost some 100 MB."""
        self.answers.append((record, verdict))
        if len(self.answers) >= self._settle_at:
            self.settle(log)
            self._settle_at = max(SETTLE_EVERY, 2 * len(self.answers))

    def settle(self, log: RecordLog, *, final: bool = False) -> None:
        """Move the answers whose verdict is settled, oldest first up to the first that is
        not, to ``log.responses`` with their verdicts (``final``: all of them; the driver
        must have settled every one)."""
        done = 0
        for record, verdict in self.answers:
            if not (final or verdict.settled):
                break
            log.responses.append(dataclasses.replace(record, accepted=verdict.accepted))
            done += 1
        del self.answers[:done]


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
