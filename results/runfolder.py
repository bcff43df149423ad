"""The run-folder contract: ``results/runs/<stamp>-<scenario>/``, and how it is written.

A run folder holds:

- ``manifest.json``: what ran (the scenario as resolved, seeds, versions, git
  revision, command line), its ``status`` (``running`` until every replication is
  in, then ``complete``) and ``tables``: each table's file and column types;
- one table per record type (``thefts.parquet``, ... or ``thefts.csv`` with
  ``--csv``), every replication's rows with a ``replication`` column;
- ``replications``: one row per replication, one column per metric;
- ``homes``: home coordinates, once per distinct population;
- ``summary.json``: ``{"scenario", "replications", "metrics": {NAME: {"mean", "sd",
  "ci95", "ci95_t", "n", "unit", "applies"}}, "calibration": [...]}``;
- ``load_profile.json`` (:mod:`results.load_profile`), figures and ``report.html``.

While a run goes on, each finished replication is kept whole under
``partial/<index>/`` (written to a temporary folder and renamed, so a replication
is either all there or absent); the tables are assembled from those parts in
replication order at the end, so an interrupted run resumed later writes the same
bytes as one that was never interrupted.
"""

from __future__ import annotations

import csv
import json
import math
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from results.metrics import REGISTRY
from results.statistics import metric

DEFAULT_ROOT = Path("results") / "runs"
TableFormat = Literal["parquet", "csv"]
PARTIAL = "partial"

ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "str": pa.string(),
    "bool": pa.bool_(),
}
"""Column type names of ``manifest.json``'s ``tables`` and their Parquet types."""


def new_run_dir(scenario: str, *, root: Path = DEFAULT_ROOT, now: datetime | None = None) -> Path:
    """Create and return a fresh run folder named ``<UTC stamp>-<scenario>``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", scenario).strip("-") or "run"
    path = root / f"{stamp}-{safe}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = root / f"{stamp}-{safe}-{suffix}"
    path.mkdir(parents=True)
    return path


def git_revision(cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def versions(
    packages: Iterable[str] = ("canvass", "simpy", "numpy", "sqlalchemy", "pyarrow"),
) -> dict[str, str]:
    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def write_manifest(run_dir: Path, **fields: Any) -> Path:
    """``manifest.json``: the given fields plus versions, git revision and command line."""
    manifest = {
        "created_at": datetime.now(UTC).isoformat(),
        "command_line": sys.argv,
        "git_revision": git_revision(),
        "versions": versions(),
        **fields,
    }
    return _write_json(run_dir / "manifest.json", manifest)


def update_manifest(run_dir: Path, **fields: Any) -> Path:
    """Add or replace fields of an existing ``manifest.json``."""
    path = run_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(fields)
    return _write_json(path, manifest)


def _write_json(path: Path, body: Any) -> Path:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(body, indent=2, sort_keys=True, default=str) + "\n")
    temporary.replace(path)
    return path


def arrow_table(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> pa.Table:
    """Rows as a typed Arrow table (``columns``: name → int, float, str or bool)."""
    return columns_table({name: [row[name] for row in rows] for name in columns}, columns)


def columns_table(values: Mapping[str, Any], columns: Mapping[str, str]) -> pa.Table:
    """Columns of values (lists or numpy arrays, by name) as a typed Arrow table: a county-
    year's millions of records need no dict per row (``columns`` as for :func:`arrow_table`)."""
    return pa.table(
        {name: pa.array(values[name], type=ARROW_TYPES[kind]) for name, kind in columns.items()}
    )


def write_table(
    run_dir: Path,
    name: str,
    rows: Sequence[Mapping[str, Any]] | pa.Table,
    columns: Sequence[str] | Mapping[str, str],
    *,
    fmt: TableFormat = "csv",
) -> Path:
    """One flat table per record type, with its columns even when there are no rows.
    Parquet needs the column types (a mapping); CSV takes names alone."""
    if fmt == "parquet":
        if not isinstance(columns, Mapping):
            raise TypeError("a Parquet table needs its column types")
        table = rows if isinstance(rows, pa.Table) else arrow_table(rows, columns)
        path = run_dir / f"{name}.parquet"
        pq.write_table(table, path, compression="zstd")
        return path
    records = rows.to_pylist() if isinstance(rows, pa.Table) else rows
    path = run_dir / f"{name}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="raise")
        writer.writeheader()
        for row in records:
            writer.writerow(row)
    return path


