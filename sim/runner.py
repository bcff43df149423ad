"""The runner: replications of a scenario, in parallel processes, into a run folder.

Each replication draws its own seed from one ``SeedSequence(seed)``, builds its
own population and its own system (a scratch database and stores), runs the
county model through the in-process driver, checks the system's invariants on
the system's own database, and returns flat records. The parent keeps each
replication in the run folder as it finishes (:mod:`results.runfolder`), so an
interrupted run loses only the replications still running and ``--resume`` runs
just the missing ones; at the end it assembles one table per record type (with a
``replication`` column), the ``replications`` table, ``summary.json`` (mean, sd
and 95% interval over replications), ``load_profile.json`` and ``manifest.json``.
The same seed gives byte-identical tables whatever the number of worker processes,
and whether or not the run was interrupted and resumed.
"""

from __future__ import annotations

import math
import multiprocessing
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from results.runfolder import (
    TableFormat,
    finished_parts,
    new_run_dir,
    update_manifest,
    write_manifest,
)
from scenarios.loader import from_dict
from scenarios.schema import Scenario
from sim import stopping
from sim.core.invariants import check_record_invariants
from sim.core.metrics import replication_metrics
from sim.core.model import CountyModel
from sim.core.scenario_params import MIN_PER_DAY, replication_inputs
from sim.drivers.inprocess import InProcessDriver, system_policy
from sim.drivers.invariants import check_system_invariants
from sim.drivers.scratch import scratch_dir
from sim.precision import Precision, PrecisionCheck, check
from sim.run_folder import finish, homes_of, keep_replication, replication_tables, settings
from sim.usage import ScratchMeter, duration, peak_rss_mb, run_left_s


class InvariantBroken(RuntimeError):
    """The system's own records contradict a rule the model relies on."""


class RunInterrupted(KeyboardInterrupt):
    """A run stopped early; its folder keeps the replications that finished."""

    def __init__(self, run_dir: Path, kept: int) -> None:
        super().__init__(
            f"{kept} finished replication(s) kept in {run_dir}; run the rest with: "
            f"canvass run --resume {run_dir}"
        )
        self.run_dir = run_dir


@dataclass(frozen=True)
class RunOptions:
    scenario: Scenario
    replications: int
    seed: int
    scale: float
    horizon_days: float
    workers: int = 1
    show_progress: bool = False  # per-replication progress lines on stderr
    precision: Precision | None = None  # replications until precise (then ``replications``
    # is not used): see :mod:`sim.precision`
    table_format: TableFormat = "parquet"  # the run folder's tables ("csv" for text)


@dataclass(frozen=True)
class ReplicationOutput:
    index: int
    seed: int
    tables: dict[str, pa.Table]  # one per record table (Arrow: no dict per row)
    metrics: dict[str, float]
    invariant_problems: tuple[str, ...]
    wall_s: float
    population: str  # what determines the population: equal strings, equal homes
    homes: pa.Table  # the population's homes (coordinates), for the map
    peak_rss_mb: float | None = None  # its process's peak memory when it ended
    scratch_mb: float = 0.0  # the most its scratch folder held


def replication_seeds(seed: int, replications: int) -> list[int]:
    """One independent seed per replication, from the run's single seed."""
    children = np.random.SeedSequence(seed).spawn(replications)
    return [int(child.generate_state(1, dtype=np.uint64)[0] % (2**63)) for child in children]


