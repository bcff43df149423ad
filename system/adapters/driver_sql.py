"""Prebuilt statements straight on SQLite's driver: compiled once, then run without
SQLAlchemy's per-execution machinery.

A prebuilt Core statement still pays, on every ``Connection.execute``, for its cache
key, an execution context, a result object and a row object per row. On the
simulation's hot paths that is most of the database time: a ten-row primary-key
select took 119 µs through ``Connection.execute`` and 30 µs straight on ``sqlite3``
(SQLite in ``/dev/shm``, 2026-12-06). Here a statement is compiled once per
statement object, its ``IN`` lists are expanded to as many ``?`` as values, the
column types' own bind and result processors convert the values, and the rows come
back as named tuples (``row.id`` works as on a Core row).

Only SQLite takes this path, and only inside a transaction the caller began; on
PostgreSQL, and for anything the plan does not cover (an empty ``IN`` list, a
statement with Python-side defaults), the helpers fall back to
``Connection.execute``, so both backends run the same statements with the same
results, and the suite runs on both. ``before_cursor_execute`` listeners still see
every statement sent here, and the driver's errors come out wrapped as Core wraps
them (``sqlalchemy.exc.IntegrityError``, ``OperationalError`` and the like).
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select, Table, insert
from sqlalchemy.exc import DBAPIError

_TOKEN = re.compile(r"__\[POSTCOMPILE_(\w+)\]")
_MAX_PLANS = 2048
_MAX_VARIABLES = 32_000
"""Bound values per statement: under SQLite's limit of 32,766 (since 3.32)."""
_MAX_ROWS = 500
"""Rows per multi-row ``INSERT``."""

Processor = Callable[[Any], Any] | None


