"""How many users the shapes ask for, as pure functions of elapsed time (no Locust here).

Each returns ``(users, spawn_rate)`` or ``None`` when the run is over, the
tuple a ``LoadTestShape.tick`` returns; the shapes in ``loadtests/shapes/``
read their options and call these.
"""

from __future__ import annotations

Tick = tuple[int, float] | None

REPLAY_DRAIN_S = 30.0
"""After a replayed hour, at most: time for operations waiting on earlier ones (a
decision on the last request, an answer to the last notification) to catch up; no new
permits. A slow server needs most of it; on a quick one the run ends seconds in."""

SPIKE_FROM = 0.4
SPIKE_TO = 0.6
"""The spike holds from 40% to 60% of the run."""


def steady(elapsed_s: float, *, users: int, spawn_rate: float, run_time_s: float | None) -> Tick:
    if run_time_s and elapsed_s >= run_time_s:
        return None
    return users, spawn_rate


def spike(
    elapsed_s: float, *, users: int, spawn_rate: float, run_time_s: float, factor: float
) -> Tick:
    if elapsed_s >= run_time_s:
        return None
    if SPIKE_FROM * run_time_s <= elapsed_s < SPIKE_TO * run_time_s:
        peak = max(users + 1, round(users * factor))
        return peak, float(peak)  # all at once: that is the spike
    return users, max(spawn_rate, float(users))


def step_users(step: int, *, start: int, added: int) -> int:
    """Users during step ``step`` (0 first) of a capacity search."""
    return start + step * added


def replay(
    elapsed_s: float,
    *,
    users: int,
    spawn_rate: float,
    replay_s: float,
    drain_s: float,
    caught_up: bool = False,
) -> Tick:
    """A replayed hour of ``replay_s`` seconds, then up to ``drain_s`` for lagging operations.

    The drain ends early once ``caught_up`` (every permit of the replay used)."""
    if elapsed_s >= replay_s + drain_s or (elapsed_s >= replay_s and caught_up):
        return None
    return users, spawn_rate
