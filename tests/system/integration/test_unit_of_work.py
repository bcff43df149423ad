"""Units of work on both databases: read-only ones stay read-only in effect, and
whatever a read-only one changes on a pooled connection never leaks into the next."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from system.adapters import tables as t
from system.adapters.unit_of_work import SqlUnitOfWork


def _agencies(engine: Engine) -> int:
    with SqlUnitOfWork(engine, read_only=True) as uow:
        return int(uow.connection.execute(select(func.count()).select_from(t.agencies)).scalar())


def _add_agency(uow: SqlUnitOfWork, name: str) -> None:
    uow.connection.execute(
        t.agencies.insert().values(
            name=name, county="Nassau", verified=True, created_at=datetime(2026, 1, 1, tzinfo=UTC)
        )
    )


def test_a_write_after_reads_on_the_same_connections_still_rolls_back(engine: Engine) -> None:
    before = _agencies(engine)
    for _ in range(5):  # every pooled connection has served a read-only unit of work
        assert _agencies(engine) == before
    with SqlUnitOfWork(engine) as uow:
        _add_agency(uow, "Left uncommitted")
        # Not committed: leaving the block rolls back.
    assert _agencies(engine) == before
    with SqlUnitOfWork(engine) as uow:
        _add_agency(uow, "Committed")
        uow.commit()
    assert _agencies(engine) == before + 1


def test_reads_see_what_was_committed_before_them(engine: Engine) -> None:
    before = _agencies(engine)
    with SqlUnitOfWork(engine, read_only=True) as reader:
        with SqlUnitOfWork(engine) as writer:
            _add_agency(writer, "Committed meanwhile")
            writer.commit()
        # READ COMMITTED (and SQLite's snapshot taken at the first read below).
        count = reader.connection.execute(select(func.count()).select_from(t.agencies)).scalar()
    assert count == before + 1
