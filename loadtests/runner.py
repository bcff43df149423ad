"""``canvass loadtest``: seed and serve a system (or take one), run Locust, reconcile, gate, report.

Everything runs as a command line in its own process group (``canvass seed``,
``canvass serve``, ``canvass worker``, ``locust``, ``canvass report``), so this
module stays a client of the system over HTTP and processes: it imports no
other part of Canvass. With ``serve`` it seeds a small slice of Nassau into a
scratch folder (SQLite with the embedded worker, or ``database_url`` with
separate ``canvass worker`` processes), waits for ``/readyz``, snapshots
``/metrics``, runs headless Locust with the shape (alone, or a master with
workers), scrapes ``/metrics`` every few seconds into ``metrics.jsonl``,
reconciles, and stops what it started, also on Ctrl-C and on error. The
results folder holds Locust's CSVs and HTML report, ``metrics-before.json``,
``metrics.jsonl``, ``reconciliation.json``, ``slo.json``, ``manifest.json``
(``"kind": "loadtest"``) and the report ``canvass report`` renders from them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loadtests import baseline as regressions_gate
from loadtests import reconcile
from loadtests.ledger import LedgerError

EXIT_HELD = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BROKEN = 3
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
READY_TIMEOUT_S = 90.0
SEED_TIMEOUT_S = 300.0
SCRAPE_EVERY_S = 5.0
STOP_TIMEOUT_S = 10
"""Locust's ``--stop-timeout``: users finish the task they are in, so the ledger is whole."""
LOCUST_GRACE_S = 120.0
"""How long past its run time Locust may take to stop before it is killed."""
GRACE_S = 15.0
SEED_ARGS = ("--homes", "300", "--resident-accounts", "24", "--device-tokens", "40")
SERVE_ENV = {"CANVASS_AGENCY_DAILY_REQUEST_QUOTA": "100000"}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")


class LoadtestUsageError(ValueError):
    """Bad input: said in one line, exit status 2."""


@dataclass(frozen=True)
class LoadtestOptions:
    out: Path
    shape: str = "steady"
    users: int = 6
    run_time: str = "30s"
    host: str | None = None
    credentials: Path | None = None
    serve: bool = False
    database_url: str | None = None
    worker_processes: int = 0
    locust_workers: int = 0
    slo: Path | None = None
    from_run: Path | None = None
    speedup: float = 1.0
    counties: float = 1.0
    pace: float = 1.0
    baseline: Path | None = None
    p95_tolerance: float = regressions_gate.P95_TOLERANCE
    throughput_tolerance: float = regressions_gate.THROUGHPUT_TOLERANCE
    locust_args: tuple[str, ...] = field(default_factory=tuple)


