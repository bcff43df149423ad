"""``canvass bench system``: the reference system's fan-out over the densest part of Nassau.

For each backend the benchmark migrates the empty database it is given, imports
the synthetic Nassau population (residents and cameras), then has a detective
request video over the densest circle of the largest allowed area (0.5 sq mi),
a moderator approve it, and times :func:`fan_out`, the step that notifies every
eligible camera owner in the circle. The baseline, measured in the same run, is
a bare ``executemany`` of the same notification rows into an unindexed scratch
table: the floor any fan-out could reach on that database.

The result has the form README.md gives under "Benchmarks": ``{"benchmark", "machine", "measured",
"baseline", "targets"}``. Measured and baseline figures are flat numbers whose
names end in the backend where they depend on it (``fanout_s_sqlite``); later
figures (responses/s, transfers/s) join the same dictionaries and
:data:`TARGETS`.
"""

from __future__ import annotations

import json
import operator
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy
from sqlalchemy import Engine, select

from sim.core.counties import nassau
from sim.core.geography import densest_circle, haversine_m
from sim.core.population import Population, camera_rows, generate_population, resident_rows
from system.adapters import tables as t
from system.adapters.db import create_scratch_database, drop_scratch_database, make_engine
from system.adapters.migrate import upgrade
from system.adapters.stores import make_stores
from system.bootstrap import SqlServiceContext
from system.domain import geo
from system.domain.area import CircleArea
from system.domain.clip import encode_clip
from system.domain.clock import ManualClock
from system.domain.model import Role
from system.domain.moderation import CHECKLIST_ITEMS
from system.domain.rules import RequestDraft, RequestPolicy
from system.service_layer.clips import upload_clip
from system.service_layer.consent import respond
from system.service_layer.fanout import fan_out
from system.service_layer.jobs import run_pending_jobs
from system.service_layer.registration import (
    PopulationRows,
    import_population,
    open_case,
    register_agency,
    register_officer,
    register_staff,
)
from system.service_layer.requests import moderate, start_review, submit_request

BENCHMARK = "system"

BENCH_NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
"""The benchmark's clock: the Friday after Thanksgiving, 15:00 UTC."""

RADIUS_SHAVE_M = 1e-3
"""Taken off the radius so float round-off never pushes the area past the policy's cap."""

SCRATCH_TABLE = "bench_scratch_notifications"


@dataclass(frozen=True)
class Target:
    """A stated target, checked once per backend as ``<metric>_<backend> <op> value``."""

    metric: str
    op: str
    value: float


TARGETS = (Target("fanout_s", "<", 1.0),)

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class BenchCounty:
    """The population and the request area every backend is measured with."""

    population: Population
    rows: PopulationRows
    area: CircleArea
    owners_in_circle: list[int]  # rows of ``rows.residents`` a correct fan-out notifies
    measured: dict[str, float]


def largest_circle_radius_m(policy: RequestPolicy | None = None) -> float:
    """Radius of the largest circle the request policy allows, metres (a spherical cap)."""
    max_sq_mi = (policy or RequestPolicy()).max_area_sq_mi
    return geo.cap_radius_for_area_m(max_sq_mi * geo.SQ_M_PER_SQ_MI) - RADIUS_SHAVE_M


def prepare_county(*, seed: int, scale: float) -> BenchCounty:
    """Generate Nassau, its rows to import, and the densest allowed circle in it."""
    started = time.perf_counter()
    population = generate_population(nassau(), seed=seed, scale=scale)
    rows = PopulationRows(resident_rows(population, seed=seed), camera_rows(population))
    generate_s = time.perf_counter() - started
    radius_m = largest_circle_radius_m()
    lat, lon, homes_in = densest_circle(population.home_lat, population.home_lon, radius_m)
    area = CircleArea(center_lat=lat, center_lon=lon, radius_m=radius_m)
    inside = haversine_m(lat, lon, population.camera_lat, population.camera_lon) <= radius_m
    owner_homes = np.unique(population.camera_home[inside])
    owners = np.searchsorted(population.owner_homes, owner_homes).tolist()
    measured = {
        "seed": float(seed),
        "scale": float(scale),
        "homes": float(population.n_homes),
        "residents": float(len(rows.residents)),
        "cameras": float(population.n_cameras),
        "generate_s": generate_s,
        "circle_radius_m": radius_m,
        "circle_center_lat": lat,
        "circle_center_lon": lon,
        "homes_in_circle": float(homes_in),
        "cameras_in_circle": float(np.count_nonzero(inside)),
        "owners_in_circle": float(len(owners)),
    }
    return BenchCounty(population, rows, area, owners, measured)


