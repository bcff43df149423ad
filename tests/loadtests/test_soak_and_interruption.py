"""``canvass loadtest``: a soak records the served processes' memory; Ctrl-C keeps a manifest.

The slow tests serve a seeded system as CI's smoke does; the PostgreSQL one
serves it with 2 API processes and 2 job worker processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from canvass.cli import main
from loadtests.memory import tree
from tests import databases
from tests.e2e.test_worker_processes import _alive
from tests.loadtests.test_loadtest_command import CI_SLO
from tests.terminal import as_at_a_terminal

INTERRUPT_AFTER_S = 4.0


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--api-processes", "2"], "--api-processes above 1 needs --database-url"),
        (["--soak", "10s", "--run-time", "20s"], "give --soak DURATION or --run-time, not both"),
        (["--soak", "10s", "--shape", "spike"], "--soak runs the steady shape"),
        (["--soak", "forever"], "--soak 'forever': give a duration"),
    ],
)
def test_bad_combinations_are_usage_errors_in_one_line(
    args: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["loadtest", "--serve", "--out", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert said in err
    assert "\n" not in err


def soak(out: Path, *args: str) -> tuple[int, str]:
    command = [sys.executable, "-m", "canvass", "loadtest", "--serve", "--soak", "10s"]
    command += ["--users", "6", "--pace", "2", "--slo", str(CI_SLO), "--out", str(out), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=400, check=False)
    return done.returncode, done.stdout + done.stderr


def memory_by_role(out: Path) -> dict[str, list[dict[str, object]]]:
    manifest = json.loads((out / "manifest.json").read_text())
    roles: dict[str, list[dict[str, object]]] = {}
    for process in manifest["memory"]:
        roles.setdefault(str(process["role"]), []).append(process)
    return roles


@pytest.mark.slow
def test_a_short_soak_samples_every_served_process_and_sums_it_up(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, printed = soak(out)
    assert code == 0, printed[-3000:]
    samples = [json.loads(line) for line in (out / "memory.jsonl").read_text().splitlines()]
    assert len(samples) >= 3  # every 5 s through 10 s, and at the end
    assert all(s["processes"] and s["total_kb"] > 0 for s in samples)
    (served,) = memory_by_role(out)["serve"]
    assert served["samples"] == len(samples)
    assert 0 < served["start_mb"] <= served["peak_mb"]  # type: ignore[operator]
    assert served["growth_mb_per_h"] is not None
    assert f"memory: serve {served['pid']}:" in printed
    assert 'id="memory-table"' in (out / "report.html").read_text()


@pytest.mark.slow
@pytest.mark.postgres
def test_two_api_and_two_worker_processes_soak_reconcile_and_are_sampled(tmp_path: Path) -> None:
    databases.skip_or_fail_without_postgres()
    url = databases.create_postgres_database(prefix="canvass_loadtest")
    try:
        out = tmp_path / "out"
        args = ("--database-url", url, "--api-processes", "2", "--worker-processes", "2")
        code, printed = soak(out, *args)
        assert code == 0, printed[-3000:]
        assert "(2 API processes)" in printed
        assert json.loads((out / "reconciliation.json").read_text())["ok"], printed
        roles = memory_by_role(out)
        assert len(roles["serve"]) == 1  # the supervisor
        api = [p for p in roles["serve child"] if float(p["peak_mb"]) > 50]  # type: ignore[arg-type]
        assert len(api) == 2, roles  # beside them, multiprocessing's small helper
        assert len(roles["worker"]) == 2
        assert len(roles["worker child"]) >= 2
    finally:
        databases.drop_postgres_database(url)


@pytest.mark.slow
def test_an_interrupted_run_writes_its_manifest_stops_everything_and_exits_130(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "canvass", "loadtest", "--serve", "--run-time", "120s"]
    command += ["--users", "4", "--slo", str(CI_SLO), "--out", str(out)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    run = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=as_at_a_terminal,
    )
    started: list[tuple[str, int]] = []
    try:
        assert run.stdout is not None
        for line in run.stdout:
            if line.startswith(b"Locust:"):
                break
        time.sleep(INTERRUPT_AFTER_S)
        started = [pid for pid in tree([("loadtest", run.pid)]) if pid[1] != run.pid]
        assert len(started) >= 2, started  # the server and Locust, at least
        run.send_signal(signal.SIGINT)  # as Ctrl-C at a terminal does
        _, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:  # the test failed: let the command stop what it started
            run.terminate()
            try:
                run.wait(timeout=30)
            except subprocess.TimeoutExpired:
                run.kill()
                for _role, pid in started:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
    assert run.returncode == 130, err.decode()[-2000:]
    assert err.decode().strip().splitlines() == [
        f"canvass: load test interrupted; partial results in {out}"
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["interrupted"] is True
    assert manifest["exit_code"] == 130
    assert manifest["reconciled"] is None
    assert manifest["memory"], manifest  # what was sampled before the interruption
    assert [pid for _, pid in started if _alive(pid)] == []