def summarise(
    values: Mapping[str, Sequence[float]], *, features: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Every registered metric's statistics over replications, NaN values (undefined in
    a replication) left out; a metric the run's features do not give is n/a."""
    have = frozenset(features)
    summary = {}
    for name, entry in REGISTRY.items():
        if name not in values:
            continue
        applies = entry.applies(have)
        kept = [v for v in values[name] if not math.isnan(v)] if applies else []
        summary[name] = {**metric(kept, entry.unit, entry.natural_range), "applies": applies}
    return summary


def write_summary(
    run_dir: Path,
    *,
    scenario: str,
    replications: int,
    metrics: Mapping[str, dict[str, Any]],
    calibration: Sequence[Mapping[str, Any]] = (),
    scale: float | None = None,
) -> Path:
    """``summary.json``: every metric's statistics, and the calibration outputs (each
    beside its public figure and source) when the run has them."""
    body: dict[str, Any] = {
        "scenario": scenario,
        "replications": replications,
        "metrics": dict(metrics),
    }
    if scale is not None:
        body["scale"] = scale
        if scale < 1:
            body["counts_are"] = (
                f"the simulated slice's ({scale:g} of the county's households); "
                "<metric>_county estimates the whole county"
            )
    if calibration:
        body["calibration"] = [dict(row) for row in calibration]
    path = run_dir / "summary.json"
    path.write_text(json.dumps(body, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return path


def write_replications(
    run_dir: Path,
    rows: Sequence[Mapping[str, Any]],
    metric_names: Sequence[str],
    *,
    fmt: TableFormat,
) -> Path:
    """The ``replications`` table: one row per replication (index and seed), one column
    per metric (NaN where a replication leaves it undefined)."""
    columns = {"replication": "int", "seed": "int"}
    columns |= dict.fromkeys(metric_names, "float")
    return write_table(run_dir, "replications", rows, columns, fmt=fmt)


# --- replications kept as they finish -------------------------------------------------


def part_dir(run_dir: Path, index: int) -> Path:
    return run_dir / PARTIAL / f"{index:05d}"


def write_part(
    run_dir: Path,
    index: int,
    tables: Mapping[str, tuple[Sequence[Mapping[str, Any]] | pa.Table, Mapping[str, str]]],
    output: Mapping[str, Any],
) -> Path:
    """Keep one finished replication: its tables (Parquet) and ``output.json`` (seed,
    metrics with NaN as null, ...), all or nothing."""
    final = part_dir(run_dir, index)
    temporary = final.with_name(final.name + ".tmp")
    if temporary.exists():
        shutil.rmtree(temporary)
    temporary.mkdir(parents=True)
    for name, (rows, columns) in tables.items():
        write_table(temporary, name, rows, columns, fmt="parquet")
    body = dict(output)
    body["metrics"] = {k: None if math.isnan(v) else v for k, v in output["metrics"].items()}
    (temporary / "output.json").write_text(json.dumps(body, sort_keys=True, allow_nan=False))
    temporary.rename(final)
    return final


def finished_parts(run_dir: Path) -> dict[int, dict[str, Any]]:
    """The replications kept so far, by index: their ``output.json`` (metrics back to
    floats, null as NaN)."""
    found = {}
    for folder in sorted((run_dir / PARTIAL).glob("[0-9]*")):
        if folder.name.endswith(".tmp") or not (folder / "output.json").is_file():
            continue
        body = json.loads((folder / "output.json").read_text())
        body["metrics"] = {
            k: math.nan if v is None else float(v) for k, v in body["metrics"].items()
        }
        found[int(folder.name)] = body
    return found


def assemble_table(
    run_dir: Path,
    name: str,
    indices: Sequence[int],
    columns: Mapping[str, str],
    *,
    fmt: TableFormat,
    key: str = "replication",
) -> Path:
    """One table from the parts of ``indices``, in that order, with a ``key`` column
    (the replication) first."""
    pieces = []
    for index in indices:
        path = part_dir(run_dir, index) / f"{name}.parquet"
        if not path.is_file():
            continue
        piece = pq.read_table(path)
        pieces.append(piece.add_column(0, key, pa.array([index] * piece.num_rows, pa.int64())))
    typed = {key: "int", **columns}
    table = pa.concat_tables(pieces) if pieces else arrow_table([], typed)
    return write_table(run_dir, name, table, typed, fmt=fmt)


def remove_parts(run_dir: Path) -> None:
    shutil.rmtree(run_dir / PARTIAL, ignore_errors=True)
