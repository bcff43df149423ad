"""The port of the two content stores: the platform's clip store and the agency's evidence store.

Both are content-addressed: an object's address is the SHA-256 (lowercase hex)
of its plaintext, recorded at upload and verified at every hop (XFR-01). They
are separate trust domains, each with its own root and its own :class:`KeyRing`
of key-encryption keys (EVD-05); a transfer reads from one, verifies, and
writes into the other.

This module is pure: protocols, value objects, typed errors, key-ring parsing
and an in-memory store for fast unit tests. The encrypted filesystem adapter
lives in :mod:`system.adapters.blobstore`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from system.domain.errors import DomainError, NotFound

KEY_BYTES = 32
"""Key-encryption keys and data keys are AES-256 keys: 32 bytes."""

MAX_KEY_ID_CHARS = 32
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class StoreError(DomainError):
    """Base of every error a content store raises on purpose."""

    code = "store_error"


class IntegrityError(StoreError):
    """Content does not match its SHA-256, or its ciphertext failed authentication (XFR-01).

    The object is corrupted, truncated, reordered or was not what the sender
    said; callers quarantine it and retry from the source.
    """

    code = "integrity_error"

    def __init__(self, message: str) -> None:
        super().__init__(message, rule="XFR-01", field="sha256")


class TooLarge(StoreError):
    """The content is longer than the caller's limit (XFR-05); nothing was stored."""

    code = "too_large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            f"content is larger than the limit of {max_bytes} bytes; nothing was stored",
            rule="XFR-05",
            field="content",
        )
        self.max_bytes = max_bytes


class ObjectNotFound(StoreError, NotFound):
    """No object with this SHA-256 is in the store (it may have been deleted or quarantined)."""

    code = "object_not_found"

    def __init__(self, sha256: str) -> None:
        super().__init__(f"no object {sha256} in this store", field="sha256")
        self.sha256 = sha256


class InvalidAddress(StoreError):
    """A SHA-256 given to a store is not 64 hexadecimal digits."""

    code = "invalid_address"


class InvalidKeyRing(StoreError):
    """A key-ring specification or key is malformed; the message names the key id, never the key."""

    code = "invalid_key_ring"

    def __init__(self, message: str) -> None:
        super().__init__(message, rule="EVD-05", field="keys")


class KeyUnavailable(StoreError):
    """The key an object was wrapped with is not usable with this ring (EVD-05).

    This is a configuration problem, not corruption: do not quarantine on it.
    """

    code = "key_unavailable"

    def __init__(self, message: str, *, key_id: str) -> None:
        super().__init__(message, rule="EVD-05", field="keys")
        self.key_id = key_id


class KeyNotInRing(KeyUnavailable):
    """The object's data key is wrapped under a key id this ring does not hold."""

    code = "key_not_in_ring"


class KeyMismatch(KeyUnavailable):
    """The ring holds the key id, but with different key bytes than the object was wrapped with."""

    code = "key_mismatch"


def normalize_sha256(value: str) -> str:
    """Return ``value`` as lowercase hex, or raise :class:`InvalidAddress`."""
    lowered = value.strip().lower()
    if not _SHA256_HEX.fullmatch(lowered):
        raise InvalidAddress(
            f"a SHA-256 address is 64 hexadecimal digits, got {value[:80]!r}", field="sha256"
        )
    return lowered


