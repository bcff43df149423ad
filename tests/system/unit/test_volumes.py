"""The append-only volume store: torn appends, rotation, crypto-erasure, compaction, migration.

Requirements: XFR-01 (a torn or corrupted record is never served), EVD-05 (a
data key per object, rewrapped on rotation without touching the data) and
deletion by crypto-erasure. Every test runs the real store in ``tmp_path``;
"another process" is a second store object on the same folder, with its own
index connection and locks.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from system.adapters.blobstore import FileContentStore
from system.adapters.stores import StoreNeedsMigration, open_content_store
from system.adapters.volume_records import HEADER_BYTES
from system.adapters.volume_upkeep import CompactionReport, compact, migrate
from system.adapters.volumes import VolumeContentStore
from system.domain.stores import (
    FixedKeys,
    IntegrityError,
    KeyNotInRing,
    KeyRing,
    ObjectNotFound,
)

LIMIT = 64 << 20
K1, K2 = bytes(range(32)), bytes(range(32, 64))


def ring(*key_ids: str) -> KeyRing:
    known = {"k1": K1, "k2": K2}
    return KeyRing({k: known[k] for k in key_ids}, active=key_ids[-1])


def clip(number: int, size: int = 1000) -> bytes:
    """Deterministic content of ``size`` bytes, different for each ``number``."""
    seed = hashlib.sha256(f"clip {number}".encode()).digest()
    return (seed * (size // 32 + 1))[:size]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def volume_files(store: VolumeContentStore) -> list[Path]:
    return sorted((store.root / "volumes").glob("*.vol"))


def everything_under(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


@pytest.fixture
def store(tmp_path: Path) -> VolumeContentStore:
    return VolumeContentStore(tmp_path / "clips", ring("k1"), durable=False)


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 3 * 1024 + 7])
def test_content_of_any_length_reads_back_across_segments(tmp_path: Path, size: int) -> None:
    store = VolumeContentStore(tmp_path / "clips", ring("k1"), segment_bytes=1024)
    data = clip(size, size)
    stored = store.put(data, max_bytes=LIMIT)
    assert store.read_all(stored.sha256) == data
    assert store.size(stored.sha256) == size


def test_volumes_rotate_at_the_configured_size_and_every_object_stays_readable(
    tmp_path: Path,
) -> None:
    store = VolumeContentStore(tmp_path / "clips", ring("k1"), volume_bytes=4096, durable=False)
    contents = [clip(i) for i in range(20)]
    addresses = [store.put(c, max_bytes=LIMIT).sha256 for c in contents]
    big = clip(99, 10_000)  # larger than a volume: it gets a volume of its own
    addresses.append(store.put(big, max_bytes=LIMIT).sha256)
    contents.append(big)

    files = volume_files(store)
    assert len(files) >= 6
    assert all(f.stat().st_size <= 4096 for f in files if f.stat().st_size < 10_000)
    reopened = VolumeContentStore(tmp_path / "clips", ring("k1"), volume_bytes=4096)
    for sha256, data in zip(addresses, contents, strict=True):
        assert reopened.read_all(sha256) == data


def test_a_sealed_volume_is_removed_when_its_last_object_is_deleted(tmp_path: Path) -> None:
    store = VolumeContentStore(tmp_path / "outbox", ring("k1"), volume_bytes=4096, durable=False)
    kept = {store.put(c, max_bytes=LIMIT).sha256: c for c in (clip(1), clip(2), clip(3))}
    # Transient objects, as the outbox holds: each deleted soon after it is written.
    for number in range(10, 40):
        store.delete(store.put(clip(number), max_bytes=LIMIT).sha256)
    # Only the volume with the kept objects and the active one are left on disk.
    assert len(volume_files(store)) == 2
    assert [v[1] for v in store.index.volumes()] == ["sealed", "active"]
    for sha256, data in kept.items():
        assert store.read_all(sha256) == data

    assert store.delete_many([*kept, "0" * 64]) == 3
    assert len(volume_files(store)) == 1  # the active volume stays, empty or not
    for sha256 in kept:
        with pytest.raises(ObjectNotFound):
            store.read_all(sha256)
    # Compaction after volumes went this way finds nothing to do and loses nothing.
    last = store.put(clip(99), max_bytes=LIMIT).sha256
    compact(store)
    assert store.read_all(last) == clip(99)


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda n: HEADER_BYTES // 2, id="inside-the-header"),
        pytest.param(lambda n: HEADER_BYTES + 300, id="inside-the-body"),
        pytest.param(lambda n: n, id="whole-record-but-no-index-row"),
    ],
)
def test_xfr01_a_torn_append_after_a_crash_is_ignored_and_later_appends_work(
    tmp_path: Path, store: VolumeContentStore, cut: Callable[[int], int]
) -> None:
    kept = [store.put(clip(i), max_bytes=LIMIT).sha256 for i in range(3)]
    # What a crash mid-append leaves: another store's record, cut in half, after the last one.
    elsewhere = VolumeContentStore(tmp_path / "elsewhere", ring("k1"), durable=False)
    torn = elsewhere.put(clip(7), max_bytes=LIMIT).sha256
    record = volume_files(elsewhere)[0].read_bytes()
    (volume,) = volume_files(store)
    with open(volume, "ab") as file:
        file.write(record[: cut(len(record))])
    store.close()

    restarted = VolumeContentStore(tmp_path / "clips", ring("k1"), durable=False)
    assert not restarted.exists(torn)
    with pytest.raises(ObjectNotFound):
        restarted.read_all(torn)
    later = restarted.put(clip(8), max_bytes=LIMIT).sha256
    assert restarted.read_all(later) == clip(8)
    for i, sha256 in enumerate(kept):
        assert restarted.read_all(sha256) == clip(i)
    # The torn bytes were cut off: the volume holds exactly the four records.
    assert volume.stat().st_size == sum(restarted.index.find(s).length for s in [*kept, later])  # type: ignore[union-attr]


def test_xfr01_a_record_cut_short_under_its_index_row_is_never_served(
    store: VolumeContentStore,
) -> None:
    first = store.put(clip(1), max_bytes=LIMIT).sha256
    last = store.put(clip(2), max_bytes=LIMIT).sha256
    (volume,) = volume_files(store)
    # Without fsync (a simulation), a crash can lose the tail of a record already indexed.
    os.truncate(volume, volume.stat().st_size - 200)

    with pytest.raises(IntegrityError, match="torn"):
        store.read_all(last)
    assert store.read_all(first) == clip(1)
    assert store.quarantine(last, "torn by a crash") is True
    after = store.put(clip(3), max_bytes=LIMIT).sha256
    assert store.read_all(after) == clip(3)


def test_crypto_erasure_a_deleted_object_cannot_be_decrypted_from_what_is_left(
    store: VolumeContentStore,
) -> None:
    secret = b"resident 42 at the porch, 15:02 " * 64
    sha256 = store.put(secret, max_bytes=LIMIT).sha256
    other = store.put(clip(1), max_bytes=LIMIT).sha256
    wrapped = store.index.find(sha256).key.wrapped  # type: ignore[union-attr]
    assert wrapped in everything_under(store.root)  # the index holds it while the object lives

    assert store.delete(sha256) is True

    left = everything_under(store.root)  # the volumes, the index and its log, as on disk
    assert wrapped not in left  # the only copy of the data key is gone
    assert secret[:32] not in left  # and the record was never plaintext
    with pytest.raises(ObjectNotFound):
        store.read_all(sha256)
    # A second store with every key of the ring finds nothing to open either.
    assert not VolumeContentStore(store.root, ring("k1")).exists(sha256)
    assert store.read_all(other) == clip(1)


def test_evd05_rotation_rewraps_keys_in_the_index_without_touching_the_volumes(
    tmp_path: Path,
) -> None:
    root = tmp_path / "clips"
    old = VolumeContentStore(root, ring("k1"), durable=False)
    addresses = [old.put(clip(i), max_bytes=LIMIT).sha256 for i in range(5)]
    volumes_before = everything_under(root / "volumes")

    rotating = VolumeContentStore(root, ring("k1", "k2"), durable=False)
    summary = rotating.rewrap_all()
    assert (summary.rewrapped, summary.unchanged, dict(summary.failed)) == (5, 0, {})
    assert rotating.rewrap_all().unchanged == 5
    assert rotating.rewrap(addresses[0]) is False

    assert everything_under(root / "volumes") == volumes_before
    retired = VolumeContentStore(root, ring("k2"))
    for i, sha256 in enumerate(addresses):
        assert retired.read_all(sha256) == clip(i)
    with pytest.raises(KeyNotInRing):
        VolumeContentStore(root, ring("k1")).read_all(addresses[0])


@dataclass
class _CompactedWhileRead:
    store: VolumeContentStore
    contents: dict[str, bytes]  # what is live, as written
    doomed: list[str]  # deleted before the first compaction
    newer: str  # appended after it
    report: CompactionReport
    again: CompactionReport  # the second compaction's
    failures: list[str]  # the reader's
    overlapped: bool  # a read overlapped the first compaction


def _compact_while_reading(root: Path) -> _CompactedWhileRead:
    """Compact a store (half its records deleted) twice while another store object on the
    same folder, as another process would, reads every live record in a loop."""
    store = VolumeContentStore(root, ring("k1"), volume_bytes=20_000, durable=False)
    contents = {store.put(clip(i), max_bytes=LIMIT).sha256: clip(i) for i in range(120)}
    doomed = list(contents)[::2]
    for sha256 in doomed:
        store.delete(sha256)
        del contents[sha256]
    reader = VolumeContentStore(root, ring("k1"), durable=False)  # as another process
    failures: list[str] = []
    reads = 0
    in_flight = False
    stop = threading.Event()

    def read_everything_in_a_loop() -> None:
        nonlocal reads, in_flight
        while not stop.is_set():
            for sha256, data in contents.items():
                in_flight = True
                try:
                    if reader.read_all(sha256) != data:
                        failures.append(f"{sha256}: wrong content")
                except Exception as error:
                    failures.append(f"{sha256}: {error!r}")
                in_flight = False
                reads += 1

    thread = threading.Thread(target=read_everything_in_a_loop)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # the reader runs between compaction's steps, not only after
    thread.start()
    try:
        while reads == 0 and thread.is_alive():
            stop.wait(0.001)
        reads_before, reading_at_start = reads, in_flight
        report = compact(store)
        # A read overlapped compaction: one was under way as it began or ended, or one ran
        # whole inside it (a reader may wait on the index while compaction swaps rows).
        overlapped = reading_at_start or in_flight or reads > reads_before
        # Appends after the first compaction, one of them deleted, and a second compaction.
        newer = store.put(clip(500), max_bytes=LIMIT).sha256
        store.delete(store.put(clip(501), max_bytes=LIMIT).sha256)
        again = compact(store)
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(switch_interval)
    return _CompactedWhileRead(store, contents, doomed, newer, report, again, failures, overlapped)


def test_compaction_under_concurrent_reads_never_fails_a_read(tmp_path: Path) -> None:
    # On a loaded machine the reading thread may get no CPU for a whole compaction (it
    # happened once in 2026-12-07's test run beside a benchmark): then the scenario is
    # run again on a fresh store, a few times at most; no read may ever fail.
    for attempt in range(5):
        run = _compact_while_reading(tmp_path / f"clips-{attempt}")
        assert run.failures == []
        if run.overlapped:
            break
    else:
        pytest.fail("in five tries no read overlapped the compaction")
    store, contents = run.store, run.contents
    assert run.report.records_moved == len(contents)
    assert run.report.bytes_after < run.report.bytes_before * 0.6
    assert (run.again.volumes_compacted, run.again.records_moved) == (1, 1)
    for sha256, data in contents.items():
        assert store.read_all(sha256) == data
    assert store.read_all(run.newer) == clip(500)
    for sha256 in run.doomed:
        assert not store.exists(sha256)


def test_a_garbage_threshold_leaves_lightly_used_volumes_alone(tmp_path: Path) -> None:
    store = VolumeContentStore(tmp_path / "clips", ring("k1"), volume_bytes=4096, durable=False)
    addresses = [store.put(clip(i), max_bytes=LIMIT).sha256 for i in range(12)]
    in_volume: dict[int, list[str]] = {}
    for sha256 in addresses:
        in_volume.setdefault(store.index.find(sha256).volume, []).append(sha256)  # type: ignore[union-attr]
    first, *_middle, last = sorted(in_volume)
    assert len(in_volume[first]) == 3  # three records a volume: one deleted is a third
    store.delete(in_volume[first][0])
    store.delete_many(in_volume[last])  # the active volume, emptied: it stays until sealed

    with pytest.raises(ValueError, match="0 to 1"):
        compact(store, min_garbage=1.5)
    light = compact(store, min_garbage=0.5)
    assert (light.volumes_compacted, light.records_moved) == (1, 0)  # only the empty one
    assert store.index.find(in_volume[first][1]).volume == first  # type: ignore[union-attr]
    full = compact(store)
    assert (full.volumes_compacted, full.records_moved) == (1, 2)
    assert first not in [v for v, *_ in store.index.volumes()]
    for i, sha256 in enumerate(addresses):
        if store.exists(sha256):
            assert store.read_all(sha256) == clip(i)
    assert sum(store.exists(s) for s in addresses) == 12 - 1 - len(in_volume[last])


def test_compaction_removes_a_volume_left_behind_by_a_crash_after_its_swap(
    store: VolumeContentStore,
) -> None:
    kept = store.put(clip(1), max_bytes=LIMIT).sha256
    store.delete(store.put(clip(2), max_bytes=LIMIT).sha256)
    (old,) = volume_files(store)
    saved = old.read_bytes()
    compact(store)
    old.write_bytes(saved)  # as if the crash came between the index swap and the unlink

    compact(store)

    assert old not in volume_files(store)
    assert store.read_all(kept) == clip(1)


def test_xfr01_quarantined_records_keep_their_reason_and_survive_compaction(
    store: VolumeContentStore,
) -> None:
    bad = store.put(clip(1), max_bytes=LIMIT).sha256
    good = store.put(clip(2), max_bytes=LIMIT).sha256
    store.delete(store.put(clip(3), max_bytes=LIMIT).sha256)
    assert store.quarantine(bad, "hash mismatch at the evidence store") is True

    compact(store)

    assert store.index.quarantined() == [(bad, "hash mismatch at the evidence store")]
    assert not store.exists(bad)
    assert store.read_all(good) == clip(2)


def test_two_processes_appending_to_one_store_lose_nothing(tmp_path: Path) -> None:
    root = tmp_path / "clips"
    writers = [VolumeContentStore(root, ring("k1"), volume_bytes=8000) for _ in (0, 1)]
    written: list[list[str]] = [[], []]

    def write(n: int) -> None:
        for i in range(60):
            written[n].append(writers[n].put(clip(1000 * n + i), max_bytes=LIMIT).sha256)

    threads = [threading.Thread(target=write, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fresh = VolumeContentStore(root, ring("k1"))
    for n in (0, 1):
        for i, sha256 in enumerate(written[n]):
            assert fresh.read_all(sha256) == clip(1000 * n + i)


def test_a_folder_of_object_files_is_refused_until_migrated_and_migration_loses_nothing(
    tmp_path: Path,
) -> None:
    root = tmp_path / "clips"
    keys = FixedKeys(ring("k1"))
    files = FileContentStore(root, keys, durable=False)
    contents = {files.put(clip(i), max_bytes=LIMIT).sha256: clip(i) for i in range(10)}
    with pytest.raises(StoreNeedsMigration, match="canvass store migrate"):
        open_content_store(root, keys, kind="volumes")

    volumes = VolumeContentStore(root, keys, durable=False)
    report = migrate(files, volumes)
    assert (report.moved, report.already, dict(report.failed)) == (10, 0, {})
    again = migrate(files, volumes)
    assert (again.moved, again.already) == (0, 0)

    store = open_content_store(root, keys, kind="volumes")
    for sha256, data in contents.items():
        assert hashlib.sha256(store.read_all(sha256)).hexdigest() == sha256 == sha(data)
    assert not list(root.glob("??/??/*.obj"))
