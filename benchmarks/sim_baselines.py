"""The bare loops ``canvass bench sim`` measures beside a county-year, in the same run.

Each does the least work of one kind the run did, with nothing else around it:

- ``bare_simpy``: a SimPy process yielding as many timeouts as the run had events.
- ``bare_insert``: one ``executemany`` of as many rows as the run's database holds,
  into a three-column SQLite table.
- ``bare_volume_store``: the least object work the requirements ask of the run's
  clips, with objects appended to one volume file (the store's design since
  issue 21): per object copy a fresh 256-bit data key (EVD-05), AES-256-GCM, the
  data key wrapped under a key-encryption key, the sealed bytes appended, read back
  at their offset, the key unwrapped, the bytes decrypted and their SHA-256 checked
  against the one taken before (XFR-01). No record headers, no index, no database,
  no fsync.
- ``bare_store``: the same work with one file per object copy, as the store kept
  them before issue 21 (a fresh file per copy in a 256-way fan-out, the transient
  copy deleted, XFR-03); reported for comparison, outside ``baseline_ratio``.

The content is the clip's index and zero padding to ``clip_bytes``, so no two
copies are alike.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Generator
from pathlib import Path

import simpy
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VOLUME_BYTES = 256 << 20


def bare_simpy(events: int) -> float:
    """Seconds for a SimPy loop of ``events`` timeouts."""
    env = simpy.Environment()

    def ticker(n: int) -> Generator[simpy.Event, None, None]:
        for _ in range(n):
            yield env.timeout(1)

    env.process(ticker(events))
    started = time.perf_counter()
    env.run()
    return time.perf_counter() - started


def bare_insert(rows: int, path: Path) -> float:
    """Seconds for one bulk insert of ``rows`` rows and its commit, in SQLite at ``path``."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE bare (a INTEGER, b INTEGER, c TEXT)")
    data = [(i, i % 97, "2026-01-01 00:00:00") for i in range(rows)]
    started = time.perf_counter()
    conn.executemany("INSERT INTO bare VALUES (?, ?, ?)", data)
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def object_copies(uploads: int, transfers: int) -> int:
    """Object copies the run's clips made: one per upload, two per delivered transfer
    (the transient copy prepared for it and the evidence copy)."""
    return uploads + 2 * transfers


def bare_volume_store(
    copies: int, clip_bytes: int, folder: Path, *, volume_bytes: int = VOLUME_BYTES
) -> float:
    """Seconds for the least object work of ``copies`` object copies of ``clip_bytes``
    each, appended to a volume file in ``folder`` (see the module's docstring). A full
    volume (``volume_bytes``) is removed and a new one started, so the loop never holds
    more than one volume of scratch space."""
    folder.mkdir(parents=True, exist_ok=True)
    wrap = AESGCM(AESGCM.generate_key(bit_length=256))  # the store's key-encryption key
    padding = bytes(max(0, clip_bytes - 8))
    path = folder / "volume"
    flags = os.O_RDWR | os.O_CREAT | os.O_APPEND
    fd = os.open(path, flags, 0o600)
    try:
        started = time.perf_counter()
        offset = 0
        for i in range(copies):
            content = i.to_bytes(8, "big") + padding
            sha256 = hashlib.sha256(content).digest()
            data_key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
            wrapped = wrap.encrypt(nonce, data_key, None)
            sealed = AESGCM(data_key).encrypt(nonce, content, None)
            if offset + len(sealed) > volume_bytes:
                os.close(fd)
                os.unlink(path)
                fd, offset = os.open(path, flags, 0o600), 0
            os.write(fd, sealed)
            back = os.pread(fd, len(sealed), offset)
            offset += len(sealed)
            plain = AESGCM(wrap.decrypt(nonce, wrapped, None)).decrypt(nonce, back, None)
            if hashlib.sha256(plain).digest() != sha256:
                raise AssertionError("bare volume store: content does not match its hash")
        return time.perf_counter() - started
    finally:
        os.close(fd)


def bare_store(uploads: int, transfers: int, clip_bytes: int, root: Path) -> float:
    """Seconds for the least per-object file work of ``uploads`` clips and ``transfers``
    transfers (see the module's docstring), content of ``clip_bytes`` each."""
    folders = {}
    for store in ("clips", "outbox", "evidence"):
        folders[store] = root / store
        for prefix in range(256):
            (root / store / f"{prefix:02x}").mkdir(parents=True, exist_ok=True)
    wrap = AESGCM(AESGCM.generate_key(bit_length=256))  # the store's key from settings

    def put(store: str, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        data_key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
        body = (
            nonce
            + wrap.encrypt(nonce, data_key, None)
            + AESGCM(data_key).encrypt(nonce, content, None)
        )
        fd = os.open(f"{folders[store]}/{sha256[:2]}/{sha256}", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.write(fd, body)
        finally:
            os.close(fd)
        return sha256

    def read(store: str, sha256: str) -> bytes:
        with open(f"{folders[store]}/{sha256[:2]}/{sha256}", "rb") as file:
            body = file.read()
        nonce, wrapped, sealed = body[:12], body[12:60], body[60:]
        content = AESGCM(wrap.decrypt(nonce, wrapped, None)).decrypt(nonce, sealed, None)
        if hashlib.sha256(content).hexdigest() != sha256:
            raise AssertionError("bare store: content does not match its hash")
        return content

    padding = bytes(max(0, clip_bytes - 8))
    started = time.perf_counter()
    uploaded = [put("clips", i.to_bytes(8, "big") + padding) for i in range(uploads)]
    for i in range(transfers if uploaded else 0):
        # A derived copy (e.g. audio removed) per transfer, so none is deduplicated away.
        transient = put("outbox", read("clips", uploaded[i % uploads]) + i.to_bytes(8, "big"))
        put("evidence", read("outbox", transient))
        os.unlink(f"{folders['outbox']}/{transient[:2]}/{transient}")
    return time.perf_counter() - started
