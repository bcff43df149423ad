"""The system's three content stores, built from settings.

Two trust domains, each with its own root and key ring:

* the platform: ``clips`` (what cameras upload) and ``outbox`` (the transient
  copy a transfer makes, deleted once the agency confirms receipt, XFR-03);
* the agency: ``evidence`` (what transfers deliver).

When no key ring is configured, one is generated on first use and kept in
``<data_dir>/keys/<domain>.keyring`` (mode 0600), so the one-command default
works; production deployments pass ``CANVASS_PLATFORM_KEYS`` and
``CANVASS_AGENCY_KEYS`` from a secret store instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from system.adapters.blobstore import FileContentStore
from system.domain.stores import EncryptedContentStore, KeyRing, generate_key


@dataclass(frozen=True)
class ContentStores:
    clips: EncryptedContentStore
    outbox: EncryptedContentStore
    evidence: EncryptedContentStore


def _key_ring(spec: str | None, path: Path) -> KeyRing:
    if spec:
        return KeyRing.from_settings(spec)
    if not path.exists():
        # Several processes may start at once: write a complete file under a unique
        # name, then link it into place; whoever links first wins, the rest read it.
        path.parent.mkdir(parents=True, exist_ok=True)
        ring = KeyRing({"k1": generate_key()}, active="k1")
        draft = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(ring.to_settings() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return KeyRing.from_settings(path.read_text().strip())


def make_stores(
    data_dir: Path,
    *,
    platform_keys: str | None = None,
    agency_keys: str | None = None,
    durable: bool = True,
) -> ContentStores:
    """Build the stores under ``data_dir`` (``clips/``, ``outbox/``, ``evidence/``)."""
    platform = _key_ring(platform_keys, data_dir / "keys" / "platform.keyring")
    agency = _key_ring(agency_keys, data_dir / "keys" / "agency.keyring")
    return ContentStores(
        clips=FileContentStore(data_dir / "clips", platform, durable=durable),
        outbox=FileContentStore(data_dir / "outbox", platform, durable=durable),
        evidence=FileContentStore(data_dir / "evidence", agency, durable=durable),
    )