def _approved_request(ctx: SqlServiceContext, area: CircleArea) -> int:
    """A detective's request over ``area``, approved by a moderator; returns its id."""
    agency = register_agency(
        ctx, name="Nassau County Police Department", county="Nassau", verified=True
    )
    detective = register_officer(
        ctx,
        agency_id=agency.id,
        name="Bench Detective",
        email="detective@bench.example",
        role=Role.DETECTIVE,
    )
    moderator = register_staff(
        ctx, name="Bench Moderator", email="moderator@bench.example", role=Role.MODERATOR
    )
    case = open_case(
        ctx, officer_id=detective.id, case_number="BENCH-0001", incident_type="package_theft"
    )
    return publish_approved(
        ctx, case_id=case.id, detective_id=detective.id, moderator_id=moderator.id, area=area
    )


def publish_approved(
    ctx: SqlServiceContext, *, case_id: int, detective_id: int, moderator_id: int, area: CircleArea
) -> int:
    """A porch theft's request over ``area`` (a two-hour window ending an hour ago),
    submitted by the detective and approved by the moderator; returns its id."""
    now = ctx.clock.now()
    draft = RequestDraft(
        case_id=case_id,
        incident_type="package_theft",
        description="A parcel was taken from a front porch on this block this afternoon.",
        investigator_contact="Bench Detective, detective@bench.example",
        incident_lat=area.center_lat,
        incident_lon=area.center_lon,
        window_start=now - timedelta(hours=3),
        window_end=now - timedelta(hours=1),
        area=area,
        message="Did your camera record anyone at a porch in this window? Sharing is optional.",
    )
    request_id = submit_request(ctx, officer_id=detective_id, draft=draft)
    start_review(ctx, moderator_id=moderator_id, request_id=request_id)
    moderate(
        ctx,
        moderator_id=moderator_id,
        request_id=request_id,
        decision="approve",
        reason="",
        checklist=dict.fromkeys(CHECKLIST_ITEMS, True),
    )
    return request_id


def _bare_bulk_insert(engine: Engine, rows: list[tuple[int, int, object]]) -> float:
    """Seconds for one bare ``executemany`` of ``rows`` into a scratch table, committed."""
    sqlite = engine.dialect.name == "sqlite"
    stamp_type = "TEXT" if sqlite else "TIMESTAMP WITH TIME ZONE"
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {SCRATCH_TABLE}")
        conn.exec_driver_sql(
            f"CREATE TABLE {SCRATCH_TABLE} "
            f"(request_id INTEGER NOT NULL, resident_id INTEGER NOT NULL, notified_at {stamp_type})"
        )
    insert = f"INSERT INTO {SCRATCH_TABLE} VALUES ({mark}, {mark}, {mark})"
    started = time.perf_counter()
    with engine.begin() as conn:
        if rows:
            conn.exec_driver_sql(insert, rows)
    elapsed = time.perf_counter() - started
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {SCRATCH_TABLE}")
    return elapsed


