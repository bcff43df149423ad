"""``canvass worker`` processes stop cleanly however they are stopped, and never outlive it.

A service manager stops a unit by signalling its whole process group: each
worker process must take SIGTERM as "stop after the job in flight" (dying of
it would leave the job to wait out its lease), so the command exits 0. If the
parent is killed outright, its worker processes stop by themselves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.conftest import canvass_command, server_env

CONCURRENCY = 2
START_TIMEOUT_S = 40.0
EXIT_TIMEOUT_S = 15.0


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a process that has not exited (a zombie has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _wait_gone(pids: list[int], timeout_s: float = EXIT_TIMEOUT_S) -> list[int]:
    """Waits for ``pids`` to exit; returns those still running after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


@contextmanager
def _workers(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], list[int]]]:
    """``canvass worker --concurrency 2`` on a fresh SQLite database; yields it and its workers."""
    url = f"sqlite:///{tmp_path / 'canvass.db'}"
    env = server_env(tmp_path / "data")
    subprocess.run(
        canvass_command("db", "upgrade", "--database-url", url), env=env, check=True, cwd=tmp_path
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            canvass_command("worker", "--database-url", url, "--concurrency", str(CONCURRENCY)),
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "running" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        workers = [p for p in _children(proc.pid) if _alive(p)]
        # (a multiprocessing helper may be among them: it, too, must not outlive the parent)
        assert len(workers) >= CONCURRENCY, log.read_text()
        yield proc, workers
    finally:
        for pid in [proc.pid, *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=5)


def test_sigterm_to_the_process_group_stops_every_worker_cleanly(tmp_path: Path) -> None:
    with _workers(tmp_path) as (parent, workers):
        os.killpg(parent.pid, signal.SIGTERM)  # as a service manager stops a unit
        assert parent.wait(timeout=EXIT_TIMEOUT_S) == 0, (tmp_path / "worker.log").read_text()
        assert _wait_gone(workers) == []


def test_worker_processes_stop_by_themselves_when_their_parent_is_killed(tmp_path: Path) -> None:
    with _workers(tmp_path) as (parent, workers):
        parent.kill()  # the parent alone, with no chance to stop its workers
        parent.wait(timeout=5)
        assert _wait_gone(workers, timeout_s=5.0) == [], "worker processes outlived their parent"


def test_workers_refuse_a_database_without_the_schema_and_say_how_to_fix_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    done = subprocess.run(
        canvass_command("worker", "--database-url", url),
        env=server_env(tmp_path / "data"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )
    assert done.returncode == 1, done.stderr
    assert "has no schema yet" in done.stderr
    assert f"canvass db upgrade --database-url {url}" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
