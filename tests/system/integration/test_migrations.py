"""Migrations: the schema they build, and data that survives them (CON-04)."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, text

from system.adapters import tables as t
from system.adapters.db import make_engine
from system.adapters.migrate import current_revision, head_revision, upgrade
from system.bootstrap import SqlServiceContext
from system.domain.clock import ManualClock
from system.domain.geo import grid_cell
from system.service_layer import fanout, requests
from tests import databases
from tests.conftest import T0
from tests.system.world import APPROVE_ALL, build_world, offset


def empty_database(backend: str, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    databases.skip_or_fail_without_postgres()
    return databases.create_postgres_database("canvass_migrate")


def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    engine.dispose()
    assert diff == []


def test_con04_opt_outs_survive_restart_and_upgrade_from_the_first_migration(
    database_url: str,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    url = empty_database(backend, tmp_path)
    try:
        engine = make_engine(url)
        upgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        created = datetime(2026, 1, 5, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(
                insert(t.agencies),
                [
                    {
                        "id": 1,
                        "name": "Old PD",
                        "county": "Nassau",
                        "verified": True,
                        "created_at": created,
                    }
                ],
            )
            residents = []
            for i, (north, east) in enumerate([(0, 0), (50, 50), (-80, 20), (5000, 0)], start=1):
                lat, lon = offset(north, east)
                residents.append(
                    {
                        "id": i,
                        "name": f"R{i}",
                        "email": f"r{i}@old.example",
                        "home_lat": lat,
                        "home_lon": lon,
                        "created_at": created,
                    }
                )
            conn.execute(insert(t.residents), residents)
            conn.execute(
                insert(t.cameras),
                [
                    {
                        "resident_id": r["id"],
                        "lat": r["home_lat"],
                        "lon": r["home_lon"],
                        "grid_cell": grid_cell(r["home_lat"], r["home_lon"]),
                        "retention_days": 60,
                        "kind": "doorbell",
                        "active": True,
                        "created_at": created,
                    }
                    for r in residents
                ],
            )
            conn.execute(
                insert(t.opt_outs),
                [
                    {"resident_id": 2, "agency_id": None, "opted_out_at": created},
                    {"resident_id": 3, "agency_id": 1, "opted_out_at": created},
                ],
            )
            if backend == "postgres":
                for table in ("agencies", "residents"):
                    conn.execute(
                        text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 10)")
                    )
        engine.dispose()

        # A restart: a new engine on the same database, then the upgrade to head.
        engine = make_engine(url)
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        ctx = SqlServiceContext(engine=engine, clock=ManualClock(T0))
        with ctx.uow(read_only=True) as uow:
            assert uow.residents.count() == 4
            assert uow.cameras.count() == 4
            assert [o.agency_id for o in uow.opt_outs.for_resident(2)] == [None]
            assert [o.agency_id for o in uow.opt_outs.for_resident(3)] == [1]
            assert uow.opt_outs.for_resident(2)[0].opted_out_at == created

        # The old opt-outs are honoured by a request made after the upgrade.
        world = build_world(ctx)
        draft = world.draft()
        request_id = requests.submit_request(ctx, officer_id=world.detective_id, draft=draft)
        requests.moderate(
            ctx,
            moderator_id=world.moderator_id,
            request_id=request_id,
            decision="approve",
            reason="",
            checklist=APPROVE_ALL,
        )
        fanout.fan_out(ctx, request_id=request_id)
        with ctx.uow(read_only=True) as uow:
            # 2 opted out of everything; 3 only of "Old PD", not of the requesting agency.
            assert uow.notifications.residents_for(request_id) == [1, 3]
        engine.dispose()
    finally:
        if backend == "postgres":
            databases.drop_postgres_database(url)
