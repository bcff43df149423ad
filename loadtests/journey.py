"""The journey from a request to its first evidence, as one Locust entry with percentiles.

A detective's request is followed from submission through approval and the
first resident's answer to the first evidence item the detective can list; the
whole span is reported through ``events.request.fire`` with request type
``journey`` and name ``request to first evidence``, so it gets Locust's
percentiles, its CSV row and the SLO gate. Approval is what the detective reads
from the request's status; the first answer is what a resident user of this
Locust process sent (another process's residents are not seen here).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

REQUEST_TYPE = "journey"
NAME = "request to first evidence"
GIVE_UP_S = 600.0
"""A request with no evidence after this long is no longer followed (nobody shared)."""


@dataclass
class Journey:
    request_id: int
    case_id: int
    submitted: float  # time.monotonic() at submission
    approved: float | None = None
    first_answer: float | None = None


@dataclass
class Journeys:
    """Requests being followed in this Locust process, by request id."""

    open: dict[int, Journey] = field(default_factory=dict)

    def submitted(self, request_id: int, case_id: int) -> None:
        self.open[request_id] = Journey(request_id, case_id, time.monotonic())

    def approved(self, request_id: int) -> None:
        journey = self.open.get(request_id)
        if journey is not None and journey.approved is None:
            journey.approved = time.monotonic()

    def answered(self, request_id: int) -> None:
        journey = self.open.get(request_id)
        if journey is not None and journey.first_answer is None:
            journey.first_answer = time.monotonic()

    def dropped(self, request_id: int) -> None:
        """Rejected, or given up on: it will never reach evidence."""
        self.open.pop(request_id, None)

    def evidence_seen(self, request_id: int, events: Any) -> bool:
        """Report the journey (once) when its first evidence is listed; True if reported."""
        journey = self.open.pop(request_id, None)
        if journey is None:
            return False
        now = time.monotonic()

        def since(mark: float | None) -> float | None:
            return None if mark is None else round(mark - journey.submitted, 3)

        events.request.fire(
            request_type=REQUEST_TYPE,
            name=NAME,
            response_time=(now - journey.submitted) * 1000.0,
            response_length=0,
            exception=None,
            context={
                "request_id": request_id,
                "approved_after_s": since(journey.approved),
                "first_answer_after_s": since(journey.first_answer),
            },
        )
        return True

    def stale(self) -> list[int]:
        """Requests followed longer than :data:`GIVE_UP_S`."""
        limit = time.monotonic() - GIVE_UP_S
        return [rid for rid, j in self.open.items() if j.submitted < limit]
