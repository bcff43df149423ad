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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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
    source_clip_id: int  # the driver maps it back so the model knows which camera it was
    size_bytes: int


class SystemPort(Protocol):
    def setup(self, population: Population, *, staffing: Staffing, seed: int) -> None:
        """Register the agency, its officers, the platform's moderators, residents and cameras."""

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

    def upload_clip(
        self,
        *,
        at_min: float,
        camera: int,
        recorded_at_min: float,
        duration_s: float,
        size_bytes: int,
        has_audio: bool,
    ) -> int:
        """A camera uploads a clip (materialised only when a resident is about to share it)."""

    def respond(
        self,
        *,
        at_min: float,
        resident: int,
        request_id: int,
        clip_ids: tuple[int, ...],
        share_identity: bool,
        include_audio: bool,
    ) -> bool:
        """A resident answers; an empty ``clip_ids`` declines. False if the system refused."""

    def opt_out(self, *, at_min: float, resident: int) -> None: ...

    def evidence(
        self, *, at_min: float, detective: int, case_id: int
    ) -> tuple[EvidenceSeen, ...]: ...

    def close_request(self, *, at_min: float, detective: int, request_id: int) -> None: ...
