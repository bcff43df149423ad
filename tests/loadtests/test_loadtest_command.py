"""``canvass loadtest``: bad input said in one line, and the whole run end to end.

The slow tests serve a seeded system, run Locust for 20 seconds with a few
users on 127.0.0.1, reconcile and gate, as CI's smoke does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from canvass.cli import main
from loadtests.run_options import LoadtestOptions
from tests.e2e.conftest import REPO

CI_SLO = REPO / "loadtests" / "slo-ci.toml"
RESULT_FILES = (
    "manifest.json",
    "locust_stats.csv",
    "locust_stats_history.csv",
    "locust-report.html",
    "metrics-before.json",
    "metrics.jsonl",
    "memory.jsonl",
    "reconciliation.json",
    "slo.json",
    "report.html",
)


def test_neither_serve_nor_host_is_a_usage_error_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["loadtest", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "canvass: give exactly one of --serve or --host URL"


def test_county_hour_without_a_run_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["loadtest", "--serve", "--shape", "county-hour", "--out", str(tmp_path / "out")]
    assert main(args) == 2
    assert "--from-run" in capsys.readouterr().err


def test_a_replayed_hour_runs_its_own_length_and_an_unreadable_profile_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    hour = {"per_minute": {"answers": [1] * 60}}
    profile = {"format": "canvass-load-profile/1", "operations": ["answers"], "busiest_hour": hour}
    (run / "load_profile.json").write_text(json.dumps(profile))
    options = LoadtestOptions(out=tmp_path / "out", shape="county-hour", from_run=run, speedup=4)
    assert options.run_time_text() == "932s"  # 15 minutes, the longest drain, the margin
    (run / "load_profile.json").write_text("{")
    args = ["loadtest", "--serve", "--shape", "county-hour", "--from-run", str(run)]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    assert "cannot read the load profile" in capsys.readouterr().err
    quiet = {**profile, "busiest_hour": None}  # what a run without any operation writes
    (run / "load_profile.json").write_text(json.dumps(quiet))
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    assert "the run recorded no operations" in capsys.readouterr().err


def loadtest(out: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    command = [sys.executable, "-m", "canvass", "loadtest", "--serve", "--run-time", "20s"]
    command += ["--users", "6", "--pace", "2", "--slo", str(CI_SLO), "--out", str(out), *args]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=400, env=env, check=False
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.slow
def test_a_served_run_holds_reconciles_exactly_and_writes_its_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, printed = loadtest(out)
    assert code == 0, printed[-3000:]
    assert [f for f in RESULT_FILES if not (out / f).is_file()] == []
    assert json.loads((out / "reconciliation.json").read_text())["ok"], printed
    assert json.loads((out / "slo.json").read_text())["held"]
    assert json.loads((out / "manifest.json").read_text())["kind"] == "loadtest"
    assert (out / "metrics.jsonl").read_text().count("\n") >= 2  # scraped during the run
    assert "reconciled: 11 checks" in printed


@pytest.mark.slow
def test_a_dropped_upload_makes_the_command_exit_3_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANVASS_LOADTEST_DROP_ONE", "clip_uploads")
    code, printed = loadtest(tmp_path / "out")
    assert code == 3, printed[-3000:]
    assert "reconciliation broken: clip_uploads" in printed
