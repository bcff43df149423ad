"""Damage a stored object on disk the way a bad disk would, whatever kind the store is."""

from __future__ import annotations

from system.adapters.blobstore import FileContentStore
from system.adapters.volumes import VolumeContentStore
from system.domain.stores import ContentStore


def flip_a_content_byte(store: ContentStore, sha256: str | None = None) -> None:
    """Flip one byte inside the encrypted content of ``sha256`` (default: any object)."""
    if isinstance(store, VolumeContentStore):
        row = store.index.find(sha256 or store.addresses()[0])
        assert row is not None
        path, at = store.volume_path(row.volume), row.offset + row.length - 40
    elif isinstance(store, FileContentStore):
        path = next(store.root.rglob(f"{sha256 or '*'}.obj"))
        at = path.stat().st_size - 40
    else:
        raise TypeError(f"no files to damage in {store!r}")
    raw = bytearray(path.read_bytes())
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))
