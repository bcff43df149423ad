"""Engines for SQLite (the default: a file, WAL, foreign keys on) and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///canvass.db"
_BEGIN = {mode: f"BEGIN {mode}" for mode in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")}


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says why and what to write instead."""


class DatabaseUnavailable(Exception):
    """The database did not answer (or answered with an error) when asked a simple question."""


def normalise_url(url: str) -> URL:
    """Parse a database URL; ``postgresql://`` and ``postgres://`` mean psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(
            f"cannot parse database URL {url!r}: write sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST:PORT/DB"
        ) from exc
    if parsed.drivername in {"postgresql", "postgres", "postgresql+psycopg"}:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in {"sqlite", "sqlite+pysqlite"}:
        return parsed
    raise DatabaseUrlError(
        f"unsupported database {parsed.drivername!r}: use sqlite:///PATH or "
        "postgresql+psycopg://USER@HOST:PORT/DB"
    )


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build an engine with the project's connection settings for its backend."""
    parsed = normalise_url(url)
    if parsed.drivername.startswith("sqlite"):
        return _sqlite_engine(parsed, **kwargs)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", 30)
    connect_args.setdefault("check_same_thread", False)
    if url.database not in (None, "", ":memory:"):
        # Keep connections: opening one runs the pragmas below, and the default pool
        # (5 + 10 overflow, overflow closed on return) reopens them under load.
        kwargs.setdefault("pool_size", 16)
        kwargs.setdefault("max_overflow", 16)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE is possible.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the lock up front: a deferred transaction that later writes
        # can fail with SQLITE_BUSY instead of waiting its turn.
        # Sent on the driver's connection: through exec_driver_sql this one statement
        # cost as much as a whole small query (events, a result object).
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.connection.driver_connection.execute(_BEGIN[mode])

    return engine


def create_scratch_database(server_url: str, *, prefix: str) -> str:
    """Create an empty PostgreSQL database beside ``server_url``'s; returns its URL."""
    import uuid

    from sqlalchemy import text

    admin = normalise_url(server_url)
    if not admin.drivername.startswith("postgresql"):
        raise DatabaseUrlError(f"scratch databases need a PostgreSQL URL, not {server_url!r}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def drop_scratch_database(url: str, *, server_url: str) -> None:
    """Drop a database made by :func:`create_scratch_database`, closing its sessions."""
    from sqlalchemy import text

    name = normalise_url(url).database
    engine = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()
