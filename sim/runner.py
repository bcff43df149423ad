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

from results.load_profile import write_load_profile
from results.metrics import features_of
from results.runfolder import (
    TableFormat,
    assemble_table,
    finished_parts,
    new_run_dir,
    remove_parts,
    summarise,
    update_manifest,
    write_manifest,
    write_part,
    write_replications,
    write_summary,
)
from scenarios.loader import from_dict, resolved_dict
from scenarios.schema import Scenario
from sim.core.calibration import calibration_outputs
from sim.core.invariants import check_record_invariants
from sim.core.metrics import METRIC_UNITS, replication_metrics
from sim.core.model import CountyModel
from sim.core.population import Population
from sim.core.records import ModelResult
from sim.core.scenario_params import MIN_PER_DAY, replication_inputs
from sim.drivers.inprocess import InProcessDriver, system_policy
from sim.drivers.invariants import check_system_invariants
from sim.drivers.scratch import scratch_dir
from sim.precision import Precision, PrecisionCheck, check


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
    tables: dict[str, list[dict[str, Any]]]
    metrics: dict[str, float]
    invariant_problems: tuple[str, ...]
    wall_s: float
    population: str  # what determines the population: equal strings, equal homes
    homes: list[dict[str, Any]]  # the population's homes (coordinates), for the map


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
        population=f"{population.county}:{seed}:{options.scale!r}",
        homes=_homes(population),
    )


HOME_COLUMNS = {"home": "int", "lat": "float", "lon": "float", "in_slice": "bool"}


def _homes(population: Population) -> list[dict[str, Any]]:
    return [
        {"home": home, "lat": lat, "lon": lon, "in_slice": in_slice}
        for home, (lat, lon, in_slice) in enumerate(
            zip(
                population.home_lat.tolist(),
                population.home_lon.tolist(),
                population.home_in_slice.tolist(),
                strict=True,
            )
        )
    ]


def table_columns() -> dict[str, dict[str, str]]:
    """Every record table's column types (``homes`` too), as the manifest lists them."""
    columns = {name: ModelResult.record_type(name).column_types() for name in ModelResult.TABLES}
    return {**columns, "homes": HOME_COLUMNS}


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
        with _terminable_here():
            for index, seed in indexed:
                output = run_replication(options, index, seed)
                keep(output)
                done += 1
                progress(_progress_line(done, total, output))
        return
    with ProcessPoolExecutor(
        max_workers=min(options.workers, len(indexed)), initializer=_stop_when_terminated
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
        write_manifest(run_dir, status="running", **_settings(options, command))
    else:
        kept = finished_parts(run_dir)
        progress(f"resuming {run_dir}: {len(kept)} replication(s) kept, running the rest")

    def keep(output: ReplicationOutput) -> None:
        columns = table_columns()
        tables = {name: (rows, columns[name]) for name, rows in output.tables.items()}
        tables["homes"] = (output.homes, HOME_COLUMNS)
        write_part(
            run_dir,
            output.index,
            tables,
            {
                "index": output.index,
                "seed": output.seed,
                "metrics": output.metrics,
                "invariant_problems": list(output.invariant_problems),
                "wall_s": output.wall_s,
                "population": output.population,
            },
        )

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
    summary, problems = _finish(run_dir, options, count, precision_report, started)
    if problems:
        raise InvariantBroken(
            f"{len(problems)} invariant(s) broken, first: {problems[0]} ({run_dir})"
        )
    return run_dir, summary


def _settings(options: RunOptions, command: str) -> dict[str, Any]:
    """What the manifest records from the start: enough to resume the run."""
    return {
        "kind": "run",
        "scenario": options.scenario.name,
        "scenario_resolved": resolved_dict(options.scenario),
        "seed": options.seed,
        "replications_asked": None if options.precision else options.replications,
        "precision_asked": None
        if options.precision is None
        else {
            "relative_error": options.precision.relative_error,
            "metrics": list(options.precision.metrics),
            "min_replications": options.precision.min_replications,
            "max_replications": options.precision.max_replications,
        },
        "scale": options.scale,
        "horizon_days": options.horizon_days,
        "workers": options.workers,
        "driver": "inprocess",
        "table_format": options.table_format,
        "command": command,
        "tables": {
            name: {
                "file": f"{name}.{options.table_format}",
                "columns": [["replication", "int"], *([k, v] for k, v in c.items())],
            }
            for name, c in {**table_columns(), "replications": _replication_columns()}.items()
        },
    }


def _replication_columns() -> dict[str, str]:
    """The ``replications`` table's columns after its ``replication`` key."""
    return {"seed": "int", **dict.fromkeys(METRIC_UNITS, "float")}


def _finish(
    run_dir: Path,
    options: RunOptions,
    count: int,
    precision_report: dict[str, Any] | None,
    started: float,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Assemble the run folder from the kept replications ``0 .. count - 1``."""
    parts = finished_parts(run_dir)
    indices = list(range(count))
    outputs = [parts[i] for i in indices]
    fmt = options.table_format
    columns = table_columns()
    for name in ModelResult.TABLES:
        assemble_table(run_dir, name, indices, columns[name], fmt=fmt)
    first_with: dict[str, int] = {}
    for index, output in zip(indices, outputs, strict=True):
        first_with.setdefault(output["population"], index)
    assemble_table(run_dir, "homes", sorted(first_with.values()), HOME_COLUMNS, fmt=fmt)
    write_replications(
        run_dir,
        [
            {"replication": i, "seed": o["seed"], **o["metrics"]}
            for i, o in zip(indices, outputs, strict=True)
        ],
        list(METRIC_UNITS),
        fmt=fmt,
    )
    scenario = resolved_dict(options.scenario)
    summary = summarise(
        {name: [o["metrics"].get(name, math.nan) for o in outputs] for name in METRIC_UNITS},
        features=features_of(scenario),
    )
    write_summary(
        run_dir,
        scenario=options.scenario.name,
        replications=count,
        metrics=summary,
        calibration=calibration_outputs(summary, county=options.scenario.county.name),
        scale=options.scale,
    )
    problems = [
        f"replication {i}: {p}"
        for i, o in zip(indices, outputs, strict=True)
        for p in o["invariant_problems"]
    ]
    rows = {
        name: _rows(run_dir, name, fmt) for name in (*ModelResult.TABLES, "homes", "replications")
    }
    update_manifest(
        run_dir,
        status="complete",
        replication_seeds=[o["seed"] for o in outputs],
        replications=count,
        precision=precision_report,
        homes_of_replication={
            str(i): first_with[o["population"]] for i, o in zip(indices, outputs, strict=True)
        },
        wall_s=time.perf_counter() - started,
        replication_wall_s=[o["wall_s"] for o in outputs],
        invariant_problems=problems,
        table_rows=rows,
    )
    write_load_profile(run_dir)
    remove_parts(run_dir)
    return summary, problems


def _rows(run_dir: Path, name: str, fmt: TableFormat) -> int:
    path = run_dir / f"{name}.{fmt}"
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as handle:
        return max(0, sum(1 for _ in handle) - 1)


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
