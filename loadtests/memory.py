"""The served system's memory over a run: every process's resident set size, sampled.

The runner samples each process it started for the system (``canvass serve``
and the API processes under it, ``canvass worker`` and its worker processes)
every few seconds, reading ``VmRSS`` from ``/proc/<pid>/status`` (Linux), and
appends one JSON line per sample to ``memory.jsonl``:
``{"at_unix_s": ..., "processes": [{"pid", "role", "rss_kb"}, ...], "total_kb": ...}``.
:func:`summarise` reads the file back: each process's start, peak and end, and
its growth per hour, fitted by least squares over the second half of the
samples (after warm-up, when caches and pools have filled; a process that
keeps growing then is leaking).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

PROC = Path("/proc")


def _rss_kb(pid: int) -> int | None:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None  # a zombie has no VmRSS


def _parents() -> dict[int, int]:
    """Every visible process's parent, by pid."""
    parents = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # "pid (comm) state ppid ...": comm may hold spaces and brackets.
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return parents


def tree(roots: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Each root (role, pid) and its descendants, ``"<role> child"`` for those."""
    parents = _parents()
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found = []
    for role, root in roots:
        found.append((role, root))
        stack = list(children.get(root, []))
        while stack:
            pid = stack.pop()
            found.append((f"{role} child", pid))
            stack += children.get(pid, [])
    return found


def sample(roots: Sequence[tuple[str, int]], at_unix_s: float | None = None) -> dict[str, Any]:
    """One sample of the processes under ``roots``."""
    rows = []
    for role, pid in tree(roots):
        rss = _rss_kb(pid)
        if rss is not None:
            rows.append({"pid": pid, "role": role, "rss_kb": rss})
    at = round(time.time() if at_unix_s is None else at_unix_s, 3)
    return {"at_unix_s": at, "processes": rows, "total_kb": sum(r["rss_kb"] for r in rows)}


def record(out: TextIO, roots: Sequence[tuple[str, int]]) -> None:
    out.write(json.dumps(sample(roots)) + "\n")
    out.flush()


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    role: str
    samples: int
    start_mb: float
    peak_mb: float
    end_mb: float
    growth_mb_per_h: float | None  # None: too few samples to fit
    fitted_s: float  # the span the growth was fitted over (the second half of the run)

    def line(self) -> str:
        growth = (
            "growth not measured"
            if self.growth_mb_per_h is None
            else f"{self.growth_mb_per_h:+.1f} MB/h over the last {self.fitted_s:.0f} s"
        )
        return (
            f"memory: {self.role} {self.pid}: {self.start_mb:.0f} MB at start, "
            f"{self.peak_mb:.0f} MB peak, {self.end_mb:.0f} MB at end, {growth}"
        )


def read_samples(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    samples = []
    for line in path.read_text().splitlines():
        try:
            samples.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by an interruption
    return samples


def summarise(path: Path) -> list[ProcessMemory]:
    """Each process seen in ``memory.jsonl``, by role then pid; empty without the file."""
    series: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for sampled in read_samples(path):
        for row in sampled.get("processes", []):
            key = (row["role"], row["pid"])
            series.setdefault(key, []).append((sampled["at_unix_s"], row["rss_kb"] / 1024))
    return [
        ProcessMemory(
            pid=pid,
            role=role,
            samples=len(points),
            start_mb=round(points[0][1], 1),
            peak_mb=round(max(mb for _, mb in points), 1),
            end_mb=round(points[-1][1], 1),
            growth_mb_per_h=growth_per_hour(points),
            fitted_s=round(_later(points)[-1][0] - _later(points)[0][0], 1),
        )
        for (role, pid), points in sorted(series.items())
    ]


def growth_per_hour(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of MB over time, in MB per hour, over the second half."""
    later = _later(points)
    if len(later) < 2:
        return None
    n = len(later)
    mean_t = sum(t for t, _ in later) / n
    mean_mb = sum(mb for _, mb in later) / n
    spread = sum((t - mean_t) ** 2 for t, _ in later)
    if spread == 0:
        return None
    slope = sum((t - mean_t) * (mb - mean_mb) for t, mb in later) / spread
    return round(slope * 3600, 1)


def _later(points: Sequence[tuple[float, float]]) -> Sequence[tuple[float, float]]:
    """The second half of a process's samples (all of one sample)."""
    return points[len(points) // 2 :]


def as_json(summary: Sequence[ProcessMemory]) -> list[dict[str, Any]]:
    return [asdict(m) for m in summary]