def _server_version(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        return sqlite3.sqlite_version
    info = engine.dialect.server_version_info or ()
    return ".".join(str(part) for part in info)


def bench_backend(
    backend: str,
    url: str,
    county: BenchCounty,
    say: Callable[[str], None],
    *,
    stores_dir: Path,
) -> tuple[dict[str, float], dict[str, float], str]:
    """Measure one backend; returns (measured, baseline, server version)."""
    engine = make_engine(url)
    try:
        say(f"{backend}: migrating")
        upgrade(engine)
        ctx = SqlServiceContext(
            engine=engine, clock=ManualClock(BENCH_NOW), content=make_stores(stores_dir)
        )
        n_rows = len(county.rows.residents) + len(county.rows.cameras)
        say(f"{backend}: importing {n_rows} resident and camera rows")
        started = time.perf_counter()
        resident_ids = import_population(ctx, county.rows)
        import_s = time.perf_counter() - started
        request_id = _approved_request(ctx, county.area)
        say(f"{backend}: fanning out request {request_id}")
        started = time.perf_counter()
        notified = fan_out(ctx, request_id=request_id)
        fanout_s = time.perf_counter() - started
        say(f"{backend}: notified {notified} in {fanout_s:.3f} s; bare insert baseline")
        now: object = BENCH_NOW.isoformat(sep=" ") if engine.dialect.name == "sqlite" else BENCH_NOW
        rows = [(request_id, resident_ids[i], now) for i in county.owners_in_circle]
        bulk_s = _bare_bulk_insert(engine, rows)
        consent_measured, consent_baseline = _bench_consent(ctx, backend, request_id, say)
        version = _server_version(engine)
    finally:
        engine.dispose()
    measured = {
        f"import_s_{backend}": import_s,
        f"import_rows_per_s_{backend}": _per_s(n_rows, import_s),
        f"fanout_s_{backend}": fanout_s,
        f"notified_{backend}": float(notified),
    }
    baseline = {
        f"bulk_insert_rows_{backend}": float(len(rows)),
        f"bulk_insert_s_{backend}": bulk_s,
        f"bulk_insert_rows_per_s_{backend}": _per_s(len(rows), bulk_s),
    }
    return measured | consent_measured, baseline | consent_baseline, version


CONSENT_SAMPLE = 400
"""Notified residents who answer in the consent benchmark (half share one clip)."""
CLIP_BYTES = 256 * 1024


def _bench_consent(
    ctx: SqlServiceContext, backend: str, request_id: int, say: Callable[[str], None]
) -> tuple[dict[str, float], dict[str, float]]:
    """Responses recorded per second and transfers per second, beside bare inserts."""
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(t.notifications.c.id, t.notifications.c.resident_id, t.cameras.c.id)
            .join(t.cameras, t.cameras.c.resident_id == t.notifications.c.resident_id)
            .where(t.notifications.c.request_id == request_id)
            .order_by(t.notifications.c.id, t.cameras.c.id)
        ).all()
    first_camera: dict[int, tuple[int, int]] = {}
    for notification_id, resident_id, camera_id in rows:
        first_camera.setdefault(resident_id, (notification_id, camera_id))
    sample = list(first_camera.items())[:CONSENT_SAMPLE]
    recorded = BENCH_NOW - timedelta(hours=2)
    say(f"{backend}: {len(sample)} residents upload a clip each")
    rng = np.random.default_rng(7)
    clips = {
        resident: upload_clip(
            ctx,
            camera_id=camera,
            content=encode_clip(
                recorded_at=recorded, duration_s=30.0, video=rng.bytes(CLIP_BYTES), audio=None
            ),
        )
        for resident, (_n, camera) in sample
    }
    say(f"{backend}: {len(sample)} residents answer (half share, half decline)")
    started = time.perf_counter()
    for i, (resident, (notification_id, _camera)) in enumerate(sample):
        share = (clips[resident],) if i % 2 == 0 else ()
        respond(ctx, resident_id=resident, notification_id=notification_id, clip_ids=share)
    responses_s = time.perf_counter() - started
    shared = (len(sample) + 1) // 2
    say(f"{backend}: transferring {shared} shared clips")
    started = time.perf_counter()
    report = run_pending_jobs(ctx, schedule=False)
    transfers_s = time.perf_counter() - started
    if report.errors:
        raise RuntimeError(f"transfers failed in the benchmark: {report.errors[:3]}")
    stamp: object = (
        BENCH_NOW.isoformat(sep=" ") if ctx.engine.dialect.name == "sqlite" else BENCH_NOW
    )
    bare_responses_s = _bare_bulk_insert(ctx.engine, [(request_id, r, stamp) for r, _ in sample])
    bare_transfers_s = _bare_bulk_insert(
        ctx.engine, [(request_id, r, stamp) for r, _ in sample[:shared]]
    )
    measured = {
        f"responses_{backend}": float(len(sample)),
        f"responses_per_s_{backend}": _per_s(len(sample), responses_s),
        f"transfers_{backend}": float(report.done),
        f"transfers_per_s_{backend}": _per_s(report.done, transfers_s),
        f"transfer_clip_bytes_{backend}": float(CLIP_BYTES),
    }
    baseline = {
        f"bare_insert_responses_per_s_{backend}": _per_s(len(sample), bare_responses_s),
        f"bare_insert_transfers_per_s_{backend}": _per_s(shared, bare_transfers_s),
    }
    return measured, baseline


