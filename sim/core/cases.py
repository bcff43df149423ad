"""A followed-up case and its platform requests, as they develop.

These are the model's working state (mutable, unlike the records they produce):
the actors of :mod:`sim.core.investigations`, :mod:`sim.core.moderation`,
:mod:`sim.core.residents` and :mod:`sim.core.evidence` pass them along.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.core import records as rec
from sim.core.streams import Source, Streams


@dataclass
class Case:
    """A followed-up case as it develops (mutable; its records are immutable)."""

    case_id: int
    theft: rec.TheftRecord
    reported_at_min: float
    system_case_id: int = -1
    detective: int = -1
    with_detective: bool = True  # the opening hold is not over yet
    open_requests: int = 0  # published requests not yet expired (and follow-ups decided)
    requests_drafted: int = 0
    asked: tuple[float, float] | None = None  # the span every window so far asked for
    pending_transfers: int = 0  # shares on their way to evidence review
    evidence_seen: set[int] = field(default_factory=set)
    arrived_at: dict[int, float] = field(default_factory=dict)  # clip key -> delivered (min)
    next_review: Any = None  # a review still waiting for a detective: new evidence joins it
    review_min_used: float = 0.0
    usable: bool = False
    decided: bool = False  # the identification attempt has been made
    _streams: dict[Source, np.random.Generator] = field(default_factory=dict)

    @property
    def window_centre_min(self) -> float:
        """The centre of the window requests are placed on: the middle of the parcel's time
        on the porch as the victim reports it (the detective's best guess of the theft time)."""
        return (self.theft.delivered_at_min + self.theft.discovered_at_min) / 2

    def stream(self, streams: Streams, source: Source) -> np.random.Generator:
        """The case's own generator for ``source``, keyed by its theft (made on first use)."""
        rng = self._streams.get(source)
        if rng is None:
            theft = self.theft
            rng = self._streams[source] = streams.entity(source, theft.thief_id, theft.ordinal)
        return rng


@dataclass(frozen=True)
class Request:
    """A published request: its area, its window, and the cameras inside the area whose
    view covers the case's porch (none if the window misses the theft)."""

    request_id: int
    case: Case
    lat: float
    lon: float
    radius_m: float
    window_start_min: float
    window_end_min: float
    witnesses: frozenset[int]
    attempt: int  # 1 for the case's first request, 2 for a follow-up
