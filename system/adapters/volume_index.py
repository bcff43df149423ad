"""The volume store's index: where each object's record lies and its wrapped data key.

One SQLite file per store (``<root>/index.sqlite3``), beside its volumes, so a
store is one folder that is backed up, moved or erased whole, and the
agency's index is not in the platform's database (another trust domain).

Tables: ``volumes`` (id, state ``active``/``sealed``/``compacting``, and
``end_bytes``, the end of the last committed record: anything after it is a
torn or abandoned append and is overwritten by the next one), ``objects``
(sha256 → volume, offset, record length, plaintext size, nonce, wrapped data
key) and ``quarantined`` (the same, with the reason, never served).

The index runs in write-ahead-log mode (a put commits with one log append; a
lookup takes no file lock). Crypto-erasure rests on ``secure_delete`` (SQLite
overwrites a deleted row's bytes with zeros in its page) and on a truncating
checkpoint after every delete and rewrap: the log's older copies of the page,
which still hold the old wrapped key, are folded into the file and the log is
emptied before ``delete`` returns. Every method is safe from several threads (one connection
behind a lock) and several processes (SQLite's own locking).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from system.adapters.volume_records import WrappedKey

_SCHEMA = """
CREATE TABLE IF NOT EXISTS volumes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state TEXT NOT NULL,
    end_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS objects (
    sha256 TEXT PRIMARY KEY,
    volume INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    size INTEGER NOT NULL,
    nonce BLOB NOT NULL,
    key_id TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    wrap_nonce BLOB NOT NULL,
    wrapped_key BLOB NOT NULL,
    generation INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_by_volume ON objects (volume, offset);
CREATE TABLE IF NOT EXISTS quarantined (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL,
    volume INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    size INTEGER NOT NULL,
    nonce BLOB NOT NULL,
    key_id TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    wrap_nonce BLOB NOT NULL,
    wrapped_key BLOB NOT NULL,
    generation INTEGER NOT NULL,
    reason TEXT NOT NULL
);
"""
_IN_BATCH = 500
"""Addresses per ``IN`` list (well under SQLite's limit on bound parameters)."""
_COLUMNS = (
    "sha256, volume, offset, length, size, nonce, key_id, fingerprint, wrap_nonce, "
    "wrapped_key, generation"
)


@dataclass(frozen=True)
class IndexRow:
    """Where one object's record lies, and its wrapped data key."""

    sha256: str
    volume: int
    offset: int
    length: int
    size: int
    nonce: bytes
    key: WrappedKey

    def values(self) -> tuple[object, ...]:
        k = self.key
        return (
            self.sha256,
            self.volume,
            self.offset,
            self.length,
            self.size,
            self.nonce,
            k.key_id,
            k.fingerprint,
            k.nonce,
            k.wrapped,
            k.generation,
        )


def _row(values: Sequence[Any]) -> IndexRow:
    sha256, volume, offset, length, size, nonce, key_id, fp, wrap_nonce, wrapped, gen = values
    return IndexRow(
        str(sha256),
        int(volume),
        int(offset),
        int(length),
        int(size),
        bytes(nonce),
        WrappedKey(str(key_id), bytes(fp), bytes(wrap_nonce), bytes(wrapped), int(gen)),
    )


@dataclass(frozen=True)
class Move:
    """A record copied by compaction: from where, and to where in the new volume."""

    sha256: str
    quarantine_id: int | None
    from_volume: int
    from_offset: int
    to_offset: int


class VolumeIndex:
    """The SQLite index of one volume store (opened on first use)."""

    def __init__(self, path: Path, *, durable: bool) -> None:
        self.path, self.durable = path, durable
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=60, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'OFF'}")
            conn.executescript(_SCHEMA)  # idempotent: every statement is IF NOT EXISTS
            self._conn = conn
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._db()
            with _transaction(conn):
                yield conn

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self._lock:
            return self._db().execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- objects -----------------------------------------------------------------

    def find(self, sha256: str) -> IndexRow | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM objects WHERE sha256 = ?", (sha256,))
        return _row(rows[0]) if rows else None

    def exists(self, sha256: str) -> bool:
        return bool(self._read("SELECT 1 FROM objects WHERE sha256 = ?", (sha256,)))

    def existing(self, sha256s: Sequence[str]) -> set[str]:
        """Which of these addresses are indexed."""
        found: set[str] = set()
        for start in range(0, len(sha256s), _IN_BATCH):
            batch = sha256s[start : start + _IN_BATCH]
            marks = ", ".join("?" * len(batch))
            rows = self._read(f"SELECT sha256 FROM objects WHERE sha256 IN ({marks})", batch)
            found.update(str(r[0]) for r in rows)
        return found

    def addresses(self) -> list[str]:
        return [str(r[0]) for r in self._read("SELECT sha256 FROM objects ORDER BY sha256")]

    def delete(self, sha256s: Sequence[str]) -> tuple[int, list[int]]:
        """Remove the rows, and with them the only copies of their wrapped data keys, in one
        transaction; returns how many there were and the sealed volumes left with no record
        at all, whose rows went in the same transaction (their files are for the caller to
        remove: nothing can point into them any more)."""
        wanted = sorted(set(sha256s))
        if not wanted:
            return 0, []
        with self._write() as conn:
            touched: set[int] = set()
            for start in range(0, len(wanted), _IN_CHUNK):
                part = wanted[start : start + _IN_CHUNK]
                marks = ", ".join("?" * len(part))
                touched.update(
                    int(v)
                    for (v,) in conn.execute(
                        f"SELECT DISTINCT volume FROM objects WHERE sha256 IN ({marks})", part
                    )
                )
            deleted = conn.executemany(
                "DELETE FROM objects WHERE sha256 = ?", [(s,) for s in wanted]
            ).rowcount
            dropped = _drop_dead(conn, touched)
        if deleted:
            self.forget_old_pages()
        return deleted, dropped

    def drop_dead(self, volumes: Sequence[int]) -> list[int]:
        """Drop those of ``volumes`` that are sealed and hold no record; their ids."""
        with self._write() as conn:
            return _drop_dead(conn, volumes)

    def forget_old_pages(self) -> None:
        """Checkpoint and empty the write-ahead log, where old copies of changed rows remain."""
        with self._lock:
            for _attempt in range(10):
                # (busy, log frames, checkpointed): busy while another process's read is open;
                # the busy handler waits for it, so a second try is rare.
                busy = self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                if not busy:
                    return
                time.sleep(0.01)

    def quarantine(self, sha256: str, reason: str) -> bool:
        with self._write() as conn:
            moved = conn.execute(
                f"INSERT INTO quarantined ({_COLUMNS}, reason) "
                f"SELECT {_COLUMNS}, ? FROM objects WHERE sha256 = ?",
                (reason, sha256),
            ).rowcount
            conn.execute("DELETE FROM objects WHERE sha256 = ?", (sha256,))
            return moved > 0

    def quarantined(self) -> list[tuple[str, str]]:
        """(sha256, reason) of every quarantined record, oldest first."""
        rows = self._read("SELECT sha256, reason FROM quarantined ORDER BY id")
        return [(str(s), str(r)) for s, r in rows]

    def stale_keys(self, key_id: str, fingerprint: bytes) -> list[IndexRow]:
        """Rows whose data key is not wrapped under this key."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM objects WHERE key_id != ? OR fingerprint != ? ORDER BY sha256",
            (key_id, fingerprint),
        )
        return [_row(r) for r in rows]

    def count(self) -> int:
        return int(self._read("SELECT count(*) FROM objects")[0][0])

    def replace_keys(self, rewrapped: Sequence[tuple[IndexRow, WrappedKey]]) -> int:
        """Store new wraps in one transaction; a row deleted meanwhile is skipped."""
        changed = 0
        with self._write() as conn:
            for row, new in rewrapped:
                changed += conn.execute(
                    "UPDATE objects SET key_id = ?, fingerprint = ?, wrap_nonce = ?, "
                    "wrapped_key = ?, generation = ? "
                    "WHERE sha256 = ? AND key_id = ? AND generation = ?",
                    (
                        new.key_id,
                        new.fingerprint,
                        new.nonce,
                        new.wrapped,
                        new.generation,
                        row.sha256,
                        row.key.key_id,
                        row.key.generation,
                    ),
                ).rowcount
        return changed

    # -- volumes (callers hold the store's append lock) ----------------------------

    def active_volume(self) -> tuple[int, int] | None:
        rows = self._read("SELECT id, end_bytes FROM volumes WHERE state = 'active' ORDER BY id")
        return (int(rows[-1][0]), int(rows[-1][1])) if rows else None

    def new_volume(self, state: str) -> int:
        with self._write() as conn:
            if state == "active":
                conn.execute("UPDATE volumes SET state = 'sealed' WHERE state = 'active'")
            cursor = conn.execute("INSERT INTO volumes (state) VALUES (?)", (state,))
            return int(cursor.lastrowid or 0)

    def seal_active(self) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE volumes SET state = 'sealed' WHERE state = 'active' AND end_bytes > 0"
            )

    def record_many(self, rows: Sequence[IndexRow]) -> None:
        """Index records appended to one volume and move its end past the last, in one
        transaction. An address indexed already (another writer stored the same content
        first) keeps its row; the duplicate's bytes are left for compaction."""
        if not rows:
            return
        volume = rows[-1].volume
        if any(row.volume != volume for row in rows):
            raise ValueError("record_many indexes the records of one volume at a time")
        with self._write() as conn:
            conn.executemany(
                f"INSERT OR IGNORE INTO objects ({_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [row.values() for row in rows],
            )
            conn.execute(
                "UPDATE volumes SET end_bytes = ? WHERE id = ?",
                (rows[-1].offset + rows[-1].length, volume),
            )

    def volumes(self) -> list[tuple[int, str, int, int]]:
        """(id, state, end_bytes, live record bytes) of every volume, oldest first."""
        rows = self._read(
            "SELECT v.id, v.state, v.end_bytes, "
            "coalesce((SELECT sum(length) FROM objects o WHERE o.volume = v.id), 0) "
            "+ coalesce((SELECT sum(length) FROM quarantined q WHERE q.volume = v.id), 0) "
            "FROM volumes v ORDER BY v.id"
        )
        return [(int(a), str(b), int(c), int(d)) for a, b, c, d in rows]

    def live_in(self, volume: int) -> list[tuple[str, int | None, int, int]]:
        """(sha256, quarantine id or None, offset, length) of the records kept in ``volume``."""
        rows = self._read(
            "SELECT sha256, NULL, offset, length FROM objects WHERE volume = ? "
            "UNION ALL SELECT sha256, id, offset, length FROM quarantined WHERE volume = ? "
            "ORDER BY 3",
            (volume, volume),
        )
        return [(str(s), None if q is None else int(q), int(o), int(n)) for s, q, o, n in rows]

    def swap(self, moves: Sequence[Move], *, source: int, target: int, target_end: int) -> None:
        """Point every moved record at its copy and drop ``source``, in one transaction.

        A row deleted or quarantined since it was copied is not resurrected: the
        update only matches a row still at the position the copy was taken from.
        """
        # Each statement's WHERE names the row's old place, never its new one, so the
        # order of the updates does not matter: one executemany per statement.
        live = [
            (target, m.to_offset, m.sha256, m.from_volume, m.from_offset)
            for m in moves
            if m.quarantine_id is None
        ]
        held = [
            (target, m.to_offset, m.quarantine_id, m.from_volume, m.from_offset)
            for m in moves
            if m.quarantine_id is not None
        ]
        with self._write() as conn:
            where = "WHERE {} = ? AND volume = ? AND offset = ?"
            conn.executemany(
                "UPDATE objects SET volume = ?, offset = ? " + where.format("sha256"), live
            )
            conn.executemany(
                "UPDATE quarantined SET volume = ?, offset = ? " + where.format("id"), held
            )
            if live and conn.execute("SELECT 1 FROM quarantined LIMIT 1").fetchone():
                # Quarantined since it was copied: the quarantined row follows its copy.
                conn.executemany(
                    "UPDATE quarantined SET volume = ?, offset = ? " + where.format("sha256"),
                    live,
                )
            conn.execute("UPDATE volumes SET end_bytes = ? WHERE id = ?", (target_end, target))
            conn.execute("DELETE FROM volumes WHERE id = ?", (source,))

    def set_state(self, volume: int, state: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE volumes SET state = ? WHERE id = ?", (state, volume))

    def drop_volume(self, volume: int) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM volumes WHERE id = ?", (volume,))


_IN_CHUNK = 500
"""Values per ``IN`` list: well under SQLite's bound-parameter limit."""


def _drop_dead(conn: sqlite3.Connection, volumes: Iterable[int]) -> list[int]:
    """Delete the rows of the sealed ``volumes`` no object or quarantined record is in."""
    dead = [
        volume
        for volume in sorted(set(volumes))
        if conn.execute(
            "SELECT 1 FROM volumes v WHERE v.id = ? AND v.state = 'sealed' "
            "AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.volume = v.id) "
            "AND NOT EXISTS (SELECT 1 FROM quarantined q WHERE q.volume = v.id)",
            (volume,),
        ).fetchone()
    ]
    conn.executemany("DELETE FROM volumes WHERE id = ?", [(v,) for v in dead])
    return dead


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
