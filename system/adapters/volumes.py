"""The encrypted, append-only volume store (XFR-01, XFR-05, EVD-05), after Facebook's Haystack.

Objects are appended as records (:mod:`system.adapters.volume_records`) to
large volume files under ``<root>/volumes/``; a volume is sealed once the
next record would take it past ``volume_bytes`` (1 GiB by default) and a new
one becomes active. The index (:mod:`system.adapters.volume_index`) maps each
SHA-256 to its volume, offset and length and holds its wrapped data key.

Writing: each object is encrypted under a fresh data key into a spool (memory,
or an anonymous file past 8 MiB) outside any lock; then the records of a
``put_many`` (up to ``GROUP_BYTES`` at a time) are appended under the store's
append lock, fsynced (``durable=True``), and indexed in one transaction
(:mod:`system.adapters.volume_appends`). ``put`` is a group of one.

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
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO

from system.adapters.volume_appends import Appender
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
    PutItem,
    RewrapSummary,
    StoredObject,
    StoreError,
    check_expected,
    digest_content,
    key_fingerprint,
    normalize_sha256,
)

VOLUME_BYTES = 1 << 30
"""A volume is sealed when the next record would take it past this size (one larger record
gets a volume of its own)."""
GROUP_BYTES = 32 << 20
"""``put_many`` appends and indexes its records in groups of about this many bytes."""
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
        self._spool = self.root / "spool"  # where a record too large for memory is encrypted
        self._appender = Appender(self.root, self.index, volume_bytes=volume_bytes, durable=durable)

    @property
    def key_ring(self) -> KeyRing:
        return self.keys.current()

    def __repr__(self) -> str:
        return f"VolumeContentStore({str(self.root)!r}, active key {self.key_ring.active!r})"

    def volume_path(self, volume: int) -> Path:
        return Path(self._volume_file(volume))

    def _volume_file(self, volume: int) -> str:
        return self._appender.volume_file(volume)

    def close(self) -> None:
        """Close the index and the active volume's file (the store reopens them on use)."""
        self._appender.close()
        self.index.close()

    # -- writing -----------------------------------------------------------------

    def put(
        self, content: Content, *, expected_sha256: str | None = None, max_bytes: int
    ) -> StoredObject:
        outcome = self.put_many([(content, expected_sha256)], max_bytes=max_bytes)[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def put_many(
        self, items: Iterable[PutItem], *, max_bytes: int
    ) -> list[StoredObject | Exception]:
        """Seal each object outside any lock; append and index them in groups (group commit):
        one hold of the append lock and one index transaction for up to ``GROUP_BYTES``."""
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        items = list(items)
        wanted: list[str | Exception | None] = []
        for _content, sha256 in items:
            try:
                wanted.append(None if sha256 is None else normalize_sha256(sha256))
            except StoreError as error:
                wanted.append(error)
        known = self.index.existing([w for w in wanted if isinstance(w, str)])
        ring = self.key_ring
        outcomes: list[StoredObject | Exception] = []
        group: list[tuple[SealedRecord, WrappedKey]] = []
        group_bytes = 0
        try:
            for (content, _sha256), expected in zip(items, wanted, strict=True):
                try:
                    if isinstance(expected, Exception):
                        raise expected
                    if expected in known:
                        # A retried transfer: check the content, but don't store it again.
                        sha256, size = digest_content(content, self.segment_bytes, max_bytes)
                        check_expected(sha256, expected)
                        outcomes.append(StoredObject.of(sha256, size))
                        continue
                    record = self._seal(content, expected, max_bytes)
                except Exception as error:  # this item's failure; nothing of it was stored
                    outcomes.append(error)
                    continue
                group.append((record, self._wrap(ring, record)))
                group_bytes += record.header.record_bytes
                outcomes.append(StoredObject.of(record.header.sha256, record.size))
                if group_bytes >= GROUP_BYTES:
                    self._appender.append(group)
                    group, group_bytes = [], 0
            self._appender.append(group)
            group = []
        finally:
            for record, _wrapped in group:
                record.body.close()
        return outcomes

    def _seal(self, content: Content, expected: str | None, max_bytes: int) -> SealedRecord:
        spool = Spool(self._spool)
        try:
            record = seal(
                content, segment_bytes=self.segment_bytes, max_bytes=max_bytes, spool=spool
            )
            if expected is not None:
                check_expected(record.header.sha256, expected)
        except BaseException:
            spool.close()
            raise
        return record

    def _wrap(self, ring: KeyRing, record: SealedRecord) -> WrappedKey:
        try:
            return wrap_key(
                ring,
                record.data_key,
                sha256=record.header.sha256,
                nonce_base=record.header.nonce_base,
                generation=1,
            )
        except BaseException:
            record.body.close()
            raise

    def appending(self) -> AbstractContextManager[None]:
        """Hold the store's append lock: one appender at a time, across threads and processes."""
        return self._appender.holding()

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
        self._appender.remove_volumes(dead)
        return deleted

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
