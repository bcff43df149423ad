"""Real test databases: a migrated SQLite file per test, a PostgreSQL database per session.

PostgreSQL is found through ``CANVASS_TEST_DATABASE_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). When it is unreachable
the PostgreSQL cases skip with a message saying how to enable them, unless
``CANVASS_REQUIRE_POSTGRES=1`` (set by CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from system.adapters.db import make_engine
from system.adapters.migrate import upgrade
from system.adapters.tables import metadata

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
    admin = make_url(postgres_admin_url()).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    admin = make_url(postgres_admin_url()).set(drivername="postgresql+psycopg")
    name = make_url(url).database
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


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
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
