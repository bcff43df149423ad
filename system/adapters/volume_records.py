"""The record format of the volume store: header, encrypted segments, wrapped data keys.

A record is appended to a volume file and never rewritten::

    magic "CNVSVREC" | version u8 | 3 zero bytes | segment_bytes u32 | body_bytes u64
    | nonce_base 12 | sha256 32                                  (the 68-byte header)
    segment 0 | segment 1 | ...      (each: ciphertext of segment_bytes plaintext + its
                                      16-byte GCM tag; the last one shorter, maybe empty)

The header's ``body_bytes`` says where the record must end, so a record cut
short by a crash (a torn append) is detected before any segment is decrypted;
each segment's GCM tag authenticates it. Segment ``i`` uses nonce
``nonce_base + i``; its associated data binds the header's fixed part
(magic, version, segment size, nonce), ``i`` and a final flag, and the final
segment's also the SHA-256 address, so truncation, reordering and a record
read under the wrong address fail authentication.

The record holds no key. Its data key (fresh and random per object, EVD-05)
is wrapped under a key of the ring and kept only in the store's index, with
associated data binding the address, the nonce, the wrap's generation, the
key id and the key's fingerprint: destroying the index row destroys the only
way to decrypt the record (crypto-erasure).
"""

from __future__ import annotations

import hashlib
import secrets
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from system.domain.stores import (
    Content,
    IntegrityError,
    KeyMismatch,
    KeyRing,
    TooLarge,
    iter_content,
    key_fingerprint,
)

MAGIC = b"CNVSVREC"
FORMAT_VERSION = 1
TAG_BYTES = 16
NONCE_BYTES = 12
SEGMENT_BYTES = 1 << 20
"""Plaintext bytes per AEAD segment (the last segment holds the remainder)."""

_HEADER = struct.Struct(">8sB3xIQ12s32s")
HEADER_BYTES = _HEADER.size
_FIXED_BYTES = 8 + 1 + 3 + 4  # magic, version, padding, segment size: what segments bind


@dataclass(frozen=True)
class WrappedKey:
    """A data key wrapped under one key of a ring (the index keeps it, never the volume)."""

    key_id: str
    fingerprint: bytes
    nonce: bytes
    wrapped: bytes
    generation: int


