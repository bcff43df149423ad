"""What a run costs: its duration estimate, peak memory and scratch space, as a user sees them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from canvass.cli import main
from sim.usage import (
    REPLICATION_FIXED_S,
    ScratchMeter,
    estimate_run_s,
    folder_bytes,
    peak_rss_mb,
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
    one = estimate_run_s(homes=91_000, days=365, replications=1, workers=1)
    assert estimate_run_s(homes=91_000, days=365, replications=4, workers=2) == 2 * one
    assert estimate_run_s(homes=91_000, days=365, replications=3, workers=2) == 2 * one
    assert estimate_run_s(homes=91_000, days=365, replications=2, workers=8) == one
    # Beyond a replication's fixed set-up, the time grows with the county's home-days.
    two = estimate_run_s(homes=182_000, days=365, replications=1, workers=1)
    assert two - REPLICATION_FIXED_S == pytest.approx(2 * (one - REPLICATION_FIXED_S))
    assert estimate_run_s(homes=91_000, days=730, replications=1, workers=1) == pytest.approx(two)


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
