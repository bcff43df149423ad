"""The in-process driver's set-based path changes the cost, never the outcome.

The same replication run with every answer applied at once and transfers one
by one (``batch=1, claim_batch=1``) and with the defaults (answers deferred and
applied in batches, transfers run together) gives identical records and an
identical system database, row for row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from scenarios.loader import load_scenario
from sim.core.model import CountyModel
from sim.core.scenario_params import MIN_PER_DAY, replication_inputs
from sim.drivers.inprocess import InProcessDriver
from system.adapters import tables as t

COMPARED = ("notifications", "responses", "shared_clips", "transfers", "evidence_items", "opt_outs")


def replicate(workdir: Path, **driver_options: int) -> tuple[Any, dict[str, list[tuple[Any, ...]]]]:
    scenario = load_scenario("tiny")
    population, params = replication_inputs(scenario, seed=5, scale=1.0)
    driver = InProcessDriver(workdir, start=datetime(2025, 11, 20, tzinfo=UTC), **driver_options)
    try:
        result = CountyModel(population, params, driver, seed=5).run(10 * MIN_PER_DAY)
        with driver.ctx.uow(read_only=True) as uow:
            rows = {
                name: [
                    tuple(row)
                    for row in uow.connection.execute(
                        select(t.metadata.tables[name]).order_by(t.metadata.tables[name].c.id)
                    )
                ]
                for name in COMPARED
            }
    finally:
        driver.close()
    return result, rows


def test_deferred_batches_give_the_same_run_as_one_call_at_a_time(tmp_path: Path) -> None:
    one_by_one, rows_one = replicate(tmp_path / "one", batch=1, claim_batch=1)
    batched, rows_batched = replicate(tmp_path / "batched")
    assert len(one_by_one.responses) > 20  # the comparison covers real traffic
    assert len(one_by_one.evidence) > 0
    assert any(r.clips_shared for r in one_by_one.responses)
    for name in ("notifications", "responses", "clip_shares", "transfers", "evidence", "opt_outs"):
        assert getattr(one_by_one, name) == getattr(batched, name), name
    for name in COMPARED:
        assert rows_one[name] == rows_batched[name], name


GROWING = (
    "notifications",
    "responses",
    "shared_clips",
    "clips",
    "transfers",
    "evidence_items",
    "jobs",
    "audit_entries",
    "opt_outs",
)
"""Tables that grow with a county's traffic: a statement that reads all of one of them
makes a county-year quadratic. (Small tables such as retention settings, and emergency
disclosures, which number a handful a year, may be scanned.)"""

_IN_LIST = re.compile(r"IN \((\?(?:, \?)*)\)")
_STATUS_ONLY = re.compile(r"SEARCH (\w+) USING (?:COVERING )?INDEX \w+ \(status=\?\)")


def _widened(sql: str, params: Sequence[Any], n: int = 50) -> tuple[str, list[Any]] | None:
    """The statement with its first ``IN`` list grown to ``n`` values: SQLite plans a
    long list differently from the short ones a small county produces."""
    found = _IN_LIST.search(sql)
    if found is None:
        return None
    before, count = sql[: found.start()].count("?"), found.group(1).count("?")
    values = list(params[before : before + count]) * n
    return (
        f"{sql[: found.start()]}IN ({', '.join('?' * n)}){sql[found.end() :]}",
        [*params[:before], *values[:n], *params[before + count :]],
    )


def _reads_too_much(plan_row: str) -> bool:
    """A full scan of a growing table, or a search by status alone (a handful of values,
    so it reads most of the table). Jobs are the exception: the claim looks for jobs
    whose lease ran out among the running ones, which are at most a claim batch each."""
    if any(plan_row == f"SCAN {table}" for table in GROWING):
        return True
    status_only = _STATUS_ONLY.fullmatch(plan_row)
    return status_only is not None and status_only.group(1) in set(GROWING) - {"jobs"}


def test_no_statement_of_a_replication_reads_all_of_a_table_that_grows_with_traffic(
    tmp_path: Path,
) -> None:
    driver = InProcessDriver(tmp_path, start=datetime(2025, 11, 20, tzinfo=UTC))
    statements: dict[str, Any] = {}

    @event.listens_for(driver.engine, "before_cursor_execute")
    def remember(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        statements.setdefault(sql, params[0] if many else params)

    scenario = load_scenario("tiny")
    population, params = replication_inputs(scenario, seed=5, scale=1.0)
    try:
        result = CountyModel(population, params, driver, seed=5).run(10 * MIN_PER_DAY)
        assert result.evidence  # the run reached every step, listings included
        event.remove(driver.engine, "before_cursor_execute", remember)
        problems = []
        with driver.engine.connect() as conn:
            for sql, params in statements.items():
                if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                    continue
                for text, values in filter(None, [(sql, params), _widened(sql, params)]):
                    plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {text}", tuple(values))
                    problems += [
                        f"{row[3]} in: {sql[:300]}" for row in plan if _reads_too_much(row[3])
                    ]
    finally:
        driver.close()
    assert len(statements) > 30  # the capture saw the system's statements
    assert problems == []