@dataclass(frozen=True)
class RecordHeader:
    segment_bytes: int
    body_bytes: int
    nonce_base: bytes
    sha256: str

    def pack(self) -> bytes:
        return _HEADER.pack(
            MAGIC,
            FORMAT_VERSION,
            self.segment_bytes,
            self.body_bytes,
            self.nonce_base,
            bytes.fromhex(self.sha256),
        )

    @property
    def record_bytes(self) -> int:
        return HEADER_BYTES + self.body_bytes

    def segment_lengths(self) -> list[int]:
        """Ciphertext length of each segment; the last one is the final segment."""
        full = self.segment_bytes + TAG_BYTES
        count = max(1, -(-self.body_bytes // full))
        last = self.body_bytes - (count - 1) * full
        if last < TAG_BYTES:
            raise IntegrityError(f"object {self.sha256}: its record's length is impossible")
        return [full] * (count - 1) + [last]


def parse_header(raw: bytes, sha256: str) -> RecordHeader:
    """The header at the start of ``raw``; :class:`IntegrityError` unless it is ``sha256``'s."""
    if len(raw) < HEADER_BYTES:
        raise IntegrityError(f"object {sha256}: its record is torn (the header is incomplete)")
    magic, version, segment_bytes, body_bytes, nonce_base, address = _HEADER.unpack_from(raw)
    if magic != MAGIC or version != FORMAT_VERSION or segment_bytes == 0:
        raise IntegrityError(f"object {sha256}: no valid record header where the index points")
    if address.hex() != sha256:
        raise IntegrityError(f"object {sha256}: the record there holds another object")
    return RecordHeader(segment_bytes, body_bytes, nonce_base, sha256)


def _fixed(segment_bytes: int, nonce_base: bytes) -> bytes:
    return MAGIC + bytes([FORMAT_VERSION, 0, 0, 0]) + struct.pack(">I", segment_bytes) + nonce_base


def _aad(fixed: bytes, index: int, final_sha256: str | None) -> bytes:
    if final_sha256 is None:
        return b"canvass/volume-segment\x00" + fixed + struct.pack(">QB", index, 0)
    tail = struct.pack(">QB", index, 1) + bytes.fromhex(final_sha256)
    return b"canvass/volume-segment\x00" + fixed + tail


def _nonce(base: bytes, index: int) -> bytes:
    return ((int.from_bytes(base) + index) % (1 << 96)).to_bytes(NONCE_BYTES)


class Spool:
    """A record body while it is encrypted: in memory up to ``memory_bytes``, then a file.

    The file is anonymous (unlinked at creation), so a crash leaves nothing behind.
    """

    def __init__(self, folder: Path, *, memory_bytes: int = 8 << 20) -> None:
        self.folder, self.memory_bytes = folder, memory_bytes
        self.parts: list[bytes] = []
        self.size = 0
        self.file: IO[bytes] | None = None

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.file is not None:
            self.file.write(data)
            return
        self.parts.append(data)
        if self.size > self.memory_bytes:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.file = tempfile.TemporaryFile(dir=self.folder)  # noqa: SIM115 (closed by close)
            for part in self.parts:
                self.file.write(part)
            self.parts = []

    def chunks(self, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
        if self.file is None:
            yield from self.parts
            return
        self.file.seek(0)
        while chunk := self.file.read(chunk_bytes):
            yield chunk

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


@dataclass
class SealedRecord:
    """An object encrypted into a record body, before it is appended."""

    header: RecordHeader
    size: int
    data_key: bytes
    body: Spool


def seal(content: Content, *, segment_bytes: int, max_bytes: int, spool: Spool) -> SealedRecord:
    """Encrypt ``content`` under a fresh data key into ``spool``'s segments.

    Raises :class:`TooLarge` past ``max_bytes``; the volumes are not touched.
    """
    data_key = AESGCM.generate_key(bit_length=256)
    nonce_base = secrets.token_bytes(NONCE_BYTES)
    fixed = _fixed(segment_bytes, nonce_base)
    aead = AESGCM(data_key)
    digest, size, index, pending = hashlib.sha256(), 0, 0, bytearray()
    for chunk in iter_content(content, segment_bytes):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(max_bytes)
        digest.update(chunk)
        pending += chunk
        # Keep the last segment back until the input ends: only then is it final.
        while len(pending) > segment_bytes:
            segment = bytes(pending[:segment_bytes])
            del pending[:segment_bytes]
            spool.write(aead.encrypt(_nonce(nonce_base, index), segment, _aad(fixed, index, None)))
            index += 1
    sha256 = digest.hexdigest()
    spool.write(aead.encrypt(_nonce(nonce_base, index), bytes(pending), _aad(fixed, index, sha256)))
    header = RecordHeader(segment_bytes, spool.size, nonce_base, sha256)
    return SealedRecord(header, size, data_key, spool)


def decrypt_segments(
    header: RecordHeader, data_key: bytes, segments: Iterator[bytes]
) -> Iterator[bytes]:
    """Authenticate and decrypt each segment, then check the whole against the address."""
    fixed = _fixed(header.segment_bytes, header.nonce_base)
    aead, digest = AESGCM(data_key), hashlib.sha256()
    lengths = header.segment_lengths()
    for index, ciphertext in enumerate(segments):
        final = index == len(lengths) - 1
        aad = _aad(fixed, index, header.sha256 if final else None)
        try:
            plaintext = aead.decrypt(_nonce(header.nonce_base, index), ciphertext, aad)
        except InvalidTag:
            raise IntegrityError(
                f"object {header.sha256}: segment {index} of {len(lengths)} failed "
                "authentication (corrupted, torn or stored under the wrong address)"
            ) from None
        digest.update(plaintext)
        yield plaintext
    if digest.hexdigest() != header.sha256:
        raise IntegrityError(
            f"object {header.sha256} decrypts to content hashing to {digest.hexdigest()}"
        )


def _wrap_aad(sha256: str, nonce_base: bytes, generation: int, key_id: str, fp: bytes) -> bytes:
    return (
        b"canvass/volume-data-key\x00"
        + bytes.fromhex(sha256)
        + nonce_base
        + struct.pack(">I32s8s", generation, key_id.encode(), fp)
    )


def wrap_key(
    ring: KeyRing, data_key: bytes, *, sha256: str, nonce_base: bytes, generation: int
) -> WrappedKey:
    """``data_key`` wrapped under the ring's active key, bound to this object."""
    key_id, kek = ring.active, ring.active_key
    fingerprint, nonce = key_fingerprint(kek), secrets.token_bytes(NONCE_BYTES)
    aad = _wrap_aad(sha256, nonce_base, generation, key_id, fingerprint)
    return WrappedKey(
        key_id, fingerprint, nonce, AESGCM(kek).encrypt(nonce, data_key, aad), generation
    )


def unwrap_key(ring: KeyRing, wrapped: WrappedKey, *, sha256: str, nonce_base: bytes) -> bytes:
    """The data key; :class:`KeyUnavailable` or :class:`IntegrityError` when it cannot be had."""
    kek = ring.key(wrapped.key_id)  # KeyNotInRing names the id
    if key_fingerprint(kek) != wrapped.fingerprint:
        raise KeyMismatch(
            f"object {sha256} is wrapped under a different key {wrapped.key_id!r} than the "
            "one in this store's key ring (another store's key, or a replaced key)",
            key_id=wrapped.key_id,
        )
    aad = _wrap_aad(sha256, nonce_base, wrapped.generation, wrapped.key_id, wrapped.fingerprint)
    try:
        return AESGCM(kek).decrypt(wrapped.nonce, wrapped.wrapped, aad)
    except InvalidTag:
        raise IntegrityError(f"object {sha256}: its wrapped data key is corrupted") from None


def is_current(ring: KeyRing, wrapped: WrappedKey) -> bool:
    """Whether ``wrapped`` is under the ring's active key already (nothing to rewrap)."""
    return wrapped.key_id == ring.active and wrapped.fingerprint == key_fingerprint(ring.active_key)