def generate_key() -> bytes:
    """A fresh random 256-bit key from the operating system's CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def key_fingerprint(key: bytes) -> bytes:
    """8 bytes that identify a key without revealing it (stored next to each wrapped data key)."""
    return hashlib.sha256(b"canvass/kek-fingerprint\x00" + key).digest()[:8]


@dataclass(frozen=True)
class KeyRing:
    """Key-encryption keys by id, one of them active for new objects and rewraps (EVD-05).

    Keys are 32 raw bytes; ids are 1-32 characters of ``A-Z a-z 0-9 . _ -``.
    Older keys stay in the ring until every object is rewrapped, then retire.
    """

    keys: Mapping[str, bytes] = field(repr=False)
    active: str

    def __post_init__(self) -> None:
        if not self.keys:
            raise InvalidKeyRing("a key ring needs at least one key")
        for key_id, key in self.keys.items():
            if not _KEY_ID.fullmatch(key_id):
                raise InvalidKeyRing(
                    f"key id {key_id[:40]!r} must be 1-{MAX_KEY_ID_CHARS} characters of "
                    "letters, digits, '.', '_' or '-', starting with a letter or digit"
                )
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                size = len(key) if isinstance(key, bytes) else type(key).__name__
                raise InvalidKeyRing(f"key {key_id!r} is {size} bytes; AES-256 needs {KEY_BYTES}")
        if self.active not in self.keys:
            raise InvalidKeyRing(
                f"active key {self.active!r} is not in the key ring "
                f"(ids: {', '.join(sorted(self.keys))})"
            )
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    @classmethod
    def from_settings(cls, spec: str) -> KeyRing:
        """Parse ``"k1:BASE64KEY,k2:BASE64KEY;active=k2"``.

        ``;active=`` may be left out when the ring holds a single key. Keys are
        standard or URL-safe base64 of 32 bytes. Errors name the key id and
        never echo key material.
        """
        keys_part, _, options = spec.strip().partition(";")
        active: str | None = None
        if options.strip():
            name, eq, value = options.strip().partition("=")
            if name.strip() != "active" or not eq or not value.strip():
                raise InvalidKeyRing("after ';' a key ring takes only 'active=KEY_ID'")
            active = value.strip()
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(keys_part.split(","), start=1):
            key_id, colon, encoded = entry.strip().partition(":")
            key_id = key_id.strip()
            if not colon or not key_id or not encoded.strip():
                raise InvalidKeyRing(f"key ring entry {position} must look like 'KEY_ID:BASE64KEY'")
            if key_id in keys:
                raise InvalidKeyRing(f"key id {key_id!r} appears twice in the key ring")
            keys[key_id] = _decode_key(key_id, encoded.strip())
        if active is None:
            if len(keys) > 1:
                raise InvalidKeyRing(
                    "a key ring with several keys must name one with ';active=KEY_ID'"
                )
            active = next(iter(keys))
        return cls(keys, active)

    def to_settings(self) -> str:
        """The inverse of :meth:`from_settings` (contains the keys: treat it as a secret)."""
        entries = ",".join(f"{k}:{base64.b64encode(v).decode()}" for k, v in self.keys.items())
        return f"{entries};active={self.active}"

    @property
    def active_key(self) -> bytes:
        return self.keys[self.active]

    def with_new_key(self, key: bytes) -> KeyRing:
        """This ring plus ``key`` under a fresh id (``k<n>``), made active; old keys stay."""
        number = len(self.keys) + 1
        while f"k{number}" in self.keys:
            number += 1
        return KeyRing({**self.keys, f"k{number}": key}, active=f"k{number}")

    def key(self, key_id: str) -> bytes:
        """The key with this id, or :class:`KeyNotInRing` naming it."""
        try:
            return self.keys[key_id]
        except KeyError:
            raise KeyNotInRing(
                f"key {key_id!r} is not in the key ring (ids: {', '.join(sorted(self.keys))})",
                key_id=key_id,
            ) from None


class KeyRingSource(Protocol):
    """Where a store gets its ring: fixed from settings, or a file that rotation may change."""

    @property
    def managed_by(self) -> str:
        """``"settings"`` (the operator changes the ring) or ``"file"`` (rotation may add keys)."""
        ...

    def current(self) -> KeyRing:
        """The ring as it is now; a file-backed source re-reads its file when it changed."""
        ...


@dataclass(frozen=True)
class FixedKeys:
    """A :class:`KeyRingSource` that never changes (a ring given in settings or by a test)."""

    ring: KeyRing
    managed_by: str = "settings"

    def current(self) -> KeyRing:
        return self.ring


def _decode_key(key_id: str, encoded: str) -> bytes:
    try:
        if "-" in encoded or "_" in encoded:
            key = base64.urlsafe_b64decode(encoded)
        else:
            key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKeyRing(f"key {key_id!r} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise InvalidKeyRing(
            f"key {key_id!r} decodes to {len(key)} bytes; AES-256 needs {KEY_BYTES}"
        )
    return key


@dataclass(frozen=True)
class StoredObject:
    """An object in a store: its SHA-256 address, plaintext size in bytes and id."""

    sha256: str
    size: int
    object_id: str

    @classmethod
    def of(cls, sha256: str, size: int) -> StoredObject:
        return cls(sha256, size, f"sha256:{sha256}")


@dataclass(frozen=True)
class RewrapSummary:
    """What a key rotation did: objects rewrapped, already current, and failures by SHA-256."""

    rewrapped: int = 0
    unchanged: int = 0
    failed: Mapping[str, str] = field(default_factory=dict)


class ReadableBinary(Protocol):
    """A binary file object (``open(..., "rb")``, an upload's spooled file, ``io.BytesIO``)."""

    def read(self, size: int = ..., /) -> bytes: ...


Content = bytes | bytearray | memoryview | ReadableBinary | Iterable[bytes]
"""What ``put`` accepts: a buffer, a binary file object, or an iterable of byte chunks."""

PutItem = tuple[Content, str | None]
"""One object of ``put_many``: its content and the SHA-256 its sender gave, if any."""


def put_each(
    store: ContentStore, items: Iterable[PutItem], *, max_bytes: int
) -> list[StoredObject | Exception]:
    """``put_many`` for a store that has no cheaper way: one ``put`` per item, and any
    error of an item's ``put`` is that item's outcome (the others were not touched)."""
    outcomes: list[StoredObject | Exception] = []
    for content, expected in items:
        try:
            outcomes.append(store.put(content, expected_sha256=expected, max_bytes=max_bytes))
        except Exception as error:  # the item's own failure (see ContentStore.put_many)
            outcomes.append(error)
    return outcomes


def iter_content(content: Content, chunk_bytes: int) -> Iterator[bytes | memoryview]:
    """Yield ``content`` as chunks; buffers are sliced without copying, files read in chunks."""
    if isinstance(content, bytes | bytearray | memoryview):
        view = memoryview(content).cast("B")
        for start in range(0, len(view), chunk_bytes):
            yield view[start : start + chunk_bytes]
    elif isinstance(content, str):
        raise TypeError("content must be bytes, a binary file or an iterable of bytes, not str")
    elif hasattr(content, "read"):
        while chunk := content.read(chunk_bytes):
            yield chunk
    else:
        yield from content


def digest_content(content: Content, chunk_bytes: int, max_bytes: int) -> tuple[str, int]:
    """SHA-256 and size of ``content``; :class:`TooLarge` past ``max_bytes``."""
    digest, size = hashlib.sha256(), 0
    for chunk in iter_content(content, chunk_bytes):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(max_bytes)
        digest.update(chunk)
    return digest.hexdigest(), size


def check_expected(sha256: str, expected: str) -> None:
    """:class:`IntegrityError` unless the content's hash is the one its sender gave."""
    if sha256 != expected:
        raise IntegrityError(
            f"content hashes to {sha256}, not the expected {expected}; nothing was stored"
        )


class ContentStore(Protocol):
    """A content-addressed store of immutable objects (XFR-01, XFR-04, XFR-05)."""

    def put(
        self, content: Content, *, expected_sha256: str | None = None, max_bytes: int
    ) -> StoredObject:
        """Store ``content`` and return its address; idempotent for equal content.

        Raises :class:`IntegrityError` if it does not hash to ``expected_sha256``
        and :class:`TooLarge` past ``max_bytes``; either way nothing is stored.
        """
        ...

    def put_many(
        self, items: Iterable[PutItem], *, max_bytes: int
    ) -> list[StoredObject | Exception]:
        """Store several objects together where the store can; in order, each one's
        address or the error that refused it (as ``put`` would raise it: a bad hash,
        too large, or content that failed while it was read). The others are stored.
        A failure of the store itself (a disk error, say) that stops a group it writes
        together is raised; a store that writes one object at a time (:func:`put_each`)
        returns it as that object's error. Callers treat both as worth a retry.
        """
        ...

    def read(self, sha256: str) -> Iterator[bytes]:
        """The plaintext in chunks. Missing objects raise :class:`ObjectNotFound` at once.

        Each chunk is authenticated before it is yielded, but the content as a
        whole is verified against ``sha256`` only when the iterator is
        exhausted: until then treat what it gave as unverified.
        """
        ...

    def read_all(self, sha256: str) -> bytes:
        """The whole verified plaintext (for small objects)."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int:
        """Plaintext size in bytes, without reading the content."""
        ...

    def delete(self, sha256: str) -> bool:
        """Remove the object; True if it was there (deleting twice is not an error)."""
        ...

    def delete_many(self, sha256s: Iterable[str]) -> int:
        """Remove the objects (together where the store can); how many were there."""
        ...

    def quarantine(self, sha256: str, reason: str) -> bool:
        """Move the object aside so it is never served again; True if it was there (XFR-01)."""
        ...


class EncryptedContentStore(ContentStore, Protocol):
    """A store encrypted at rest whose data keys can be rewrapped under the active key (EVD-05)."""

    def rewrap(self, sha256: str) -> bool:
        """Rewrap one object's data key under the active key; True if its header changed."""
        ...

    def rewrap_all(self) -> RewrapSummary: ...


class InMemoryContentStore:
    """The :class:`ContentStore` contract held in a dict: for fast unit tests only."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.quarantined: dict[str, list[str]] = {}

    def put(
        self, content: Content, *, expected_sha256: str | None = None, max_bytes: int
    ) -> StoredObject:
        expected = None if expected_sha256 is None else normalize_sha256(expected_sha256)
        digest, buffer = hashlib.sha256(), bytearray()
        for chunk in iter_content(content, 1 << 20):
            if len(buffer) + len(chunk) > max_bytes:
                raise TooLarge(max_bytes)
            digest.update(chunk)
            buffer += chunk
        sha256 = digest.hexdigest()
        if expected is not None and sha256 != expected:
            raise IntegrityError(f"content hashes to {sha256}, not the expected {expected}")
        self.objects.setdefault(sha256, bytes(buffer))
        return StoredObject.of(sha256, len(buffer))

    def put_many(
        self, items: Iterable[PutItem], *, max_bytes: int
    ) -> list[StoredObject | Exception]:
        return put_each(self, items, max_bytes=max_bytes)

    def read(self, sha256: str) -> Iterator[bytes]:
        data = self._get(sha256)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise IntegrityError(f"object {sha256} does not hash to its address")
        return iter([data])

    def read_all(self, sha256: str) -> bytes:
        return b"".join(self.read(sha256))

    def exists(self, sha256: str) -> bool:
        return normalize_sha256(sha256) in self.objects

    def size(self, sha256: str) -> int:
        return len(self._get(sha256))

    def delete(self, sha256: str) -> bool:
        return self.objects.pop(normalize_sha256(sha256), None) is not None

    def delete_many(self, sha256s: Iterable[str]) -> int:
        return sum(self.delete(sha256) for sha256 in set(sha256s))

    def quarantine(self, sha256: str, reason: str) -> bool:
        sha256 = normalize_sha256(sha256)
        if not reason.strip():
            raise ValueError("a quarantine needs a reason")
        if self.objects.pop(sha256, None) is None:
            return False
        self.quarantined.setdefault(sha256, []).append(reason)
        return True

    def _get(self, sha256: str) -> bytes:
        sha256 = normalize_sha256(sha256)
        try:
            return self.objects[sha256]
        except KeyError:
            raise ObjectNotFound(sha256) from None
