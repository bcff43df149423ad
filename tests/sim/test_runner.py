"""The runner end to end on the real system: run folders, determinism, invariants."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

from results.reader import RunFolder
from scenarios.loader import load_scenario
from sim import stopping
from sim.core.records import ModelResult
from sim.runner import RunOptions, run_scenario

ROOT = Path(__file__).resolve().parents[2]


def small(workers: int) -> RunOptions:
    return RunOptions(
        scenario=load_scenario("tiny"),
        replications=2,
        seed=11,
        scale=1.0,
        horizon_days=1.5,
        workers=workers,
    )


def test_same_seed_gives_byte_identical_tables_with_one_and_two_processes(tmp_path: Path) -> None:
    one, _ = run_scenario(small(1), out_root=tmp_path / "one", progress=lambda _l: None)
    two, _ = run_scenario(small(2), out_root=tmp_path / "two", progress=lambda _l: None)
    tables = sorted(p.name for p in one.glob("*.parquet"))
    assert "thefts.parquet" in tables
    assert tables == sorted(p.name for p in two.glob("*.parquet"))
    for name in tables:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    assert json.loads((one / "summary.json").read_text()) == json.loads(
        (two / "summary.json").read_text()
    )


def test_run_folder_follows_the_contract(tmp_path: Path) -> None:
    run_dir, summary = run_scenario(small(1), out_root=tmp_path, progress=lambda _l: None)
    body = json.loads((run_dir / "summary.json").read_text())
    assert body["scenario"] == "tiny"
    assert body["replications"] == 2
    for name in ("thefts", "reports", "requests", "notifications", "share_rate"):
        entry = body["metrics"][name]
        assert set(entry) == {"mean", "sd", "ci95", "ci95_t", "n", "unit", "applies"}
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["seed"] == 11
    assert manifest["status"] == "complete"
    assert len(manifest["replication_seeds"]) == 2
    assert manifest["scenario_resolved"]["county"]["name"] == "nassau"
    assert manifest["invariant_problems"] == []
    assert summary == body["metrics"]
    assert not (run_dir / "partial").exists()
    # One typed table per record type, each headed by the replication and the record's fields.
    run = RunFolder(run_dir)
    expected = {*ModelResult.TABLES, "homes", "replications"}
    assert {p.stem for p in run_dir.glob("*.parquet")} == expected
    for name in ModelResult.TABLES:
        frame = run.table(name)
        assert list(frame.columns) == ["replication", *ModelResult.record_type(name).COLUMNS]
        assert sorted(set(frame["replication"])) in ([], [0], [0, 1])
    replications = run.replications
    assert list(replications["replication"]) == [0, 1]
    assert list(replications["seed"]) == manifest["replication_seeds"]
    for name in ("thefts", "notifications"):
        assert replications[name].mean() == pytest.approx(summary[name]["mean"])


def test_csv_tables_read_back_with_the_same_types_as_parquet(tmp_path: Path) -> None:
    options = small(1)
    parquet, _ = run_scenario(options, out_root=tmp_path / "p", progress=lambda _l: None)
    text, _ = run_scenario(
        dataclasses.replace(options, table_format="csv"),
        out_root=tmp_path / "c",
        progress=lambda _l: None,
    )
    assert not list(text.glob("*.parquet"))
    for name in (*ModelResult.TABLES, "homes"):
        a, b = RunFolder(parquet).table(name), RunFolder(text).table(name)
        assert list(a.dtypes) == list(b.dtypes), name
        assert a.equals(b), name


def test_a_table_without_rows_still_has_its_columns(tmp_path: Path) -> None:
    """A county too small for a single theft: every table is empty, and each table still
    names its columns, so it loads as an empty table rather than a malformed one."""
    scenario = load_scenario("tiny", ["county.households=1"])
    options = dataclasses.replace(
        small(1), scenario=scenario, replications=1, horizon_days=0.5, table_format="csv"
    )
    run_dir, summary = run_scenario(options, out_root=tmp_path, progress=lambda _l: None)
    assert summary["thefts"]["mean"] == 0
    thefts = (run_dir / "thefts.csv").read_text().splitlines()
    assert thefts == [",".join(["replication", *ModelResult.record_type("thefts").COLUMNS])]
    frame = RunFolder(run_dir).table("thefts")
    assert len(frame) == 0
    assert str(frame["at_min"].dtype) == "float64"


@pytest.mark.slow
def test_canvass_run_tiny_prints_the_run_folder_last(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "canvass",
            "run",
            "tiny",
            "--replications",
            "1",
            "--horizon-days",
            "1",
            "--out",
            str(tmp_path),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert Path(last).is_dir()
    assert (Path(last) / "summary.json").is_file()


def test_bad_override_is_a_clean_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "canvass",
            "run",
            "tiny",
            "--set",
            "thefts.household_rate_per_yr=-1",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2
    assert "thefts.household_rate_per_yr" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("workers", [1, 2])
def test_a_terminated_run_cleans_up_its_scratch_folders(tmp_path: Path, workers: int) -> None:
    """SIGTERM (a service manager, ``kill``, a CI timeout) stops a run as Ctrl-C does:
    the replications' scratch folders, which may be in RAM, are removed."""
    scratch, out = tmp_path / "scratch", tmp_path / "out"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "canvass",
            "run",
            "nassau",
            "--scale",
            "0.01",
            "--replications",
            "2",
            "--workers",
            str(workers),
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        env={**os.environ, "CANVASS_SCRATCH_DIR": str(scratch)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        # Wait until every replication's database is being written.
        while len(list(scratch.glob("*/canvass.db"))) < workers:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the replications never started"
            time.sleep(0.1)
        process.terminate()
        _stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 1
    assert "canvass: interrupted" in stderr
    assert "Traceback" not in stderr
    assert list(scratch.iterdir()) == []
    assert not out.exists() or list(out.rglob("summary.json")) == []
    # What finished is kept, and the manifest says the run was interrupted.
    for manifest in out.rglob("manifest.json"):
        assert json.loads(manifest.read_text())["status"] == "interrupted"


def test_an_interrupt_swallowed_by_the_garbage_collector_still_ends_the_replication(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a replication process, SIGTERM's KeyboardInterrupt can land in a weakref
    callback, where Python prints it and carries on: the flag it leaves ends the
    replication at the model's next progress tick, and nothing is printed."""
    ticks: list[float] = []
    tick = stopping.stoppable(ticks.append)
    tick(0.25)
    monkeypatch.setattr(stopping, "_terminated", False)
    with pytest.raises(KeyboardInterrupt):
        stopping.interrupt_once(signal.SIGTERM, None)
    stopping.interrupt_once(signal.SIGTERM, None)  # a second SIGTERM: no second interrupt
    with pytest.raises(KeyboardInterrupt):
        tick(0.5)
    assert ticks == [0.25]

    def unraisable(exc: BaseException) -> Any:
        return types.SimpleNamespace(
            exc_type=type(exc), exc_value=exc, exc_traceback=None, err_msg=None, object=None
        )

    printed: list[Any] = []
    monkeypatch.setattr(sys, "__unraisablehook__", printed.append)  # Python's printer
    stopping.quiet_interrupts(unraisable(KeyboardInterrupt()))
    assert printed == []
    problem = unraisable(ValueError("a real problem"))
    stopping.quiet_interrupts(problem)
    assert printed == [problem]


def test_replications_run_in_this_process_stop_on_sigterm_as_replication_processes_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With one worker the replications run in the command's own process: SIGTERM there
    must also leave the flag, or an interrupt dropped in a garbage-collector callback
    lets the run go on to the end (it did, now and then, before)."""
    monkeypatch.setattr(stopping, "_terminated", True)  # as an earlier stopped run left it
    handler, hook = signal.getsignal(signal.SIGTERM), sys.unraisablehook
    tick = stopping.stoppable(None)
    with stopping.terminable_here():
        tick(0.1)  # a new run starts unstopped
        assert signal.getsignal(signal.SIGTERM) is stopping.interrupt_once
        assert sys.unraisablehook is stopping.quiet_interrupts
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)
        # Had that interrupt been dropped on the way, the next weekly tick ends the run.
        with pytest.raises(KeyboardInterrupt):
            tick(0.2)
    assert signal.getsignal(signal.SIGTERM) is handler
    assert sys.unraisablehook is hook


def test_setting_a_key_the_model_does_not_read_warns_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every shipped key reaches the model today (tests/sim/test_params.py), so one is
    declared unread here to show what a planner would see."""
    from canvass.cli import main
    from sim.core import scenario_params

    reason = "kept for a later model, read by nothing yet"
    rows = tuple(
        scenario_params.Row(row.key, "unread", reason=reason)
        if row.key == "canvass.onsite_export_min"
        else row
        for row in scenario_params.ROWS
    )
    monkeypatch.setattr(scenario_params, "ROWS", rows)
    argv = ["run", "tiny", "--replications", "1", "--horizon-days", "0.5", "--quiet"]
    status = main([*argv, "--set", "canvass.onsite_export_min=5", "--out", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert status == 0
    assert f"canvass.onsite_export_min changes nothing: {reason}" in err
    status = main([*argv, "--set", "residents.share_prob=0.12", "--out", str(tmp_path / "b")])
    assert status == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("days", [3, 10])
def test_the_simulated_system_keeps_the_scenarios_response_period(
    tmp_path: Path, days: int
) -> None:
    """CON-08's period is a scenario key (swept 3-10 days): the system must expire
    requests when the model does, so no answer the model sends in time is refused as
    late, and no request stays open in the system past the model's period."""
    scenario = load_scenario(
        "tiny",
        [
            f"police.response_period_days={days}",
            "police.followup_request_prob=0",
            "police.request_propensity=1",  # enough requests for some late answers
            "residents.response_prob=0.6",
            "residents.response_delay_median_h=120",  # many answers near the period's end
        ],
    )
    options = RunOptions(
        scenario=scenario, replications=1, seed=11, scale=1.0, horizon_days=14, workers=1
    )
    run_dir, _ = run_scenario(options, out_root=tmp_path, progress=lambda _l: None)
    responses = RunFolder(run_dir).table("responses")
    assert len(responses)
    late = responses[responses["responded_at_min"] - responses["notified_at_min"] > 7 * 1440]
    if days == 10:
        assert len(late), "some residents answer after 7 days when they have 10"
    assert bool(responses["accepted"].all())
    assert json.loads((run_dir / "manifest.json").read_text())["invariant_problems"] == []
