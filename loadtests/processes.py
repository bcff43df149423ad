"""The processes ``canvass loadtest`` starts: the served system, Locust, and how they stop.

Each runs as a command line in its own process group (``canvass seed``,
``canvass serve``, ``canvass worker``, ``locust``), logged to the results
folder's ``logs/``, so the runner stays a client of the system over HTTP and
processes and imports no other part of Canvass. Stopping signals each group
with SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
READY_TIMEOUT_S = 90.0
SEED_TIMEOUT_S = 300.0
GRACE_S = 15.0
SEED_HOMES = 300
SEED_RESIDENTS = 24
SEED_DEVICES = 40
MOST_RESIDENTS = 200
"""Resident logins seeded for the largest runs (two Argon2 hashes each at seeding)."""
HOMES_PER_RESIDENT = 10
"""Homes seeded per resident login: enough camera owners to choose the logins from."""
SERVE_ENV = {"CANVASS_AGENCY_DAILY_REQUEST_QUOTA": "100000"}


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
    names: list[str] = field(default_factory=list)

    def named(self) -> list[tuple[str, subprocess.Popen[bytes]]]:
        return list(zip(self.names, self.started, strict=True))

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
        self.names.append(name)
        return process

    def stop(self, processes: Sequence[subprocess.Popen[bytes]] | None = None) -> None:
        """SIGTERM each group, then SIGKILL whatever is alive after :data:`GRACE_S`.

        A group is signalled even when its leader has exited, so nothing it
        started outlives it.
        """
        chosen = list(self.started if processes is None else processes)
        for process in chosen:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        for process in chosen:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=5)
        for process in chosen:  # what a leader left behind in its group
            if _group_alive(process.pid):
                _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


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


@dataclass(frozen=True)
class System:
    """What ``--serve`` started: where it answers, its credentials, its processes by role."""

    url: str
    credentials: Path
    processes: list[tuple[str, subprocess.Popen[bytes]]]


def seed_arguments(peak_users: int) -> list[str]:
    """``canvass seed`` arguments: a slice of Nassau with a resident login per peak user.

    Resident logins are rate-limited per account; users who share one can be
    refused for it, so a large run (a capacity search) gets more logins.
    """
    residents = min(MOST_RESIDENTS, max(SEED_RESIDENTS, peak_users))
    homes = max(SEED_HOMES, residents * HOMES_PER_RESIDENT)
    devices = max(SEED_DEVICES, residents)
    counts = {"--homes": homes, "--resident-accounts": residents, "--device-tokens": devices}
    return [text for option, n in counts.items() for text in (option, str(n))]


@contextmanager
def served_system(
    *,
    database_url: str | None,
    api_processes: int,
    worker_processes: int,
    peak_users: int,
    scratch: Path,
    processes: Processes,
    echo: Callable[[str], None],
) -> Iterator[System]:
    """Seed and serve a system; yields it; always stops it.

    SQLite with the embedded worker in a scratch folder by default; with
    ``database_url``, that database, served by ``api_processes`` API
    processes on one port and ``worker_processes`` separate job workers
    (none: the first API process embeds the worker).
    """
    url = database_url or f"sqlite:///{scratch / 'canvass.db'}"
    credentials = scratch / "credentials.json"
    seed = seed_arguments(peak_users)
    echo(f"seeding a {seed[1]}-home slice of Nassau ({seed[3]} resident logins)")
    seeded = subprocess.run(
        canvass("seed", *seed, "--database-url", url, "--out", str(credentials)),
        env=processes.env,
        cwd=scratch,
        capture_output=True,
        timeout=SEED_TIMEOUT_S,
        check=False,
        start_new_session=True,  # Ctrl-C reaches the load test, which stops what it started
    )
    (processes.log_dir / "seed.log").write_bytes(seeded.stdout + seeded.stderr)
    if seeded.returncode != 0:
        raise RuntimeError(f"canvass seed failed: {seeded.stderr.decode()[-300:].strip()}")
    port = free_port()
    serve = ["serve", "--port", str(port), "--database-url", url, "--no-migrate"]
    serve += ["--processes", str(api_processes)]
    if worker_processes:
        serve.append("--no-worker")
    system = [("serve", processes.start("serve", canvass(*serve)))]
    for _ in range(worker_processes):
        command = canvass("worker", "--database-url", url, "--concurrency", "1")
        system.append(("worker", processes.start("worker", command)))
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, [p for _, p in system])
        api = "one API process" if api_processes == 1 else f"{api_processes} API processes"
        echo(f"serving on {base} ({api})")
        yield System(base, credentials, system)
    finally:
        processes.stop([p for _, p in system])
