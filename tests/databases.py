"""Real test databases: a migrated SQLite file per test, a PostgreSQL database per session.

PostgreSQL is found through ``CANVASS_TEST_DATABASE_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). When it is unreachable
the PostgreSQL cases skip with a message saying how to enable them, unless
``CANVASS_REQUIRE_POSTGRES=1`` (set by CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from system.adapters.db import create_scratch_database, drop_scratch_database, make_engine
from system.adapters.migrate import upgrade
from system.adapters.tables import metadata
from system.domain.audit import GENESIS_HASH

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str:
    return os.environ.get("CANVASS_TEST_DATABASE_URL", DEFAULT_PG_URL)


def postgres_required() -> bool:
    return os.environ.get("CANVASS_REQUIRE_POSTGRES", "") not in ("", "0")


def postgres_unavailable_reason() -> str | None:
    url = postgres_admin_url()
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means "not available"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"PostgreSQL not reachable at {url} ({first_line}); start PostgreSQL or set "
            "CANVASS_TEST_DATABASE_URL to enable these tests"
        )
    return None


def skip_or_fail_without_postgres() -> None:
    reason = postgres_unavailable_reason()
    if reason is None:
        return
    if postgres_required():
        pytest.fail(f"CANVASS_REQUIRE_POSTGRES is set but {reason}")
    pytest.skip(reason)


def create_postgres_database(prefix: str = "canvass_test") -> str:
    """Create an empty database on the test server; returns its URL."""
    return create_scratch_database(postgres_admin_url(), prefix=prefix)


def drop_postgres_database(url: str) -> None:
    drop_scratch_database(url, server_url=postgres_admin_url())


def migrated_sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def fresh_sqlite_copy(template: Path, directory: Path) -> str:
    target = directory / "canvass.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def truncate_all(engine: Engine) -> None:
    """Empty every table, keeping the audit stream heads (reset to genesis) as migrated."""
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name != "audit_streams")
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(
            text("UPDATE audit_streams SET last_seq = 0, last_hash = :genesis"),
            {"genesis": GENESIS_HASH},
        )
