"""A scripted demonstration of the reference system on a slice of Nassau County.

Until the county model drives the system (``canvass run``), this is the main
job: it builds a population, opens cases at randomly chosen homes, submits
requests, has a moderator decide them (one is rejected for pressuring
language), fans out the approved ones, and writes a run folder.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from results.runfolder import new_run_dir, write_manifest, write_summary, write_table
from results.statistics import metric
from sim.core.counties import nassau
from sim.core.population import camera_rows, generate_population, resident_rows
from system.adapters.db import make_engine
from system.adapters.migrate import upgrade
from system.bootstrap import SqlServiceContext
from system.domain.area import CircleArea
from system.domain.clock import ManualClock
from system.domain.errors import RuleViolation
from system.domain.geo import SQ_M_PER_SQ_MI
from system.domain.moderation import CHECKLIST_ITEMS
from system.domain.rules import RequestDraft
from system.service_layer import fanout, registration, requests, residents

DEMO_START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
INCIDENTS = 12
RADIUS_M = 300.0
OPT_OUT_SHARE = 0.05
PLAIN_MESSAGE = (
    "Police are investigating a package theft near you on the afternoon shown. If your "
    "camera recorded the street, you may choose to share it. Sharing is optional."
)
PRESSING_MESSAGE = "You must share your video immediately. Failure to respond may be obstruction."

REQUEST_COLUMNS = [
    "request_id",
    "case_number",
    "status",
    "lint_flags",
    "area_sq_mi",
    "notified",
]


@dataclass
class _Staff:
    agency_id: int
    detectives: list[int]
    moderator_id: int


def _hire(ctx: SqlServiceContext) -> _Staff:
    agency = registration.register_agency(
        ctx, name="Nassau County Police Department", county="Nassau", verified=True
    )
    detectives = [
        registration.register_officer(
            ctx,
            agency_id=agency.id,
            name=f"Detective {i + 1}",
            email=f"detective{i + 1}@ncpd.example",
            role="detective",
        ).id
        for i in range(3)
    ]
    moderator = registration.register_staff(
        ctx, name="Platform Moderator", email="moderator@platform.example", role="moderator"
    )
    return _Staff(agency.id, detectives, moderator.id)


def run_demo(*, seed: int, scale: float, out_root: Path, echo: Callable[[str], None]) -> Path:
    """Run the demonstration; returns the run folder."""
    run_dir = new_run_dir("demo-nassau", root=out_root)
    clock = ManualClock(DEMO_START)
    engine = make_engine(f"sqlite:///{run_dir / 'canvass.db'}")
    upgrade(engine)
    ctx = SqlServiceContext(engine=engine, clock=clock)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])

    population = generate_population(nassau(), seed=seed, scale=scale)
    owner_ids = registration.import_population(
        ctx,
        registration.PopulationRows(resident_rows(population, seed=seed), camera_rows(population)),
    )
    echo(
        f"county: {population.n_homes} homes in {scale:.0%} of Nassau, "
        f"{len(owner_ids)} camera owners with {population.n_cameras} cameras"
    )
    opted_out = rng.choice(len(owner_ids), size=int(len(owner_ids) * OPT_OUT_SHARE), replace=False)
    for index in opted_out.tolist():
        residents.opt_out(ctx, resident_id=owner_ids[index])
    echo(f"{len(opted_out)} camera owners opted out of all requests")

    staff = _hire(ctx)
    rows = _run_incidents(ctx, staff, population.home_lat, population.home_lon, rng, echo)
    write_table(run_dir, "requests", rows, REQUEST_COLUMNS)
    _write_results(
        run_dir, ctx, rows, owners=len(owner_ids), opted_out=len(opted_out), seed=seed, scale=scale
    )
    engine.dispose()
    return run_dir


def _run_incidents(
    ctx: SqlServiceContext,
    staff: _Staff,
    home_lat: np.ndarray,
    home_lon: np.ndarray,
    rng: np.random.Generator,
    echo: Callable[[str], None],
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    homes = rng.choice(home_lat.size, size=INCIDENTS, replace=False)
    for n, home in enumerate(homes.tolist()):
        clock = ctx.clock
        assert isinstance(clock, ManualClock)
        clock.advance(timedelta(hours=5))
        detective = staff.detectives[n % len(staff.detectives)]
        case = registration.open_case(
            ctx,
            officer_id=detective,
            case_number=f"2026-PT-{n + 1:04d}",
            incident_type="package_theft",
        )
        lat, lon = float(home_lat[home]), float(home_lon[home])
        now = clock.now()
        message = PRESSING_MESSAGE if n == 3 else PLAIN_MESSAGE
        draft = RequestDraft(
            case_id=case.id,
            incident_type="package_theft",
            description="A package was taken from a porch; looking for video of the street.",
            investigator_contact=f"Detective {n % 3 + 1}, Nassau County PD",
            incident_lat=lat,
            incident_lon=lon,
            window_start=now - timedelta(hours=4),
            window_end=now - timedelta(hours=1),
            area=CircleArea(lat, lon, RADIUS_M),
            message=message,
        )
        request_id = requests.submit_request(ctx, officer_id=detective, draft=draft)
        rows.append(_decide_and_send(ctx, staff, request_id, case.case_number, echo))
        if n == 0:
            _show_case_limit(ctx, detective, draft, echo)
    return rows


def _decide_and_send(
    ctx: SqlServiceContext,
    staff: _Staff,
    request_id: int,
    case_number: str,
    echo: Callable[[str], None],
) -> dict[str, object]:
    requests.start_review(ctx, moderator_id=staff.moderator_id, request_id=request_id)
    with ctx.uow(read_only=True) as uow:
        request = uow.requests.get(request_id)
    assert request is not None
    flags = request.lint_flags
    if flags:
        requests.moderate(
            ctx,
            moderator_id=staff.moderator_id,
            request_id=request_id,
            decision="reject",
            reason="The message pressures residents to share (REQ-07).",
            checklist={**dict.fromkeys(CHECKLIST_ITEMS, True), "no_pressure": False},
        )
        lint_text = "; ".join(flags)
        echo(f"request {request_id} ({case_number}): rejected by the moderator; lint: {lint_text}")
        notified = 0
        status = "rejected"
    else:
        requests.moderate(
            ctx,
            moderator_id=staff.moderator_id,
            request_id=request_id,
            decision="approve",
            reason="",
            checklist=dict.fromkeys(CHECKLIST_ITEMS, True),
        )
        notified = fanout.fan_out(ctx, request_id=request_id)
        echo(f"request {request_id} ({case_number}): approved, {notified} residents notified")
        status = "active"
    return {
        "request_id": request_id,
        "case_number": case_number,
        "status": status,
        "lint_flags": " | ".join(flags),
        "area_sq_mi": round(request.area.area_m2() / SQ_M_PER_SQ_MI, 4),
        "notified": notified,
    }


def _show_case_limit(
    ctx: SqlServiceContext, detective: int, draft: RequestDraft, echo: Callable[[str], None]
) -> None:
    requests.submit_request(ctx, officer_id=detective, draft=draft)
    try:
        requests.submit_request(ctx, officer_id=detective, draft=draft)
    except RuleViolation as refused:
        echo(f"a third request for one case was refused: {refused}")


def _write_results(
    run_dir: Path,
    ctx: SqlServiceContext,
    rows: list[dict[str, object]],
    *,
    owners: int,
    opted_out: int,
    seed: int,
    scale: float,
) -> None:
    with ctx.uow(read_only=True) as uow:
        counts = Counter(
            resident
            for row in rows
            for resident in uow.notifications.residents_for(int(str(row["request_id"])))
        )
    published = [r for r in rows if r["status"] == "active"]
    notified = [float(str(r["notified"])) for r in published]
    metrics = {
        "requests": metric([float(len(published))], "requests"),
        "notifications": metric([float(sum(notified))], "notifications"),
        "notifications_per_request": metric(
            [sum(notified) / len(published)] if published else [], "notifications/request"
        ),
        "households_notified_share": metric([len(counts) / owners if owners else 0.0], "share"),
        "repeat_notifications_per_household": metric(
            [sum(counts.values()) / len(counts)] if counts else [], "notifications/household"
        ),
        "opt_out_rate": metric([opted_out / owners if owners else 0.0], "share"),
    }
    write_summary(run_dir, scenario="demo-nassau", replications=1, metrics=metrics)
    write_manifest(
        run_dir,
        scenario="demo-nassau",
        seeds={"population": seed, "incidents": seed},
        scale=scale,
        database=str(run_dir / "canvass.db"),
    )
