"""What a run costs: its duration estimate, peak memory and scratch space, as a user sees them."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest

from canvass.cli import main
from sim.usage import (
    REPLICATION_FIXED_S,
    ScratchMeter,
    estimate_replication_s,
    folder_bytes,
    nearest_run,
    past_runs,
    peak_rss_mb,
    rounds_of,
    run_left_s,
)


def test_canvass_run_prints_an_estimate_first_and_what_the_run_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "tiny", "--replications", "2", "--horizon-days", "1.5", "--no-report"]
    status = main([*argv, "--out", str(tmp_path)])
    assert status == 0
    lines = capsys.readouterr().out.splitlines()
    # Printed at the start, right after what runs, and said to be an estimate.
    assert lines[0].startswith("running tiny:")
    assert lines[1].startswith("estimate: the run takes about ")
    seconds = int(re.search(r"about (\d+) s", lines[1]).group(1))  # type: ignore[union-attr]
    assert 1 <= seconds <= 60  # two replications of a 400-home county for a day and a half
    # At the end: how long it took, its peak memory and scratch space, as in the manifest.
    used = next(line for line in lines if line.startswith("the run took "))
    manifest = json.loads((Path(lines[-1]) / "manifest.json").read_text())
    assert f"peak memory {manifest['peak_rss_mb']:,.0f} MB" in used
    assert f"scratch {manifest['scratch_mb']:,.0f} MB" in used
    assert manifest["peak_rss_mb"] > 50  # an interpreter with the model and the system
    assert len(manifest["replication_peak_rss_mb"]) == 2
    # Each replication's scratch folder held its database: more than nothing, far from a GB.
    assert all(0.01 < mb < 1000 for mb in manifest["replication_scratch_mb"])
    assert manifest["scratch_mb"] == max(manifest["replication_scratch_mb"])


def test_the_estimate_counts_rounds_of_worker_processes() -> None:
    assert rounds_of(1, 1) == 1
    assert rounds_of(4, 2) == 2
    assert rounds_of(3, 2) == 2
    assert rounds_of(2, 8) == 1
    # Beyond a replication's fixed set-up, the time grows with the county's home-days.
    one = estimate_replication_s(homes=91_000, days=365)
    two = estimate_replication_s(homes=182_000, days=365)
    assert two - REPLICATION_FIXED_S == pytest.approx(2 * (one - REPLICATION_FIXED_S))
    assert estimate_replication_s(homes=91_000, days=730) == pytest.approx(two)


def test_the_run_left_follows_the_first_replications_pace() -> None:
    # A quarter done in 10 s: 30 s more for it, then a 40 s replication per later round.
    assert run_left_s(index=0, fraction=0.25, elapsed_s=10, replications=4, workers=2) == 70
    assert run_left_s(index=2, fraction=0.25, elapsed_s=10, replications=4, workers=2) == 30
    assert run_left_s(index=0, fraction=0.5, elapsed_s=10, replications=1, workers=1) == 10


def test_the_scratch_meter_keeps_the_largest_size_it_saw(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "big").write_bytes(bytes(3000))
    (tmp_path / "small").write_bytes(bytes(500))
    assert folder_bytes(tmp_path) == 3500
    meter = ScratchMeter(tmp_path)
    meter.sample()
    assert meter.sampling_s > 0  # what a timing leaves out
    (tmp_path / "a" / "big").unlink()
    assert meter.measure() == 3500
    assert meter.peak_mb == pytest.approx(0.0035)


def test_peak_memory_is_reported_in_megabytes() -> None:
    mine = peak_rss_mb()
    assert mine is not None
    assert 20 < mine < 100_000


def _estimate(capsys: pytest.CaptureFixture[str], out: Path, *argv: str) -> tuple[str, Path]:
    """Run ``canvass run`` into ``out``: the estimate line and the run folder."""
    assert main(["run", *argv, "--no-report", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    return lines[1], Path(lines[-1])


def test_the_estimate_takes_the_pace_of_an_earlier_run_of_the_same_workload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first_line, first = _estimate(capsys, tmp_path, "tiny", "--replications", "1")
    assert "with no earlier run of this workload" in first_line
    # The same workload at twice the horizon, seed and replications changed: its pace is
    # the first run's, so its replications take twice the first's, in two rounds of two.
    line, second = _estimate(
        capsys, tmp_path, "tiny", "--replications", "4", "--horizon-days", "10", "--seed", "7"
    )
    assert f"at the pace of an earlier run of this workload on this machine ({first}:" in line
    past = json.loads((first / "manifest.json").read_text())["replication_wall_s"][0]
    said = float(re.search(r"about (\d+) s", line).group(1))  # type: ignore[union-attr]
    assert said == pytest.approx(2 * 2 * past, abs=0.5)
    # Another workload (a parameter changed) is not judged by these runs.
    other, _ = _estimate(capsys, tmp_path, "tiny", "--set", "residents.response_prob=0.5")
    assert "with no earlier run of this workload" in other
    # The nearer run in scale and horizon is the one used: the second, now.
    again, _ = _estimate(capsys, tmp_path, "tiny", "--horizon-days", "10")
    assert f"({second}:" in again


def test_earlier_runs_that_cannot_say_a_pace_are_passed_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _line, run = _estimate(capsys, tmp_path, "tiny", "--replications", "2")
    manifest = json.loads((run / "manifest.json").read_text())
    resolved = manifest["scenario_resolved"]

    def copy(name: str, **changes: object) -> None:
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(json.dumps(manifest | changes))

    copy("z1-stopped", status="stopped")
    copy("z2-no-times", replication_wall_s=[])
    copy("z3-zero-time", replication_wall_s=[0.0])
    copy("z4-other-county", scenario_resolved=resolved | {"county": {"households": 9}})
    (tmp_path / "z5-torn").mkdir()
    (tmp_path / "z5-torn" / "manifest.json").write_text('{"kind": "run", "sta')
    (tmp_path / "z6-empty").mkdir()
    (tmp_path / "not-a-folder.txt").write_text("")
    copy("z7-half-scale", scale=0.5)
    copy("z8-no-scale", scale=0)
    copy("z9-nan-days", horizon_days=float("nan"))
    found = past_runs(tmp_path, resolved)
    assert [r.folder.name for r in found] == ["z7-half-scale", run.name]
    median = statistics.median(manifest["replication_wall_s"])
    assert found[1].replication_s == pytest.approx(median)
    nearest = nearest_run(found, scale=1.0, horizon_days=5)
    assert nearest is not None
    assert nearest.folder == run
    nearest = nearest_run(found, scale=0.4, horizon_days=5)
    assert nearest is not None
    assert nearest.folder.name == "z7-half-scale"
    assert past_runs(tmp_path / "missing", resolved) == []
    assert nearest_run([], scale=1.0, horizon_days=5) is None
