"""Apply Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from system.domain.stores import KeyRingSource

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(
    engine: Engine, revision: str = "head", *, account_keys: KeyRingSource | None = None
) -> None:
    """Bring the database behind ``engine`` to ``revision`` (default: the newest).

    ``account_keys`` seals TOTP secrets already stored (migration 0006); a
    database without any may be upgraded without it.
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["account_keys"] = account_keys
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str, *, account_keys: KeyRingSource | None = None) -> None:
    """Step the database back to ``revision`` (for tests of the migrations themselves)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["account_keys"] = account_keys
        command.downgrade(config, revision)


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
