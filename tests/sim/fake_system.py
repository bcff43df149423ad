"""An in-memory :class:`~sim.core.ports.SystemPort` for fast unit tests of the model.

It keeps the rules the model relies on and nothing else: requests need a case
and an area of 0.025-0.5 sq mi; approval fans out (at the next ``run_jobs``) to
exactly the camera owners with a camera inside the circle who have not opted
out; answers are accepted once per notified resident while the request is
active; shared clips become evidence for the case at the next ``run_jobs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from sim.core.geography import haversine_m
from sim.core.population import Population
from sim.core.ports import AnswerVerdict, ClipSpec, EvidenceSeen, Notified, Staffing, Submitted

RADIUS_MIN_M, RADIUS_MAX_M = 143.6, 642.1


@dataclass
class _FakeRequest:
    case_id: int
    lat: float
    lon: float
    radius_m: float
    status: str = "in_review"
    notified: tuple[int, ...] = ()
    answered: set[int] = field(default_factory=set)


class FakeSystem:
    def __init__(self) -> None:
        self.requests: dict[int, _FakeRequest] = {}
        self.cases: dict[int, int] = {}  # case -> detective
        self.clips: dict[int, tuple[int, int]] = {}  # clip key -> (camera, size)
        self.evidence_by_case: dict[int, list[EvidenceSeen]] = {}
        self.pending_transfers: list[tuple[int, int]] = []  # (case, clip)
        self.opted_out: set[int] = set()
        self.jobs_run = 0
        self._camera_owner = np.empty(0, dtype=np.int64)
        self._population: Population | None = None
        self.on_platform: NDArray[np.bool_] = np.empty(0, dtype=np.bool_)

    def setup(
        self,
        population: Population,
        *,
        staffing: Staffing,
        seed: int,
        on_platform: NDArray[np.bool_],
    ) -> None:
        self._population = population
        self._camera_owner = np.searchsorted(population.owner_homes, population.camera_home)
        self.on_platform = on_platform
        self.staffing = staffing

    def open_case(self, *, at_min: float, detective: int, case_number: str) -> int:
        case_id = len(self.cases) + 1
        self.cases[case_id] = detective
        return case_id

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
    ) -> Submitted:
        if case_id not in self.cases:
            return Submitted(None, "REQ-05")
        if not RADIUS_MIN_M <= radius_m <= RADIUS_MAX_M:
            return Submitted(None, "REQ-03")
        if not (15 <= window_end_min - window_start_min <= 720 and window_end_min <= at_min):
            return Submitted(None, "REQ-02")
        request_id = len(self.requests) + 1
        self.requests[request_id] = _FakeRequest(case_id, incident_lat, incident_lon, radius_m)
        return Submitted(request_id)

    def moderate(
        self, *, at_min: float, moderator: int, request_id: int, approve: bool, reason: str
    ) -> None:
        self.requests[request_id].status = "approved" if approve else "rejected"

    def run_jobs(self, *, at_min: float) -> None:
        self.jobs_run += 1
        assert self._population is not None
        pop = self._population
        for request in self.requests.values():
            if request.status == "approved":
                distance = haversine_m(request.lat, request.lon, pop.camera_lat, pop.camera_lon)
                owners = np.unique(self._camera_owner[distance <= request.radius_m]).tolist()
                request.notified = tuple(
                    r for r in owners if r not in self.opted_out and self.on_platform[r]
                )
                request.status = "active"
        for case_id, clip_id in self.pending_transfers:
            items = self.evidence_by_case.setdefault(case_id, [])
            items.append(EvidenceSeen(len(items) + 1000 * case_id, clip_id, self.clips[clip_id][1]))
        self.pending_transfers.clear()

    def notified(self, *, request_id: int) -> Notified:
        return Notified(request_id, self.requests[request_id].notified)

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
        request = self.requests[request_id]
        accepted = (
            request.status == "active"
            and resident in request.notified
            and resident not in request.answered
        )
        if accepted:
            request.answered.add(resident)
            for spec in clips:
                assert self._camera_owner[spec.camera] == resident, "residents share own clips"
                self.clips[spec.key] = (spec.camera, spec.size_bytes)
                self.pending_transfers.append((request.case_id, spec.key))
        return AnswerVerdict(accepted)

    def opt_out(self, *, at_min: float, resident: int) -> None:
        self.opted_out.add(resident)

    def evidence(self, *, at_min: float, detective: int, case_id: int) -> tuple[EvidenceSeen, ...]:
        assert self.cases[case_id] == detective, "evidence only for the case's detective"
        return tuple(self.evidence_by_case.get(case_id, ()))

    def close_request(self, *, at_min: float, detective: int, request_id: int) -> None:
        self.requests[request_id].status = "closed"

    def flush(self) -> None:
        return None  # nothing is deferred
