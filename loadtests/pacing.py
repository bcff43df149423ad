"""How many of each operation the load may have done by now, when a profile sets the rates.

Locust shapes steer users, not rates. Users are paced with
``constant_throughput`` so each runs a task at a steady rate; when a shape
replays a load profile (``county-hour``), each task that is one of the
profile's operations first takes a permit from :class:`Budget`, whose permits
accrue at the profile's per-minute counts × scale, replayed ``speedup`` times
faster. Achieved counts then follow the profile as long as the users can run
tasks faster than it asks. Without a budget every task runs when paced.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Budget:
    """Permits per operation: the profile's cumulative count at the replayed minute.

    ``per_minute[op][m]`` operations happen in minute ``m`` of the profile; each
    becomes ``scale`` permits spread evenly over the replayed minute, which
    lasts ``60 / speedup`` seconds. The clock starts at :meth:`start`.
    """

    per_minute: Mapping[str, Sequence[int]]
    scale: float
    speedup: float
    started: float | None = None
    done: dict[str, int] = field(default_factory=dict)

    def start(self, at: float | None = None) -> None:
        self.started = time.monotonic() if at is None else at

    def allowed(self, operation: str, at: float | None = None) -> float:
        """Permits accrued for ``operation`` by ``at`` (monotonic seconds)."""
        counts = self.per_minute.get(operation)
        if counts is None or self.started is None:
            return 0.0
        now = time.monotonic() if at is None else at
        minutes = max(0.0, (now - self.started) * self.speedup / 60.0)
        whole = min(int(minutes), len(counts))
        total = float(sum(counts[:whole]))
        if whole < len(counts):
            total += counts[whole] * (minutes - whole)
        return total * self.scale

    def total(self, operation: str) -> int:
        """The whole replay's permits for ``operation`` (the most :meth:`take` grants)."""
        counts = self.per_minute.get(operation, ())
        return int(sum(counts) * self.scale + 1e-9)

    def caught_up(self) -> bool:
        """Every operation has used every permit of the replay: no work is left to drain."""
        return all(self.done.get(op, 0) >= self.total(op) for op in self.per_minute)

    def take(self, operation: str) -> bool:
        """One permit for ``operation``, if one has accrued; the caller then does it."""
        if operation not in self.per_minute:
            return True  # not an operation the profile paces
        if self.done.get(operation, 0) + 1 > self.allowed(operation) + 1e-9:
            return False
        self.done[operation] = self.done.get(operation, 0) + 1
        return True

    def give_back(self, operation: str) -> None:
        """The permit was not used (nothing to act on yet): it stays available."""
        if operation in self.per_minute and self.done.get(operation, 0) > 0:
            self.done[operation] -= 1
