"""Per-object file store against volume store: put and read back N clip-sized objects.

Run: ``python -m benchmarks.bench_stores [--objects N] [--size-bytes B] [--rounds R]
[--durable]``. Each round stores N fresh objects of B bytes in a new folder
and reads each one back (decrypted and hash-checked), once per store, the
two stores alternating so that both see the same machine load; it prints the
median over rounds of microseconds per object for put and for read, and the
bytes each store left on disk. Content is seeded, so every round is the same.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from system.adapters.blobstore import FileContentStore
from system.adapters.volumes import VolumeContentStore
from system.domain.stores import EncryptedContentStore, KeyRing, generate_key

Factory = Callable[[Path, KeyRing, bool], EncryptedContentStore]
STORES: dict[str, Factory] = {
    "files": lambda root, ring, durable: FileContentStore(root, ring, durable=durable),
    "volumes": lambda root, ring, durable: VolumeContentStore(root, ring, durable=durable),
}


def _contents(objects: int, size_bytes: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.bytes(size_bytes) for _ in range(objects)]


def _disk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def one_round(
    kind: str, contents: list[bytes], ring: KeyRing, *, durable: bool
) -> tuple[float, float, int]:
    """(µs per put, µs per read, bytes on disk) for one store kind in a fresh folder."""
    with tempfile.TemporaryDirectory(prefix=f"canvass-bench-{kind}-") as folder:
        store = STORES[kind](Path(folder) / "store", ring, durable)
        limit = max(len(c) for c in contents)
        started = time.perf_counter()
        addresses = [store.put(c, max_bytes=limit).sha256 for c in contents]
        put_s = time.perf_counter() - started
        started = time.perf_counter()
        for sha256 in addresses:
            store.read_all(sha256)
        read_s = time.perf_counter() - started
        on_disk = _disk_bytes(Path(folder))
    n = len(contents)
    return put_s / n * 1e6, read_s / n * 1e6, on_disk


def bench_stores(
    *, objects: int, size_bytes: int, rounds: int, durable: bool, seed: int = 21
) -> dict[str, dict[str, float]]:
    """Median µs per put and per read, and bytes on disk, for each store kind."""
    contents = _contents(objects, size_bytes, seed)
    ring = KeyRing({"k1": generate_key()}, active="k1")
    samples: dict[str, list[tuple[float, float, int]]] = {kind: [] for kind in STORES}
    for round_number in range(rounds):
        order = list(STORES) if round_number % 2 == 0 else list(reversed(STORES))
        for kind in order:
            samples[kind].append(one_round(kind, contents, ring, durable=durable))
    return {
        kind: {
            "put_us": statistics.median(s[0] for s in runs),
            "read_us": statistics.median(s[1] for s in runs),
            "disk_bytes": float(runs[-1][2]),
        }
        for kind, runs in samples.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--size-bytes", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--durable", action="store_true", help="fsync as a server does")
    args = parser.parse_args(argv)
    figures = bench_stores(
        objects=args.objects, size_bytes=args.size_bytes, rounds=args.rounds, durable=args.durable
    )
    print(f"{args.objects} objects of {args.size_bytes} bytes, durable={args.durable}")
    for kind, row in figures.items():
        print(
            f"{kind:8} put {row['put_us']:8.1f} µs  read {row['read_us']:8.1f} µs  "
            f"disk {row['disk_bytes'] / 1e6:8.2f} MB"
        )


if __name__ == "__main__":
    main()
