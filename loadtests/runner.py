"""``canvass loadtest``: seed and serve a system (or take one), run Locust, reconcile, gate, report.

Everything runs as a command line in its own process group (``canvass seed``,
``canvass serve``, ``canvass worker``, ``locust``, ``canvass report``; see
:mod:`loadtests.processes`), so this module stays a client of the system over
HTTP and processes: it imports no other part of Canvass. With ``serve`` it
seeds a small slice of Nassau into a scratch folder (SQLite with the embedded
worker, or ``database_url`` with several API processes and separate
``canvass worker`` processes), waits for ``/readyz``, snapshots ``/metrics``,
runs headless Locust with the shape (alone, or a master with workers),
scrapes ``/metrics`` and samples the served processes' memory every few
seconds into ``metrics.jsonl`` and ``memory.jsonl``, reconciles, and stops
what it started, also on Ctrl-C and on error. The results folder holds
Locust's CSVs and HTML report, ``metrics-before.json``, ``metrics.jsonl``,
``memory.jsonl``, ``reconciliation.json``, ``slo.json``, ``manifest.json``
(``"kind": "loadtest"``) and the report ``canvass report`` renders from them.
An interrupted run (Ctrl-C, SIGTERM) still writes its manifest, with
``"interrupted": true`` and what it had measured, and exits 130.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from loadtests import baseline as regressions_gate
from loadtests import memory, reconcile
from loadtests.ledger import LedgerError
from loadtests.processes import (
    SERVE_ENV,
    Processes,
    canvass,
    free_port,
    locust,
    served_system,
)
from loadtests.run_options import (
    LoadtestOptions,
    LoadtestUsageError,
    check_options,
    duration_s,
)

__all__ = ["LoadtestOptions", "LoadtestUsageError", "check_options", "run_loadtest"]

EXIT_HELD = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BROKEN = 3
EXIT_INTERRUPTED = 130
"""128 + SIGINT, as a shell reports a command stopped by Ctrl-C."""
SCRAPE_EVERY_S = 5.0
STOP_TIMEOUT_S = 10
"""Locust's ``--stop-timeout``: users finish the task they are in, so the ledger is whole."""
LOCUST_GRACE_S = 120.0
"""How long past its run time Locust may take to stop before it is killed."""


# --- the run -------------------------------------------------------------------------------


