"""Reading run folders back, bad folders refused clearly, and runs resumed exactly."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from results.load_profile import OPERATIONS, operation_times
from results.reader import RunFolder, RunFolderError
from scenarios.loader import load_scenario
from sim import runner
from sim.runner import RunOptions, run_scenario
from tests.terminal import as_at_a_terminal

ROOT = Path(__file__).resolve().parents[2]


def tiny(replications: int = 3, **changes: object) -> RunOptions:
    options = RunOptions(
        scenario=load_scenario("tiny"),
        replications=replications,
        seed=5,
        scale=1.0,
        horizon_days=3,
        workers=1,
    )
    return dataclasses.replace(options, **changes)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir, _ = run_scenario(
        tiny(), out_root=tmp_path_factory.mktemp("finished"), progress=lambda _l: None
    )
    return run_dir


def interrupted_at(stop: int) -> Callable[[RunOptions, int, int], object]:
    """``run_replication`` as Ctrl-C during replication ``stop`` leaves it."""
    real = runner.run_replication

    def run(options: RunOptions, index: int, seed: int) -> object:
        if index == stop:
            raise KeyboardInterrupt
        return real(options, index, seed)

    return run


def files(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run_dir.glob("*.parquet"))}


def test_an_interrupted_run_keeps_what_finished_and_resumes_to_the_same_tables(
    finished: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = runner.run_replication
    monkeypatch.setattr(runner, "run_replication", interrupted_at(2))
    with pytest.raises(KeyboardInterrupt) as stopped:
        run_scenario(tiny(), out_root=tmp_path, progress=lambda _l: None)
    (run_dir,) = tmp_path.iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["replications_kept"] == [0, 1]
    assert sorted(p.name for p in (run_dir / "partial").iterdir()) == ["00000", "00001"]
    assert f"canvass run --resume {run_dir}" in str(stopped.value)
    with pytest.raises(RunFolderError, match="resume"):
        _ = RunFolder(run_dir).summary

    monkeypatch.setattr(runner, "run_replication", real)
    ran: list[int] = []
    monkeypatch.setattr(
        runner,
        "run_replication",
        lambda options, index, seed: ran.append(index) or real(options, index, seed),
    )
    resumed = runner.options_to_resume(run_dir, workers=1, show_progress=False)
    assert resumed == tiny()
    run_scenario(resumed, out_root=tmp_path, progress=lambda _l: None, run_dir=run_dir)
    assert ran == [2], "only the missing replication runs"
    assert files(run_dir) == files(finished)
    assert json.loads((run_dir / "summary.json").read_text()) == json.loads(
        (finished / "summary.json").read_text()
    )
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"
    assert not (run_dir / "partial").exists()


@pytest.mark.slow
def test_canvass_run_resume_finishes_a_run_stopped_by_ctrl_c(tmp_path: Path) -> None:
    """The command line end to end: Ctrl-C during the second replication, then
    ``--resume``; the tables equal an uninterrupted run's."""
    out = tmp_path / "out"
    # 240 days, about 5 s a replication: the second one outlasts the interrupt's way to
    # it (a 50 ms poll, then at most a simulated week). At 60 days, about a second, a
    # loaded CI machine once saw the run finish first.
    args = ["tiny", "--replications", "2", "--horizon-days", "240", "--seed", "3", "--workers", "1"]
    command = [sys.executable, "-m", "canvass", "run", *args, "--no-report", "--quiet"]
    process = subprocess.Popen(
        [*command, "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=as_at_a_terminal,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("*/partial/00000")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the first replication never finished"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
        _stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert "Traceback" not in stderr
    (run_dir,) = out.iterdir()
    status = json.loads((run_dir / "manifest.json").read_text())["status"]
    assert status != "complete", "the run finished before the interrupt landed"
    assert process.returncode == 1, stderr
    assert "--resume" in stderr
    done = subprocess.run(
        [sys.executable, "-m", "canvass", "run", "--resume", str(run_dir), "--no-report"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(run_dir)
    whole = subprocess.run(
        [*command, "--out", str(tmp_path / "whole")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert files(run_dir) == files(Path(whole.stdout.strip().splitlines()[-1]))


def test_resume_refuses_a_complete_run_and_settings_given_again(finished: Path) -> None:
    for extra, problem in (
        ([], "complete; nothing to resume"),
        (["tiny"], "drop SCENARIO"),
        (["--seed", "4"], "drop --seed"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "canvass", "run", *extra, "--resume", str(finished)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert problem in done.stderr
        assert "Traceback" not in done.stderr


def test_the_reader_gives_typed_tables_and_the_summary(finished: Path) -> None:
    run = RunFolder(finished)
    assert run.kind == "run"
    thefts = run.table("thefts")
    assert str(thefts["at_min"].dtype) == "float64"
    assert str(thefts["home"].dtype) == "int64"
    assert str(thefts["in_slice"].dtype) == "bool"
    assert str(run.table("evidence")["path"].dtype) == "string"
    assert sorted(set(thefts["replication"])) == [0, 1, 2]
    assert run.summary["replications"] == 3
    per_replication = thefts.groupby("replication").size()
    assert per_replication.mean() == pytest.approx(run.metrics["thefts"]["mean"])
    assert list(run.replications["thefts"]) == list(per_replication)
    homes = run.table("homes")
    assert sorted(set(homes["replication"])) == [0, 1, 2]  # each replication its own homes
    assert len(homes[homes["replication"] == 0]) == 400


def test_the_load_profile_counts_each_operation_of_the_busiest_hour(finished: Path) -> None:
    run = RunFolder(finished)
    profile = run.load_profile
    assert profile is not None
    hour = profile["busiest_hour"]
    assert hour["minutes"] == 60
    assert set(hour["per_minute"]) == set(OPERATIONS)
    ops = operation_times(run)
    start = hour["start_min"]
    chosen = ops[
        (ops["replication"] == hour["replication"])
        & (ops["at_min"] >= start)
        & (ops["at_min"] < start + 60)
    ]
    for operation in OPERATIONS:
        assert sum(hour["per_minute"][operation]) == (chosen["operation"] == operation).sum()
    # No clock hour of any replication has more operations.
    per_hour = ops.groupby([ops["replication"], ops["at_min"] // 60]).size()
    assert hour["total"] == per_hour.max()
    notifications = run.table("notifications")
    assert (ops["operation"] == "notifications").sum() == len(notifications)
    assert (ops["operation"] == "clip_uploads").sum() == len(
        run.table("clip_shares")[["replication", "clip_id"]].drop_duplicates()
    )
    assert (ops["operation"] == "evidence_listings").sum() == len(run.table("listings"))


def _read_everything(run_dir: Path) -> None:
    run = RunFolder(run_dir)
    _ = run.summary
    for name in run.table_names():
        run.table(name)


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy)
    return copy


@pytest.mark.parametrize(
    ("damage", "named", "problem"),
    [
        (lambda d: (d / "summary.json").unlink(), "summary.json", "missing"),
        (lambda d: (d / "summary.json").write_text("{"), "summary.json", "unreadable JSON"),
        (lambda d: (d / "manifest.json").unlink(), "", "not a run folder"),
        (
            lambda d: (d / "thefts.parquet").write_bytes((d / "thefts.parquet").read_bytes()[:200]),
            "thefts.parquet",
            "unreadable Parquet",
        ),
        (lambda d: (d / "requests.parquet").unlink(), "requests.parquet", "missing"),
    ],
)
def test_a_damaged_folder_is_refused_naming_the_file(
    finished: Path, tmp_path: Path, damage: object, named: str, problem: str
) -> None:
    copy = _copy(finished, tmp_path)
    damage(copy)  # type: ignore[operator]
    with pytest.raises(RunFolderError) as caught:
        _read_everything(copy)
    assert problem in str(caught.value)
    assert str(copy / named) in str(caught.value)


def test_a_truncated_csv_table_is_refused(tmp_path: Path) -> None:
    run_dir, _ = run_scenario(
        tiny(1, table_format="csv"), out_root=tmp_path / "run", progress=lambda _l: None
    )
    path = run_dir / "notifications.csv"
    text = path.read_text()
    path.write_text(text[: len(text) * 2 // 3])  # cut mid-row
    with pytest.raises(RunFolderError, match=r"notifications\.csv"):
        RunFolder(run_dir).table("notifications")


def test_summary_intervals_are_clipped_and_keep_the_t_interval(finished: Path) -> None:
    metrics = RunFolder(finished).metrics
    for name, entry in metrics.items():
        if entry["ci95"] is None:
            continue
        low, high = entry["ci95"]
        t_low, t_high = entry["ci95_t"]
        assert low >= 0, name
        if entry["unit"] == "share" and not name.startswith("reports_share"):
            assert high <= 1, name
        assert low == max(0.0, t_low), name
        assert high <= t_high, name
    # Face recognition is off in tiny: misidentifications do not apply, not 0.
    assert metrics["misidentifications"]["applies"] is False
    assert metrics["misidentifications"]["mean"] is None
    assert math.isfinite(metrics["thefts"]["mean"])


def test_a_precision_run_resumed_stops_where_the_uninterrupted_run_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.precision import Precision

    target = Precision(0.15, ("notifications_per_request",), min_replications=3, max_replications=6)
    options = tiny(precision=target, workers=1)
    whole, _ = run_scenario(options, out_root=tmp_path / "whole", progress=lambda _l: None)
    real = runner.run_replication
    monkeypatch.setattr(runner, "run_replication", interrupted_at(3))
    with pytest.raises(KeyboardInterrupt):
        run_scenario(options, out_root=tmp_path / "cut", progress=lambda _l: None)
    monkeypatch.setattr(runner, "run_replication", real)
    (run_dir,) = (tmp_path / "cut").iterdir()
    resumed = runner.options_to_resume(run_dir, workers=1, show_progress=False)
    assert resumed.precision == target
    run_scenario(resumed, out_root=tmp_path, progress=lambda _l: None, run_dir=run_dir)
    assert files(run_dir) == files(whole)
    manifests = [json.loads((d / "manifest.json").read_text()) for d in (run_dir, whole)]
    assert manifests[0]["precision"] == manifests[1]["precision"]
    assert manifests[0]["replications"] == manifests[1]["replications"]


def canvass(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "canvass", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda d: (d / "summary.json").unlink(), "summary.json"),
        (lambda d: (d / "manifest.json").unlink(), ""),
        (
            lambda d: (d / "notifications.parquet").write_bytes(
                (d / "notifications.parquet").read_bytes()[:300]
            ),
            "notifications.parquet",
        ),
        (lambda d: (d / "replications.parquet").unlink(), "replications.parquet"),
    ],
)
def test_canvass_report_refuses_a_bad_folder_in_one_line(
    finished: Path, tmp_path: Path, damage: object, named: str
) -> None:
    copy = _copy(finished, tmp_path)
    damage(copy)  # type: ignore[operator]
    done = canvass("report", str(copy))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert str(copy / named) in done.stderr


def test_canvass_report_on_a_path_that_is_no_folder_is_refused(tmp_path: Path) -> None:
    done = canvass("report", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert "not a folder" in done.stderr


@pytest.mark.slow
def test_canvass_report_on_a_copy_reproduces_the_summary_and_the_figures(
    finished: Path, tmp_path: Path
) -> None:
    first, second = _copy(finished, tmp_path / "a"), _copy(finished, tmp_path / "b")
    assert canvass("report", str(first)).returncode == 0
    done = canvass("report", str(second), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    assert done.stdout.strip().splitlines()[-1] == str(out / "report.html")
    assert (out / "summary.json").read_bytes() == (finished / "summary.json").read_bytes()
    assert (first / "summary.json").read_bytes() == (finished / "summary.json").read_bytes()
    svgs = sorted(p.relative_to(out) for p in out.rglob("*.svg"))
    assert svgs, "the report draws figures"
    assert svgs == sorted(p.relative_to(first) for p in first.rglob("*.svg"))
    for name in svgs:
        assert (out / name).read_bytes() == (first / name).read_bytes(), name
