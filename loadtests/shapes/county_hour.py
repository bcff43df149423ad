"""``county-hour``: a simulated county's busiest hour, replayed ``--canvass-speedup`` times faster.

The hour comes from ``--canvass-profile`` (a run folder's ``load_profile.json``)
and is scaled to ``--canvass-counties`` counties. Users (``--users``, paced
with ``constant_throughput`` at ``--canvass-pace`` times their own rate) run
for the replayed hour, then drain for at most
:data:`~loadtests.schedules.REPLAY_DRAIN_S`; each operation's task takes a
permit from the process's :class:`~loadtests.pacing.Budget`, so each
operation's rate is the profile's per-minute count × counties × speedup. The
drain ends as soon as every permit is used; a master (``--canvass-processes``)
sees no workers' budgets and waits it out.
"""

from __future__ import annotations

from locust import LoadTestShape

from loadtests import schedules
from loadtests.profile import read_hour
from loadtests.shapes import environment_of, options_of, run_time_s


class CountyHourShape(LoadTestShape):
    use_common_options = True

    def tick(self) -> schedules.Tick:
        options = options_of(self)
        if not hasattr(self, "replay_s"):
            hour = read_hour(options.canvass_profile)
            self.replay_s = hour.minutes * 60.0 / options.canvass_speedup
        users = int(options.num_users or 1)
        return schedules.replay(
            run_time_s(self),
            users=users,
            spawn_rate=float(options.spawn_rate or users),
            replay_s=self.replay_s,
            drain_s=schedules.REPLAY_DRAIN_S,
            caught_up=self.caught_up(),
        )

    def caught_up(self) -> bool:
        context = getattr(environment_of(self), "canvass", None)
        budget = getattr(context, "budget", None)
        return budget is not None and budget.caught_up()
