"""Times on SQLite: stored as SQLAlchemy's ``DATETIME`` text, read back aware and in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, create_engine, insert, select, text

from system.adapters.table_types import UTCDateTime

EAST = timezone(timedelta(hours=5, minutes=30))


@pytest.fixture
def table() -> tuple[Engine, Table]:
    engine = create_engine("sqlite://")
    times = Table(
        "times",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime()),
    )
    times.metadata.create_all(engine)
    return engine, times


def test_a_time_is_stored_in_sqlalchemys_form_and_read_back_equal(
    table: tuple[Engine, Table],
) -> None:
    engine, times = table
    written = [
        datetime(2025, 4, 21, 18, 0, tzinfo=UTC),
        datetime(2025, 4, 21, 18, 0, 0, 123456, tzinfo=UTC),
        datetime(2025, 4, 21, 23, 30, tzinfo=EAST),  # 18:00 UTC
        None,
    ]
    with engine.begin() as conn:
        conn.execute(insert(times), [{"id": i, "at": at} for i, at in enumerate(written)])
        stored = conn.execute(text("SELECT at FROM times ORDER BY id")).scalars().all()
        read = conn.execute(select(times.c.at).order_by(times.c.id)).scalars().all()
    assert stored == [
        "2025-04-21 18:00:00.000000",
        "2025-04-21 18:00:00.123456",
        "2025-04-21 18:00:00.000000",
        None,
    ]
    assert read == written
    assert all(at.tzinfo is UTC and at.utcoffset() == timedelta(0) for at in read[:3])


def test_stored_text_without_microseconds_or_with_an_offset_still_reads(
    table: tuple[Engine, Table],
) -> None:
    engine, times = table
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO times (id, at) VALUES (1, '2025-04-21 18:00:00'), (2, :o), (3, :d)"),
            {"o": "2025-04-21 18:00:00+02:00", "d": "2025-04-21"},
        )
        read = conn.execute(select(times.c.at).order_by(times.c.id)).scalars().all()
    # Text written by hand keeps its clock time, labelled UTC (the stored form has no offset).
    assert read == [datetime(2025, 4, 21, 18, 0, tzinfo=UTC)] * 2 + [
        datetime(2025, 4, 21, tzinfo=UTC)
    ]
    assert all(at.tzinfo is UTC for at in read)


def test_a_naive_time_is_refused(table: tuple[Engine, Table]) -> None:
    engine, times = table
    with engine.begin() as conn, pytest.raises(Exception, match="naive datetime"):
        conn.execute(insert(times), [{"id": 1, "at": datetime(2025, 4, 21, 18, 0)}])
