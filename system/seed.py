"""``canvass seed``'s system side: store a population, register a police department and the
platform's staff, give them accounts and write the credentials.

The population itself comes from the county model (:mod:`sim.drivers.seed` generates it
and calls :func:`seed_database`): the system imports no other part. The credentials
file holds passwords, TOTP secrets and device tokens, so an engineer can log in and
load-test at once; keep it private. It also says where the load can reach: the
agency's id, each resident's home point and cameras, and each device token's camera,
owner and point, so a load test can place incidents where the residents it logs in
as will be notified. Device tokens go to those residents' cameras first. A metrics
scrape token lets a load test read ``/metrics`` to reconcile the system's counts.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from system.bootstrap import build_context
from system.config import Settings
from system.manage import upgrade_database
from system.service_layer import accounts, operator_tokens, registration
from system.service_layer.context import ServiceContext


def seed_database(
    settings: Settings,
    *,
    population: registration.PopulationRows,
    homes: int,
    county: str,
    account_holders: Sequence[int],
    device_tokens: int,
    out: Path,
    echo: Callable[[str], None],
) -> dict[str, Any]:
    """Seed the database behind ``settings``; returns (and writes) the credentials.

    ``account_holders`` are positions in ``population.residents`` of the residents who
    get a login; ``homes`` (every home in the slice, cameras or not) is only reported.
    The department is ``COUNTY County Police Department`` with three detectives and a
    supervisor; the platform gets a moderator, an auditor and an admin.
    """
    echo(f"database at migration {upgrade_database(settings)}")
    ctx = build_context(settings)
    try:
        ids = registration.import_population(ctx, population)
        echo(f"{homes} homes, {len(ids)} camera owners, {len(population.cameras)} cameras")
        creds: dict[str, Any] = {
            "database_url": settings.database_url,
            "agency_id": None,
            "staff": [],
            "residents": [],
        }
        agency = registration.register_agency(
            ctx, name=f"{county.title()} County Police Department", county=county, verified=True
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
        for index in sorted(account_holders):
            creds["residents"].append(
                _account(ctx, f"resident{ids[index]}", "resident", ids[index])
            )
        echo(f"{len(creds['staff'])} staff and {len(creds['residents'])} resident accounts")
        with ctx.uow(read_only=True) as uow:
            homes_of = uow.residents.homes()
            cameras = uow.cameras.placements()
        with_login = {r["subject_id"] for r in creds["residents"]}
        for entry in creds["residents"]:
            lat, lon = homes_of[entry["subject_id"]]
            entry["home"] = {"lat": lat, "lon": lon}
            entry["cameras"] = [
                {"camera_id": cid, "lat": clat, "lon": clon}
                for cid, owner, clat, clon in cameras
                if owner == entry["subject_id"]
            ]
        # Cameras of residents with logins first: their clips are the ones the load can share.
        chosen = sorted(cameras, key=lambda c: (c[1] not in with_login, c[0]))[:device_tokens]
        creds["devices"] = [
            {
                "camera_id": cid,
                "resident_id": owner,
                "lat": clat,
                "lon": clon,
                "token": accounts.issue_device_token(ctx, camera_id=cid, issued_by="operator:seed"),
            }
            for cid, owner, clat, clon in sorted(chosen)
        ]
        # A scrape token for /metrics, so a load test can reconcile the system's counts.
        creds["metrics_token"] = operator_tokens.issue_metrics_token(
            ctx, label="canvass seed (load tests)", issued_by="operator:seed"
        ).token
    finally:
        ctx.engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(creds, indent=2) + "\n")
    out.chmod(0o600)
    echo(f"credentials written to {out} (keep it private)")
    return creds


def _account(ctx: ServiceContext, username: str, role: str, subject_id: int) -> dict[str, Any]:
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
