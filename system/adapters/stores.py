"""The system's encrypted stores and their key rings, built from settings.

Three key domains, each with its own key ring:

* ``platform``: ``clips`` (what cameras upload) and ``outbox`` (the transient
  copy a transfer makes, deleted once the agency confirms receipt, XFR-03);
* ``agency``: ``evidence`` (what transfers deliver);
* ``accounts``: the sealed TOTP secrets in the accounts table (SEC-02).

A ring comes from settings (``CANVASS_PLATFORM_KEYS``, ``CANVASS_AGENCY_KEYS``,
``CANVASS_ACCOUNT_KEYS``, from a secret store in production) or, when a
setting is absent, from ``<data_dir>/keys/<domain>.keyring`` (mode 0600),
generated on first use so the one-command default works. Only a file-backed
ring can be rotated by the system itself (:meth:`KeyRingFile.add_key`); every
process re-reads the file when it changes, so a rotation made by one process is
seen by the others before they next read or write.
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from system.adapters.blobstore import FileContentStore
from system.adapters.volume_appends import sync_dir
from system.adapters.volumes import VolumeContentStore
from system.domain.stores import (
    EncryptedContentStore,
    FixedKeys,
    IntegrityError,
    KeyMismatch,
    KeyRing,
    KeyRingSource,
    StoreError,
    generate_key,
    key_fingerprint,
)

if sys.platform != "win32":
    import fcntl

STORE_KINDS = ("volumes", "files")
"""How objects are kept (``CANVASS_STORE``): append-only volumes, or one file per object."""

CONTENT_STORES = ("clips", "outbox", "evidence")
"""The content stores under the data directory, by folder name."""

KEY_DOMAINS = ("platform", "agency", "accounts")
"""Every key ring the system holds, by domain name (the ``canvass keys`` argument)."""

SETTING_FOR_DOMAIN = {
    "platform": "CANVASS_PLATFORM_KEYS",
    "agency": "CANVASS_AGENCY_KEYS",
    "accounts": "CANVASS_ACCOUNT_KEYS",
}


class KeyRingFile:
    """A key ring kept in a file under the data directory (``managed_by == "file"``)."""

    managed_by = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._ring: KeyRing | None = None
        if not path.exists():
            self._create()

    def current(self) -> KeyRing:
        """The ring in the file, re-read whenever the file was replaced (one ``stat`` a call)."""
        info = os.stat(self.path)
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        if self._ring is None or stamp != self._stamp:
            self._ring = KeyRing.from_settings(self.path.read_text().strip())
            self._stamp = stamp
        return self._ring

    def add_key(self) -> KeyRing:
        """Add a fresh key, make it active and return the new ring; old keys stay in it.

        Rotations of one ring are serialised by a lock file; the new ring is
        written whole to a draft and moved into place, so readers never see
        half a file.
        """
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as lock:
            if sys.platform != "win32":
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            ring = KeyRing.from_settings(self.path.read_text().strip()).with_new_key(generate_key())
            draft = self._write_draft(ring)
            os.replace(draft, self.path)
            sync_dir(self.path.parent)
        return self.current()

    def _create(self) -> None:
        # Several processes may start at once: write a complete file under a unique
        # name, then link it into place; whoever links first wins, the rest read it.
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        draft = self._write_draft(KeyRing({"k1": generate_key()}, active="k1"))
        try:
            os.link(draft, self.path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()

    def _write_draft(self, ring: KeyRing) -> Path:
        draft = self.path.with_name(f".{self.path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(ring.to_settings() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return draft


def key_source(spec: str | None, path: Path) -> KeyRingSource:
    """The ring from a settings value when given, else from (or newly in) ``path``."""
    return FixedKeys(KeyRing.from_settings(spec)) if spec else KeyRingFile(path)


SEALED_VERSION = "v1"


class SecretBox:
    """Seals short secrets for a database column with AES-256-GCM (SEC-02: TOTP secrets).

    A sealed value reads ``v1:<key id>:<key fingerprint hex>:<base64url(nonce | ciphertext)>``;
    the associated data binds the key id, its fingerprint and a ``context``
    (the account's username), so a sealed value copied onto another row does
    not open. Values sealed under an older key of the ring still open.
    """

    def __init__(self, keys: KeyRingSource) -> None:
        self.keys = keys

    def seal(self, secret: str, *, context: str) -> str:
        ring = self.keys.current()
        fingerprint = key_fingerprint(ring.active_key)
        nonce = os.urandom(12)
        aad = _aad(ring.active, fingerprint, context)
        sealed = AESGCM(ring.active_key).encrypt(nonce, secret.encode(), aad)
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{SEALED_VERSION}:{ring.active}:{fingerprint.hex()}:{body}"

    def open(self, sealed: str, *, context: str) -> str:
        """The secret; :class:`KeyUnavailable` or :class:`IntegrityError` when it cannot be."""
        key_id, fingerprint, body = _split(sealed)
        key = self.keys.current().key(key_id)
        if key_fingerprint(key) != fingerprint:
            raise KeyMismatch(
                f"a sealed secret uses a different key {key_id!r} than the one in the ring",
                key_id=key_id,
            )
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        try:
            plain = AESGCM(key).decrypt(raw[:12], raw[12:], _aad(key_id, fingerprint, context))
        except InvalidTag:
            raise IntegrityError("a sealed secret failed authentication") from None
        return plain.decode()

    def is_current(self, sealed: str) -> bool:
        """Whether ``sealed`` is under the ring's active key (nothing to reseal)."""
        key_id, fingerprint, _ = _split(sealed)
        ring = self.keys.current()
        return key_id == ring.active and fingerprint == key_fingerprint(ring.active_key)


def is_sealed(value: str) -> bool:
    return value.startswith(f"{SEALED_VERSION}:")


def _split(sealed: str) -> tuple[str, bytes, str]:
    parts = sealed.split(":")
    if len(parts) != 4 or parts[0] != SEALED_VERSION:
        raise IntegrityError("a sealed secret is malformed")
    try:
        fingerprint = bytes.fromhex(parts[2])
    except ValueError:
        raise IntegrityError("a sealed secret is malformed") from None
    if len(fingerprint) != 8:
        raise IntegrityError("a sealed secret is malformed")
    try:
        base64.urlsafe_b64decode(parts[3] + "=" * (-len(parts[3]) % 4))
    except (binascii.Error, ValueError):
        raise IntegrityError("a sealed secret is malformed") from None
    return parts[1], fingerprint, parts[3]


def _aad(key_id: str, fingerprint: bytes, context: str) -> bytes:
    return b"canvass/sealed-secret\x00" + key_id.encode() + b"\x00" + fingerprint + context.encode()


@dataclass(frozen=True)
class ContentStores:
    clips: EncryptedContentStore
    outbox: EncryptedContentStore
    evidence: EncryptedContentStore
    key_sources: Mapping[str, KeyRingSource]
    secrets: SecretBox

    def stores_of(self, domain: str) -> dict[str, EncryptedContentStore]:
        """The content stores whose objects are wrapped under ``domain``'s ring."""
        if domain == "platform":
            return {"clips": self.clips, "outbox": self.outbox}
        if domain == "agency":
            return {"evidence": self.evidence}
        return {}


def make_stores(
    data_dir: Path,
    *,
    platform_keys: str | None = None,
    agency_keys: str | None = None,
    account_keys: str | None = None,
    durable: bool = True,
    kind: str = "volumes",
    volume_bytes: int | None = None,
) -> ContentStores:
    """Build the stores under ``data_dir`` (``clips/``, ``outbox/``, ``evidence/``, ``keys/``).

    ``kind`` is ``volumes`` (the default) or ``files`` (one file per object, the
    store before volumes); ``volume_bytes`` is where volumes rotate (default 1 GiB).
    """
    keys = data_dir / "keys"
    sources = {
        "platform": key_source(platform_keys, keys / "platform.keyring"),
        "agency": key_source(agency_keys, keys / "agency.keyring"),
        "accounts": key_source(account_keys, keys / "accounts.keyring"),
    }

    def store(name: str, domain: str) -> EncryptedContentStore:
        return open_content_store(
            data_dir / name, sources[domain], kind=kind, durable=durable, volume_bytes=volume_bytes
        )

    return ContentStores(
        clips=store("clips", "platform"),
        outbox=store("outbox", "platform"),
        evidence=store("evidence", "agency"),
        key_sources=sources,
        secrets=SecretBox(sources["accounts"]),
    )


class StoreNeedsMigration(StoreError):
    """A folder holds a per-object file store, but the settings ask for volumes."""

    code = "store_needs_migration"


def open_content_store(
    root: Path,
    keys: KeyRingSource,
    *,
    kind: str = "volumes",
    durable: bool = True,
    volume_bytes: int | None = None,
) -> EncryptedContentStore:
    """The store of ``kind`` at ``root``; a volume store refuses a folder of object files.

    Opening volumes over a file store would hide its objects, so it is an error that
    says what to do (``canvass store migrate``) instead.
    """
    if kind == "files":
        return FileContentStore(root, keys, durable=durable)
    if kind != "volumes":
        raise ValueError(f"unknown store kind {kind!r}; choose one of {', '.join(STORE_KINDS)}")
    if holds_object_files(root):
        raise StoreNeedsMigration(
            f"{root} holds objects in per-object files; run `canvass store migrate` to move "
            "them into volumes, or set CANVASS_STORE=files to keep using them"
        )
    if volume_bytes is None:
        return VolumeContentStore(root, keys, durable=durable)
    return VolumeContentStore(root, keys, durable=durable, volume_bytes=volume_bytes)


def holds_object_files(root: Path) -> bool:
    """Whether ``root`` has a per-object file store's fan-out folders with an object in them."""
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return False
    for entry in entries:
        if len(entry.name) == 2 and entry.is_dir() and _is_hex(entry.name):
            for sub in os.scandir(entry.path):
                if sub.is_dir() and any(n.endswith(".obj") for n in os.listdir(sub.path)):
                    return True
    return False


def _is_hex(name: str) -> bool:
    return all(c in "0123456789abcdef" for c in name)
