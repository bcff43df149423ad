"""The clip store and the evidence store: content addressing, integrity and encryption at rest.

Requirements: XFR-01 (SHA-256 verified at every hop, corrupted items
quarantined), XFR-05 (size limits) and EVD-05 (AES-256-GCM, a data key per
object, wrapped by a key from settings). Every test here runs the real
filesystem adapter in ``tmp_path``; the contract tests also run the volume
store and the in-memory store so they cannot drift apart.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from system.adapters.blobstore import HEADER_BYTES, SEGMENT_BYTES, TAG_BYTES, FileContentStore
from system.adapters.volumes import VolumeContentStore
from system.domain.stores import (
    Content,
    ContentStore,
    EncryptedContentStore,
    InMemoryContentStore,
    IntegrityError,
    InvalidAddress,
    InvalidKeyRing,
    KeyMismatch,
    KeyNotInRing,
    KeyRing,
    ObjectNotFound,
    StoredObject,
    TooLarge,
    generate_key,
)

MiB = 1 << 20
LIMIT = 64 * MiB
# Fixed test keys: parametrised ids must be the same in every pytest-xdist worker.
K1, K2 = bytes(range(32)), bytes(range(32, 64))


def ring(*key_ids: str, active: str | None = None, keys: dict[str, bytes] | None = None) -> KeyRing:
    known = {"k1": K1, "k2": K2} | (keys or {})
    return KeyRing({k: known[k] for k in key_ids}, active or key_ids[-1])


def clip(size: int, seed: int = 0) -> bytes:
    """Deterministic, incompressible-looking content of ``size`` bytes."""
    block = hashlib.sha512(str(seed).encode()).digest()
    blocks = (hashlib.sha512(block + i.to_bytes(8)).digest() for i in range(size // 64 + 1))
    return b"".join(blocks)[:size]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def object_file(store: FileContentStore, sha256: str) -> Path:
    return store.root / sha256[:2] / sha256[2:4] / f"{sha256}.obj"


@pytest.fixture
def store(tmp_path: Path) -> FileContentStore:
    return FileContentStore(tmp_path / "clips", ring("k1"))


@pytest.fixture(params=["filesystem", "volumes", "memory"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> ContentStore:
    if request.param == "memory":
        return InMemoryContentStore()
    if request.param == "volumes":
        return VolumeContentStore(tmp_path / "clips", ring("k1"))
    return FileContentStore(tmp_path / "clips", ring("k1"))


# -- the contract both stores keep --------------------------------------------------


def test_xfr01_content_reads_back_unchanged_from_its_sha256_address(
    any_store: ContentStore,
) -> None:
    data = b"porch camera, 2026-11-27 15:02, parcel taken"
    stored = any_store.put(data, max_bytes=LIMIT)
    assert stored == StoredObject(sha(data), len(data), f"sha256:{sha(data)}")
    assert any_store.read_all(stored.sha256) == data
    assert any_store.exists(stored.sha256)
    assert any_store.size(stored.sha256) == len(data)


@pytest.mark.parametrize(
    "as_content",
    [
        pytest.param(lambda d: d, id="bytes"),
        pytest.param(lambda d: io.BytesIO(d), id="binary-file"),
        pytest.param(lambda d: iter([d[:7], b"", d[7:100], d[100:]]), id="chunks"),
    ],
)
def test_put_accepts_a_buffer_a_binary_file_or_chunks(
    any_store: ContentStore, as_content: Callable[[bytes], Content]
) -> None:
    data = clip(5000)
    stored = any_store.put(as_content(data), max_bytes=LIMIT)
    assert stored.sha256 == sha(data)
    assert any_store.read_all(stored.sha256) == data


def test_putting_the_same_content_twice_is_one_object(any_store: ContentStore) -> None:
    data = clip(3000)
    first = any_store.put(data, max_bytes=LIMIT)
    again = any_store.put(io.BytesIO(data), expected_sha256=first.sha256, max_bytes=LIMIT)
    assert again == first
    assert any_store.read_all(first.sha256) == data


def test_xfr01_expected_hash_is_accepted_in_upper_case(any_store: ContentStore) -> None:
    data = b"clip"
    stored = any_store.put(data, expected_sha256=sha(data).upper(), max_bytes=LIMIT)
    assert stored.sha256 == sha(data)


def test_xfr01_content_not_matching_its_expected_hash_is_rejected(any_store: ContentStore) -> None:
    with pytest.raises(IntegrityError, match="not the expected"):
        any_store.put(b"tampered", expected_sha256=sha(b"original"), max_bytes=LIMIT)
    assert not any_store.exists(sha(b"tampered"))
    assert not any_store.exists(sha(b"original"))


def test_xfr05_content_over_the_limit_is_rejected(any_store: ContentStore) -> None:
    with pytest.raises(TooLarge, match="1000 bytes"):
        any_store.put(clip(1001), max_bytes=1000)
    assert not any_store.exists(sha(clip(1001)))
    assert any_store.put(clip(1000), max_bytes=1000).size == 1000


def test_deleting_twice_is_not_an_error(any_store: ContentStore) -> None:
    stored = any_store.put(b"clip", max_bytes=LIMIT)
    assert any_store.delete(stored.sha256) is True
    assert any_store.delete(stored.sha256) is False
    assert not any_store.exists(stored.sha256)
    with pytest.raises(ObjectNotFound, match=stored.sha256):
        any_store.read_all(stored.sha256)


def test_xfr01_quarantined_object_is_never_served_again(any_store: ContentStore) -> None:
    stored = any_store.put(b"clip", max_bytes=LIMIT)
    assert any_store.quarantine(stored.sha256, "hash mismatch at the evidence store") is True
    assert not any_store.exists(stored.sha256)
    with pytest.raises(ObjectNotFound):
        any_store.read(stored.sha256)
    assert any_store.quarantine(stored.sha256, "again") is False


@pytest.mark.parametrize("address", ["../../etc/passwd", "ab" * 31, "zz" * 32, ""])
def test_an_address_that_is_not_a_sha256_is_refused(any_store: ContentStore, address: str) -> None:
    with pytest.raises(InvalidAddress, match="64 hexadecimal digits"):
        any_store.read_all(address)


# -- the filesystem adapter ---------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [
        0,
        1,
        SEGMENT_BYTES - 1,
        SEGMENT_BYTES,
        SEGMENT_BYTES + 1,
        3 * SEGMENT_BYTES,
        3 * MiB + MiB // 2,
    ],
)
def test_multi_segment_content_reads_back_unchanged(store: FileContentStore, size: int) -> None:
    data = clip(size)
    # Chunks of an awkward size, so segments never line up with what the caller sends.
    stored = store.put((data[i : i + 777_777] for i in range(0, size, 777_777)), max_bytes=LIMIT)
    assert stored.sha256 == sha(data)
    assert store.size(stored.sha256) == size
    assert store.read_all(stored.sha256) == data
    assert max(map(len, store.read(stored.sha256))) <= SEGMENT_BYTES


def test_objects_live_in_fan_out_folders_and_no_temp_files_remain(store: FileContentStore) -> None:
    stored = store.put(b"clip", max_bytes=LIMIT)
    with pytest.raises(TooLarge):
        store.put(clip(100), max_bytes=10)
    with pytest.raises(IntegrityError):
        store.put(b"other", expected_sha256=sha(b"else"), max_bytes=LIMIT)
    assert files_under(store.root) == [object_file(store, stored.sha256)]


def test_a_failed_put_leaves_nothing_on_disk(store: FileContentStore) -> None:
    with pytest.raises(IntegrityError):
        store.put(clip(2 * MiB), expected_sha256=sha(b"something else"), max_bytes=LIMIT)
    with pytest.raises(TooLarge):
        store.put(iter([clip(MiB)] * 5), max_bytes=4 * MiB)
    assert files_under(store.root) == []


def test_evd05_stored_bytes_do_not_contain_the_plaintext(store: FileContentStore) -> None:
    data = b"123 Elm St porch, resident Jane Doe, " * 1000
    stored = store.put(data, max_bytes=LIMIT)
    on_disk = object_file(store, stored.sha256).read_bytes()
    assert b"Jane Doe" not in on_disk
    assert data[:64] not in on_disk
    assert len(on_disk) == HEADER_BYTES + len(data) + TAG_BYTES


def test_evd05_every_object_has_its_own_data_key(tmp_path: Path) -> None:
    clips = FileContentStore(tmp_path / "clips", ring("k1"))
    evidence = FileContentStore(tmp_path / "evidence", ring("k1"))
    data = clip(10_000)
    sha256 = clips.put(data, max_bytes=LIMIT).sha256
    evidence.put(clips.read(sha256), expected_sha256=sha256, max_bytes=LIMIT)
    in_clips = object_file(clips, sha256).read_bytes()[HEADER_BYTES:]
    in_evidence = object_file(evidence, sha256).read_bytes()[HEADER_BYTES:]
    assert in_clips != in_evidence
    assert evidence.read_all(sha256) == data


def flip_byte(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    "offset",
    [
        pytest.param(HEADER_BYTES, id="first-segment"),
        pytest.param(HEADER_BYTES + SEGMENT_BYTES + TAG_BYTES + 5, id="second-segment"),
        pytest.param(-1, id="last-tag"),
    ],
)
def test_xfr01_a_flipped_byte_in_a_segment_is_detected(
    store: FileContentStore, offset: int
) -> None:
    sha256 = store.put(clip(3 * MiB + MiB // 2), max_bytes=LIMIT).sha256
    path = object_file(store, sha256)
    flip_byte(path, offset % path.stat().st_size)
    with pytest.raises(IntegrityError, match="failed authentication"):
        store.read_all(sha256)


def test_xfr01_a_corrupted_data_key_is_detected(store: FileContentStore) -> None:
    sha256 = store.put(b"clip", max_bytes=LIMIT).sha256
    flip_byte(object_file(store, sha256), 100)  # slot A's wrapped key: bytes 84-131
    with pytest.raises(IntegrityError, match="data key"):
        store.read_all(sha256)


@pytest.mark.parametrize(
    "keep",
    [
        pytest.param(lambda n: n - 100, id="mid-segment"),
        pytest.param(lambda n: HEADER_BYTES + 2 * (SEGMENT_BYTES + TAG_BYTES), id="at-boundary"),
        pytest.param(lambda n: HEADER_BYTES + 5, id="inside-first-tag"),
        pytest.param(lambda n: 100, id="inside-header"),
    ],
)
def test_xfr01_a_truncated_file_is_detected(
    store: FileContentStore, keep: Callable[[int], int]
) -> None:
    sha256 = store.put(clip(3 * MiB + MiB // 2), max_bytes=LIMIT).sha256
    path = object_file(store, sha256)
    with open(path, "r+b") as file:
        file.truncate(keep(path.stat().st_size))
    with pytest.raises(IntegrityError, match=r"segment|truncated"):
        store.read_all(sha256)


def test_xfr01_swapped_or_repeated_segments_are_detected(store: FileContentStore) -> None:
    sha256 = store.put(clip(3 * MiB + MiB // 2), max_bytes=LIMIT).sha256
    path = object_file(store, sha256)
    raw, full = path.read_bytes(), SEGMENT_BYTES + TAG_BYTES
    header, body = raw[:HEADER_BYTES], raw[HEADER_BYTES:]
    seg = [body[i : i + full] for i in range(0, len(body), full)]
    for tampered in ([seg[1], seg[0], *seg[2:]], [seg[0], seg[0], *seg[2:]], [*seg, seg[-1]]):
        path.write_bytes(header + b"".join(tampered))
        with pytest.raises(IntegrityError, match="segment"):
            store.read_all(sha256)


def test_xfr01_an_object_under_another_address_is_detected(store: FileContentStore) -> None:
    real = store.put(b"clip A", max_bytes=LIMIT).sha256
    other = store.put(b"clip B", max_bytes=LIMIT).sha256
    shutil.copyfile(object_file(store, real), object_file(store, other))
    with pytest.raises(IntegrityError):
        store.read_all(other)


def test_xfr01_quarantine_keeps_the_object_and_its_reason_aside(store: FileContentStore) -> None:
    sha256 = store.put(b"clip", max_bytes=LIMIT).sha256
    store.quarantine(sha256, "hash mismatch on transfer 17")
    quarantined = files_under(store.root / "quarantine")
    assert [p.suffix for p in quarantined] == [".obj", ".reason"]
    assert all(p.name.startswith(sha256) for p in quarantined)
    assert quarantined[1].read_text() == "hash mismatch on transfer 17\n"
    assert store.put(b"clip", max_bytes=LIMIT).sha256 == sha256  # retried from the source
    assert store.read_all(sha256) == b"clip"


def test_evd05_rotation_rewraps_headers_and_leaves_segments_untouched(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    old = FileContentStore(root, ring("k1"))
    contents = [clip(n, seed=n) for n in (0, 10, 3 * MiB + MiB // 2)]
    shas = [old.put(data, max_bytes=LIMIT).sha256 for data in contents]
    before = {s: object_file(old, s).read_bytes() for s in shas}

    rotating = FileContentStore(root, ring("k1", "k2", active="k2"))
    summary = rotating.rewrap_all()
    assert (summary.rewrapped, summary.unchanged, dict(summary.failed)) == (3, 0, {})
    assert rotating.rewrap_all().unchanged == 3

    retired = FileContentStore(root, ring("k2"))
    for sha256, data in zip(shas, contents, strict=True):
        after = object_file(retired, sha256).read_bytes()
        assert after[HEADER_BYTES:] == before[sha256][HEADER_BYTES:]
        assert after[:HEADER_BYTES] != before[sha256][:HEADER_BYTES]
        assert retired.read_all(sha256) == data
    with pytest.raises(KeyNotInRing, match="'k2'"):
        FileContentStore(root, ring("k1")).read_all(shas[0])


def test_evd05_rotation_interrupted_after_the_new_wrap_still_reads_and_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "evidence"
    sha256 = FileContentStore(root, ring("k1")).put(b"clip", max_bytes=LIMIT).sha256
    rotating = FileContentStore(root, ring("k1", "k2", active="k2"))
    real_pwrite, calls = os.pwrite, []

    def crash_before_clearing_old_slot(fd: int, data: bytes, offset: int) -> int:
        calls.append(offset)
        if len(calls) == 2:
            raise OSError("power cut")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", crash_before_clearing_old_slot)
    with pytest.raises(OSError, match="power cut"):
        rotating.rewrap(sha256)
    monkeypatch.undo()

    assert FileContentStore(root, ring("k1")).read_all(sha256) == b"clip"
    assert FileContentStore(root, ring("k2")).read_all(sha256) == b"clip"
    assert rotating.rewrap(sha256) is True  # finishes the job: the k1 wrap is removed
    with pytest.raises(KeyNotInRing):
        FileContentStore(root, ring("k1")).read_all(sha256)


def test_evd05_reading_without_the_objects_key_names_the_key_id(tmp_path: Path) -> None:
    root = tmp_path / "clips"
    sha256 = FileContentStore(root, ring("k1")).put(b"clip", max_bytes=LIMIT).sha256
    with pytest.raises(KeyNotInRing, match="'k1'") as raised:
        FileContentStore(root, ring("k2")).read_all(sha256)
    assert raised.value.key_id == "k1"


def test_evd05_stores_with_different_keys_cannot_read_each_others_files(tmp_path: Path) -> None:
    clips = FileContentStore(tmp_path / "clips", ring("k1"))
    evidence = FileContentStore(tmp_path / "evidence", ring("k1", keys={"k1": generate_key()}))
    sha256 = clips.put(b"clip", max_bytes=LIMIT).sha256
    target = object_file(evidence, sha256)
    target.parent.mkdir(parents=True)
    shutil.copyfile(object_file(clips, sha256), target)
    with pytest.raises(KeyMismatch, match="different key 'k1'"):
        evidence.read_all(sha256)
    assert evidence.rewrap_all().failed.keys() == {sha256}


def test_put_streams_a_large_clip_without_holding_it_in_memory(store: FileContentStore) -> None:
    def camera_upload() -> Iterator[bytes]:
        for i in range(32):
            yield bytes([i]) * MiB

    tracemalloc.start()
    try:
        sha256 = store.put(camera_upload(), max_bytes=LIMIT).sha256
        _, peak_writing = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        assert sum(len(chunk) for chunk in store.read(sha256)) == 32 * MiB
        _, peak_reading = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_writing < 8 * MiB
    assert peak_reading < 8 * MiB


def test_the_filesystem_store_is_an_encrypted_content_store(store: FileContentStore) -> None:
    typed: EncryptedContentStore = store
    assert typed.rewrap_all().rewrapped == 0


# -- key rings from settings --------------------------------------------------------


def encoded(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_evd05_key_ring_is_read_from_settings() -> None:
    parsed = KeyRing.from_settings(f" k1:{encoded(K1)} , k2:{encoded(K2)} ; active=k2 ")
    assert parsed == ring("k1", "k2", active="k2")
    assert KeyRing.from_settings(parsed.to_settings()) == parsed
    assert KeyRing.from_settings(f"only:{base64.urlsafe_b64encode(K1).decode()}").active == "only"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (f"k1:{encoded(K1)},k2:{encoded(K2)}", "must name one with ';active=KEY_ID'"),
        (f"k1:{encoded(K1)};active=k9", "active key 'k9' is not in the key ring"),
        (f"k1:{encoded(K1)};primary=k1", "only 'active=KEY_ID'"),
        ("k1:not*base64", "key 'k1' is not valid base64"),
        (f"k1:{encoded(K1[:16])}", "key 'k1' decodes to 16 bytes; AES-256 needs 32"),
        (f"k1:{encoded(K1)},k1:{encoded(K2)};active=k1", "'k1' appears twice"),
        (f"k1{encoded(K1)}", "entry 1 must look like 'KEY_ID:BASE64KEY'"),
        (f"bad id:{encoded(K1)}", "key id 'bad id' must be"),
        ("", "entry 1 must look like"),
    ],
)
def test_evd05_a_malformed_key_ring_is_refused_with_a_clear_reason(spec: str, message: str) -> None:
    with pytest.raises(InvalidKeyRing, match=re.escape(message)) as raised:
        KeyRing.from_settings(spec)
    assert encoded(K1) not in str(raised.value)


def test_evd05_a_key_ring_never_shows_its_keys() -> None:
    shown = repr(ring("k1", "k2")) + repr(FileContentStore("/nowhere", ring("k1", "k2")))
    assert encoded(K1) not in shown
    assert repr(K1) not in shown
    assert "k2" in shown


def test_generated_keys_are_fresh_256_bit_keys() -> None:
    assert len(generate_key()) == 32
    assert generate_key() != generate_key()
