"""``bench api``'s workload: its sizes, and the requests, notifications and residents it seeds.

A run of ``canvass bench api`` needs data to send: a slice of Nassau seeded,
many requests published over each of the densest allowed circles (in-process,
through the service layer) and fanned out, and the camera owners inside them
given logins, each with a notification of its own for every answer it sends.
:class:`Sizes` says how long and how hard each run is, and so how many answers
the workload must hold and how many the resident rate limit lets through.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from benchmarks.bench_system import largest_circle_radius_m, publish_approved
from sim.core.counties import nassau
from sim.core.geography import densest_circle, haversine_m
from sim.drivers.seed import seed_database
from system.adapters import tables as t
from system.api.ratelimit import RateLimits
from system.bootstrap import SqlServiceContext, build_context
from system.config import load_settings
from system.domain.accounts import decode_totp_secret, totp
from system.domain.area import CircleArea
from system.domain.geo import Point
from system.domain.rules import RequestPolicy
from system.service_layer import accounts
from system.service_layer.jobs import run_pending_jobs
from system.service_layer.registration import open_case

RESIDENT_PASSWORD = "bench resident password"


@dataclass(frozen=True)
class Sizes:
    """How long and how hard each run is; ``quick`` is for CI (a few seconds a run)."""

    duration_s: int
    warmup_s: int  # closed-loop warm-up on the same servers before each measured run
    connections: int
    threads: int
    homes: int
    requests: int  # published over the same circle: notifications per resident
    residents: int  # camera owners in the circle given logins


# requests x residents answers: 40% for each response run, 10% for each one's warm-up,
# so a run has answers for 4 * residents * requests / 10 / duration_s per second
# (QUICK 6,667/s, FULL 5,040/s: the answers' peak reached 4,000/s on SQLite) before it
# would repeat them. Each resident answers requests / 2 times per run, within what the
# rate limit lets through in a run (its burst of 60 plus 2/s refilled over the warm-up
# and the run: QUICK 50 of 68, FULL 75 of 84; see answers_allowed). One circle does not
# hold that many camera owners: the densest of Nassau's slice held 309 at 4,000 homes and
# 378 at 6,000 (seed 1, 2026-12-07), so the requests go over up to MAX_CIRCLES circles,
# each the densest of the cameras the others leave out: 309 + 215 owners at 4,000 homes,
# 378 + 268 + 255 at 6,000.
FULL = Sizes(
    duration_s=10, warmup_s=2, connections=64, threads=4, homes=6000, requests=150, residents=840
)
# Quick differs in time and workload, not in load: answers arriving together are written
# together (group commit), so fewer closed-loop connections understate the answers' peak
# (PostgreSQL, 3 s runs: 0.24-0.28 of /healthz's peak with 32 connections, 0.34 with 64).
QUICK = Sizes(
    duration_s=3, warmup_s=1, connections=64, threads=2, homes=4000, requests=100, residents=500
)
MAX_CIRCLES = 4
"""Circles the requests go over at most, each with ``requests`` requests of a case."""
RESPONSE_RUN_SHARE = 0.4  # of all answers, for each response run (four tenths in bench_backend)


def answer_capacity_per_s(sizes: Sizes, residents: int | None = None) -> float:
    """Answers per second a response run can send before it would repeat one."""
    found = sizes.residents if residents is None else residents
    return found * sizes.requests * RESPONSE_RUN_SHARE / sizes.duration_s


def answers_allowed(sizes: Sizes, limits: RateLimits | None = None) -> float:
    """Answers one resident may send in a warm-up and its run before the rate limit refuses
    them: servers restart for every run, so each bucket starts full (SEC-06)."""
    rate = (limits or RateLimits()).resident_per_account
    return rate.burst + rate.per_minute / 60.0 * (sizes.warmup_s + sizes.duration_s)


# --- the workload ------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """Tokens and ids the load needs; ``answers`` pairs a resident's token with one notification."""

    answers: list[tuple[str, int]]  # round-robin over residents
    resident_tokens: list[str]
    detective_token: str
    request_id: int


