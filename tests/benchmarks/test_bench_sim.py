"""``canvass bench sim`` at a tiny scale: the documented JSON form, honest targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.bench_sim import _bare_store, _figure, bench_sim_command


def test_bench_sim_writes_the_documented_form(tmp_path: Path) -> None:
    out = tmp_path / "bench-sim.json"
    status = bench_sim_command(scale=0.0005, seed=2, out=out, echo=lambda _l: None)
    result = json.loads(out.read_text())
    assert set(result) >= {"benchmark", "machine", "measured", "baseline", "targets"}
    assert result["benchmark"] == "sim"
    measured = result["measured"]
    assert measured["events"] > 0
    assert measured["rows"] > 0
    assert measured["wall_s"] > 0
    # The replication's peak memory: more than an interpreter with the system imported.
    assert measured["peak_rss_mb"] > 50
    baseline = result["baseline"]
    assert baseline["bare_simpy_s"] > 0
    # The run shared clips, so the bare store baseline had uploads and transfers to time.
    assert baseline["uploads"] > 0
    assert baseline["transfers"] > 0
    assert baseline["bare_store_s"] > 0
    assert measured["store_floor_share"] == pytest.approx(baseline["bare_store_s"] / 120.0)
    # The wall time splits into the system's calls and the model's own work.
    calls = result["system_calls"]
    assert {"setup", "run_jobs", "respond"} <= set(calls)
    assert measured["system_s"] == pytest.approx(sum(c["s"] for c in calls.values()))
    assert 0 < measured["system_s"] < measured["wall_s"]
    assert measured["model_s"] == pytest.approx(measured["wall_s"] - measured["system_s"])
    names = [t["name"] for t in result["targets"]]
    assert names == ["wall_s", "baseline_ratio"]
    # A partial county never claims the full-county targets.
    assert not any(t["met"] for t in result["targets"])
    assert status == 3


def test_the_bare_store_writes_reads_and_deletes_what_it_should(tmp_path: Path) -> None:
    seconds = _bare_store(5, 7, 100, tmp_path)
    assert seconds > 0
    stores = ("clips", "outbox", "evidence")
    files = {store: list((tmp_path / store).glob("*/*")) for store in stores}
    # One file per upload and per transfer's evidence copy; every transient copy deleted.
    assert len(files["clips"]) == 5
    assert len(files["evidence"]) == 7
    assert files["outbox"] == []
    # Each file is encrypted: its plaintext (the clip's index and zero padding) is not in it.
    for path in files["clips"]:
        assert bytes(50) not in path.read_bytes()


def test_figures_print_without_exponents() -> None:
    assert _figure(10370.4) == "10,370"
    assert _figure(4300403) == "4,300,403"
    assert _figure(6.862) == "6.862"
    assert _figure(0.001681) == "0.001681"
    assert _figure(None) == "None"
