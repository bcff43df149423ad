"""The runner: replications of a scenario, in parallel processes, into a run folder.

Each replication draws its own seed from one ``SeedSequence(seed)``, builds its
own population and its own system (a scratch database and stores), runs the
county model through the in-process driver, checks the system's invariants on
the system's own database, and returns flat records. The parent writes one CSV
per record type (with a ``replication`` column), ``summary.json`` (mean, sd and
95% t-interval over replications) and ``manifest.json``. The same seed gives
byte-identical tables whatever the number of worker processes.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import numpy as np

from results.runfolder import metric, new_run_dir, write_manifest, write_summary, write_table
from scenarios.loader import resolved_dict
from scenarios.schema import Scenario
from sim.core.calibration import calibration_outputs
from sim.core.invariants import check_record_invariants
from sim.core.metrics import METRIC_UNITS, replication_metrics
from sim.core.model import CountyModel
from sim.core.records import ModelResult
from sim.core.scenario_params import MIN_PER_DAY, replication_inputs
from sim.drivers.inprocess import InProcessDriver, system_policy
from sim.drivers.invariants import check_system_invariants
from sim.drivers.scratch import scratch_dir
from sim.precision import Precision, PrecisionCheck, check


class InvariantBroken(RuntimeError):
    """The system's own records contradict a rule the model relies on."""


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


@dataclass(frozen=True)
class ReplicationOutput:
    index: int
    seed: int
    tables: dict[str, list[dict[str, Any]]]
    metrics: dict[str, float]
    invariant_problems: tuple[str, ...]
    wall_s: float


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
        driver = InProcessDriver(Path(scratch), start=start, policy=system_policy(params))
        try:
            model = CountyModel(population, params, driver, seed=seed)
            result = model.run(
                options.horizon_days * MIN_PER_DAY,
                progress=_stoppable(
                    _reporter(index, options, started) if options.show_progress else None
                ),
            )
            problems = tuple(check_system_invariants(driver.ctx) + check_record_invariants(result))
        finally:
            driver.close()
    return ReplicationOutput(
        index,
        seed,
        {name: [r.to_row() for r in records] for name, records in result.tables().items()},
        replication_metrics(result),
        problems,
        time.perf_counter() - started,
    )


def _reporter(index: int, options: RunOptions, started: float) -> Callable[[float], None]:
    def report(fraction: float) -> None:
        if fraction < 1.0:
            elapsed = time.perf_counter() - started
            left = (
                f", about {_duration(elapsed * (1 - fraction) / fraction)} left" if fraction else ""
            )
            print(
                f"  replication {index + 1}: {fraction:4.0%} of {options.horizon_days:g} days "
                f"({elapsed:.0f} s{left})",
                file=sys.stderr,
                flush=True,
            )

    return report


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _run_all(
    options: RunOptions, seeds: list[int], progress: Callable[[str], None], *, first: int = 0
) -> list[ReplicationOutput]:
    """Replications ``first``, ``first + 1``, ... with the given seeds, in index order;
    progress counts them out of ``first + len(seeds)``."""
    outputs: list[ReplicationOutput] = []
    indexed = list(enumerate(seeds, start=first))
    total = first + len(seeds)
    if options.workers <= 1 or len(seeds) == 1:
        with _terminable_here():
            for index, seed in indexed:
                outputs.append(run_replication(options, index, seed))
                progress(_progress_line(first + len(outputs), total, outputs[-1]))
        return outputs
    with ProcessPoolExecutor(
        max_workers=min(options.workers, len(seeds)), initializer=_stop_when_terminated
    ) as pool:
        futures = [pool.submit(run_replication, options, i, s) for i, s in indexed]
        try:
            for future in as_completed(futures):
                outputs.append(future.result())
                progress(_progress_line(first + len(outputs), total, outputs[-1]))
        except BaseException:  # interrupted, or a replication failed: stop the others now
            pool.shutdown(wait=False, cancel_futures=True)
            for child in multiprocessing.active_children():
                child.terminate()
            raise
    return sorted(outputs, key=lambda o: o.index)


def _run_to_precision(
    options: RunOptions, precision: Precision, progress: Callable[[str], None]
) -> tuple[list[ReplicationOutput], PrecisionCheck]:
    """The pilot, then rounds of one replication per worker, until the rule holds at
    some replication count (the smallest, judged in index order) or the cap is reached."""
    outputs: list[ReplicationOutput] = []
    judged = precision.min_replications - 1  # counts below the pilot are never judged
    while True:
        have = len(outputs)
        want = max(
            precision.min_replications, min(have + options.workers, precision.max_replications)
        )
        seeds = replication_seeds(options.seed, want)[have:]
        outputs += _run_all(options, seeds, progress, first=have)
        for count in range(judged + 1, len(outputs) + 1):
            verdict = check(
                precision,
                {
                    n: [o.metrics.get(n, math.nan) for o in outputs[:count]]
                    for n in precision.metrics
                },
            )
            if verdict.met:
                progress(
                    f"precision reached with {count} replications: {verdict.describe(precision)}"
                )
                return outputs[:count], verdict
        judged = len(outputs)
        if judged >= precision.max_replications:
            progress(
                f"precision NOT reached with {judged} replications (the cap): "
                f"{verdict.describe(precision)}"
            )
            return outputs, verdict
        progress(f"after {judged} replications: {verdict.describe(precision)}")


