"""``bench system`` at small scale on SQLite: the documented JSON, and a correct fan-out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.bench_system import (
    format_bench,
    largest_circle_radius_m,
    run_bench_system,
    write_bench,
)
from sim.core.counties import nassau
from sim.core.population import generate_population
from system.domain import geo
from system.domain.area import CircleArea
from system.domain.rules import RequestPolicy

SEED = 5
SCALE = 0.02


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    db = tmp_path_factory.mktemp("bench") / "bench.db"
    messages: list[str] = []
    found = run_bench_system(
        database_urls={"sqlite": f"sqlite:///{db}"},
        seed=SEED,
        scale=SCALE,
        progress=messages.append,
    )
    assert messages, "the benchmark reports its progress"
    return found


def test_the_result_has_the_documented_form(result: dict[str, Any]) -> None:
    assert set(result) == {"benchmark", "machine", "measured", "baseline", "targets"}
    assert result["benchmark"] == "system"
    assert {"python", "platform", "cpu_count", "sqlalchemy"} <= set(result["machine"])
    for key in (
        "fanout_s_sqlite",
        "notified_sqlite",
        "import_rows_per_s_sqlite",
        "homes_in_circle",
        "cameras_in_circle",
    ):
        assert isinstance(result["measured"][key], float), key
    assert result["measured"]["fanout_s_sqlite"] > 0
    assert result["baseline"]["bulk_insert_rows_per_s_sqlite"] > 0
    json.dumps(result, allow_nan=False)  # plain JSON: no numpy scalars, no NaN


def test_fan_out_notifies_exactly_the_camera_owners_inside_the_circle(
    result: dict[str, Any],
) -> None:
    measured = result["measured"]
    population = generate_population(nassau(), seed=SEED, scale=SCALE)
    circle = CircleArea(
        measured["circle_center_lat"], measured["circle_center_lon"], measured["circle_radius_m"]
    )
    owners = {
        int(home)
        for home, lat, lon in zip(
            population.camera_home, population.camera_lat, population.camera_lon, strict=True
        )
        if circle.contains(float(lat), float(lon))
    }
    homes = sum(
        circle.contains(float(lat), float(lon))
        for lat, lon in zip(population.home_lat, population.home_lon, strict=True)
    )
    assert len(owners) > 10
    assert measured["notified_sqlite"] == len(owners)
    assert measured["homes_in_circle"] == homes
    assert measured["cameras_in_circle"] >= len(owners)


def test_the_circle_is_the_largest_area_the_policy_allows() -> None:
    radius = largest_circle_radius_m()
    area_sq_mi = geo.cap_area_m2(radius) / geo.SQ_M_PER_SQ_MI
    assert area_sq_mi <= RequestPolicy().max_area_sq_mi
    assert area_sq_mi == pytest.approx(RequestPolicy().max_area_sq_mi, rel=1e-5)


def test_targets_name_each_backend_and_say_whether_they_were_met(
    result: dict[str, Any],
) -> None:
    (target,) = result["targets"]
    assert target["name"] == "fanout_s_sqlite"
    assert target["op"] == "<"
    assert target["value"] == 1.0
    assert target["measured"] == result["measured"]["fanout_s_sqlite"]
    assert target["met"] is (target["measured"] < 1.0)


def test_the_result_is_written_as_json_and_printed_as_a_table(
    result: dict[str, Any], tmp_path: Path
) -> None:
    path = write_bench(result, tmp_path / "out" / "bench-system.json")
    assert json.loads(path.read_text()) == result
    table = format_bench(result)
    assert "fanout_s_sqlite" in table
    assert "bulk_insert_rows_per_s_sqlite" in table
