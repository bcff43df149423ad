"""A seeded system served by a real process, and real Locust runs against it.

``canvass seed`` and ``canvass serve`` run as subprocesses (the server on a
free port of 127.0.0.1, with a daily request quota high enough for load);
:func:`run_locust` runs ``locust -f loadtests/locustfile.py`` headless as a
subprocess with a deadline and reads Locust's own CSV files back.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    REPO,
    Server,
    canvass_command,
    free_port,
    running,
    server_env,
    system_clock,
)

LOCUSTFILE = REPO / "loadtests" / "locustfile.py"
CI_SLO = REPO / "loadtests" / "slo-ci.toml"
LOCUST = Path(sys.executable).with_name("locust")
SEED_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Target:
    server: Server
    credentials: Path


@contextmanager
def seeded_server(folder: Path) -> Iterator[Target]:
    """A 200-home slice of Nassau with 12 resident logins, served with its embedded worker."""
    url = f"sqlite:///{folder / 'canvass.db'}"
    credentials = folder / "credentials.json"
    env = server_env(folder / "data", CANVASS_AGENCY_DAILY_REQUEST_QUOTA="100000")
    seed = ("--homes", "200", "--resident-accounts", "12", "--device-tokens", "30")
    subprocess.run(
        canvass_command("seed", *seed, "--database-url", url, "--out", str(credentials)),
        env=env,
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=SEED_TIMEOUT_S,
    )
    port = free_port()
    command = canvass_command("serve", "--port", str(port), "--database-url", url)
    with running(
        [command], env=env, port=port, log_dir=folder / "logs", clock=system_clock()
    ) as server:
        yield Target(server, credentials)


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The server the Locust runs share."""
    with seeded_server(tmp_path_factory.mktemp("loadtests")) as served:
        yield served


@dataclass(frozen=True)
class LocustRun:
    returncode: int
    output: str
    stats: dict[str, dict[str, str]]  # "Type Name" -> the row of <prefix>_stats.csv
    failures: list[dict[str, str]]

    def count(self, key: str) -> int:
        return int(self.stats[key]["Request Count"]) if key in self.stats else 0


def run_locust(
    target: Target, folder: Path, *args: str, run_time_s: int = 20, users: int = 8
) -> LocustRun:
    """Headless ``locust -f loadtests/locustfile.py`` for ``run_time_s``, with a deadline."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / "locust"
    command = [
        str(LOCUST),
        *("-f", str(LOCUSTFILE), "--headless", "--only-summary"),
        *("-u", str(users), "-r", str(users), "--run-time", f"{run_time_s}s"),
        *("--host", target.server.base_url, "--canvass-credentials", str(target.credentials)),
        *("--csv", str(prefix), "--stop-timeout", "5"),
        *("--canvass-slo", str(CI_SLO)),  # later arguments win
        *args,
    ]
    done = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=run_time_s + 90
    )
    (folder / "locust.log").write_text(done.stdout + done.stderr)  # for a failing test's reader
    with open(f"{prefix}_stats.csv", newline="") as f:
        stats = {f"{row['Type']} {row['Name']}": row for row in csv.DictReader(f)}
    with open(f"{prefix}_failures.csv", newline="") as f:
        failures = list(csv.DictReader(f))
    return LocustRun(done.returncode, done.stdout + done.stderr, stats, failures)
