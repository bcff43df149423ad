"""Upkeep of volume stores while the system serves: compaction, and migration from files.

Compaction (``canvass store compact``) reclaims the space of deleted records.
It seals the active volume (new appends start a fresh one), then copies the
records still indexed in each sealed volume that holds garbage into a new
volume, fsyncs it, and swaps their index rows to the copies and drops the old
volume in one transaction per old volume; only then is the old file removed. A
reader holding the old row either opened the old file before it went (and
reads it to the end) or finds it gone and looks the row up again, so no read
sees a missing object. Compaction copies ciphertext: it needs no keys.

Migration (``canvass store migrate``) moves a per-object file store into
volumes under the same root: each object is read and verified from its file,
appended with its SHA-256 as the expected address, read back and hashed from
the volumes, and only then is the file deleted. Run it again after an
interruption: objects already moved are checked and their files removed.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from system.adapters.blobstore import FileContentStore
from system.adapters.volume_index import Move
from system.adapters.volume_records import HEADER_BYTES, parse_header
from system.adapters.volumes import VolumeContentStore
from system.domain.stores import IntegrityError, StoreError

if sys.platform != "win32":
    import fcntl

COPY_CHUNK_BYTES = 4 << 20
MIGRATE_MAX_BYTES = 1 << 40


class CompactionBusy(StoreError):
    """Another ``canvass store compact`` is running on this store."""

    code = "compaction_busy"


@dataclass(frozen=True)
class CompactionReport:
    """What one compaction did: volumes rewritten, records copied, volume bytes before and after."""

    volumes_compacted: int = 0
    records_moved: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def compact(store: VolumeContentStore, *, min_garbage: float = 0.0) -> CompactionReport:
    """Copy live records out of sealed volumes with garbage, then drop those volumes.

    ``min_garbage`` (0 to 1) skips volumes whose deleted records are a smaller share of
    their bytes: less copying for more space held. A volume with no live record goes
    whatever the threshold (nothing to copy).
    """
    if not 0.0 <= min_garbage <= 1.0:
        raise ValueError(f"min_garbage is a share of a volume's bytes, 0 to 1, not {min_garbage}")
    store.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(store.root / "compact.lock", "a") as lock:
        if sys.platform != "win32":
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CompactionBusy(f"a compaction of {store.root} is already running") from None
        return _compact(store, min_garbage)


def _compact(store: VolumeContentStore, min_garbage: float) -> CompactionReport:
    with store.appending():
        store.index.seal_active()
    volumes = store.index.volumes()
    _remove_orphans(store, {v for v, *_ in volumes})
    before = sum(_file_bytes(store.volume_path(v)) for v, *_ in volumes)
    for volume, state, _end, _live in volumes:
        if state == "compacting":  # left by an interrupted compaction: rows may point at it
            store.index.set_state(volume, "sealed")
    candidates = [
        (volume, live)
        for volume, state, end, live in volumes
        if state != "active" and (live == 0 or (live < end and end - live >= min_garbage * end))
    ]
    target: _Target | None = None
    compacted, moved, failed = 0, 0, {}
    try:
        for volume, live in candidates:
            if target is None or (target.end > 0 and target.end + live > store.volume_bytes):
                if target is not None:
                    target.finish()
                target = _Target(store)
            copied = target.copy_from(volume)
            if isinstance(copied, dict):
                failed.update(copied)
                continue
            store.index.swap(copied, source=volume, target=target.volume, target_end=target.end)
            store.volume_path(volume).unlink(missing_ok=True)
            compacted, moved = compacted + 1, moved + len(copied)
    finally:
        if target is not None:
            target.finish()
    after = sum(_file_bytes(store.volume_path(v)) for v, *_ in store.index.volumes())
    return CompactionReport(compacted, moved, before, after, failed)


class _Target:
    """The new volume compaction copies into (state ``compacting``: nobody appends to it)."""

    def __init__(self, store: VolumeContentStore) -> None:
        self.store = store
        self.volume = store.index.new_volume("compacting")
        path = store.volume_path(self.volume)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self.end = 0

    def copy_from(self, volume: int) -> list[Move] | dict[str, str]:
        """Copy ``volume``'s kept records and fsync; the failures instead if any record is bad."""
        records = self.store.index.live_in(volume)
        if not records:
            return []
        start, moves, failed = self.end, [], {}
        try:
            source = open(self.store.volume_path(volume), "rb", buffering=0)  # noqa: SIM115
        except FileNotFoundError:  # its last record was deleted meanwhile and it went
            return []
        with source:
            for sha256, quarantine_id, offset, length in records:
                try:
                    parse_header(os.pread(source.fileno(), HEADER_BYTES, offset), sha256)
                    self._copy(source.fileno(), offset, length)
                except IntegrityError as error:
                    failed[sha256] = str(error)
                    continue
                moves.append(Move(sha256, quarantine_id, volume, offset, self.end))
                self.end += length
        if failed:
            self.end = start  # the copies of this volume are abandoned; the next overwrite them
            return failed
        if self.store.durable:
            os.fsync(self.fd)
        return moves

    def _copy(self, source: int, offset: int, length: int) -> None:
        done = 0
        while done < length:
            chunk = os.pread(source, min(COPY_CHUNK_BYTES, length - done), offset + done)
            if not chunk:
                raise IntegrityError("the record is torn (its volume ends early)")
            position = self.end + done
            view = memoryview(chunk)
            while view:
                written = os.pwrite(self.fd, view, position)
                view, position = view[written:], position + written
            done += len(chunk)

    def finish(self) -> None:
        os.ftruncate(self.fd, self.end)
        if self.store.durable:
            os.fsync(self.fd)
        os.close(self.fd)
        if self.end == 0:
            self.store.index.drop_volume(self.volume)
            self.store.volume_path(self.volume).unlink(missing_ok=True)
        else:
            self.store.index.set_state(self.volume, "sealed")


def _remove_orphans(store: VolumeContentStore, known: set[int]) -> None:
    """Remove volume files the index no longer lists (a crash between a swap and the unlink).

    A volume's row is committed before its file is created, and ids only grow: a
    file without a row and below the newest id in ``known`` is never one that
    another process has just started.
    """
    newest = max(known, default=0)
    for path in (store.root / "volumes").glob("*.vol"):
        if path.stem.isdigit() and int(path.stem) not in known and int(path.stem) < newest:
            path.unlink(missing_ok=True)


def _file_bytes(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@dataclass(frozen=True)
class MigrationReport:
    """What a migration did: objects moved, found in the volumes already, and failures."""

    moved: int = 0
    already: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def file_store_addresses(root: Path) -> list[str]:
    """The SHA-256 of every object a per-object file store keeps under ``root`` (sorted)."""
    return sorted(p.stem for p in root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*.obj"))


def migrate(source: FileContentStore, target: VolumeContentStore) -> MigrationReport:
    """Move every object of ``source`` into ``target``, verified by hash before its file goes."""
    moved, already, failed = 0, 0, {}
    for sha256 in file_store_addresses(source.root):
        try:
            was_there = target.exists(sha256)
            target.put(source.read(sha256), expected_sha256=sha256, max_bytes=MIGRATE_MAX_BYTES)
            digest = hashlib.sha256()
            for chunk in target.read(sha256):
                digest.update(chunk)
            if digest.hexdigest() != sha256:
                raise IntegrityError(f"object {sha256} reads back as {digest.hexdigest()}")
        except (StoreError, OSError) as error:
            failed[sha256] = str(error)
            continue
        source.delete(sha256)
        already, moved = (already + 1, moved) if was_there else (already, moved + 1)
    return MigrationReport(moved, already, failed)