def run_replication(options: RunOptions, index: int, seed: int) -> ReplicationOutput:
    started = time.perf_counter()
    scenario = options.scenario
    population, params = replication_inputs(scenario, seed=seed, scale=options.scale)
    start = datetime.combine(scenario.run.start_date, dtime(0, 0), tzinfo=UTC)
    with scratch_dir(f"canvass-rep{index}-") as scratch:
        meter = ScratchMeter(Path(scratch))
        report = _reporter(index, options, started) if options.show_progress else None

        def tick(fraction: float) -> None:
            meter.sample()
            if report is not None:
                report(fraction)

        driver = InProcessDriver(Path(scratch), start=start, policy=system_policy(params))
        try:
            model = CountyModel(population, params, driver, seed=seed)
            result = model.run(
                options.horizon_days * MIN_PER_DAY, progress=stopping.stoppable(tick)
            )
            problems = tuple(check_system_invariants(driver.ctx) + check_record_invariants(result))
            meter.measure()  # at its fullest, before the folder goes (not when stopped)
        finally:
            driver.close()
    return ReplicationOutput(
        index,
        seed,
        replication_tables(result),
        replication_metrics(result),
        problems,
        time.perf_counter() - started,
        population=f"{population.county}:{seed}:{options.scale!r}",
        homes=homes_of(population),
        peak_rss_mb=peak_rss_mb(),
        scratch_mb=meter.peak_mb,
    )


def _reporter(index: int, options: RunOptions, started: float) -> Callable[[float], None]:
    """Progress lines: the replication's time left at its own pace and, for a run of
    a known number of replications, the whole run's estimate refined from that pace."""

    def report(fraction: float) -> None:
        if fraction < 1.0:
            elapsed = time.perf_counter() - started
            left = ""
            if fraction:
                left = f", about {duration(elapsed * (1 - fraction) / fraction)} left"
                if options.precision is None and options.replications > 1:
                    run_left = run_left_s(
                        index=index,
                        fraction=fraction,
                        elapsed_s=elapsed,
                        replications=options.replications,
                        workers=options.workers,
                    )
                    left += f"; the run: about {duration(run_left)} left, estimated"
            print(
                f"  replication {index + 1}: {fraction:4.0%} of {options.horizon_days:g} days "
                f"({elapsed:.0f} s{left})",
                file=sys.stderr,
                flush=True,
            )

    return report


Keep = Callable[[ReplicationOutput], None]


def _run_all(
    options: RunOptions,
    indexed: list[tuple[int, int]],
    progress: Callable[[str], None],
    keep: Keep,
    *,
    done: int,
    total: int,
) -> None:
    """Replications ``(index, seed)``, each kept as it finishes; progress counts them
    after ``done`` already kept, out of ``total``."""
    if not indexed:
        return
    if options.workers <= 1 or len(indexed) == 1:
        with stopping.terminable_here():
            for index, seed in indexed:
                output = run_replication(options, index, seed)
                keep(output)
                done += 1
                progress(_progress_line(done, total, output))
        return
    with ProcessPoolExecutor(
        max_workers=min(options.workers, len(indexed)), initializer=stopping.stop_when_terminated
    ) as pool:
        futures = [pool.submit(run_replication, options, i, s) for i, s in indexed]
        try:
            for future in as_completed(futures):
                output = future.result()
                keep(output)
                done += 1
                progress(_progress_line(done, total, output))
        except BaseException:  # interrupted, or a replication failed: stop the others now
            pool.shutdown(wait=False, cancel_futures=True)
            for child in multiprocessing.active_children():
                child.terminate()
            raise


def _run_missing(
    options: RunOptions,
    count: int,
    run_dir: Path,
    progress: Callable[[str], None],
    keep: Keep,
    *,
    total: int,
) -> None:
    """Make sure replications ``0 .. count - 1`` are all kept, running those missing."""
    have = finished_parts(run_dir)
    seeds = replication_seeds(options.seed, count)
    missing = [(index, seed) for index, seed in enumerate(seeds) if index not in have]
    _run_all(options, missing, progress, keep, done=count - len(missing), total=total)


