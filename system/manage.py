"""Operator tasks on the system's database, for the ``canvass db`` commands."""

from __future__ import annotations

from pathlib import Path

from system.adapters.db import make_engine
from system.adapters.migrate import current_revision, upgrade
from system.adapters.stores import key_source
from system.config import Settings


def upgrade_database(settings: Settings) -> str:
    """Apply every pending migration; returns the revision the database is now at."""
    engine = make_engine(settings.database_url)
    accounts = Path(settings.data_dir) / "keys" / "accounts.keyring"
    try:
        upgrade(engine, account_keys=key_source(settings.account_keys, accounts))
        revision = current_revision(engine)
    finally:
        engine.dispose()
    assert revision is not None
    return revision
