"""Real clocks: the system's wall clock and a scaled clock for compressed time.

``CANVASS_CLOCK`` selects one: ``system`` (the default) or
``scaled:EPOCH:FACTOR``, which starts at EPOCH (ISO 8601, UTC if no offset is
given) when the process starts and runs FACTOR times faster than real time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from system.domain.clock import Clock


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ScaledClock:
    """``epoch + factor × (wall time elapsed since the reference instant)``.

    ``reference_wall`` is the wall time (seconds since the Unix epoch) at which
    the scaled timeline stood at ``epoch``. Processes that must share one
    timeline (an API and its workers) are given the same reference instant.
    """

    def __init__(self, epoch: datetime, factor: float, *, reference_wall: float) -> None:
        if factor <= 0:
            raise ValueError("a scaled clock's factor must be positive")
        self.epoch = epoch.astimezone(UTC)
        self.factor = factor
        self.reference_wall = reference_wall

    def now(self) -> datetime:
        elapsed = time.time() - self.reference_wall
        return self.epoch + timedelta(seconds=elapsed * self.factor)


class ClockSpecError(ValueError):
    """``CANVASS_CLOCK`` is malformed; the message shows the accepted forms."""


def make_clock(spec: str, *, started_at_wall: float | None = None) -> Clock:
    """Build the clock a ``CANVASS_CLOCK`` value names.

    ``started_at_wall`` is when a scaled timeline began (default: now); pass the
    same value to every process that shares the timeline.
    """
    if spec in ("", "system"):
        return SystemClock()
    if spec.startswith("scaled:"):
        body = spec.removeprefix("scaled:")
        epoch_text, sep, factor_text = body.rpartition(":")
        try:
            if not sep:
                raise ValueError
            epoch = datetime.fromisoformat(epoch_text)
            factor = float(factor_text)
        except ValueError as exc:
            raise ClockSpecError(
                f"bad clock {spec!r}: write scaled:EPOCH:FACTOR, "
                "e.g. scaled:2026-01-05T00:00:00+00:00:3600"
            ) from exc
        if epoch.tzinfo is None:
            epoch = epoch.replace(tzinfo=UTC)
        if not factor > 0:
            raise ClockSpecError(f"bad clock {spec!r}: FACTOR must be a positive number")
        wall = time.time() if started_at_wall is None else started_at_wall
        return ScaledClock(epoch, factor, reference_wall=wall)
    raise ClockSpecError(f"bad clock {spec!r}: use 'system' or 'scaled:EPOCH:FACTOR'")
