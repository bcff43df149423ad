"""Set-based helpers for the repositories: many rows in one statement.

SQLAlchemy 2 sends a list of parameter sets as one batched ``INSERT ...
VALUES (...), (...) RETURNING id`` on SQLite and PostgreSQL alike
("insertmanyvalues"). Callers pair the new ids with their rows, so the ids must
come back in the order of the rows given. On PostgreSQL ``sort_by_parameter_order``
does that within the batched statement; on SQLite it cannot (SQLite has no
implicit insert sentinel) and SQLAlchemy would fall back to one statement per
row, so there the ids of the batched statement are sorted instead: SQLite gives
each new row of an ``INTEGER PRIMARY KEY`` table an id above every existing
one, in the order the rows are inserted (the writer holds the database lock).

Hot statements are built once and reused with bound parameters (``ids()``
binds a list for ``IN``): building a Core statement and computing its cache
key costs several times more than executing it on SQLite (measured: ~570 µs
per freshly built primary-key select against ~70 µs for a prebuilt one).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import BindParameter, Connection, Executable, Table, bindparam, insert, update

from system.adapters.driver_sql import execute_many, insert_ids, select_rows

T = TypeVar("T")

_INSERTS: dict[tuple[str, bool], Any] = {}
_UPDATES: dict[tuple[str, tuple[str, ...]], Any] = {}


CHUNK = 500
"""Values per expanding ``IN`` list: well under SQLite's bound-parameter limit."""


def chunks(values: Sequence[T]) -> list[Sequence[T]]:
    """``values`` in slices of :data:`CHUNK`, for one ``IN`` statement each."""
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def ids(name: str = "ids") -> BindParameter[Any]:
    """A parameter that takes a list, for ``column.in_(ids())`` in a prebuilt statement."""
    return bindparam(name, expanding=True)


def rows_in(
    connection: Connection, statement: Executable, keys: Iterable[Hashable], name: str = "ids"
) -> Iterator[Any]:
    """The rows of a prebuilt ``IN`` statement for the distinct ``keys`` (bound to ``name``),
    in sorted :func:`chunks`, one statement each (on SQLite straight on the driver,
    :mod:`system.adapters.driver_sql`; the rows answer ``row.column`` either way)."""
    for part in chunks(sorted(set(keys))):  # type: ignore[type-var]
        yield from select_rows(connection, statement, {name: part})


def insert_returning_ids(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert ``rows`` and return their new ids, in the same order."""
    if not rows:
        return []
    fast = insert_ids(connection, table, rows)
    if fast is not None:
        return _checked(table, rows, fast)
    # Ids chosen by the caller are not ascending by position: let SQLAlchemy order them.
    by_sorting = connection.dialect.name == "sqlite" and all("id" not in row for row in rows)
    key = (table.name, by_sorting)
    statement = _INSERTS.get(key)
    if statement is None:
        statement = _INSERTS[key] = insert(table).returning(
            table.c.id, sort_by_parameter_order=not by_sorting
        )
    new_ids = [int(i) for i in connection.execute(statement, list(rows)).scalars()]
    if by_sorting:
        new_ids.sort()
    return _checked(table, rows, new_ids)


def _checked(table: Table, rows: Sequence[object], new_ids: list[int]) -> list[int]:
    if len(new_ids) != len(rows):
        raise RuntimeError(f"{len(rows)} rows inserted into {table.name}, {len(new_ids)} ids")
    return new_ids


def update_by_id(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], columns: Sequence[str]
) -> None:
    """Set ``columns`` per row (each row holds ``id`` and those columns): one executemany."""
    if not rows:
        return
    key = (table.name, tuple(columns))
    statement = _UPDATES.get(key)
    if statement is None:
        statement = _UPDATES[key] = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({name: bindparam(f"_{name}") for name in columns})
        )
    execute_many(
        connection,
        statement,
        [{"_id": row["id"], **{f"_{name}": row[name] for name in columns}} for row in rows],
    )


def lock_for_bulk_insert(connection: Connection, table: Any) -> None:
    """On PostgreSQL, serialise bulk writers of ``table`` (SQLite's lock already does)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"LOCK TABLE {table.name} IN SHARE ROW EXCLUSIVE MODE")


def advance_sequence(connection: Connection, table: Any) -> None:
    """On PostgreSQL, move ``table``'s id sequence past rows inserted with explicit ids."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"
        )
