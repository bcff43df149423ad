"""The port through which the county model drives the reference system.

The model (processes in :mod:`sim.core.model`) never imports the system. It
calls a :class:`SystemPort`; the drivers in :mod:`sim.drivers` implement it
on the real service layer (in-process) or over HTTP. Time crosses the port
as simulation minutes since the scenario's start (``at_min``); drivers turn
it into the system's clock. Residents and cameras cross it as indices into
the generated :class:`~sim.core.population.Population` (resident index =
position in ``population.owner_homes``; camera index = position in the
camera arrays).

Every call returns plain data. Calls that the system refuses return the
reason instead of raising, because a refusal (a third request for a case, a
moderator's rejection) is an outcome the model records.

Residents' answers and opt-outs are the bulk of a county's traffic, and the
model needs no result from them at once, so a driver may *defer* them: it may
queue :meth:`SystemPort.respond` and :meth:`SystemPort.opt_out` and apply
them later, set-based, in the order given and each at its own time, but
always before it carries out any other call. Because the system does nothing
on its own between two calls (its background work runs in ``run_jobs``), the
outcome is the same as applying each one at once. An answer's verdict comes
back in its :class:`AnswerVerdict`, settled by then.

Clips cross the port as :class:`ClipSpec`: the model names each recorded clip
by its own key; the driver uploads a clip the first time it is shared and maps
evidence back to the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from sim.core.population import Population


@dataclass(frozen=True)
class Staffing:
    detectives: int
    supervisors: int
    moderators: int


@dataclass(frozen=True)
class Submitted:
    request_id: int | None  # None when refused
    refused_rule: str | None = None
    lint_flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notified:
    """Who the platform notified for a request (platform side; never the agency's view)."""

    request_id: int
    resident_indices: tuple[int, ...]


@dataclass(frozen=True)
class EvidenceSeen:
    """An evidence item as the assigned detective sees it."""

    evidence_id: int
    clip_key: int  # the driver maps it back so the model knows which clip (camera) it was
    size_bytes: int


@dataclass(frozen=True)
class ClipSpec:
    """A clip a camera recorded, as the model knows it; uploaded when first shared."""

    key: int  # the model's name for the clip, unique in a replication
    camera: int
    recorded_at_min: float
    duration_s: float
    size_bytes: int
    has_audio: bool


class AnswerVerdict:
    """Whether the system accepted an answer; settled when the driver applies it."""

    __slots__ = ("_accepted",)

    def __init__(self, accepted: bool | None = None) -> None:
        self._accepted = accepted

    def settle(self, accepted: bool) -> None:
        if self._accepted is not None:
            raise RuntimeError("an answer's verdict is settled once")
        self._accepted = accepted

    @property
    def settled(self) -> bool:
        return self._accepted is not None

    @property
    def accepted(self) -> bool:
        if self._accepted is None:
            raise RuntimeError("the driver has not applied this answer yet")
        return self._accepted


class SystemPort(Protocol):
    def setup(
        self,
        population: Population,
        *,
        staffing: Staffing,
        seed: int,
        on_platform: NDArray[np.bool_],
    ) -> None:
        """Register the agency, its officers, the platform's moderators, and the residents
        with ``on_platform`` set (one flag per resident index) with their cameras: only they
        are the platform's users, whom a request can notify. The others' cameras exist for
        the model only (the victim's own footage, canvassing)."""

    def open_case(self, *, at_min: float, detective: int, case_number: str) -> int: ...

    def submit_request(
        self,
        *,
        at_min: float,
        detective: int,
        case_id: int,
        incident_lat: float,
        incident_lon: float,
        window_start_min: float,
        window_end_min: float,
        radius_m: float,
    ) -> Submitted: ...

    def moderate(
        self, *, at_min: float, moderator: int, request_id: int, approve: bool, reason: str
    ) -> None: ...

    def run_jobs(self, *, at_min: float) -> None:
        """Run the system's due background work (fan-out, transfers, expiry) at ``at_min``."""

    def notified(self, *, request_id: int) -> Notified: ...

    def respond(
        self,
        *,
        at_min: float,
        resident: int,
        request_id: int,
        clips: tuple[ClipSpec, ...],
        share_identity: bool,
        include_audio: bool,
    ) -> AnswerVerdict:
        """A resident answers, sharing ``clips`` (uploaded first if new); none declines.
        May be deferred (see the module's notes)."""

    def opt_out(self, *, at_min: float, resident: int) -> None:
        """A resident opts out of all future requests. May be deferred."""

    def evidence(self, *, at_min: float, detective: int, case_id: int) -> tuple[EvidenceSeen, ...]:
        """The case's evidence as its detective lists it: a driver may return only the
        items delivered since its previous call for the case (the model keeps the rest)."""

    def close_request(self, *, at_min: float, detective: int, request_id: int) -> None: ...

    def flush(self) -> None:
        """Apply whatever was deferred (the model calls this at the end of a run)."""
