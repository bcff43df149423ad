"""``steady``: Locust's own ``--users`` at ``--spawn-rate`` for ``--run-time``, held level."""

from __future__ import annotations

from locust import LoadTestShape

from loadtests import schedules
from loadtests.shapes import options_of, run_time_s


class SteadyShape(LoadTestShape):
    use_common_options = True

    def tick(self) -> schedules.Tick:
        options = options_of(self)
        return schedules.steady(
            run_time_s(self),
            users=int(options.num_users or 1),
            spawn_rate=float(options.spawn_rate or 1),
            run_time_s=options.run_time,
        )