class _Plan:
    """One statement compiled for SQLite: its text in pieces around the ``IN`` lists,
    its parameters in order, their processors, and the shape of its rows."""

    __slots__ = ("binds", "expanding", "names", "parts", "results", "row", "statement", "texts")

    def __init__(self, statement: Any, connection: Connection) -> None:
        dialect = connection.dialect
        compiled = statement.compile(dialect=dialect)
        self.statement = statement  # held, so the id that keys the plan is not reused
        pieces = _TOKEN.split(compiled.string)
        self.parts, tokens = pieces[0::2], pieces[1::2]
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self.expanding = frozenset(tokens)
        if any(not compiled.binds[name].expanding for name in self.expanding):
            raise ValueError("a literal-execute parameter: left to Core")
        self.binds: dict[str, tuple[Processor, bool, Any]] = {}
        for name in self.names:
            bind = compiled.binds[name]
            self.binds[name] = (_binder(bind.type, dialect), bind.required, bind.value)
        self.texts: dict[tuple[int, ...], str] = {}
        self.row: Any = None
        self.results: list[tuple[int, Callable[[Any], Any]]] = []
        if isinstance(statement, Select):
            columns = list(statement.selected_columns)
            keys = [str(c.key) for c in columns]
            self.row = namedtuple("Row", keys)  # type: ignore[misc]  # names known at run time
            self.results = [
                (i, p)
                for i, c in enumerate(columns)
                if (p := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
            ]

    def text(self, sizes: tuple[int, ...]) -> str:
        sql = self.texts.get(sizes)
        if sql is None:
            out = [self.parts[0]]
            for size, part in zip(sizes, self.parts[1:], strict=True):
                out.append(", ".join("?" * size))
                out.append(part)
            sql = self.texts[sizes] = "".join(out)
        return sql

    def values(self, params: Mapping[str, Any]) -> tuple[tuple[int, ...], list[Any]]:
        sizes: list[int] = []
        values: list[Any] = []
        for name in self.names:
            process, required, default = self.binds[name]
            if name in params:
                value = params[name]
            elif required:
                raise KeyError(f"a value is required for bind parameter {name!r}")
            else:
                value = default
            if name in self.expanding:
                sizes.append(len(value))
                values.extend(value if process is None else map(process, value))
            else:
                values.append(value if process is None else process(value))
        return tuple(sizes), values


_PLANS: dict[int, tuple[Any, _Plan | None]] = {}
"""Plans by the statement's id, each beside its statement (so a reused id is noticed)."""


def _plan_of(statement: Any, connection: Connection) -> _Plan | None:
    """The statement's plan, or None when this path does not cover it."""
    if connection.dialect.name != "sqlite" or not connection.in_transaction():
        return None
    held = _PLANS.get(id(statement))
    if held is not None and held[0] is statement:
        return held[1]
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    plan: _Plan | None
    try:
        plan = _Plan(statement, connection)
    except (KeyError, ValueError):  # a form this path does not render
        plan = None
    if plan is not None and plan.row is not None:
        fields = plan.row._fields
        if len(set(fields)) != len(fields):  # a join's same-named columns: Core's rows
            plan = None
    _PLANS[id(statement)] = (statement, plan)
    return plan


def _binder(type_: Any, dialect: Any) -> Processor:
    """The column type's bind processor for this dialect (as Core applies it)."""
    return type_.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[no-any-return]


def _cursor(connection: Connection, sql: str, params: Any, many: bool) -> Any:
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    for listener in connection.dispatch.before_cursor_execute:
        listener(connection, cursor, sql, params, None, many)
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
    except dbapi_error as error:
        # Wrapped as Core wraps it: callers catch SQLAlchemy's IntegrityError or
        # OperationalError (a locked or unmigrated database), never the driver's own.
        raise DBAPIError.instance(
            sql, params, error, dbapi_error, dialect=connection.dialect, ismulti=many
        ) from error
    return cursor


def select_rows(connection: Connection, statement: Any, params: Mapping[str, Any]) -> list[Any]:
    """The rows of a prebuilt select: named tuples on SQLite, Core rows elsewhere."""
    plan = _plan_of(statement, connection)
    if plan is None or plan.row is None:
        return list(connection.execute(statement, params))
    sizes, values = plan.values(params)
    if 0 in sizes:  # an empty IN list: Core renders its own empty-set form
        return list(connection.execute(statement, params))
    rows = _cursor(connection, plan.text(sizes), values, False).fetchall()
    make, results = plan.row._make, plan.results
    if not results:
        return [make(r) for r in rows]
    out = []
    for r in rows:
        row = list(r)
        for i, process in results:
            row[i] = process(row[i])
        out.append(make(row))
    return out


def execute_many(
    connection: Connection, statement: Any, params: Sequence[Mapping[str, Any]]
) -> None:
    """Run a prebuilt statement without result rows once per parameter set."""
    if not params:
        return
    plan = _plan_of(statement, connection)
    if plan is None or plan.row is not None or plan.expanding:
        connection.execute(statement, list(params))
        return
    sql = plan.text(())
    _cursor(connection, sql, [plan.values(p)[1] for p in params], True)


class _InsertPlan:
    """A table's ``INSERT`` for one set of column keys: the statement's head, one row's
    ``(?, ...)`` group, the keys in bound order and their processors."""

    __slots__ = ("group", "head", "names", "processors", "texts")

    def __init__(
        self, head: str, group: str, names: Sequence[str], processors: Sequence[Processor]
    ) -> None:
        self.head, self.group, self.names, self.processors = head, group, tuple(names), processors
        self.texts: dict[int, str] = {}

    def text(self, count: int) -> str:
        sql = self.texts.get(count)
        if sql is None:
            groups = ", ".join([self.group] * count)
            sql = self.texts[count] = f"{self.head} VALUES {groups} RETURNING id"
        return sql


_INSERT_PLANS: dict[tuple[str, tuple[str, ...]], _InsertPlan | None] = {}


def _insert_plan(connection: Connection, table: Table, keys: tuple[str, ...]) -> _InsertPlan | None:
    key = (table.name, keys)
    if key in _INSERT_PLANS:
        return _INSERT_PLANS[key]
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    names = tuple(compiled.positiontup or ())
    plan = None
    # Python-side defaults, or anything bound that is not one of the rows' keys: Core's path.
    if not compiled.insert_prefetch and sorted(names) == sorted(keys):
        head, _, group = compiled.string.partition(" VALUES ")
        processors = [_binder(compiled.binds[name].type, dialect) for name in names]
        plan = _InsertPlan(head, group, names, processors)
    _INSERT_PLANS[key] = plan
    return plan


def insert_ids(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> list[int] | None:
    """Insert ``rows`` (no ``id`` given, every row the same keys) in multi-row
    ``INSERT ... RETURNING id`` statements; the new ids ascending (SQLite gives an
    ``INTEGER PRIMARY KEY`` table's new rows ascending ids in insertion order), or None
    when this path does not cover the insert."""
    if not rows or connection.dialect.name != "sqlite" or not connection.in_transaction():
        return None
    keys = tuple(rows[0])
    if "id" in keys or any(tuple(row) != keys for row in rows):
        return None
    plan = _insert_plan(connection, table, keys)
    if plan is None:
        return None
    pairs = list(zip(plan.names, plan.processors, strict=True))
    step = max(1, min(_MAX_ROWS, _MAX_VARIABLES // max(1, len(pairs))))
    new_ids: list[int] = []
    for start in range(0, len(rows), step):
        part = rows[start : start + step]
        values = [
            row[name] if process is None else process(row[name])
            for row in part
            for name, process in pairs
        ]
        cursor = _cursor(connection, plan.text(len(part)), values, False)
        new_ids.extend(int(r[0]) for r in cursor.fetchall())
    new_ids.sort()
    return new_ids


def execute(connection: Connection, statement: Any, params: Mapping[str, Any]) -> None:
    """Run a prebuilt statement without result rows (an update or delete) once."""
    plan = _plan_of(statement, connection)
    if plan is not None and plan.row is None:
        sizes, values = plan.values(params)
        if 0 not in sizes:
            _cursor(connection, plan.text(sizes), values, False)
            return
    connection.execute(statement, params)


def insert_many(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (every row the same keys) without reading ids back."""
    if not rows:
        return
    keys = tuple(rows[0])
    plan = None
    same_keys = all(tuple(row) == keys for row in rows)
    if same_keys and connection.dialect.name == "sqlite" and connection.in_transaction():
        plan = _insert_plan(connection, table, keys)
    if plan is None:
        connection.execute(insert(table), list(rows))
        return
    pairs = list(zip(plan.names, plan.processors, strict=True))
    values = [
        [row[name] if process is None else process(row[name]) for name, process in pairs]
        for row in rows
    ]
    _cursor(connection, f"{plan.head} VALUES {plan.group}", values, True)


def first_row(connection: Connection, statement: Any, params: Mapping[str, Any]) -> Any:
    """The first row of a prebuilt select, or None."""
    rows = select_rows(connection, statement, params)
    return rows[0] if rows else None