def prepare_workload(
    database_url: str, data_dir: Path, sizes: Sizes, say: Callable[[str], None]
) -> Workload:
    """Seed, publish ``sizes.requests`` requests over each of the densest circles, log
    residents in."""
    settings = load_settings(database_url=database_url, data_dir=str(data_dir))
    county = nassau()
    with tempfile.TemporaryDirectory(prefix="canvass-bench-api-") as scratch:
        creds_path = Path(scratch) / "credentials.json"
        seed_database(
            settings,
            county=county,
            scale=min(1.0, sizes.homes / county.households),
            seed=1,
            out=creds_path,
            resident_accounts=0,
            device_tokens=0,
            echo=say,
        )
        staff = {s["username"]: s for s in json.loads(creds_path.read_text())["staff"]}
    base = build_context(settings)
    policy = RequestPolicy(
        max_requests_per_case=sizes.requests,
        agency_daily_quota=MAX_CIRCLES * sizes.requests + 10,
    )
    ctx = replace(base, policy=policy)
    try:
        centres = _circles(ctx, sizes.residents, largest_circle_radius_m())
        request_ids = _publish(ctx, staff, sizes.requests, centres)
        say(f"published {len(request_ids)} requests over {len(centres)} circles; fanning out")
        report = run_pending_jobs(ctx, limit=10 * len(request_ids))
        if report.errors:
            raise RuntimeError(f"fan-out failed in the benchmark: {report.errors[:3]}")
        by_resident = _notifications(ctx, request_ids, sizes.residents)
        say(f"logging in {len(by_resident)} residents (two Argon2 hashes each, on every core)")
        tokens = _resident_tokens(ctx, list(by_resident))
        detective = staff["detective1"]
        code = totp(decode_totp_secret(detective["totp_secret"]), at=ctx.clock.now())
        detective_token = accounts.login(
            ctx,
            username="detective1",
            password=detective["password"],
            totp_code=code,
            source_ip="127.0.0.1",
        ).access_token
    finally:
        ctx.engine.dispose()
    answers = [
        (tokens[resident], nids[i])
        for i in range(sizes.requests)
        for resident, nids in by_resident.items()
        if i < len(nids)
    ]
    return Workload(answers, list(tokens.values()), detective_token, request_ids[0])


def _circles(ctx: SqlServiceContext, owners_wanted: int, radius_m: float) -> list[Point]:
    c = t.cameras.c
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(select(c.lat, c.lon, c.resident_id)).all()
    return circles_holding(
        np.array([r.lat for r in rows], dtype=np.float64),
        np.array([r.lon for r in rows], dtype=np.float64),
        np.array([r.resident_id for r in rows], dtype=np.int64),
        owners=owners_wanted,
        radius_m=radius_m,
    )


def circles_holding(
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    owner: NDArray[np.int64],
    *,
    owners: int,
    radius_m: float,
    most: int = MAX_CIRCLES,
) -> list[Point]:
    """Centres of the densest circles of ``radius_m`` over cameras at ``lat``/``lon``,
    taken greedily (each the densest over the cameras the earlier ones leave out) until
    they hold cameras of ``owners`` distinct owners, or ``most`` circles: one circle of
    Nassau holds a few hundred camera owners."""
    left = np.ones(lat.size, dtype=bool)
    found: set[int] = set()
    centres: list[Point] = []
    while len(found) < owners and len(centres) < most and left.any():
        centre_lat, centre_lon, _ = densest_circle(lat[left], lon[left], radius_m)
        inside = haversine_m(centre_lat, centre_lon, lat, lon) <= radius_m
        found.update(owner[inside].tolist())
        left &= ~inside
        centres.append(Point(centre_lat, centre_lon))
    return centres


def _publish(
    ctx: SqlServiceContext, staff: dict[str, Any], count: int, centres: list[Point]
) -> list[int]:
    """``count`` approved requests over each circle, a case per circle."""
    radius_m = largest_circle_radius_m()
    detective_id = staff["detective1"]["subject_id"]
    moderator_id = staff["moderator"]["subject_id"]
    ids = []
    for number, centre in enumerate(centres, start=1):
        case = open_case(
            ctx,
            officer_id=detective_id,
            case_number=f"BENCH-API-{number}",
            incident_type="package_theft",
        )
        area = CircleArea(center_lat=centre.lat, center_lon=centre.lon, radius_m=radius_m)
        ids += [
            publish_approved(
                ctx,
                case_id=case.id,
                detective_id=detective_id,
                moderator_id=moderator_id,
                area=area,
            )
            for _ in range(count)
        ]
    return ids


def _notifications(
    ctx: SqlServiceContext, request_ids: list[int], limit: int
) -> dict[int, list[int]]:
    """Notification ids per resident (the first ``limit`` residents notified), by request."""
    n = t.notifications.c
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(n.resident_id, n.id)
            .where(n.request_id.in_(request_ids))
            .order_by(n.resident_id, n.request_id)
        ).all()
    found: dict[int, list[int]] = {}
    for resident_id, notification_id in rows:
        if resident_id in found or len(found) < limit:
            found.setdefault(resident_id, []).append(notification_id)
    return found


def _resident_tokens(ctx: SqlServiceContext, resident_ids: list[int]) -> dict[int, str]:
    """An account and a bearer token per resident; Argon2 runs on threads (it drops the GIL)."""

    def one(resident_id: int) -> tuple[int, str]:
        username = f"bench-resident{resident_id}"
        accounts.create_account(
            ctx,
            username=username,
            password=RESIDENT_PASSWORD,
            role="resident",
            subject_id=resident_id,
            created_by="operator:bench",
        )
        issued = accounts.login(
            ctx,
            username=username,
            password=RESIDENT_PASSWORD,
            totp_code=None,
            source_ip="127.0.0.1",
        )
        return resident_id, issued.access_token

    with ThreadPoolExecutor(max_workers=min(16, (os.cpu_count() or 2))) as pool:
        return dict(pool.map(one, resident_ids))