def _per_s(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def check_targets(
    measured: Mapping[str, float], backends: list[str], targets: tuple[Target, ...] = TARGETS
) -> list[dict[str, Any]]:
    """One entry per stated target and backend measured (targets not measured are skipped)."""
    entries: list[dict[str, Any]] = []
    for target in targets:
        for backend in backends:
            name = f"{target.metric}_{backend}"
            if name in measured:
                value = measured[name]
                met = _OPS[target.op](value, target.value)
                entries.append(
                    {
                        "name": name,
                        "op": target.op,
                        "value": target.value,
                        "measured": value,
                        "met": met,
                    }
                )
    return entries


def machine_info() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "sqlalchemy": sqlalchemy.__version__,
        "numpy": np.__version__,
    }


def run_bench_system(
    *,
    database_urls: dict[str, str],
    seed: int = 1,
    scale: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the system benchmark on each ``{backend label: empty database URL}``.

    Labels become name suffixes (``sqlite``, ``postgres``). Every database is
    migrated and filled here, so each URL must name an empty database.
    """
    for backend in database_urls:
        if not backend.isidentifier() or not backend.islower():
            raise ValueError(f"backend label must be a lower-case identifier (got {backend!r})")

    def quiet(_message: str) -> None:
        return None

    say = progress or quiet
    say(f"generating the Nassau population (seed {seed}, scale {scale})")
    county = prepare_county(seed=seed, scale=scale)
    measured = dict(county.measured)
    say(
        f"{int(measured['homes'])} homes, {int(measured['cameras'])} cameras; densest circle "
        f"holds {int(measured['homes_in_circle'])} homes"
    )
    baseline: dict[str, float] = {}
    machine = machine_info()
    for backend, url in database_urls.items():
        with tempfile.TemporaryDirectory(prefix=f"canvass-bench-{backend}-") as stores_dir:
            backend_measured, backend_baseline, version = bench_backend(
                backend, url, county, say, stores_dir=Path(stores_dir)
            )
        measured |= backend_measured
        baseline |= backend_baseline
        machine[f"{backend}_version"] = version
    return {
        "benchmark": BENCHMARK,
        "machine": machine,
        "measured": measured,
        "baseline": baseline,
        "targets": check_targets(measured, list(database_urls)),
    }


def write_bench(result: Mapping[str, Any], out_path: str | Path) -> Path:
    """Write a benchmark result as JSON (parents created); returns the path."""
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path


def format_bench(result: Mapping[str, Any]) -> str:
    """A short human-readable table of a benchmark result."""
    lines = [f"bench {result['benchmark']}"]
    for section in ("measured", "baseline"):
        lines.append(f"{section}:")
        lines += [f"  {name:<34} {_fmt(value)}" for name, value in result[section].items()]
    lines.append("targets:")
    for entry in result["targets"]:
        goal = f"{entry['name']} {entry['op']} {_fmt(entry['value'])}"
        verdict = "met" if entry["met"] else "MISSED"
        lines.append(f"  {goal:<34} {_fmt(entry['measured']):>12}  {verdict}")
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.6g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, float | int):
        return f"{int(value):,}"
    return str(value)


def bench_system_command(
    *,
    postgres_url: str | None,
    scale: float,
    seed: int,
    out: Path,
    echo: Callable[[str], None],
) -> int:
    """``canvass bench system``: SQLite in a scratch folder, PostgreSQL on a scratch database.

    Prints the figures, writes the JSON to ``out``; returns the exit status
    (0, or 3 when a target is missed).
    """
    with tempfile.TemporaryDirectory(prefix="canvass-bench-") as scratch:
        urls = {"sqlite": f"sqlite:///{Path(scratch) / 'bench.db'}"}
        pg_db = None
        if postgres_url is not None:
            pg_db = create_scratch_database(postgres_url, prefix="canvass_bench")
            urls["postgres"] = pg_db
        try:
            result = run_bench_system(database_urls=urls, seed=seed, scale=scale, progress=echo)
        finally:
            if pg_db is not None:
                drop_scratch_database(pg_db, server_url=postgres_url or "")
    write_bench(result, out)
    echo(format_bench(result))
    echo(f"wrote {out}")
    return 0 if all(t["met"] for t in result["targets"]) else 3
