"""Prebuilt statements on SQLite's driver give what Core gives, on both backends."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, event, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from system.adapters import driver_sql
from system.adapters import tables as t
from system.adapters.bulk import ids, insert_returning_ids, rows_in, update_by_id
from system.adapters.db import make_engine
from tests.conftest import T0

_J = t.jobs.c
_QUEUED_DUE = (
    select(t.jobs)
    .where(_J.id.in_(ids()), _J.status == "queued", _J.run_after <= bindparam("now"))
    .order_by(_J.id)
)
_TAKE = (
    update(t.jobs)
    .where(_J.id.in_(ids()))
    .values(status="running", locked_by=bindparam("v_by"), locked_until=bindparam("v_until"))
)


def _job(n: int) -> dict[str, Any]:
    return {
        "kind": f"probe-{n}",
        "payload_json": f'{{"n": {n}}}',
        "status": "queued" if n % 3 else "done",
        "attempts": n % 2,
        "max_attempts": 3,
        "run_after": T0 + timedelta(minutes=n),
        "created_at": T0,
    }


def _as_dicts(rows: Any) -> list[dict[str, Any]]:
    return [dict(zip(select(t.jobs).selected_columns.keys(), tuple(r), strict=True)) for r in rows]


def test_a_select_reads_the_rows_and_types_core_reads(engine: Engine) -> None:
    with engine.begin() as conn:
        new = insert_returning_ids(conn, t.jobs, [_job(n) for n in range(30)])
        params = {"ids": new[5:25], "now": T0 + timedelta(minutes=20)}
        driver = driver_sql.select_rows(conn, _QUEUED_DUE, params)
        core = list(conn.execute(_QUEUED_DUE, params))
    assert _as_dicts(driver) == _as_dicts(core)
    assert [r.kind for r in driver] == [f"probe-{n}" for n in range(5, 21) if n % 3]
    first = driver[0]
    assert first.run_after == T0 + timedelta(minutes=5)
    assert first.run_after.tzinfo == UTC
    assert first.finished_at is None
    assert first.payload_json == '{"n": 5}'


def test_inserted_ids_follow_the_rows_and_updates_land(engine: Engine) -> None:
    with engine.begin() as conn:
        new = insert_returning_ids(conn, t.jobs, [_job(n) for n in range(1200)])  # 3 chunks
        driver_sql.execute(conn, _TAKE, {"ids": new[:10], "v_by": "w1", "v_until": T0})
        update_by_id(
            conn,
            t.jobs,
            [{"id": i, "attempts": 7, "last_error": f"e{i}"} for i in new[10:12]],
            ("attempts", "last_error"),
        )
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(t.jobs))}
    assert [rows[i].kind for i in new] == [f"probe-{n}" for n in range(1200)]
    assert all(rows[i].status == "running" and rows[i].locked_by == "w1" for i in new[:10])
    assert rows[new[0]].locked_until == T0
    assert [rows[i].attempts for i in new[10:13]] == [7, 7, 0]
    assert rows[new[11]].last_error == f"e{new[11]}"


def test_an_empty_list_or_no_transaction_takes_cores_path(engine: Engine) -> None:
    with engine.begin() as conn:
        new = insert_returning_ids(conn, t.jobs, [_job(n) for n in range(3)])
        assert driver_sql.select_rows(conn, _QUEUED_DUE, {"ids": [], "now": T0}) == []
    later = T0 + timedelta(minutes=10)
    with engine.connect() as conn:  # no transaction begun: Core's own path
        assert not conn.in_transaction()
        found = driver_sql.select_rows(conn, _QUEUED_DUE, {"ids": new, "now": later})
        assert [r.kind for r in found] == ["probe-1", "probe-2"]


def test_listeners_see_every_statement_sent(engine: Engine) -> None:
    seen: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split()[0])

    event.listen(engine, "before_cursor_execute", remember)
    try:
        with engine.begin() as conn:
            new = insert_returning_ids(conn, t.jobs, [_job(n) for n in range(4)])
            due = _QUEUED_DUE.params(now=T0 + timedelta(minutes=10))  # "now" bound in advance
            assert len(list(rows_in(conn, due, new))) == 2
            driver_sql.insert_many(conn, t.jobs, [_job(9)])
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert seen.count("INSERT") == 2
    assert seen.count("SELECT") == 1


def test_database_errors_come_out_as_sqlalchemys_own(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as conn:
        insert_returning_ids(conn, t.jobs, [{**_job(1), "dedupe_key": "once"}])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        insert_returning_ids(conn, t.jobs, [{**_job(2), "dedupe_key": "once"}])
    bare = make_engine(f"sqlite:///{tmp_path / 'unmigrated.db'}")  # no tables at all
    try:
        with pytest.raises(OperationalError, match="no such table"), bare.begin() as conn:
            driver_sql.select_rows(conn, _QUEUED_DUE, {"ids": [1], "now": T0})
    finally:
        bare.dispose()
