"""The runner's side of the run-folder contract: what a run records from its start,
each replication kept as it finishes, and the folder assembled at the end.

The contract itself (files, formats, parts) is :mod:`results.runfolder`; this
module knows the model's tables and metrics and fills it. A manifest written at
the start holds everything needed to resume the run (:func:`settings`), so an
interrupted run's folder is enough to finish it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from results.load_profile import write_load_profile
from results.metrics import features_of
from results.runfolder import (
    TableFormat,
    assemble_table,
    columns_table,
    finished_parts,
    remove_parts,
    summarise,
    update_manifest,
    write_part,
    write_replications,
    write_summary,
)
from scenarios.loader import resolved_dict
from sim.core.calibration import calibration_outputs
from sim.core.metrics import METRIC_UNITS
from sim.core.packed_records import PackedRecords, column
from sim.core.population import Population
from sim.core.records import ModelResult
from sim.usage import peak_rss_mb

if TYPE_CHECKING:
    from sim.runner import ReplicationOutput, RunOptions


HOME_COLUMNS = {"home": "int", "lat": "float", "lon": "float", "in_slice": "bool"}


def homes_of(population: Population) -> pa.Table:
    """The population's homes as a table, built from its arrays (a dict per home cost
    about 160 MB for Nassau's 456,076)."""
    return columns_table(
        {
            "home": np.arange(population.n_homes, dtype=np.int64),
            "lat": population.home_lat,
            "lon": population.home_lon,
            "in_slice": population.home_in_slice,
        },
        HOME_COLUMNS,
    )


def replication_tables(result: ModelResult) -> dict[str, pa.Table]:
    """Every record table of one replication, typed as the manifest lists it (a packed
    table's columns go straight to Arrow, with no record built)."""
    tables = {}
    for name, records in result.tables().items():
        types = ModelResult.record_type(name).column_types()
        if isinstance(records, PackedRecords):
            tables[name] = columns_table(records.columns(), types)
        else:
            tables[name] = columns_table({c: column(records, c) for c in types}, types)
    return tables


def table_columns() -> dict[str, dict[str, str]]:
    """Every record table's column types (``homes`` too), as the manifest lists them."""
    columns = {name: ModelResult.record_type(name).column_types() for name in ModelResult.TABLES}
    return {**columns, "homes": HOME_COLUMNS}


def keep_replication(run_dir: Path, output: ReplicationOutput) -> None:
    """Keep one finished replication in the folder (all of it or nothing)."""
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
            "peak_rss_mb": output.peak_rss_mb,
            "scratch_mb": output.scratch_mb,
        },
    )


def settings(options: RunOptions, command: str) -> dict[str, Any]:
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


def finish(
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
        **resources(outputs),
        invariant_problems=problems,
        table_rows=rows,
    )
    write_load_profile(run_dir)
    remove_parts(run_dir)
    return summary, problems


def resources(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's peak memory and scratch space, for the manifest: the largest peak
    resident memory of any one process (this one, the worker processes it waited for,
    each replication's process when it ended) and the most any replication's scratch
    folder held, with each replication's own figures (None: kept by an older version)."""
    peaks = [o.get("peak_rss_mb") for o in outputs]
    scratch = [o.get("scratch_mb") for o in outputs]
    processes = [peak_rss_mb(), peak_rss_mb(children=True), *peaks]
    known = [p for p in processes if p is not None]
    return {
        "peak_rss_mb": max(known) if known else None,
        "scratch_mb": max((s for s in scratch if s is not None), default=None),
        "replication_peak_rss_mb": peaks,
        "replication_scratch_mb": scratch,
    }


def _rows(run_dir: Path, name: str, fmt: TableFormat) -> int:
    path = run_dir / f"{name}.{fmt}"
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as handle:
        return max(0, sum(1 for _ in handle) - 1)
