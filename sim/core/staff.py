"""A pool of staff (detectives, moderators): a SimPy resource plus who is on duty.

``request()`` queues for any free member (FIFO); inside ``on_duty()`` the process
holds a member's index (the identity the port knows them by) and the pool's
busy-time integral advances, so utilisation is time-weighted:
``busy_minutes = ∫ busy(t) dt`` over the run and ``utilisation = busy_minutes /
(capacity × horizon)``, in [0, 1] by construction. Work for the slice a scaled run
counts is integrated apart too (``on_duty(for_slice=True)``). A pool of zero staff has no
resource; callers check :attr:`capacity` first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import simpy

from sim.core.records import UtilisationRecord


class Staff:
    def __init__(self, env: simpy.Environment, name: str, capacity: int) -> None:
        self.env = env
        self.name = name
        self.capacity = capacity
        self._resource = simpy.Resource(env, capacity=capacity) if capacity > 0 else None
        self._free = list(range(capacity - 1, -1, -1))  # pop() gives the lowest index
        self._busy = 0
        self._busy_area = 0.0
        self._slice_busy = 0
        self._slice_busy_area = 0.0
        self.simulated_minutes = 0.0  # finished sittings of simulated (not background) work
        self.case_work_minutes = 0.0  # of which the case work drawn (the rest: drafting etc.)
        self._last_change = 0.0

    def request(self) -> Any:
        """A request event for one member (use as ``with staff.request() as req: yield req``)."""
        if self._resource is None:
            raise RuntimeError(f"{self.name}: no staff to request")
        return self._resource.request()

    @property
    def queue_length(self) -> int:
        return len(self._resource.queue) if self._resource is not None else 0

    @contextmanager
    def on_duty(self, *, for_slice: bool = True, background: bool = False) -> Iterator[int]:
        """The member now busy (their index); the busy-time integrals follow. Sittings
        that are not ``background`` add to :attr:`simulated_minutes` when they end."""
        member = self._free.pop()
        started = float(self.env.now)
        self._change(+1, for_slice)
        try:
            yield member
        finally:
            self._change(-1, for_slice)
            self._free.append(member)
            if not background:
                self.simulated_minutes += float(self.env.now) - started

    def _change(self, delta: int, for_slice: bool) -> None:
        now = float(self.env.now)
        self._busy_area += self._busy * (now - self._last_change)
        self._slice_busy_area += self._slice_busy * (now - self._last_change)
        self._last_change = now
        self._busy += delta
        self._slice_busy += delta if for_slice else 0

    def utilisation(self, horizon_min: float) -> UtilisationRecord:
        """Time-weighted use over [0, horizon_min]; members still busy count to the end."""
        left = horizon_min - self._last_change
        busy_minutes = self._busy_area + self._busy * left
        available = self.capacity * horizon_min
        return UtilisationRecord(
            resource=self.name,
            capacity=self.capacity,
            horizon_min=horizon_min,
            busy_minutes=busy_minutes,
            utilisation=busy_minutes / available if available > 0 else 0.0,
            slice_busy_minutes=self._slice_busy_area + self._slice_busy * left,
        )
