"""``canvass seed``: fill a system database with a synthetic population and its accounts.

Writes a credentials file (passwords, TOTP secrets, device tokens) so an engineer
can log in and load-test at once. Keep that file private: it holds secrets. It
also says where the load can reach: the agency's id, each resident's home point
and cameras, and each device token's camera, owner and point, so a load test can
place incidents where the residents it logs in as will be notified. Device tokens
go to those residents' cameras first.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from sim.core.counties import CountySpec
from sim.core.population import camera_rows, generate_population, resident_rows
from system.adapters import tables as t
from system.config import Settings
from system.manage import upgrade_database
from system.service_layer import accounts, registration
from system.service_layer.context import build_context


def seed_database(
    settings: Settings,
    *,
    county: CountySpec,
    scale: float,
    seed: int,
    out: Path,
    resident_accounts: int,
    device_tokens: int,
    echo: Callable[[str], None],
) -> dict[str, Any]:
    """Seed the database behind ``settings``; returns (and writes) the credentials."""
    echo(f"database at migration {upgrade_database(settings)}")
    ctx = build_context(settings)
    try:
        population = generate_population(county, seed=seed, scale=scale)
        ids = registration.import_population(
            ctx,
            registration.PopulationRows(
                resident_rows(population, seed=seed), camera_rows(population)
            ),
        )
        echo(
            f"{population.n_homes} homes, {len(ids)} camera owners, {population.n_cameras} cameras"
        )
        creds: dict[str, Any] = {
            "database_url": settings.database_url,
            "agency_id": None,
            "staff": [],
            "residents": [],
        }
        agency = registration.register_agency(
            ctx,
            name=f"{county.name.title()} County Police Department",
            county=county.name,
            verified=True,
        )
        creds["agency_id"] = agency.id
        people = [("detective", i) for i in range(3)] + [("supervisor", 0)]
        for role, i in people:
            officer = registration.register_officer(
                ctx,
                agency_id=agency.id,
                name=f"{role.title()} {i + 1}",
                email=f"{role}{i + 1}@police.example",
                role=role,
            )
            creds["staff"].append(_account(ctx, f"{role}{i + 1}", role, officer.id))
        for role in ("moderator", "auditor", "admin"):
            staff = registration.register_staff(
                ctx, name=f"Platform {role}", email=f"{role}@platform.example", role=role
            )
            creds["staff"].append(_account(ctx, role, role, staff.id))
        rng = np.random.default_rng(seed)
        chosen = rng.choice(len(ids), size=min(resident_accounts, len(ids)), replace=False)
        for index in sorted(chosen.tolist()):
            creds["residents"].append(
                _account(ctx, f"resident{ids[index]}", "resident", ids[index])
            )
        echo(f"{len(creds['staff'])} staff and {len(creds['residents'])} resident accounts")
        with ctx.uow(read_only=True) as uow:
            homes = {
                row.id: (row.home_lat, row.home_lon)
                for row in uow.connection.execute(
                    select(t.residents.c.id, t.residents.c.home_lat, t.residents.c.home_lon)
                )
            }
            cameras = uow.connection.execute(
                select(
                    t.cameras.c.id, t.cameras.c.resident_id, t.cameras.c.lat, t.cameras.c.lon
                ).order_by(t.cameras.c.id)
            ).all()
        with_login = {r["subject_id"] for r in creds["residents"]}
        for entry in creds["residents"]:
            lat, lon = homes[entry["subject_id"]]
            entry["home"] = {"lat": lat, "lon": lon}
            entry["cameras"] = [
                {"camera_id": c.id, "lat": c.lat, "lon": c.lon}
                for c in cameras
                if c.resident_id == entry["subject_id"]
            ]
        # Cameras of residents with logins first: their clips are the ones the load can share.
        chosen_cameras = sorted(cameras, key=lambda c: (c.resident_id not in with_login, c.id))
        creds["devices"] = [
            {
                "camera_id": c.id,
                "resident_id": c.resident_id,
                "lat": c.lat,
                "lon": c.lon,
                "token": accounts.issue_device_token(
                    ctx, camera_id=c.id, issued_by="operator:seed"
                ),
            }
            for c in sorted(chosen_cameras[:device_tokens], key=lambda c: c.id)
        ]
    finally:
        ctx.engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(creds, indent=2) + "\n")
    out.chmod(0o600)
    echo(f"credentials written to {out} (keep it private)")
    return creds


def _account(ctx: Any, username: str, role: str, subject_id: int) -> dict[str, Any]:
    password = secrets.token_urlsafe(12)
    made = accounts.create_account(
        ctx,
        username=username,
        password=password,
        role=role,
        subject_id=subject_id,
        created_by="operator:seed",
    )
    return {
        "username": username,
        "password": password,
        "role": role,
        "subject_id": subject_id,
        "totp_secret": made.totp_secret,
    }
