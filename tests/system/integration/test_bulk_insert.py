"""Bulk inserts return the new ids in the order of the rows, in few statements."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, delete, event, select

from system.adapters import tables as t
from system.adapters.bulk import insert_returning_ids
from tests.conftest import T0


def _job(n: int) -> dict[str, Any]:
    return {
        "kind": f"probe-{n}",
        "payload_json": "{}",
        "status": "done",
        "attempts": 0,
        "max_attempts": 1,
        "run_after": T0,
        "created_at": T0,
    }


def test_bulk_insert_pairs_each_row_with_its_id_in_one_statement_per_batch(engine: Engine) -> None:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("INSERT"):
            statements.append(statement)

    with engine.begin() as conn:
        insert_returning_ids(conn, t.jobs, [_job(n) for n in range(5)])
        conn.execute(delete(t.jobs).where(t.jobs.c.kind == "probe-4"))  # ids need not be dense
    event.listen(engine, "before_cursor_execute", count)
    try:
        with engine.begin() as conn:
            new_ids = insert_returning_ids(conn, t.jobs, [_job(n) for n in range(5, 3005)])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    with engine.connect() as conn:
        kinds = dict(conn.execute(select(t.jobs.c.id, t.jobs.c.kind)).tuples().all())
    assert [kinds[i] for i in new_ids] == [f"probe-{n}" for n in range(5, 3005)]
    assert len(statements) < 10  # batched, not one statement per row
