"""The audit chain (SEC-04): tampering is found and named; concurrent writers keep it valid."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update

from system.adapters import tables as t
from system.adapters.db import make_engine
from system.bootstrap import SqlServiceContext
from system.service_layer import residents
from system.service_layer.audit import verify_audit_chain
from system.service_layer.context import ServiceContext
from tests.system.world import World, build_world


@pytest.fixture
def world(ctx: ServiceContext) -> World:
    world = build_world(ctx)
    for i in range(6):
        world.add_resident(f"r{i}", 10 * i, 0)
        residents.opt_out(ctx, resident_id=world.residents[f"r{i}"])
        residents.opt_in(ctx, resident_id=world.residents[f"r{i}"])
    return world


def entries(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(conn.execute(select(t.audit_entries).order_by(t.audit_entries.c.id)))


def cli_verify(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "canvass", "audit", "verify", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
    )


def test_sec04_untouched_chain_verifies(world: World, database_url: str) -> None:
    result = verify_audit_chain(world.ctx)
    assert result.ok
    assert result.entries >= 13
    done = cli_verify(database_url)
    assert done.returncode == 0, done.stderr
    assert "audit chain verified" in done.stdout


def test_sec04_entries_carry_the_required_fields(world: World, engine: Engine) -> None:
    rows = entries(engine)
    opt_out = next(r for r in rows if r.action == "consent.opt_out")  # type: ignore[attr-defined]
    assert opt_out.actor.startswith("resident:")  # type: ignore[attr-defined]
    assert opt_out.role == "resident"  # type: ignore[attr-defined]
    assert opt_out.outcome == "ok"  # type: ignore[attr-defined]
    assert opt_out.at is not None  # type: ignore[attr-defined]


@pytest.mark.parametrize("tamper", ["edit", "delete_middle", "delete_last", "reorder"])
def test_sec04_tampering_is_found_and_the_entry_named(
    world: World, engine: Engine, database_url: str, tamper: str
) -> None:
    rows = entries(engine)
    stream = max({r.stream for r in rows}, key=lambda s: sum(r.stream == s for r in rows))  # type: ignore[attr-defined]
    in_stream = [r for r in rows if r.stream == stream]  # type: ignore[attr-defined]
    assert len(in_stream) >= 3
    first, second, last = in_stream[0], in_stream[1], in_stream[-1]
    with engine.begin() as conn:
        if tamper == "edit":
            conn.execute(
                update(t.audit_entries)
                .where(t.audit_entries.c.id == second.id)  # type: ignore[attr-defined]
                .values(details_json='{"scope":"nothing happened"}')
            )
        elif tamper == "delete_middle":
            conn.execute(delete(t.audit_entries).where(t.audit_entries.c.id == second.id))  # type: ignore[attr-defined]
        elif tamper == "delete_last":
            conn.execute(delete(t.audit_entries).where(t.audit_entries.c.id == last.id))  # type: ignore[attr-defined]
        else:
            conn.execute(
                update(t.audit_entries).where(t.audit_entries.c.id == first.id).values(seq=-1)
            )  # type: ignore[attr-defined]
            conn.execute(
                update(t.audit_entries).where(t.audit_entries.c.id == second.id).values(seq=1)
            )  # type: ignore[attr-defined]
            conn.execute(
                update(t.audit_entries).where(t.audit_entries.c.id == first.id).values(seq=2)
            )  # type: ignore[attr-defined]
    result = verify_audit_chain(world.ctx)
    assert not result.ok
    done = cli_verify(database_url)
    assert done.returncode == 1
    expected = {
        "edit": f"entry id {second.id}",  # type: ignore[attr-defined]
        "delete_middle": "seq 3",  # the entry after the gap is named
        "delete_last": f"stream {stream}",
        "reorder": f"entry id {second.id}",  # type: ignore[attr-defined]
    }[tamper]
    assert expected in done.stderr, done.stderr
    assert expected in str(result)


def test_sec04_concurrent_writers_keep_a_valid_chain(world: World, database_url: str) -> None:
    """Twelve threads with their own connections audit at once (in parallel on PostgreSQL)."""
    ids = list(world.residents.values())
    errors: list[BaseException] = []

    def writer(resident_id: int) -> None:
        engine = make_engine(database_url)
        ctx = SqlServiceContext(engine=engine, clock=world.ctx.clock)
        try:
            for _ in range(10):
                residents.opt_out(ctx, resident_id=resident_id)
                residents.opt_in(ctx, resident_id=resident_id)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            engine.dispose()

    before = verify_audit_chain(world.ctx).entries
    threads = [threading.Thread(target=writer, args=(rid,)) for rid in ids * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    result = verify_audit_chain(world.ctx)
    assert result.ok, str(result)
    # Two threads share each resident, so a toggle may find nothing to do; at least one per pair.
    assert result.entries > before + len(ids) * 10


def test_sec04_audit_verify_on_a_missing_database_is_a_clean_error(tmp_path: Path) -> None:
    done = cli_verify("mysql://nobody@localhost/db")
    assert done.returncode == 2
    assert "unsupported database" in done.stderr
    assert "Traceback" not in done.stderr