def locust_commands(
    options: LoadtestOptions, host: str, credentials: Path, out: Path
) -> list[tuple[str, list[str]]]:
    """The Locust processes to start: a lone Locust, or a master and its workers."""
    shape = ["--canvass-shape", options.shape, "--canvass-pace", f"{options.pace:g}"]
    if options.from_run is not None:
        shape += ["--canvass-profile", str(options.from_run)]
        shape += ["--canvass-speedup", f"{options.speedup:g}"]
        shape += ["--canvass-counties", f"{options.counties:g}"]
    if options.shape == "step":
        shape += ["--canvass-step-users", str(options.step_users)]
        shape += ["--canvass-step-s", f"{options.step_s:g}", "--canvass-steps", str(options.steps)]
    users = str(options.users)
    run = [
        "--headless",
        "--only-summary",
        *("-u", users, "-r", users, "--run-time", options.run_time_text()),
        *("--host", host, "--stop-timeout", str(STOP_TIMEOUT_S)),
        *("--csv", str(out / "locust"), "--html", str(out / "locust-report.html")),
        *("--canvass-ledger", str(out / "ledger.json")),
        *("--canvass-verdict", str(out / "slo.json")),
        *(["--canvass-slo", str(options.slo)] if options.slo else []),
        *shape,
        *options.locust_args,
    ]
    workers = options.locust_workers
    if not workers:
        return [("locust", locust(*run, "--canvass-credentials", str(credentials)))]
    port = free_port()
    master = locust(
        *run,
        *("--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)),
        *("--expect-workers", str(workers), "--canvass-processes", str(workers)),
    )
    worker = locust(
        *("--worker", "--master-host", "127.0.0.1", "--master-port", str(port)),
        *("--canvass-credentials", str(credentials), "--canvass-processes", str(workers)),
    )
    return [("locust-master", master)] + [("locust-worker", worker)] * workers


def drive(
    options: LoadtestOptions,
    host: str,
    credentials: Path,
    processes: Processes,
    echo: Callable[[str], None],
    watched: Sequence[tuple[str, int]] = (),
) -> dict[str, Any]:
    """Snapshot, run Locust while scraping ``/metrics`` (and sampling the memory of the
    ``watched`` system processes, by role and pid), reconcile; what the manifest records."""
    out = options.out
    before = reconcile.scrape(host, credentials)
    (out / "metrics-before.json").write_text(json.dumps(before, indent=2, sort_keys=True) + "\n")
    commands = locust_commands(options, host, credentials, out)
    started = [processes.start(name, command) for name, command in commands]
    lone = started[0]
    run_time = options.run_time_text()
    echo(f"Locust: {options.users} users, shape {options.shape}, for {run_time}")
    deadline = time.monotonic() + duration_s(run_time) + LOCUST_GRACE_S
    memory_log = (out / "memory.jsonl").open("w") if watched else None
    try:
        with (out / "metrics.jsonl").open("w") as scraped:
            while lone.poll() is None and time.monotonic() < deadline:
                if memory_log is not None:
                    memory.record(memory_log, watched)
                try:
                    snapshot = reconcile.scrape(host, credentials)
                    line = {"at_unix_s": round(time.time(), 3), **snapshot}
                    scraped.write(json.dumps(line) + "\n")
                    scraped.flush()
                except reconcile.ReconcileError as exc:
                    echo(f"a /metrics scrape failed: {exc}")
                _sleep_while(lone, SCRAPE_EVERY_S)
        if memory_log is not None:
            memory.record(memory_log, watched)  # the end of the run
    finally:
        if memory_log is not None:
            memory_log.close()
    if lone.poll() is None:
        processes.stop(started)
        raise RuntimeError(f"Locust did not finish within {LOCUST_GRACE_S:g} s of its run time")
    processes.stop(started)  # the workers, which exit after the master
    try:
        checks = reconcile.check(host, credentials, before, out / "ledger.json")
    except LedgerError as exc:
        raise RuntimeError(str(exc)) from None
    lines, reconciled = reconcile.report(checks)
    (out / "reconciliation.json").write_text(json.dumps(reconcile.as_json(checks), indent=2) + "\n")
    echo("\n".join(lines + _verdict_lines(out / "slo.json")))
    return {
        "locust_exit_code": lone.returncode,
        "slo_held": _slo_held(out / "slo.json"),
        "reconciled": reconciled == 0,
        "baseline_held": compare_with_baseline(options, echo),
    }


def compare_with_baseline(options: LoadtestOptions, echo: Callable[[str], None]) -> bool | None:
    """``--baseline``: regressions printed and written to ``baseline.json``; None without one."""
    if options.baseline is None:
        return None
    try:
        regressions = regressions_gate.compare(
            regressions_gate.read_stats(options.out),
            regressions_gate.read_stats(options.baseline),
            p95_tolerance=options.p95_tolerance,
            throughput_tolerance=options.throughput_tolerance,
        )
    except regressions_gate.BaselineError as exc:
        raise RuntimeError(str(exc)) from None
    lines = [str(r) for r in regressions] or [f"no regression against {options.baseline}"]
    echo("\n".join(lines))
    written = {
        "baseline": str(options.baseline),
        "p95_tolerance": options.p95_tolerance,
        "throughput_tolerance": options.throughput_tolerance,
        "regressions": [asdict(r) for r in regressions],
    }
    (options.out / "baseline.json").write_text(json.dumps(written, indent=2) + "\n")
    return not regressions


def _sleep_while(process: subprocess.Popen[bytes], seconds: float) -> None:
    end = time.monotonic() + seconds
    while process.poll() is None and time.monotonic() < end:
        time.sleep(0.2)


def _verdict_lines(path: Path) -> list[str]:
    """What the locustfile printed after the run: the gate's lines, a step search's result."""
    try:
        return [str(line) for line in json.loads(path.read_text()).get("lines", [])]
    except (OSError, ValueError, AttributeError):
        return []


def _slo_held(path: Path) -> bool | None:
    try:
        held = json.loads(path.read_text()).get("held")
    except (OSError, ValueError):
        return None
    return bool(held)


def exit_code_of(outcome: dict[str, Any]) -> int:
    if outcome.get("interrupted"):
        return EXIT_INTERRUPTED
    if (
        outcome["slo_held"] is False
        or not outcome["reconciled"]
        or outcome.get("baseline_held") is False
    ):
        return EXIT_BROKEN
    if outcome["locust_exit_code"] != 0 or outcome["slo_held"] is None:
        return EXIT_FAILURE
    return EXIT_HELD


def _interrupted_outcome(out: Path, processes: Processes) -> dict[str, Any]:
    """What an interrupted run had: Locust's exit status and verdict if it got that far."""
    locust_code = next(
        (p.returncode for name, p in processes.named() if name.startswith("locust")), None
    )
    return {
        "interrupted": True,
        "locust_exit_code": locust_code,
        "slo_held": _slo_held(out / "slo.json"),
        "reconciled": None,
        "baseline_held": None,
    }


def _run(
    options: LoadtestOptions, processes: Processes, scratch: Path, echo: Callable[[str], None]
) -> dict[str, Any]:
    if not options.serve:
        assert options.host is not None
        assert options.credentials is not None
        return drive(options, options.host, options.credentials, processes, echo)
    with served_system(
        database_url=options.database_url,
        api_processes=options.api_processes,
        worker_processes=options.worker_processes,
        peak_users=options.peak_users(),
        scratch=scratch,
        processes=processes,
        echo=echo,
    ) as system:
        watched = [(role, p.pid) for role, p in system.processes]
        return drive(options, system.url, system.credentials, processes, echo, watched)


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_loadtest(options: LoadtestOptions, *, echo: Callable[[str], None] = print) -> int:
    """The whole load test; returns the exit status (0 held, 3 broken, 1 failure, 130
    interrupted)."""
    check_options(options)
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    scratch = Path(tempfile.mkdtemp(prefix="canvass-loadtest-"))  # holds the secret credentials
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANVASS_")}
    env.update(SERVE_ENV, CANVASS_DATA_DIR=str(scratch / "data"))
    for name in ("CANVASS_LOADTEST_DROP_ONE",):  # the reconciliation test hook reaches Locust
        if name in os.environ:
            env[name] = os.environ[name]
    processes = Processes(out / "logs", env)
    processes.log_dir.mkdir(parents=True, exist_ok=True)
    main_thread = threading.current_thread() is threading.main_thread()
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    if main_thread:
        signal.signal(signal.SIGTERM, _raise_interrupt)
    outcome: dict[str, Any] = {}
    try:
        try:
            outcome = _run(options, processes, scratch, echo)
        except KeyboardInterrupt:
            outcome = {"interrupted": True}
        finally:
            if main_thread:  # a second Ctrl-C must not cut the clean-up short
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            processes.stop()
            shutil.rmtree(scratch, ignore_errors=True)
    finally:
        if main_thread:
            for signum, handler in zip((signal.SIGINT, signal.SIGTERM), handlers, strict=True):
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    if outcome.get("interrupted"):
        outcome = _interrupted_outcome(out, processes)
    outcome["memory"] = memory.as_json(memory.summarise(out / "memory.jsonl"))
    code = exit_code_of(outcome)
    manifest = {
        "kind": "loadtest",
        "started_at": started_at,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
        **outcome,
        "exit_code": code,
    }
    manifest["options"].pop("credentials", None)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    for summary in memory.summarise(out / "memory.jsonl"):
        echo(summary.line())
    if code == EXIT_INTERRUPTED:
        print(f"canvass: load test interrupted; partial results in {out}", file=sys.stderr)
        return code
    reported = subprocess.run(
        canvass("report", str(out)), env=env, capture_output=True, text=True, check=False
    )
    if reported.returncode == 0:
        echo(reported.stdout.strip())
    else:
        echo(f"canvass report failed: {reported.stderr.strip()[-300:]}")
    echo({0: "load test held", 1: "load test failed", 3: "load test broken"}[code] + f": {out}")
    return code
