"""``spike``: ``--users`` level, then ``--canvass-spike-factor`` times as many, then level again.

The run (``--run-time``, default 60 s) is split 40/20/40: the spike holds for
the middle fifth and arrives all at once, to show how the system absorbs a
burst and recovers.
"""

from __future__ import annotations

from locust import LoadTestShape

from loadtests import schedules
from loadtests.shapes import options_of, run_time_s

DEFAULT_RUN_TIME_S = 60


class SpikeShape(LoadTestShape):
    use_common_options = True

    def tick(self) -> schedules.Tick:
        options = options_of(self)
        return schedules.spike(
            run_time_s(self),
            users=int(options.num_users or 1),
            spawn_rate=float(options.spawn_rate or 1),
            run_time_s=float(options.run_time or DEFAULT_RUN_TIME_S),
            factor=float(options.canvass_spike_factor),
        )
