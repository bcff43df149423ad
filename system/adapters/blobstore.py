"""The encrypted, content-addressed filesystem store (XFR-01, XFR-05, EVD-05).

One :class:`FileContentStore` per trust domain (the platform's clip store, the
agency's evidence store), each with its own root and :class:`KeyRing`.

Layout under the root: ``ab/cd/<sha256>.obj`` for objects, ``tmp/`` for
writes in progress (same filesystem, so the final ``os.replace`` is atomic)
and ``quarantine/`` for objects that must never be served again.

An object file is a fixed 236-byte header followed by AES-256-GCM segments::

    magic "CNVSBLOB" | version u8 | 3 zero bytes | segment_bytes u32 | nonce_base 12
    key slot A | key slot B          (each: generation u32, key id 32, key fingerprint 8,
                                       wrap nonce 12, wrapped data key 32 + tag 16)
    segment 0 | segment 1 | ...      (each: ciphertext of segment_bytes plaintext + 16-byte tag;
                                       the last one shorter, possibly empty plaintext)

Every object has a fresh random data key, wrapped with AES-GCM under a key of
the ring; the wrap's associated data binds the key id, fingerprint and the
header's fixed part. Segment ``i`` uses nonce ``nonce_base + i`` and
associated data binding the fixed header part, ``i`` and a final flag; the
final segment's also binds the SHA-256 address. Truncation, reordering,
swapped segments and a file under the wrong name therefore fail
authentication, and the plaintext's SHA-256 is checked as well.

Rotation rewraps only the header: the new wrap goes into the free slot, is
fsynced, and only then is the old slot zeroed. A crash in between leaves two
valid slots; reads take the newest slot that unwraps. The object's segments
are never rewritten.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from system.domain.stores import (
    Content,
    FixedKeys,
    IntegrityError,
    KeyMismatch,
    KeyNotInRing,
    KeyRing,
    KeyRingSource,
    ObjectNotFound,
    PutItem,
    RewrapSummary,
    StoredObject,
    StoreError,
    TooLarge,
    check_expected,
    digest_content,
    iter_content,
    key_fingerprint,
    normalize_sha256,
    put_each,
)

if sys.platform != "win32":
    import fcntl

MAGIC = b"CNVSBLOB"
FORMAT_VERSION = 1
SEGMENT_BYTES = 1 << 20
"""Plaintext bytes per AEAD segment (the last segment holds the remainder)."""
TAG_BYTES = 16
NONCE_BYTES = 12

_FIXED = struct.Struct(">8sB3xI12s")  # magic, version, segment_bytes, nonce_base
_SLOT = struct.Struct(">I32s8s12s48s")  # generation, key id, fingerprint, nonce, wrapped key
HEADER_BYTES = _FIXED.size + 2 * _SLOT.size
_EMPTY_SLOT = bytes(_SLOT.size)
_TMP_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


@dataclass(frozen=True)
class _Slot:
    index: int
    generation: int
    key_id: str
    fingerprint: bytes
    nonce: bytes
    wrapped: bytes


@dataclass(frozen=True)
class _Header:
    fixed: bytes
    segment_bytes: int
    nonce_base: int
    slots: tuple[_Slot | None, _Slot | None]


class FileContentStore:
    """An :class:`~system.domain.stores.EncryptedContentStore` on the local filesystem.

    ``durable=False`` skips fsync (for simulations and benchmarks that do not
    need crash safety); ``segment_bytes`` is recorded per object, so stores
    written with different values read each other's objects. ``key_ring`` is a
    ring, or a source that a rotation in another process may change: each
    operation takes the source's current ring once.
    """

    def __init__(
        self,
        root: Path | str,
        key_ring: KeyRing | KeyRingSource,
        *,
        segment_bytes: int = SEGMENT_BYTES,
        durable: bool = True,
    ) -> None:
        if not 1 <= segment_bytes <= 1 << 30:
            raise ValueError("segment_bytes must be between 1 byte and 1 GiB")
        self.root = Path(root)
        self.keys: KeyRingSource = (
            FixedKeys(key_ring) if isinstance(key_ring, KeyRing) else key_ring
        )
        self.segment_bytes = segment_bytes
        self.durable = durable
        self._root = str(self.root)
        self._dirs_made: set[str] = set()  # folders this store made or found: no mkdir again

    @property
    def key_ring(self) -> KeyRing:
        return self.keys.current()

    def __repr__(self) -> str:
        return f"FileContentStore({str(self.root)!r}, active key {self.key_ring.active!r})"

    # -- writing -----------------------------------------------------------------

    def put(
        self, content: Content, *, expected_sha256: str | None = None, max_bytes: int
    ) -> StoredObject:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        expected = None if expected_sha256 is None else normalize_sha256(expected_sha256)
        if expected is not None and self.exists(expected):
            # A retried transfer: check the content, but don't encrypt and write it again.
            sha256, size = digest_content(content, self.segment_bytes, max_bytes)
            check_expected(sha256, expected)
            return StoredObject.of(sha256, size)
        fd, tmp_name = self._new_tmp_file()
        try:
            with os.fdopen(fd, "wb") as out:
                sha256, size = self._encrypt(content, out, max_bytes)
                self._sync(out)
            if expected is not None:
                check_expected(sha256, expected)
            final = self._file(sha256)
            if os.path.exists(final):
                os.unlink(tmp_name)
            else:
                folder = os.path.dirname(final)
                self._make_dirs(folder)
                try:
                    os.replace(tmp_name, final)
                except FileNotFoundError:  # the folder was removed behind our back
                    self._dirs_made.discard(folder)
                    self._make_dirs(folder)
                    os.replace(tmp_name, final)
                self._sync_dir(folder)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return StoredObject.of(sha256, size)

    def put_many(
        self, items: Iterable[PutItem], *, max_bytes: int
    ) -> list[StoredObject | Exception]:
        return put_each(self, items, max_bytes=max_bytes)

    def _new_tmp_file(self) -> tuple[int, str]:
        """A new private file under ``tmp/`` (what ``tempfile.mkstemp`` does, cheaper)."""
        folder = os.path.join(self._root, "tmp")
        for _attempt in range(100):
            self._make_dirs(folder)
            name = os.path.join(folder, f"{secrets.token_hex(8)}.part")
            try:
                return os.open(name, _TMP_FLAGS, 0o600), name
            except FileExistsError:
                continue
            except FileNotFoundError:  # the folder was removed behind our back
                self._dirs_made.discard(folder)
        raise FileExistsError(f"no free temporary name under {folder}")

    def _encrypt(self, content: Content, out: IO[bytes], max_bytes: int) -> tuple[str, int]:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce_base = secrets.token_bytes(NONCE_BYTES)
        fixed = _FIXED.pack(MAGIC, FORMAT_VERSION, self.segment_bytes, nonce_base)
        slot = _wrap(self.key_ring, data_key, fixed, generation=1)
        out.write(fixed + slot + _EMPTY_SLOT)
        aead, base = AESGCM(data_key), int.from_bytes(nonce_base)
        digest, size, index, pending = hashlib.sha256(), 0, 0, bytearray()
        for chunk in iter_content(content, self.segment_bytes):
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(max_bytes)
            digest.update(chunk)
            pending += chunk
            # Keep the last segment back until the input ends: only then is it final.
            while len(pending) > self.segment_bytes:
                segment = pending[: self.segment_bytes]
                del pending[: self.segment_bytes]
                out.write(aead.encrypt(_nonce(base, index), segment, _aad(fixed, index)))
                index += 1
        sha256 = digest.hexdigest()
        final_aad = _aad(fixed, index, final_sha256=sha256)
        out.write(aead.encrypt(_nonce(base, index), bytes(pending), final_aad))
        return sha256, size

    # -- reading -----------------------------------------------------------------

    def read(self, sha256: str) -> Iterator[bytes]:
        sha256 = normalize_sha256(sha256)
        file = self._open(sha256, "rb")
        try:
            header = _parse_header(file.read(HEADER_BYTES), sha256)
            data_key = _unwrap(self.key_ring, header, sha256)[1]
            lengths = _segment_lengths(os.fstat(file.fileno()).st_size, header, sha256)
        except BaseException:
            file.close()
            raise
        return _decrypt(file, header, AESGCM(data_key), lengths, sha256)

    def read_all(self, sha256: str) -> bytes:
        return b"".join(self.read(sha256))

    def exists(self, sha256: str) -> bool:
        return os.path.isfile(self._file(normalize_sha256(sha256)))

    def size(self, sha256: str) -> int:
        """Plaintext size from the file's length (the content is not read or verified)."""
        sha256 = normalize_sha256(sha256)
        with self._open(sha256, "rb") as file:
            header = _parse_header(file.read(HEADER_BYTES), sha256)
            lengths = _segment_lengths(os.fstat(file.fileno()).st_size, header, sha256)
        return sum(lengths) - TAG_BYTES * len(lengths)

    # -- removing ----------------------------------------------------------------

    def delete(self, sha256: str) -> bool:
        path = self._file(normalize_sha256(sha256))
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        self._sync_dir(os.path.dirname(path))
        return True

    def delete_many(self, sha256s: Iterable[str]) -> int:
        return sum(self.delete(sha256) for sha256 in set(sha256s))

    def quarantine(self, sha256: str, reason: str) -> bool:
        """Move the object under ``quarantine/``, its reason in a ``.reason`` file beside it."""
        sha256 = normalize_sha256(sha256)
        if not reason.strip():
            raise ValueError("a quarantine needs a reason")
        source = self._path(sha256)
        if not source.exists():
            return False
        folder = self._mkdir(self.root / "quarantine")
        name = f"{sha256}.{secrets.token_hex(4)}"
        note = folder / f"{name}.reason"
        with open(note, "w", encoding="utf-8") as file:
            file.write(reason.strip() + "\n")
            self._sync(file)
        try:
            os.replace(source, folder / f"{name}.obj")
        except FileNotFoundError:  # deleted or quarantined by someone else meanwhile
            note.unlink()
            return False
        self._sync_dir(folder)
        self._sync_dir(source.parent)
        return True

    # -- key rotation (EVD-05) ---------------------------------------------------

    def rewrap(self, sha256: str) -> bool:
        """Rewrap the data key under the ring's active key, touching only the header.

        True if the header changed. Runs under an exclusive lock on the file so
        concurrent rotations cannot zero each other's slots.
        """
        sha256 = normalize_sha256(sha256)
        with self._open(sha256, "r+b") as file:
            if sys.platform != "win32":
                fcntl.flock(file.fileno(), fcntl.LOCK_EX)
            header = _parse_header(file.read(HEADER_BYTES), sha256)
            ring = self.key_ring
            live, data_key = _unwrap(ring, header, sha256)
            other = header.slots[1 - live.index]
            current = live.key_id == ring.active and live.fingerprint == key_fingerprint(
                ring.active_key
            )
            if current:
                if other is None:
                    return False
                stale = other.index  # left behind by an interrupted rotation
            else:
                generation = max(s.generation for s in header.slots if s is not None) + 1
                free = 1 - live.index
                slot = _wrap(ring, data_key, header.fixed, generation=generation)
                os.pwrite(file.fileno(), slot, _slot_offset(free))
                self._sync(file)
                stale = live.index
            # Only once the new wrap is on disk: the old key must not open this object any more.
            os.pwrite(file.fileno(), _EMPTY_SLOT, _slot_offset(stale))
            self._sync(file)
        return True

    def rewrap_all(self) -> RewrapSummary:
        """Rewrap every object; failures are collected by SHA-256, not raised."""
        rewrapped, unchanged, failed = 0, 0, {}
        for path in sorted(self.root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*.obj")):
            try:
                if self.rewrap(path.stem):
                    rewrapped += 1
                else:
                    unchanged += 1
            except ObjectNotFound:  # deleted or quarantined meanwhile: nothing to rotate
                continue
            except (StoreError, OSError) as error:
                failed[path.stem] = str(error)
        return RewrapSummary(rewrapped, unchanged, failed)

    # -- files -------------------------------------------------------------------

    def _path(self, sha256: str) -> Path:
        return Path(self._file(sha256))

    def _file(self, sha256: str) -> str:
        return f"{self._root}/{sha256[:2]}/{sha256[2:4]}/{sha256}.obj"

    def _make_dirs(self, folder: str) -> None:
        if folder not in self._dirs_made:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            self._dirs_made.add(folder)

    def _open(self, sha256: str, mode: str) -> IO[bytes]:
        try:
            return open(self._file(sha256), mode)  # the caller closes it
        except FileNotFoundError:
            raise ObjectNotFound(sha256) from None

    def _mkdir(self, path: Path) -> Path:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def _sync(self, file: IO[Any]) -> None:
        if self.durable:
            file.flush()
            os.fsync(file.fileno())

    def _sync_dir(self, path: Path | str) -> None:
        if self.durable and sys.platform != "win32":
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _wrap(ring: KeyRing, data_key: bytes, fixed: bytes, *, generation: int) -> bytes:
    key_id, key = ring.active, ring.active_key
    fingerprint, nonce = key_fingerprint(key), secrets.token_bytes(NONCE_BYTES)
    aad = _wrap_aad(fixed, generation, key_id, fingerprint)
    wrapped = AESGCM(key).encrypt(nonce, data_key, aad)
    return _SLOT.pack(generation, key_id.encode(), fingerprint, nonce, wrapped)


def _unwrap(ring: KeyRing, header: _Header, sha256: str) -> tuple[_Slot, bytes]:
    """The newest slot that unwraps under this ring, and the data key it holds."""
    slots = sorted((s for s in header.slots if s is not None), key=lambda s: -s.generation)
    problems: list[StoreError] = []
    for slot in slots:
        key = ring.keys.get(slot.key_id)
        if key is None:
            problems.append(
                KeyNotInRing(
                    f"object {sha256} is wrapped under key {slot.key_id!r}, which is not in "
                    f"this store's key ring (ids: {', '.join(sorted(ring.keys))})",
                    key_id=slot.key_id,
                )
            )
            continue
        if key_fingerprint(key) != slot.fingerprint:
            problems.append(
                KeyMismatch(
                    f"object {sha256} is wrapped under a different key {slot.key_id!r} than "
                    "the one in this store's key ring (another store's key, or a replaced key)",
                    key_id=slot.key_id,
                )
            )
            continue
        aad = _wrap_aad(header.fixed, slot.generation, slot.key_id, slot.fingerprint)
        try:
            return slot, AESGCM(key).decrypt(slot.nonce, slot.wrapped, aad)
        except InvalidTag:
            problems.append(
                IntegrityError(f"object {sha256}: the data key in its header is corrupted")
            )
    if not problems:
        raise IntegrityError(f"object {sha256} has no data key in its header")
    raise problems[0]


def _nonce(base: int, index: int) -> bytes:
    return ((base + index) % (1 << 96)).to_bytes(NONCE_BYTES)


def _aad(fixed: bytes, index: int, *, final_sha256: str | None = None) -> bytes:
    if final_sha256 is None:
        return b"canvass/segment\x00" + fixed + struct.pack(">QB", index, 0)
    return (
        b"canvass/segment\x00" + fixed + struct.pack(">QB", index, 1) + bytes.fromhex(final_sha256)
    )


def _wrap_aad(fixed: bytes, generation: int, key_id: str, fingerprint: bytes) -> bytes:
    return (
        b"canvass/data-key\x00"
        + fixed
        + struct.pack(">I32s8s", generation, key_id.encode(), fingerprint)
    )


def _slot_offset(index: int) -> int:
    return _FIXED.size + index * _SLOT.size


def _parse_header(raw: bytes, sha256: str) -> _Header:
    if len(raw) < HEADER_BYTES:
        raise IntegrityError(f"object {sha256} is truncated: its header is incomplete")
    magic, version, segment_bytes, nonce_base = _FIXED.unpack_from(raw)
    if magic != MAGIC:
        raise IntegrityError(f"object {sha256} is not a Canvass object file (bad magic)")
    if version != FORMAT_VERSION:
        raise IntegrityError(f"object {sha256} has unknown format version {version}")
    if segment_bytes == 0:
        raise IntegrityError(f"object {sha256} has a corrupted header (zero segment size)")
    slots: list[_Slot | None] = []
    for index in (0, 1):
        packed = raw[_slot_offset(index) : _slot_offset(index + 1)]
        generation, key_id, fingerprint, nonce, wrapped = _SLOT.unpack(packed)
        if packed == _EMPTY_SLOT:
            slots.append(None)
            continue
        name = key_id.rstrip(b"\x00").decode("ascii", errors="replace")
        slots.append(_Slot(index, generation, name, fingerprint, nonce, wrapped))
    return _Header(
        raw[: _FIXED.size], segment_bytes, int.from_bytes(nonce_base), (slots[0], slots[1])
    )


def _segment_lengths(file_bytes: int, header: _Header, sha256: str) -> list[int]:
    """Ciphertext length of each segment, from the file's length; the last one is final."""
    payload, full = file_bytes - HEADER_BYTES, header.segment_bytes + TAG_BYTES
    count = max(1, -(-payload // full))
    last = payload - (count - 1) * full
    if last < TAG_BYTES:
        raise IntegrityError(f"object {sha256} is truncated: its last segment is incomplete")
    return [full] * (count - 1) + [last]


def _decrypt(
    file: IO[bytes], header: _Header, aead: AESGCM, lengths: list[int], sha256: str
) -> Iterator[bytes]:
    digest = hashlib.sha256()
    try:
        for index, length in enumerate(lengths):
            final = index == len(lengths) - 1
            aad = _aad(header.fixed, index, final_sha256=sha256 if final else None)
            ciphertext = file.read(length)
            try:
                plaintext = aead.decrypt(_nonce(header.nonce_base, index), ciphertext, aad)
            except InvalidTag:
                raise IntegrityError(
                    f"object {sha256}: segment {index} of {len(lengths)} failed authentication "
                    "(corrupted, truncated, reordered or stored under the wrong address)"
                ) from None
            digest.update(plaintext)
            yield plaintext
    finally:
        file.close()
    if digest.hexdigest() != sha256:
        raise IntegrityError(f"object {sha256} decrypts to content hashing to {digest.hexdigest()}")
