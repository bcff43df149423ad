"""``step``: a capacity search, raising users step by step until a threshold breaks.

Starts at ``--users`` and adds ``--canvass-step-users`` every
``--canvass-step-s`` seconds, at most ``--canvass-steps`` steps. At the end of
each step the thresholds (``--canvass-slo``) are judged on that step's window
alone; the search stops at the first step that breaks one and reports the last
step that held: its users and the requests per second it sustained.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from locust import LoadTestShape

from loadtests import schedules, slo
from loadtests.shapes import environment_of, options_of, run_time_s


@dataclass
class StepResult:
    held_users: int | None = None
    held_rps: float | None = None
    broken_users: int | None = None
    breaches: list[slo.Breach] = field(default_factory=list)

    def lines(self) -> list[str]:
        held = (
            "no step held"
            if self.held_users is None
            else f"last rate that held: {self.held_rps:.1f} requests/s with {self.held_users} users"
        )
        lines = [f"step: {held}"]
        if self.broken_users is not None:
            lines.append(f"step: the step with {self.broken_users} users broke:")
            lines += [f"  {breach}" for breach in self.breaches]
        return lines


class StepShape(LoadTestShape):
    use_common_options = True

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.result = StepResult()
        self._step = 0
        self._before: dict[str, slo.Figures] | None = None

    def users_at(self, step: int) -> int:
        options = options_of(self)
        return schedules.step_users(
            step, start=int(options.num_users or 1), added=int(options.canvass_step_users)
        )

    def tick(self) -> schedules.Tick:
        environment = environment_of(self)
        options = environment.parsed_options
        step_s = float(options.canvass_step_s)
        if self._before is None:
            self._before = slo.figures_of(environment.stats)
        step = int(run_time_s(self) // step_s)
        if step > self._step:
            now = slo.figures_of(environment.stats)
            window = slo.since(now, self._before)
            users = self.users_at(self._step)
            breaches = slo.judge(window, environment.canvass_thresholds)
            if breaches:
                self.result.broken_users, self.result.breaches = users, breaches
                return None
            requests = sum(f.requests for k, f in window.items() if k not in slo.TIMED_KEYS)
            self.result.held_users, self.result.held_rps = users, requests / step_s
            self._before, self._step = now, step
            if step >= options.canvass_steps:
                return None
        users = self.users_at(step)
        return users, float(max(options.spawn_rate or 1, options.canvass_step_users))