def duration_s(text: str) -> float:
    """``30s``, ``2m``, ``1h`` or plain seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise LoadtestUsageError(f"--run-time {text!r}: give seconds, e.g. 30s, 2m or 1h")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]


def check_options(options: LoadtestOptions) -> None:
    """Raise :class:`LoadtestUsageError` for input that cannot make a run."""
    if options.serve == (options.host is not None):
        raise LoadtestUsageError("give exactly one of --serve or --host URL")
    if options.host is not None and options.credentials is None:
        raise LoadtestUsageError("--host needs --credentials FILE (what `canvass seed` wrote)")
    if options.credentials is not None and not options.credentials.is_file():
        raise LoadtestUsageError(f"--credentials {options.credentials}: no such file")
    if options.serve and options.worker_processes and not options.database_url:
        raise LoadtestUsageError("--worker-processes needs --database-url (PostgreSQL)")
    if options.shape == "county-hour" and options.from_run is None:
        raise LoadtestUsageError("--shape county-hour needs --from-run RUN_DIR")
    if options.from_run is not None and not options.from_run.exists():
        raise LoadtestUsageError(f"--from-run {options.from_run}: no such run folder")
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
    if options.out.exists() and any(options.out.iterdir()):
        raise LoadtestUsageError(f"--out {options.out}: not empty (give a new or empty folder)")
    duration_s(options.run_time)


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def canvass(*args: str) -> list[str]:
    return [sys.executable, "-m", "canvass", *args]


def locust(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args]


@dataclass
class Processes:
    """Processes started here, each in its own process group, logged to ``log_dir``."""

    log_dir: Path
    env: dict[str, str]
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, command: Sequence[str]) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{len(self.started)}-{name}.log").open("wb") as log:
            process = subprocess.Popen(
                list(command),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)
        return process

    def stop(self, processes: Sequence[subprocess.Popen[bytes]] | None = None) -> None:
        """SIGTERM each group, then SIGKILL whatever is alive after :data:`GRACE_S`."""
        chosen = list(self.started if processes is None else processes)
        for process in chosen:
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        for process in chosen:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=5)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def wait_ready(url: str, processes: Sequence[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a server process exited during start-up; see results logs/")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2.0) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready within {READY_TIMEOUT_S:g} s")


@contextmanager
def served_system(
    options: LoadtestOptions, scratch: Path, processes: Processes, echo: Callable[[str], None]
) -> Iterator[tuple[str, Path]]:
    """Seed and serve a system; yields its URL and the credentials file; always stops it."""
    url = options.database_url or f"sqlite:///{scratch / 'canvass.db'}"
    credentials = scratch / "credentials.json"
    echo("seeding a 300-home slice of Nassau")
    seeded = subprocess.run(
        canvass("seed", *SEED_ARGS, "--database-url", url, "--out", str(credentials)),
        env=processes.env,
        cwd=scratch,
        capture_output=True,
        timeout=SEED_TIMEOUT_S,
        check=False,
    )
    (processes.log_dir / "seed.log").write_bytes(seeded.stdout + seeded.stderr)
    if seeded.returncode != 0:
        raise RuntimeError(f"canvass seed failed: {seeded.stderr.decode()[-300:].strip()}")
    port = free_port()
    separate = options.worker_processes > 0
    serve = ["serve", "--port", str(port), "--database-url", url, "--no-migrate"]
    system = [processes.start("serve", canvass(*serve, *(["--no-worker"] if separate else [])))]
    for _ in range(options.worker_processes):
        system.append(
            processes.start(
                "worker", canvass("worker", "--database-url", url, "--concurrency", "1")
            )
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, system)
        echo(f"serving on {base}")
        yield base, credentials
    finally:
        processes.stop(system)


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
    run = [
        "--headless",
        "--only-summary",
        *("-u", str(options.users), "-r", str(options.users), "--run-time", options.run_time),
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
) -> dict[str, Any]:
    """Snapshot, run Locust while scraping ``/metrics``, reconcile; what the manifest records."""
    out = options.out
    before = reconcile.scrape(host, credentials)
    (out / "metrics-before.json").write_text(json.dumps(before, indent=2, sort_keys=True) + "\n")
    commands = locust_commands(options, host, credentials, out)
    started = [processes.start(name, command) for name, command in commands]
    lone = started[0]
    echo(f"Locust: {options.users} users, shape {options.shape}, for {options.run_time}")
    deadline = time.monotonic() + duration_s(options.run_time) + LOCUST_GRACE_S
    with (out / "metrics.jsonl").open("w") as scraped:
        while lone.poll() is None and time.monotonic() < deadline:
            try:
                snapshot = reconcile.scrape(host, credentials)
                scraped.write(json.dumps({"at_unix_s": round(time.time(), 3), **snapshot}) + "\n")
                scraped.flush()
            except reconcile.ReconcileError as exc:
                echo(f"a /metrics scrape failed: {exc}")
            _sleep_while(lone, SCRAPE_EVERY_S)
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
    echo("\n".join(lines))
    slo_held = _slo_held(out / "slo.json")
    return {
        "locust_exit_code": lone.returncode,
        "slo_held": slo_held,
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


def _slo_held(path: Path) -> bool | None:
    try:
        held = json.loads(path.read_text()).get("held")
    except (OSError, ValueError):
        return None
    return bool(held)


def exit_code_of(outcome: dict[str, Any]) -> int:
    if (
        outcome["slo_held"] is False
        or not outcome["reconciled"]
        or outcome.get("baseline_held") is False
    ):
        return EXIT_BROKEN
    if outcome["locust_exit_code"] != 0 or outcome["slo_held"] is None:
        return EXIT_FAILURE
    return EXIT_HELD


def run_loadtest(options: LoadtestOptions, *, echo: Callable[[str], None] = print) -> int:
    """The whole load test; returns the exit status (0 held, 3 broken, 1 failure)."""
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
    outcome: dict[str, Any] = {}
    try:
        if options.serve:
            with served_system(options, scratch, processes, echo) as (host, credentials):
                outcome = drive(options, host, credentials, processes, echo)
        else:
            assert options.host is not None
            assert options.credentials is not None
            outcome = drive(options, options.host, options.credentials, processes, echo)
    finally:
        processes.stop()
        shutil.rmtree(scratch, ignore_errors=True)
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
    reported = subprocess.run(
        canvass("report", str(out)), env=env, capture_output=True, text=True, check=False
    )
    if reported.returncode == 0:
        echo(reported.stdout.strip())
    else:
        echo(f"canvass report failed: {reported.stderr.strip()[-300:]}")
    echo({0: "load test held", 1: "load test failed", 3: "load test broken"}[code] + f": {out}")
    return code
