"""What ``canvass loadtest`` is asked to do, and the input that cannot make a run.

:class:`LoadtestOptions` mirrors the command line; :func:`check_options`
raises :class:`LoadtestUsageError` (one line, exit status 2) for a
combination that cannot run, before anything is started.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from loadtests import baseline as regressions_gate
from loadtests.profile import ProfileError, read_hour
from loadtests.schedules import REPLAY_DRAIN_S

DEFAULT_RUN_TIME = "30s"
STEP_MARGIN_S = 2.0
"""Run time past a shape's own end (a step search's last step, so that step is judged; a
replayed hour's longest drain), so the shape, not Locust's clock, ends the run."""
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")


class LoadtestUsageError(ValueError):
    """Bad input: said in one line, exit status 2."""


@dataclass(frozen=True)
class LoadtestOptions:
    out: Path
    shape: str = "steady"
    users: int = 6
    run_time: str | None = None
    """None: 30 s; a step search's or a replayed hour's own length; a soak's duration."""
    host: str | None = None
    credentials: Path | None = None
    serve: bool = False
    database_url: str | None = None
    api_processes: int = 1
    worker_processes: int = 0
    locust_workers: int = 0
    slo: Path | None = None
    from_run: Path | None = None
    speedup: float = 1.0
    counties: float = 1.0
    pace: float = 1.0
    step_users: int = 4
    step_s: float = 20.0
    steps: int = 10
    soak: str | None = None
    baseline: Path | None = None
    p95_tolerance: float = regressions_gate.P95_TOLERANCE
    throughput_tolerance: float = regressions_gate.THROUGHPUT_TOLERANCE
    locust_args: tuple[str, ...] = field(default_factory=tuple)

    def run_time_text(self) -> str:
        """Locust's ``--run-time``: what was given, else the soak's, the step search's, the
        replayed hour's with its longest drain, or 30 s."""
        if self.soak is not None:
            return self.soak
        if self.run_time is not None:
            return self.run_time
        if self.shape == "step":
            return f"{self.steps * self.step_s + STEP_MARGIN_S:g}s"
        if self.shape == "county-hour" and self.from_run is not None:
            replay_s = read_hour(self.from_run).minutes * 60.0 / self.speedup
            return f"{math.ceil(replay_s + REPLAY_DRAIN_S + STEP_MARGIN_S)}s"
        return DEFAULT_RUN_TIME

    def peak_users(self) -> int:
        """The most users the shape asks for at once (a step search's last step)."""
        if self.shape == "step":
            return self.users + self.steps * self.step_users
        return self.users


def duration_s(text: str, option: str = "--run-time") -> float:
    """``30s``, ``2m``, ``1h`` or plain seconds."""
    match = _DURATION.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise LoadtestUsageError(f"{option} {text!r}: give a duration, e.g. 30s, 2m or 1h")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]


def check_options(options: LoadtestOptions) -> None:
    """Raise :class:`LoadtestUsageError` for input that cannot make a run."""
    if options.serve == (options.host is not None):
        raise LoadtestUsageError("give exactly one of --serve or --host URL")
    if options.host is not None and options.credentials is None:
        raise LoadtestUsageError("--host needs --credentials FILE (what `canvass seed` wrote)")
    if options.credentials is not None and not options.credentials.is_file():
        raise LoadtestUsageError(f"--credentials {options.credentials}: no such file")
    check_served(options)
    if options.shape == "county-hour" and options.from_run is None:
        raise LoadtestUsageError("--shape county-hour needs --from-run RUN_DIR")
    if options.from_run is not None and not options.from_run.exists():
        raise LoadtestUsageError(f"--from-run {options.from_run}: no such run folder")
    if options.from_run is not None:
        try:
            read_hour(options.from_run)
        except ProfileError as exc:
            raise LoadtestUsageError(f"--from-run {exc}") from None
    if options.slo is not None and not options.slo.is_file():
        raise LoadtestUsageError(f"--slo {options.slo}: no such file")
    if (
        options.baseline is not None
        and not (options.baseline / regressions_gate.STATS_FILE).is_file()
    ):
        raise LoadtestUsageError(
            f"--baseline {options.baseline}: no {regressions_gate.STATS_FILE} "
            "(give a results folder)"
        )
    if options.users < 1:
        raise LoadtestUsageError("--users must be at least 1")
    if options.soak is not None:
        if options.run_time is not None:
            raise LoadtestUsageError("give --soak DURATION or --run-time, not both")
        if options.shape != "steady":
            raise LoadtestUsageError("--soak runs the steady shape: leave out --shape")
        duration_s(options.soak, "--soak")
    if options.out.exists() and any(options.out.iterdir()):
        raise LoadtestUsageError(f"--out {options.out}: not empty (give a new or empty folder)")
    duration_s(options.run_time_text())


def check_served(options: LoadtestOptions) -> None:
    """The options that shape the served system (``--serve``) only."""
    served_only = (
        ("--database-url", options.database_url is not None),
        ("--api-processes", options.api_processes != 1),
        ("--worker-processes", options.worker_processes != 0),
    )
    given = [name for name, set_ in served_only if set_]
    if given and not options.serve:
        raise LoadtestUsageError(f"{given[0]} is for --serve (a system the load test starts)")
    if options.api_processes < 1:
        raise LoadtestUsageError("--api-processes must be at least 1")
    if options.api_processes > 1 and not options.database_url:
        raise LoadtestUsageError(
            "--api-processes above 1 needs --database-url (PostgreSQL): "
            "SQLite is served by one process"
        )
    if options.worker_processes and not options.database_url:
        raise LoadtestUsageError("--worker-processes needs --database-url (PostgreSQL)")
