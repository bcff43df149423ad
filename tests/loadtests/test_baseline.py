"""The regression gate: p95 per route group and throughput against an earlier results folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from canvass.cli import main
from loadtests.baseline import BaselineError, Row, compare, read_stats

HEADER = "Type,Name,Request Count,Failure Count,Requests/s,95%\n"


def folder(tmp_path: Path, name: str, rows: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    (path / "locust_stats.csv").write_text(HEADER + rows)
    return path


def test_a_route_a_quarter_slower_at_p95_is_a_regression_named_with_both_figures() -> None:
    found = compare(
        {"GET /a": Row(50, 125, 5), "GET /b": Row(50, 110, 5)},
        {"GET /a": Row(50, 100, 5), "GET /b": Row(50, 100, 5)},
    )
    assert [str(r) for r in found] == [
        "regression: p95 of GET /a: measured 125 ms, baseline 100 ms"
    ]


def test_throughput_more_than_a_tenth_lower_is_a_regression() -> None:
    found = compare({"Aggregated": Row(500, 10, 8.5)}, {"Aggregated": Row(600, 10, 10)})
    assert [r.what for r in found] == ["throughput"]
    assert compare({"Aggregated": Row(500, 10, 9.5)}, {"Aggregated": Row(600, 10, 10)}) == []


def test_routes_with_few_requests_are_not_judged() -> None:
    assert compare({"GET /a": Row(5, 900, 1)}, {"GET /a": Row(50, 100, 5)}) == []


def test_stats_are_read_by_method_and_name_with_the_whole_run_apart(tmp_path: Path) -> None:
    path = folder(tmp_path, "run", "GET,/a,30,0,3.0,120\n,Aggregated,30,0,3.0,120\n")
    assert read_stats(path) == {"GET /a": Row(30, 120, 3.0), "Aggregated": Row(30, 120, 3.0)}
    with pytest.raises(BaselineError, match=r"locust_stats\.csv"):
        read_stats(tmp_path)


def test_a_baseline_without_locust_stats_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["loadtest", "--serve", "--baseline", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    assert "--baseline" in capsys.readouterr().err