def _stop_when_terminated() -> None:
    """In a replication process: the parent decides when to stop (Ctrl-C reaches the
    whole process group, so SIGINT is ignored here); its SIGTERM ends the replication
    as an interrupt would, once, so the scratch folder is removed on the way out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _catch_termination()


def _catch_termination() -> tuple[Any, Any]:
    """SIGTERM interrupts once and leaves the stop flag; an interrupt dropped in a
    garbage-collector callback is not printed. Returns the handler and hook replaced."""
    replaced = signal.signal(signal.SIGTERM, _interrupt_once), sys.unraisablehook
    sys.unraisablehook = _quiet_interrupts
    return replaced


def _quiet_interrupts(unraisable: Any) -> None:
    """An interrupt swallowed in a garbage-collector callback is not an error to print:
    :func:`_stoppable` ends the replication at the next week. Others print as usual."""
    if not isinstance(unraisable.exc_value, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)


_terminated = False  # in a replication process: its parent asked it to stop


def _interrupt_once(_signum: int, _frame: object) -> None:
    global _terminated
    if _terminated:
        return  # one interrupt: a second must not cut the scratch folder's removal short
    _terminated = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def _terminable_here() -> Iterator[None]:
    """Replications in this process stop on SIGTERM as a replication process does: the
    interrupt also leaves the flag :func:`_stoppable` looks at, so one that lands in a
    garbage-collector callback (printed and dropped there) still ends the run."""
    global _terminated
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return
    _terminated = False
    previous, hook = _catch_termination()
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = hook


def _stoppable(report: Callable[[float], None] | None) -> Callable[[float], None]:
    """The model's weekly progress hook, which also ends a replication asked to stop.

    The interrupt raised by the SIGTERM handler can land inside a garbage-collector
    callback, where Python prints it and carries on; the flag it leaves is seen here
    at the next simulated week instead."""

    def tick(fraction: float) -> None:
        if _terminated:
            raise KeyboardInterrupt
        if report is not None:
            report(fraction)

    return tick


def _progress_line(done: int, total: int, output: ReplicationOutput) -> str:
    width = 20
    filled = round(width * done / total)
    bar = "#" * filled + "." * (width - filled)
    return f"[{bar}] replication {done}/{total} done ({output.wall_s:.1f} s)"


def run_scenario(
    options: RunOptions, *, out_root: Path, progress: Callable[[str], None], command: str = ""
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """Run every replication and write the run folder; returns it and the summary metrics."""
    started = time.perf_counter()
    precision_report: dict[str, Any] | None = None
    if options.precision is None:
        seeds = replication_seeds(options.seed, options.replications)
        outputs = _run_all(options, seeds, progress)
    else:
        outputs, verdict = _run_to_precision(options, options.precision, progress)
        seeds = [o.seed for o in outputs]
        precision_report = verdict.manifest(options.precision)
    run_dir = new_run_dir(options.scenario.name, root=out_root)
    for name in ModelResult.TABLES:
        # The record's columns, also for a table no replication recorded a row in.
        columns = ModelResult.record_type(name).COLUMNS
        rows = [{"replication": o.index, **row} for o in outputs for row in o.tables[name]]
        write_table(run_dir, name, rows, ("replication", *columns))
    summary = {
        name: metric(
            [o.metrics[name] for o in outputs if not math.isnan(o.metrics.get(name, math.nan))],
            unit,
        )
        for name, unit in METRIC_UNITS.items()
    }
    write_summary(
        run_dir,
        scenario=options.scenario.name,
        replications=len(outputs),
        metrics=summary,
        calibration=calibration_outputs(summary, county=options.scenario.county.name),
    )
    problems = [f"replication {o.index}: {p}" for o in outputs for p in o.invariant_problems]
    write_manifest(
        run_dir,
        scenario=options.scenario.name,
        scenario_resolved=resolved_dict(options.scenario),
        seed=options.seed,
        replication_seeds=seeds,
        replications=len(outputs),
        precision=precision_report,
        scale=options.scale,
        horizon_days=options.horizon_days,
        workers=options.workers,
        driver="inprocess",
        wall_s=time.perf_counter() - started,
        invariant_problems=problems,
        command=command,
    )
    if problems:
        raise InvariantBroken(
            f"{len(problems)} invariant(s) broken, first: {problems[0]} ({run_dir})"
        )
    return run_dir, summary
