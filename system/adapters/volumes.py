"""The encrypted, append-only volume store (XFR-01, XFR-05, EVD-05), after Facebook's Haystack.

Objects are appended as records (:mod:`system.adapters.volume_records`) to
large volume files under ``<root>/volumes/``; a volume is sealed once the
next record would take it past ``volume_bytes`` (1 GiB by default) and a new
one becomes active. The index (:mod:`system.adapters.volume_index`) maps each
SHA-256 to its volume, offset and length and holds its wrapped data key.

Writing: the content is encrypted under a fresh data key into a spool (memory,
or an anonymous file past 8 MiB) outside any lock; then, under the store's
append lock (a thread lock and ``flock`` on ``append.lock``, so several
processes may share the store), the record is written at the active volume's
committed end, flushed and fsynced (``durable=True``), and only then is its
index row committed together with the volume's new end. A crash before the
commit leaves bytes past the committed end: never indexed, so never served,
and overwritten by the next append.

Reading takes the row, opens the volume, checks the record header against the
row and the file's length (a torn record is an :class:`IntegrityError`),
unwraps the data key and decrypts segment by segment. If compaction moved the
record and removed the old volume in between, the read looks the row up again.

Deleting removes the index row and with it the only wrapped copy of the data
key: the record's bytes are unreadable from then on (crypto-erasure), and
``canvass store compact`` (:mod:`system.adapters.volume_upkeep`) reclaims them;
a sealed volume whose last record is deleted is removed at once.
Rotation rewraps data keys in the index; volumes are never rewritten for it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from system.adapters.volume_index import IndexRow, VolumeIndex
from system.adapters.volume_records import (
    HEADER_BYTES,
    SEGMENT_BYTES,
    RecordHeader,
    SealedRecord,
    Spool,
    WrappedKey,
    decrypt_segments,
    is_current,
    parse_header,
    seal,
    unwrap_key,
    wrap_key,
)
from system.domain.stores import (
    Content,
    FixedKeys,
    IntegrityError,
    KeyRing,
    KeyRingSource,
    ObjectNotFound,
    RewrapSummary,
    StoredObject,
    StoreError,
    check_expected,
    digest_content,
    key_fingerprint,
    normalize_sha256,
)

if sys.platform != "win32":
    import fcntl

VOLUME_BYTES = 1 << 30
"""A volume is sealed when the next record would take it past this size (one larger record
gets a volume of its own)."""
REWRAP_BATCH = 500
INDEX_NAME = "index.sqlite3"
"""The index's file under the store's root."""


class VolumeContentStore:
    """An :class:`~system.domain.stores.EncryptedContentStore` in append-only volumes.

    ``durable=False`` skips fsync (for simulations and benchmarks that do not
    need crash safety). ``key_ring`` is a ring, or a source that a rotation in
    another process may change: each operation takes the source's ring once.
    """

    def __init__(
        self,
        root: Path | str,
        key_ring: KeyRing | KeyRingSource,
        *,
        volume_bytes: int = VOLUME_BYTES,
        segment_bytes: int = SEGMENT_BYTES,
        durable: bool = True,
    ) -> None:
        if volume_bytes < 1:
            raise ValueError("volume_bytes must be at least 1 byte")
        if not 1 <= segment_bytes <= 1 << 30:
            raise ValueError("segment_bytes must be between 1 byte and 1 GiB")
        self.root = Path(root)
        self.keys: KeyRingSource = (
            FixedKeys(key_ring) if isinstance(key_ring, KeyRing) else key_ring
        )
        self.volume_bytes, self.segment_bytes, self.durable = volume_bytes, segment_bytes, durable
        self.index = VolumeIndex(self.root / INDEX_NAME, durable=durable)
        self._volumes = str(self.root / "volumes")
        self._thread_lock = threading.Lock()
        # File objects rather than bare descriptors: a store dropped without close()
        # still closes them when it is collected.
        self._lock_file: IO[bytes] | None = None
        self._writer: tuple[int, IO[bytes]] | None = None  # the active volume's id and file

    @property
    def key_ring(self) -> KeyRing:
        return self.keys.current()

    def __repr__(self) -> str:
        return f"VolumeContentStore({str(self.root)!r}, active key {self.key_ring.active!r})"

    def volume_path(self, volume: int) -> Path:
        return Path(self._volume_file(volume))

    def _volume_file(self, volume: int) -> str:
        return f"{self._volumes}/{volume:08d}.vol"

    def close(self) -> None:
        """Close the index and the active volume's file (the store reopens them on use)."""
        with self._thread_lock:
            self._drop_writer()
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None
        self.index.close()

    # -- writing -----------------------------------------------------------------

    def put(
        self, content: Content, *, expected_sha256: str | None = None, max_bytes: int
    ) -> StoredObject:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        expected = None if expected_sha256 is None else normalize_sha256(expected_sha256)
        if expected is not None and self.index.exists(expected):
            # A retried transfer: check the content, but don't encrypt and append it again.
            sha256, size = digest_content(content, self.segment_bytes, max_bytes)
            check_expected(sha256, expected)
            return StoredObject.of(sha256, size)
        spool = Spool(self.root / "spool")
        try:
            record = seal(
                content, segment_bytes=self.segment_bytes, max_bytes=max_bytes, spool=spool
            )
            sha256 = record.header.sha256
            if expected is not None:
                check_expected(sha256, expected)
            wrapped = wrap_key(
                self.key_ring,
                record.data_key,
                sha256=sha256,
                nonce_base=record.header.nonce_base,
                generation=1,
            )
            with self.appending():
                volume, offset = self._append(record)
                self.index.record(
                    IndexRow(
                        sha256,
                        volume,
                        offset,
                        record.header.record_bytes,
                        record.size,
                        record.header.nonce_base,
                        wrapped,
                    )
                )
        finally:
            spool.close()
        return StoredObject.of(sha256, record.size)

    @contextmanager
    def appending(self) -> Iterator[None]:
        """Hold the store's append lock: one appender at a time, across threads and processes."""
        with self._thread_lock:
            if self._lock_file is None:
                self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(self.root / "append.lock", os.O_RDWR | os.O_CREAT, 0o600)
                self._lock_file = os.fdopen(fd, "r+b", buffering=0)
            if sys.platform != "win32":
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if sys.platform != "win32":
                    fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)

    def _append(self, record: SealedRecord) -> tuple[int, int]:
        """Write the record at the active volume's committed end (append lock held)."""
        length = record.header.record_bytes
        active = self.index.active_volume()
        if active is None or (active[1] > 0 and active[1] + length > self.volume_bytes):
            sealed = active
            active = (self.index.new_volume("active"), 0)
            if sealed is not None:  # every record in it may be gone already (an outbox's)
                self._remove_volumes(self.index.drop_dead([sealed[0]]))
        volume, offset = active
        fd = self._writer_fd(volume, offset)
        if record.body.file is None:  # the usual clip: header and body in one write
            _write_all(fd, b"".join([record.header.pack(), *record.body.parts]), offset)
        else:
            position = _write_all(fd, record.header.pack(), offset)
            for chunk in record.body.chunks():
                position = _write_all(fd, chunk, position)
        if self.durable:
            os.fsync(fd)
        return volume, offset

    def _writer_fd(self, volume: int, end: int) -> int:
        if self._writer is not None and self._writer[0] == volume:
            return self._writer[1].fileno()
        self._drop_writer()
        path = self.volume_path(volume)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        if os.fstat(fd).st_size > end:
            # A torn or abandoned append (a crash before its index row committed): cut it off.
            # (Appends overwrite such bytes anyway; this keeps the volume's length honest.)
            os.ftruncate(fd, end)
        if self.durable:
            sync_dir(path.parent)
        self._writer = (volume, os.fdopen(fd, "r+b", buffering=0))
        return fd

    def _drop_writer(self) -> None:
        if self._writer is not None:
            self._writer[1].close()
            self._writer = None

    # -- reading -----------------------------------------------------------------

    def read(self, sha256: str) -> Iterator[bytes]:
        sha256 = normalize_sha256(sha256)
        row = self._row(sha256)
        for _attempt in range(5):
            try:
                # A file object, not a bare descriptor: closed even if the reader never starts.
                file = open(self._volume_file(row.volume), "rb", buffering=0)  # noqa: SIM115
            except FileNotFoundError:
                # Compaction moved the record and removed its old volume since the lookup.
                moved = self._row(sha256)
                if moved == row:
                    raise IntegrityError(
                        f"object {sha256}: its volume {row.volume} is missing"
                    ) from None
                row = moved
                continue
            try:
                header = self._header(file.fileno(), row)
                data_key = unwrap_key(self.key_ring, row.key, sha256=sha256, nonce_base=row.nonce)
            except BaseException:
                file.close()
                raise
            return decrypt_segments(header, data_key, _segments(file, header, row.offset))
        raise IntegrityError(f"object {sha256}: it kept moving while being read")

    def _header(self, fd: int, row: IndexRow) -> RecordHeader:
        if os.fstat(fd).st_size < row.offset + row.length:
            raise IntegrityError(f"object {row.sha256}: its record is torn (the volume ends early)")
        header = parse_header(os.pread(fd, HEADER_BYTES, row.offset), row.sha256)
        if header.nonce_base != row.nonce or header.record_bytes != row.length:
            raise IntegrityError(f"object {row.sha256}: the record does not match its index row")
        return header

    def read_all(self, sha256: str) -> bytes:
        return b"".join(self.read(sha256))

    def exists(self, sha256: str) -> bool:
        return self.index.exists(normalize_sha256(sha256))

    def size(self, sha256: str) -> int:
        """Plaintext size from the index (the content is not read or verified)."""
        return self._row(normalize_sha256(sha256)).size

    def addresses(self) -> list[str]:
        """Every object's SHA-256, sorted (quarantined ones excluded)."""
        return self.index.addresses()

    def _row(self, sha256: str) -> IndexRow:
        row = self.index.find(sha256)
        if row is None:
            raise ObjectNotFound(sha256)
        return row

    # -- removing ----------------------------------------------------------------

    def delete(self, sha256: str) -> bool:
        """Destroy the object's wrapped data key: unreadable at once; compaction frees the bytes."""
        return self.delete_many([sha256]) > 0

    def delete_many(self, sha256s: Iterable[str]) -> int:
        """Destroy the objects' wrapped data keys in one index transaction; how many were there.

        A sealed volume left with no record is removed at once (no compaction needed):
        transient objects, such as the outbox's, never pile up.
        """
        deleted, dead = self.index.delete([normalize_sha256(s) for s in sha256s])
        self._remove_volumes(dead)
        return deleted

    def _remove_volumes(self, volumes: Iterable[int]) -> None:
        for volume in volumes:
            Path(self._volume_file(volume)).unlink(missing_ok=True)

    def quarantine(self, sha256: str, reason: str) -> bool:
        """Move the object's row to ``quarantined`` with its reason: kept, never served."""
        sha256 = normalize_sha256(sha256)
        if not reason.strip():
            raise ValueError("a quarantine needs a reason")
        return self.index.quarantine(sha256, reason.strip())

    # -- key rotation (EVD-05) ---------------------------------------------------

    def rewrap(self, sha256: str) -> bool:
        """Rewrap the data key under the ring's active key, in the index only.

        True if the wrap changed.
        """
        row = self._row(normalize_sha256(sha256))
        ring = self.key_ring
        if is_current(ring, row.key):
            return False
        changed = self.index.replace_keys([(row, self._rewrapped(ring, row))]) > 0
        self.index.forget_old_pages()  # the old wrap must not survive in the index's log
        return changed

    def rewrap_all(self) -> RewrapSummary:
        """Rewrap every object not yet under the active key; failures by SHA-256, not raised."""
        ring = self.key_ring
        total = self.index.count()
        stale = self.index.stale_keys(ring.active, _fingerprint(ring))
        rewrapped, failed = 0, {}
        for start in range(0, len(stale), REWRAP_BATCH):
            batch = []
            for row in stale[start : start + REWRAP_BATCH]:
                try:
                    batch.append((row, self._rewrapped(ring, row)))
                except StoreError as error:
                    failed[row.sha256] = str(error)
            rewrapped += self.index.replace_keys(batch)
        self.index.forget_old_pages()
        return RewrapSummary(rewrapped, max(0, total - len(stale)), failed)

    def _rewrapped(self, ring: KeyRing, row: IndexRow) -> WrappedKey:
        data_key = unwrap_key(ring, row.key, sha256=row.sha256, nonce_base=row.nonce)
        return wrap_key(
            ring,
            data_key,
            sha256=row.sha256,
            nonce_base=row.nonce,
            generation=row.key.generation + 1,
        )


def _fingerprint(ring: KeyRing) -> bytes:
    return key_fingerprint(ring.active_key)


def _segments(file: IO[bytes], header: RecordHeader, offset: int) -> Iterator[bytes]:
    """The record's ciphertext segments, read one at a time; closes ``file`` at the end."""
    try:
        position = offset + HEADER_BYTES
        for length in header.segment_lengths():
            segment = os.pread(file.fileno(), length, position)
            if len(segment) != length:
                raise IntegrityError(f"object {header.sha256}: its record is torn")
            position += length
            yield segment
    finally:
        file.close()


def _write_all(fd: int, data: bytes, position: int) -> int:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, position)
        view, position = view[written:], position + written
    return position


def sync_dir(path: Path) -> None:
    """fsync a folder, so a file created or renamed in it survives a crash."""
    if sys.platform != "win32":
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
