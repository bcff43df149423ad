"""What a run costs the machine: peak memory, scratch space, and how long it will take.

``peak_rss_mb`` reads the kernel's high-water mark of resident memory, for this
process or for its finished children (the worker processes of a parallel run).
A :class:`ScratchMeter` follows the bytes under a replication's scratch folder
(its database and content stores) and keeps the largest it saw: it walks the
folder at the model's progress ticks, but never spends more than about
``1 / SPACING`` of the run doing so, and once more at the end, before the folder
is removed. The duration printed when a run starts is one replication's
(``estimate_replication_s``, from the county's size, the horizon and two
constants measured on this project's 2-core machine, see below) times the
rounds of worker processes the replications take (``rounds_of``); the
progress lines then refine it from the first replication's own pace.

A scenario's pace can be far from the calibrated Nassau pace those constants
hold: in one ``canvass bench sim --scale 1``, ``nassau-saturated`` shared some 70
times as many clips as the calibrated ``nassau`` (443,017 against 6,047) and took
about 20 times as long (746 s against 35 s for the same county-year). So where
this machine has already finished a run of the same workload, the estimate is
taken from it instead (:func:`past_runs`, :func:`nearest_run`): the same
scenario parameters and start date, whatever its name, scale, horizon or seed,
scaled by home-days from the run nearest in scale and horizon.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MB = 1e6
SPACING = 50  # walk the scratch folder at most once per 50 walks' worth of run time

# The duration estimate's constants, measured on this project's 2-core machine on
# 2026-12-05, alone on it: `canvass run nassau --scale 1 --replications 2 --workers 2`
# (456,076 homes for 365 days, 166.5 million home-days a replication) took 49 s, each
# replication about 44 s on its own core, the summary and report the rest: 0.26
# microseconds a home-day; `canvass run tiny` takes under a second a replication,
# nearly all of it set-up. Scenarios that make more requests than Nassau's defaults
# (tiny's inflated rates; nassau-saturated, about 25 times the calibrated pace) cost
# more per home-day, and a busy machine is slower; the progress lines correct the
# estimate from the run's own pace.
REPLICATION_FIXED_S = 1.0
S_PER_HOME_DAY = 0.26e-6
HISTORY_LIMIT = 200  # the newest run folders looked at for an earlier run's pace


def peak_rss_mb(*, children: bool = False) -> float | None:
    """The peak resident memory, in MB, of this process so far (``children``: the
    largest of its finished, waited-for child processes); None where the platform
    does not say (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    peak = resource.getrusage(who).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / MB if sys.platform == "darwin" else peak * 1024 / MB


def folder_bytes(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (files removed meanwhile are skipped)."""
    total = 0
    stack = [str(folder)]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
    return total


class ScratchMeter:
    """The largest size a scratch folder reached, sampled cheaply while the run goes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.peak_bytes = 0
        self.sampling_s = 0.0  # time spent in :meth:`sample`'s walks, for timings to leave out
        self._walk_s = 0.0
        self._next_at = 0.0

    def sample(self) -> None:
        """Walk the folder now if enough run time has passed since the last walk."""
        if time.perf_counter() >= self._next_at:
            self.measure()
            self.sampling_s += self._walk_s

    def measure(self) -> int:
        """Walk the folder now (at the end, before it is removed); returns the peak so far."""
        started = time.perf_counter()
        self.peak_bytes = max(self.peak_bytes, folder_bytes(self.folder))
        ended = time.perf_counter()
        self._walk_s = ended - started
        self._next_at = ended + SPACING * self._walk_s
        return self.peak_bytes

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / MB


def estimate_replication_s(*, homes: float, days: float) -> float:
    """Seconds one replication of ``homes`` homes for ``days`` days should take, at the
    calibrated Nassau defaults' pace on a 2-core machine (a run takes :func:`rounds_of`
    of them)."""
    return REPLICATION_FIXED_S + S_PER_HOME_DAY * homes * days


def run_left_s(
    *, index: int, fraction: float, elapsed_s: float, replications: int, workers: int
) -> float:
    """Seconds the whole run has left, judged from replication ``index``'s own pace
    (``fraction`` of it done in ``elapsed_s``): the rest of it, then one replication as
    long per later round of ``workers`` replications."""
    replication_s = elapsed_s / fraction
    rounds = rounds_of(replications, workers)
    later_rounds = max(0, rounds - 1 - index // max(1, workers))
    return replication_s * (1 - fraction) + later_rounds * replication_s


def duration(seconds: float) -> str:
    """A duration as people say it: seconds up to two minutes, then minutes."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


@dataclass(frozen=True)
class PastRun:
    """A finished run of the same workload: its folder, size and time a replication."""

    folder: Path
    scale: float
    horizon_days: float
    home_days: float  # a replication's: households x scale x days
    replication_s: float  # the median of its replications' wall times

    def replication_s_for(self, home_days: float) -> float:
        """A replication's seconds at this run's pace for ``home_days`` home-days."""
        return self.replication_s * home_days / self.home_days


def workload_of(resolved: Mapping[str, Any]) -> dict[str, Any]:
    """What sets a run's pace in a resolved scenario: every parameter and the start date
    (the season), not its name, description, size, horizon or seed."""
    run = resolved.get("run")
    start = run.get("start_date") if isinstance(run, Mapping) else None
    kept = {k: v for k, v in resolved.items() if k not in ("name", "description", "run")}
    return kept | {"start_date": start}


def past_runs(
    root: Path, resolved: Mapping[str, Any], *, limit: int = HISTORY_LIMIT
) -> list[PastRun]:
    """The complete in-process runs under ``root`` (the newest ``limit`` folders) of the
    workload of ``resolved`` (a scenario as :func:`scenarios.loader.resolved_dict` gives
    it); folders that are not such runs, or cannot be read, are passed over."""
    try:
        folders = sorted((f for f in root.iterdir() if f.is_dir()), reverse=True)[:limit]
    except OSError:
        return []
    wanted = workload_of(resolved)
    found = []
    for folder in folders:
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            past = _past_run(folder, manifest, wanted)
        except (OSError, ValueError, TypeError, AttributeError, KeyError):
            continue
        if past is not None:
            found.append(past)
    return found


def _past_run(folder: Path, manifest: Any, wanted: dict[str, Any]) -> PastRun | None:
    if not isinstance(manifest, dict) or (
        manifest.get("kind"),
        manifest.get("status"),
        manifest.get("driver"),
    ) != ("run", "complete", "inprocess"):
        return None
    resolved = manifest["scenario_resolved"]
    if workload_of(resolved) != wanted:
        return None
    walls = [float(w) for w in manifest["replication_wall_s"]]
    scale, days = float(manifest["scale"]), float(manifest["horizon_days"])
    home_days = float(resolved["county"]["households"]) * scale * days
    sizes = (scale, days, home_days, *walls)
    if not walls or not all(math.isfinite(x) and x > 0 for x in sizes):
        return None
    return PastRun(folder, scale, days, home_days, statistics.median(walls))


def nearest_run(runs: Iterable[PastRun], *, scale: float, horizon_days: float) -> PastRun | None:
    """The run nearest in scale and then in horizon (by ratio), the newest of equals."""
    best: PastRun | None = None
    best_key = (math.inf, math.inf)
    for run in runs:  # newest first, so a tie keeps the newest
        key = (abs(math.log(run.scale / scale)), abs(math.log(run.horizon_days / horizon_days)))
        if key < best_key:
            best, best_key = run, key
    return best


def rounds_of(replications: int, workers: int) -> int:
    """How many replications each worker process runs, at most."""
    return math.ceil(replications / max(1, min(workers, replications)))
