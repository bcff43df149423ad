"""Time enters the system only through a :class:`Clock`.

The domain never reads the wall clock. Real clocks (system time, scaled time)
live in :mod:`system.adapters.clock`; :class:`ManualClock` here is pure and is
what the simulation and the tests use.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as a timezone-aware UTC datetime."""

    def now(self) -> datetime: ...


def ensure_utc(moment: datetime, *, field: str = "time") -> datetime:
    """Return ``moment`` in UTC; naive datetimes are rejected, never guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{field} must carry a timezone (got naive {moment.isoformat()})")
    return moment.astimezone(UTC)


class ManualClock:
    """A clock that moves only when told to: for simulations and time-travel tests."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start, field="start")

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        moment = ensure_utc(moment, field="moment")
        if moment < self._now:
            raise ValueError("a ManualClock never runs backwards")
        self._now = moment

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("a ManualClock never runs backwards")
        self._now += delta
        return self._now
