"""``canvass bench sim`` at a tiny scale: the documented JSON form, honest targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.drivers.bench_sim import bench_sim_command


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
    assert result["baseline"]["bare_simpy_s"] > 0
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
