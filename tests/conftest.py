"""Fixtures shared by every suite: real databases and a controllable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from system.adapters.db import make_engine
from system.adapters.migrate import upgrade
from system.adapters.stores import ContentStores, make_stores
from system.bootstrap import SqlServiceContext
from system.domain.clock import ManualClock
from system.service_layer.context import ServiceContext
from tests import databases

T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
"""A fixed 'now' for tests: the Friday after Thanksgiving, 15:00 UTC."""


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return databases.migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    databases.skip_or_fail_without_postgres()
    url = databases.create_postgres_database()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    databases.drop_postgres_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[str]:
    """A migrated, empty database of each backend (ids ``sqlite`` and ``postgres``)."""
    if request.param == "sqlite":
        yield databases.fresh_sqlite_copy(sqlite_template, tmp_path)
        return
    url: str = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    databases.truncate_all(engine)
    engine.dispose()
    yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def ctx(engine: Engine, clock: ManualClock) -> ServiceContext:
    return SqlServiceContext(engine=engine, clock=clock)


@pytest.fixture
def stores(tmp_path: Path) -> ContentStores:
    """Real encrypted filesystem stores in a temporary folder (fsync off for speed)."""
    return make_stores(tmp_path / "data", durable=False)


@pytest.fixture
def full_ctx(engine: Engine, clock: ManualClock, stores: ContentStores) -> ServiceContext:
    """A context with content stores: for consent, transfer and evidence."""
    return SqlServiceContext(engine=engine, clock=clock, content=stores)
