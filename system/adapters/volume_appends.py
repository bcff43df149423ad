"""The volume store's append side (see :mod:`system.adapters.volumes`).

One appender at a time holds the store's append lock (a thread lock and
``flock`` on ``<root>/append.lock``, so several processes may share a store).
Under it, a group of sealed records is written at the active volume's
committed end, fsynced when the store is durable, and only then indexed, in
one index transaction per volume the group lands in (group commit). A crash
before that commit leaves bytes past the committed end: never indexed, so
never served, and overwritten by the next append.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from system.adapters.volume_index import IndexRow, VolumeIndex
from system.adapters.volume_records import SealedRecord, WrappedKey

if sys.platform != "win32":
    import fcntl


class Appender:
    """Appends sealed records to a store's volumes and indexes them."""

    def __init__(self, root: Path, index: VolumeIndex, *, volume_bytes: int, durable: bool) -> None:
        self.root, self.index = root, index
        self.volume_bytes, self.durable = volume_bytes, durable
        self._volumes = str(root / "volumes")
        self._thread_lock = threading.Lock()
        # File objects rather than bare descriptors: a store dropped without close()
        # still closes them when it is collected.
        self._lock_file: IO[bytes] | None = None
        self._writer: tuple[int, IO[bytes]] | None = None  # the active volume's id and file

    def volume_file(self, volume: int) -> str:
        return f"{self._volumes}/{volume:08d}.vol"

    def remove_volumes(self, volumes: Iterable[int]) -> None:
        for volume in volumes:
            Path(self.volume_file(volume)).unlink(missing_ok=True)

    def close(self) -> None:
        with self._thread_lock:
            self._drop_writer()
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Hold the append lock: one appender at a time, across threads and processes."""
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

    def append(self, group: Sequence[tuple[SealedRecord, WrappedKey]]) -> None:
        """Append the records and index them; content indexed already (stored by another
        writer, or earlier in the group) is not appended again. Closes the records' spools.

        The lock is held for the group's writes and index commits only: nothing here
        waits for the platform's database, so no caller can deadlock against it.
        """
        if not group:
            return
        try:
            with self.holding():
                present = self.index.existing([r.header.sha256 for r, _w in group])
                active = self.index.active_volume()
                rows: list[IndexRow] = []
                for record, wrapped in group:
                    header = record.header
                    if header.sha256 in present:
                        continue
                    present.add(header.sha256)
                    if active is None or (
                        active[1] > 0 and active[1] + header.record_bytes > self.volume_bytes
                    ):
                        self._index(rows)  # the full volume's records, before it is sealed
                        rows = []
                        active = self._next_volume(active)
                    volume, offset = active
                    self._write(volume, offset, record)
                    rows.append(
                        IndexRow(
                            header.sha256,
                            volume,
                            offset,
                            header.record_bytes,
                            record.size,
                            header.nonce_base,
                            wrapped,
                        )
                    )
                    active = (volume, offset + header.record_bytes)
                self._index(rows)
        finally:
            for record, _wrapped in group:
                record.body.close()

    def _next_volume(self, active: tuple[int, int] | None) -> tuple[int, int]:
        """Seal the active volume (if any) and start a new one."""
        volume = self.index.new_volume("active")
        if active is not None:  # every record in it may be gone already (an outbox's)
            self.remove_volumes(self.index.drop_dead([active[0]]))
        return volume, 0

    def _write(self, volume: int, offset: int, record: SealedRecord) -> None:
        fd = self._writer_fd(volume, offset)
        if record.body.file is None:  # the usual clip: header and body in one write
            _write_all(fd, b"".join([record.header.pack(), *record.body.parts]), offset)
        else:
            position = _write_all(fd, record.header.pack(), offset)
            for chunk in record.body.chunks():
                position = _write_all(fd, chunk, position)

    def _index(self, rows: Sequence[IndexRow]) -> None:
        """Commit the rows of records just written (fsynced first when durable)."""
        if not rows:
            return
        if self.durable and self._writer is not None:
            os.fsync(self._writer[1].fileno())
        self.index.record_many(rows)

    def _writer_fd(self, volume: int, end: int) -> int:
        if self._writer is not None and self._writer[0] == volume:
            return self._writer[1].fileno()
        self._drop_writer()
        path = Path(self.volume_file(volume))
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