def _run_to_precision(
    options: RunOptions,
    precision: Precision,
    run_dir: Path,
    progress: Callable[[str], None],
    keep: Keep,
) -> tuple[int, PrecisionCheck]:
    """The pilot, then rounds of one replication per worker, until the rule holds at
    some replication count (the smallest, judged in index order) or the cap is reached;
    returns that count. Replications already kept (a resumed run) are used as they are."""
    judged = precision.min_replications - 1  # counts below the pilot are never judged
    have = 0
    while True:
        kept = finished_parts(run_dir)
        while have in kept:  # the replications kept so far without a gap
            have += 1
        want = max(
            precision.min_replications, min(have + options.workers, precision.max_replications)
        )
        _run_missing(options, want, run_dir, progress, keep, total=want)
        have = want
        values = finished_parts(run_dir)
        for count in range(judged + 1, want + 1):
            verdict = check(
                precision,
                {
                    n: [values[i]["metrics"].get(n, math.nan) for i in range(count)]
                    for n in precision.metrics
                },
            )
            if verdict.met:
                progress(
                    f"precision reached with {count} replications: {verdict.describe(precision)}"
                )
                return count, verdict
        judged = want
        if judged >= precision.max_replications:
            progress(
                f"precision NOT reached with {judged} replications (the cap): "
                f"{verdict.describe(precision)}"
            )
            return judged, verdict
        progress(f"after {judged} replications: {verdict.describe(precision)}")


def _progress_line(done: int, total: int, output: ReplicationOutput) -> str:
    width = 20
    filled = round(width * done / total)
    bar = "#" * filled + "." * (width - filled)
    return f"[{bar}] replication {done}/{total} done ({output.wall_s:.1f} s)"


def run_scenario(
    options: RunOptions,
    *,
    out_root: Path,
    progress: Callable[[str], None],
    command: str = "",
    run_dir: Path | None = None,
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """Run every replication and write the run folder; returns it and the summary metrics.

    With ``run_dir`` (a folder an earlier, interrupted run of the same options left),
    only the replications it lacks are run. Interrupted, the folder keeps every
    replication that finished and its manifest says how to resume."""
    started = time.perf_counter()
    if run_dir is None:
        run_dir = new_run_dir(options.scenario.name, root=out_root)
        write_manifest(run_dir, status="running", **settings(options, command))
    else:
        kept = finished_parts(run_dir)
        progress(f"resuming {run_dir}: {len(kept)} replication(s) kept, running the rest")

    def keep(output: ReplicationOutput) -> None:
        keep_replication(run_dir, output)

    precision_report: dict[str, Any] | None = None
    try:
        if options.precision is None:
            count = options.replications
            _run_missing(options, count, run_dir, progress, keep, total=count)
        else:
            count, verdict = _run_to_precision(options, options.precision, run_dir, progress, keep)
            precision_report = verdict.manifest(options.precision)
    except KeyboardInterrupt:
        kept = finished_parts(run_dir)
        update_manifest(run_dir, status="interrupted", replications_kept=sorted(kept))
        raise RunInterrupted(run_dir, len(kept)) from None
    summary, problems = finish(run_dir, options, count, precision_report, started)
    if problems:
        raise InvariantBroken(
            f"{len(problems)} invariant(s) broken, first: {problems[0]} ({run_dir})"
        )
    return run_dir, summary


def options_to_resume(run_dir: Path, *, workers: int, show_progress: bool) -> RunOptions:
    """The options an interrupted run was started with, from its manifest."""
    import json

    manifest = json.loads((run_dir / "manifest.json").read_text())
    asked = manifest.get("precision_asked")
    return RunOptions(
        scenario=from_dict(manifest["scenario_resolved"], source=str(run_dir / "manifest.json")),
        replications=manifest.get("replications_asked") or 1,
        seed=manifest["seed"],
        scale=manifest["scale"],
        horizon_days=manifest["horizon_days"],
        workers=workers,
        show_progress=show_progress,
        precision=None
        if asked is None
        else Precision(
            asked["relative_error"],
            tuple(asked["metrics"]),
            asked["min_replications"],
            asked["max_replications"],
        ),
        table_format=manifest.get("table_format", "parquet"),
    )
