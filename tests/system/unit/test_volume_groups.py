"""``put_many`` on the volume store: group commit with each item's own outcome.

A group is appended under one hold of the append lock and indexed in one
transaction per volume. These tests check what a caller relies on: each item
is stored or refused on its own, refused items leave no bytes, a crash in
the middle of a group indexes nothing of it, and content is read outside the
lock (a content source may use the store itself). The last test holds every
store to the same contract: the per-object file store and the in-memory fake
put one item at a time and return each one's outcome the same way.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from system.adapters import volumes
from system.adapters.blobstore import FileContentStore
from system.adapters.volume_appends import Appender
from system.adapters.volumes import VolumeContentStore
from system.domain.stores import (
    ContentStore,
    InMemoryContentStore,
    IntegrityError,
    InvalidAddress,
    KeyRing,
    StoredObject,
    TooLarge,
)

LIMIT = 64 << 20
RING = KeyRing({"k1": bytes(range(32))}, active="k1")


def clip(number: int, size: int = 1000) -> bytes:
    seed = hashlib.sha256(f"group clip {number}".encode()).digest()
    return (seed * (size // 32 + 1))[:size]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def volume_bytes_on_disk(store: VolumeContentStore) -> int:
    return sum(p.stat().st_size for p in (store.root / "volumes").glob("*.vol"))


def indexed_bytes(store: VolumeContentStore, addresses: list[str]) -> int:
    rows = [store.index.find(a) for a in addresses]
    return sum(row.length for row in rows if row is not None)


def failing_source(after: bytes) -> Iterator[bytes]:
    yield after
    raise IntegrityError("the source went bad while it was read")


def test_refused_items_and_duplicates_leave_no_bytes_in_the_volume(tmp_path: Path) -> None:
    store = VolumeContentStore(tmp_path / "outbox", RING, durable=False)
    outcomes = store.put_many(
        [
            (clip(1), None),
            (failing_source(clip(4)[:500]), None),  # sealed in part, then refused
            (clip(1), None),  # the same content again, in the same group
            (clip(7), "not-a-hash"),
            (clip(6), sha(clip(6))),
            (clip(2), sha(clip(3))),  # encrypted whole, then refused: not what was said
        ],
        max_bytes=LIMIT,
    )

    refused = [o for o in outcomes if not isinstance(o, StoredObject)]
    assert [type(o) for o in refused] == [IntegrityError, InvalidAddress, IntegrityError]
    assert "the source went bad" in str(refused[0])
    stored = [o.sha256 for o in outcomes if isinstance(o, StoredObject)]
    assert stored == [sha(clip(1)), sha(clip(1)), sha(clip(6))]
    assert store.addresses() == sorted({sha(clip(1)), sha(clip(6))})
    # The volume holds exactly the two records: nothing of the rest was appended.
    assert volume_bytes_on_disk(store) == indexed_bytes(store, [sha(clip(1)), sha(clip(6))])


def test_put_raises_what_put_many_returns(tmp_path: Path) -> None:
    store = VolumeContentStore(tmp_path / "clips", RING, durable=False)
    with pytest.raises(IntegrityError, match="not the expected"):
        store.put(clip(1), expected_sha256=sha(clip(2)), max_bytes=LIMIT)
    with pytest.raises(TooLarge):
        store.put(clip(1, 5000), max_bytes=4000)
    assert store.addresses() == []
    assert volume_bytes_on_disk(store) == 0


def test_a_group_larger_than_a_volume_rotates_and_every_object_reads_back(
    tmp_path: Path,
) -> None:
    store = VolumeContentStore(tmp_path / "clips", RING, volume_bytes=4096, durable=False)
    contents = [clip(i) for i in range(20)]
    outcomes = store.put_many([(c, None) for c in contents], max_bytes=LIMIT)
    addresses = [o.sha256 for o in outcomes if isinstance(o, StoredObject)]
    assert addresses == [sha(c) for c in contents]

    assert [state for _id, state, *_ in store.index.volumes()].count("active") == 1
    assert len(store.index.volumes()) >= 5
    reopened = VolumeContentStore(tmp_path / "clips", RING, volume_bytes=4096)
    for address, data in zip(addresses, contents, strict=True):
        assert reopened.read_all(address) == data


def test_a_retried_group_with_known_hashes_appends_nothing_but_still_checks_content(
    tmp_path: Path,
) -> None:
    store = VolumeContentStore(tmp_path / "evidence", RING, durable=False)
    items = [(clip(i), sha(clip(i))) for i in range(5)]
    first = store.put_many(items, max_bytes=LIMIT)
    size = volume_bytes_on_disk(store)

    again = store.put_many([*items, (clip(9), sha(clip(0)))], max_bytes=LIMIT)
    assert again[:5] == first
    assert isinstance(again[5], IntegrityError)
    assert volume_bytes_on_disk(store) == size


def test_a_crash_in_the_middle_of_a_group_indexes_nothing_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = VolumeContentStore(tmp_path / "clips", RING, durable=False)
    kept = store.put(clip(0), max_bytes=LIMIT).sha256
    real_write = Appender._write
    calls = []

    def dies_on_the_third(self: Appender, volume: int, offset: int, record: object) -> None:
        calls.append(offset)
        if len(calls) == 3:
            raise OSError("the disk went away")
        real_write(self, volume, offset, record)  # type: ignore[arg-type]

    monkeypatch.setattr(Appender, "_write", dies_on_the_third)
    with pytest.raises(OSError, match="the disk went away"):
        store.put_many([(clip(i), None) for i in range(1, 6)], max_bytes=LIMIT)
    monkeypatch.undo()
    store.close()

    restarted = VolumeContentStore(tmp_path / "clips", RING, durable=False)
    assert restarted.addresses() == [kept]
    # The two records written before the crash are past the committed end: overwritten.
    later = restarted.put(clip(9), max_bytes=LIMIT).sha256
    assert restarted.read_all(later) == clip(9)
    assert restarted.read_all(kept) == clip(0)
    assert volume_bytes_on_disk(restarted) == indexed_bytes(restarted, [kept, later])


def test_content_is_read_outside_the_append_lock(tmp_path: Path) -> None:
    """A source may use the same store (the transfer's outbox feeds the evidence store):
    if content were read under the append lock, this would wait for ever."""
    store = VolumeContentStore(tmp_path / "outbox", RING, durable=False)

    def source_that_writes_to_the_store() -> Iterator[bytes]:
        store.put(clip(100), max_bytes=LIMIT)
        yield clip(101)

    outcomes: list[object] = []
    worker = threading.Thread(
        target=lambda: outcomes.extend(
            store.put_many(
                [(clip(102), None), (source_that_writes_to_the_store(), None)], max_bytes=LIMIT
            )
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "put_many read its content while holding the append lock"
    assert [o.sha256 for o in outcomes] == [sha(clip(102)), sha(clip(101))]  # type: ignore[attr-defined]
    assert store.addresses() == sorted(sha(clip(n)) for n in (100, 101, 102))


def test_a_long_batch_is_appended_in_groups_of_about_group_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = VolumeContentStore(tmp_path / "clips", RING, durable=False)
    monkeypatch.setattr(volumes, "GROUP_BYTES", 3000)  # about three 1,000-byte clips a group
    sizes: list[int] = []
    real_append = Appender.append

    def counting(self: Appender, group: list) -> None:  # type: ignore[type-arg]
        sizes.append(len(group))
        real_append(self, group)

    monkeypatch.setattr(Appender, "append", counting)
    contents = [clip(i) for i in range(10)]
    outcomes = store.put_many([(c, None) for c in contents], max_bytes=LIMIT)

    assert sizes == [3, 3, 3, 1]
    for data, outcome in zip(contents, outcomes, strict=True):
        assert isinstance(outcome, StoredObject)
        assert store.read_all(outcome.sha256) == data


@pytest.mark.parametrize("kind", ["volumes", "files", "memory"])
def test_every_store_gives_each_item_its_own_outcome(tmp_path: Path, kind: str) -> None:
    stores: dict[str, ContentStore] = {
        "volumes": VolumeContentStore(tmp_path / "v", RING, durable=False),
        "files": FileContentStore(tmp_path / "f", RING, durable=False),
        "memory": InMemoryContentStore(),
    }
    store = stores[kind]
    outcomes = store.put_many(
        [
            (clip(1), None),
            (clip(2), sha(clip(3))),
            (failing_source(b"half a clip"), None),
            (clip(4, 3000), None),
            (clip(5), sha(clip(5))),
        ],
        max_bytes=2000,
    )
    assert [type(o) for o in outcomes] == [
        StoredObject,
        IntegrityError,
        IntegrityError,
        TooLarge,
        StoredObject,
    ]
    assert store.read_all(sha(clip(1))) == clip(1)
    assert store.read_all(sha(clip(5))) == clip(5)
    assert not store.exists(sha(clip(2)))
    assert not store.exists(sha(clip(4, 3000)))
