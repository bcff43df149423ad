"""The Canvass locustfile: every actor of the system as Locust users, over the HTTP API only.

Run it as any locustfile, headless or with the web UI, alone or as a master
with workers::

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 \\
        --canvass-credentials credentials.json

The users (one class per actor) are in ``loadtests/users/``; accounts, TOTP
secrets, device tokens and where residents live come from the credentials file
``canvass seed`` writes. ``--canvass-shape`` picks the load shape
(``loadtests/shapes/``) and ``--canvass-slo`` the thresholds judged after the
run. Nothing happens at import: the ``init`` listener reads the files and
builds the process's :class:`~loadtests.context.LoadContext`.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any

from locust import LoadTestShape, events

from loadtests import options, slo
from loadtests.context import LoadContext
from loadtests.credentials import CredentialsError, read_credentials
from loadtests.gate import county_hour_lines, slo_verdict
from loadtests.ledger import DROP_ONE_ENV, Ledger, worker_file
from loadtests.pacing import Budget
from loadtests.profile import ProfileError, read_hour
from loadtests.shapes import county_hour, options_of, spike, steady, step
from loadtests.users.camera import Camera
from loadtests.users.detective import Detective
from loadtests.users.moderator import Moderator
from loadtests.users.public import Public
from loadtests.users.resident import Resident

__all__ = ["Camera", "CanvassShape", "Detective", "Moderator", "Public", "Resident"]

# Modules, not classes: Locust takes any shape class in this module's namespace as its own.
SHAPES: dict[str, type[LoadTestShape]] = {
    "steady": steady.SteadyShape,
    "step": step.StepShape,
    "spike": spike.SpikeShape,
    "county-hour": county_hour.CountyHourShape,
}


class CanvassShape(LoadTestShape):
    """The shape ``--canvass-shape`` names; Locust allows one shape class per locustfile."""

    use_common_options = True

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.chosen: LoadTestShape | None = None

    def reset_time(self) -> None:
        super().reset_time()  # type: ignore[no-untyped-call]
        self.chosen = None

    def tick(self) -> Any:
        if self.chosen is None:
            name = options_of(self).canvass_shape
            self.chosen = SHAPES[name]()
            self.chosen.runner = self.runner
        return self.chosen.tick()


def add_arguments(parser: Any, **_: Any) -> None:
    options.add_arguments(parser)


def set_up(environment: Any, **_: Any) -> None:
    parsed = environment.parsed_options
    if parsed is None:  # run as a library, with no command line: nothing to set up
        return
    try:
        hour = read_hour(parsed.canvass_profile) if parsed.canvass_shape == "county-hour" else None
        if not parsed.worker:
            environment.canvass_thresholds = slo.read_thresholds(
                parsed.canvass_slo or slo.DEFAULT_FILE
            )
        if parsed.master:  # a master runs no users: it needs no credentials
            return
        if not parsed.canvass_credentials:
            sys.exit("--canvass-credentials FILE is required (the file `canvass seed --out` wrote)")
        credentials = read_credentials(parsed.canvass_credentials)
    except (CredentialsError, ProfileError, slo.SloFileError) as exc:
        sys.exit(str(exc))
    processes = max(1, parsed.canvass_processes)
    environment.canvass = LoadContext(
        credentials, seed=parsed.canvass_seed, processes=processes, pace=parsed.canvass_pace
    )
    environment.canvass.ledger = Ledger(drop_one=os.environ.get(DROP_ONE_ENV) or None)
    # Locust's quit event, fired once the users have stopped, carries no environment.
    environment.events.quit.add_listener(functools.partial(write_ledger, environment))
    if hour is not None:
        environment.canvass.budget = Budget(
            hour.per_minute,
            scale=hour.county_factor * parsed.canvass_counties / processes,
            speedup=parsed.canvass_speedup,
        )


def started(environment: Any, **_: Any) -> None:
    context: LoadContext | None = getattr(environment, "canvass", None)
    if context is not None:
        context.process_index = getattr(environment.runner, "worker_index", 0) or 0
        if context.budget is not None:
            context.budget.start()


def report(environment: Any, **_: Any) -> None:
    """After the run: the shape's report, then the SLO gate (exit 3 on a broken threshold)."""
    parsed = environment.parsed_options
    if parsed is None or parsed.worker:
        return
    entries = slo.figures_of(environment.stats)
    lines: list[str] = []
    exit_code = None
    chosen = getattr(environment.shape_class, "chosen", None)
    if isinstance(chosen, step.StepShape):
        lines += chosen.result.lines()
    else:
        if parsed.canvass_shape == "county-hour":
            lines += county_hour_lines(
                entries,
                read_hour(parsed.canvass_profile),
                counties=parsed.canvass_counties,
                speedup=parsed.canvass_speedup,
            )
        verdict = slo_verdict(entries, environment.canvass_thresholds)
        lines += verdict.lines
        exit_code = verdict.exit_code
    print("\n".join(lines), flush=True)  # the run's verdict, for the engineer at the terminal
    if parsed.canvass_verdict:
        written = {"held": exit_code is None, "exit_code": exit_code, "lines": lines}
        Path(parsed.canvass_verdict).write_text(json.dumps(written, indent=2) + "\n")
    if exit_code is not None:
        environment.process_exit_code = exit_code


def write_ledger(environment: Any, /, **_: Any) -> None:
    """After the users have stopped: this process's ledger, if ``--canvass-ledger`` asks."""
    parsed = environment.parsed_options
    context: LoadContext | None = getattr(environment, "canvass", None)
    if parsed is None or context is None or not parsed.canvass_ledger:
        return
    path = Path(parsed.canvass_ledger)
    if parsed.worker:
        path = worker_file(path, getattr(environment.runner, "worker_index", 0) or 0)
    context.ledger.write(path)


events.init_command_line_parser.add_listener(add_arguments)  # type: ignore[no-untyped-call]
events.init.add_listener(set_up)  # type: ignore[no-untyped-call]
events.test_start.add_listener(started)  # type: ignore[no-untyped-call]
events.quitting.add_listener(report)  # type: ignore[no-untyped-call]
