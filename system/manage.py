"""Operator tasks on the database and the content stores (``canvass db``, ``canvass store``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from system.adapters.blobstore import FileContentStore
from system.adapters.db import make_engine
from system.adapters.migrate import current_revision, upgrade
from system.adapters.stores import holds_object_files, key_source
from system.adapters.volume_upkeep import CompactionReport, MigrationReport, compact, migrate
from system.adapters.volumes import INDEX_NAME, VolumeContentStore
from system.config import Settings
from system.domain.stores import KeyRingSource, StoreError


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


STORE_DOMAINS = {"clips": "platform", "outbox": "platform", "evidence": "agency"}
"""Each content store under the data directory, and the key ring its objects are wrapped under."""


def _keys_for(settings: Settings, domain: str) -> KeyRingSource:
    spec = settings.platform_keys if domain == "platform" else settings.agency_keys
    return key_source(spec, Path(settings.data_dir) / "keys" / f"{domain}.keyring")


def compact_stores(
    settings: Settings, names: Sequence[str], *, min_garbage: float = 0.0
) -> dict[str, CompactionReport | None]:
    """Compact each named volume store (only volumes with at least ``min_garbage`` of
    their bytes deleted); None for a store that has no volumes yet."""
    if settings.store != "volumes":
        raise StoreError("CANVASS_STORE is 'files': there are no volumes to compact")
    if not Path(settings.data_dir).is_dir():
        raise StoreError(f"no data directory at {settings.data_dir}")
    reports: dict[str, CompactionReport | None] = {}
    for name in names:
        root = Path(settings.data_dir) / name
        if not (root / INDEX_NAME).exists():
            reports[name] = None
            continue
        store = VolumeContentStore(
            root,
            _keys_for(settings, STORE_DOMAINS[name]),
            volume_bytes=settings.store_volume_mb << 20,
        )
        try:
            reports[name] = compact(store, min_garbage=min_garbage)
        finally:
            store.close()
    return reports


def migrate_stores(settings: Settings, names: Sequence[str]) -> dict[str, MigrationReport]:
    """Move each named per-object file store into volumes in the same folder."""
    if not Path(settings.data_dir).is_dir():
        raise StoreError(f"no data directory at {settings.data_dir}")
    reports = {}
    for name in names:
        root = Path(settings.data_dir) / name
        if not holds_object_files(root):
            reports[name] = MigrationReport()
            continue
        keys = _keys_for(settings, STORE_DOMAINS[name])
        volumes = VolumeContentStore(root, keys, volume_bytes=settings.store_volume_mb << 20)
        try:
            reports[name] = migrate(FileContentStore(root, keys), volumes)
        finally:
            volumes.close()
    return reports
