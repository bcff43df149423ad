"""Reading a run folder: its manifest, summary and every table as a pandas DataFrame.

``RunFolder(path)`` checks what it opens and fails with :class:`RunFolderError`,
whose message names the file and what is wrong with it (a missing summary, a
truncated table, a folder that is not a run folder). Tables are read from Parquet
or CSV, whichever the run wrote, with the column types the manifest records (the
record's own), and their row counts checked against the manifest::

    from results.reader import RunFolder
    run = RunFolder("results/runs/20261204T101500Z-nassau")
    thefts = run.table("thefts")            # one row per theft, every replication
    run.summary["metrics"]["share_rate"]    # {"mean", "sd", "ci95", "ci95_t", ...}
    run.replications                         # one row per replication, one column per metric

A Locust results folder (``*_stats_history.csv``) opens too: ``kind`` is
``"loadtest"``, :meth:`locust_history` reads its history, :meth:`locust_stats_rows`
its final statistics and :meth:`memory` the served processes' memory
(``memory.jsonl``, which ``canvass loadtest --serve`` writes).
"""

from __future__ import annotations

import json
import math
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PANDAS_TYPES = {"int": "int64", "float": "float64", "str": "string", "bool": "bool"}


class RunFolderError(ValueError):
    """A run folder, or a file in it, that cannot be read; the message names the file."""


class RunFolder:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise RunFolderError(f"{self.path}: not a folder (give a run folder's path)")
        self.locust_stats = sorted(self.path.glob("*_stats_history.csv"))
        if not (self.path / "manifest.json").is_file() and not self.locust_stats:
            raise RunFolderError(
                f"{self.path}: not a run folder (no manifest.json; `canvass run` writes one)"
            )

    @property
    def kind(self) -> str:
        """``run`` for a simulation run, ``loadtest`` for a Locust results folder."""
        if (self.path / "manifest.json").is_file():
            return str(self.manifest.get("kind", "run"))
        return "loadtest"

    @cached_property
    def manifest(self) -> dict[str, Any]:
        path = self.path / "manifest.json"
        if not path.is_file():
            return {"kind": "loadtest"} if self.locust_stats else _missing(path)
        return _json_object(path)

    @cached_property
    def summary(self) -> dict[str, Any]:
        path = self.path / "summary.json"
        if not path.is_file():
            status = self.manifest.get("status")
            hint = (
                f" (the run is {status}: finish it with canvass run --resume {self.path})"
                if status in ("running", "interrupted")
                else ""
            )
            raise RunFolderError(f"{path}: missing{hint}")
        body = _json_object(path)
        if not isinstance(body.get("metrics"), dict):
            raise RunFolderError(f"{path}: malformed (no metrics object)")
        return body

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        metrics: dict[str, dict[str, Any]] = self.summary["metrics"]
        return metrics

    @cached_property
    def load_profile(self) -> dict[str, Any] | None:
        path = self.path / "load_profile.json"
        return _json_object(path) if path.is_file() else None

    def table_names(self) -> list[str]:
        declared = self.manifest.get("tables")
        if isinstance(declared, dict):
            return list(declared)
        return sorted({p.stem for p in self.path.glob("*.parquet")} | self._csv_tables())

    def _csv_tables(self) -> set[str]:
        return {p.stem for p in self.path.glob("*.csv") if not p.name.endswith("_history.csv")}

    def has_table(self, name: str) -> bool:
        return self._file(name) is not None

    def _file(self, name: str) -> Path | None:
        for suffix in (".parquet", ".csv"):
            path = self.path / f"{name}{suffix}"
            if path.is_file():
                return path
        return None

    def columns(self, name: str) -> dict[str, str] | None:
        """The table's column types in order, as the manifest lists them (name, type pairs:
        JSON objects do not keep their order here)."""
        declared = self.manifest.get("tables", {}).get(name)
        if not isinstance(declared, dict):
            return None
        try:
            return {str(column): str(kind) for column, kind in declared["columns"]}
        except (KeyError, TypeError, ValueError):
            raise RunFolderError(
                f"{self.path / 'manifest.json'}: malformed columns for table {name!r}"
            ) from None

    def table(self, name: str) -> pd.DataFrame:
        """A table as a DataFrame with its record's column types."""
        path = self._file(name)
        if path is None:
            raise RunFolderError(
                f"{self.path / (name + '.parquet')}: missing (no {name}.parquet or {name}.csv)"
            )
        columns = self.columns(name)
        frame = _read_parquet(path) if path.suffix == ".parquet" else _read_csv(path, columns)
        if columns is not None and list(frame.columns) != list(columns):
            raise RunFolderError(
                f"{path}: columns {list(frame.columns)} are not the manifest's {list(columns)}"
            )
        expected = self.manifest.get("table_rows", {}).get(name)
        if expected is not None and len(frame) != expected:
            raise RunFolderError(
                f"{path}: {len(frame)} rows where the manifest records {expected} "
                "(truncated or changed since the run)"
            )
        return frame

    @property
    def replications(self) -> pd.DataFrame:
        """One row per replication, one column per metric."""
        return self.table("replications")

    def locust_history(self) -> pd.DataFrame:
        """Locust's ``*_stats_history.csv`` (the first one in the folder)."""
        if not self.locust_stats:
            raise RunFolderError(f"{self.path}: no Locust *_stats_history.csv")
        path = self.locust_stats[0]
        try:
            frame = pd.read_csv(path)
        except (ValueError, pd.errors.ParserError) as exc:
            raise RunFolderError(f"{path}: unreadable CSV ({_first_line(exc)})") from None
        if "Timestamp" not in frame.columns:
            raise RunFolderError(f"{path}: not a Locust stats history (no Timestamp column)")
        return frame

    def locust_stats_rows(self) -> list[dict[str, str]]:
        """Locust's final ``*_stats.csv`` rows (beside the history), or none."""
        paths = sorted(self.path.glob("*_stats.csv"))
        if not paths:
            return []
        try:
            frame = pd.read_csv(paths[0], dtype=str, keep_default_na=False)
        except (ValueError, pd.errors.ParserError) as exc:
            raise RunFolderError(f"{paths[0]}: unreadable CSV ({_first_line(exc)})") from None
        return [{str(k): str(v) for k, v in row.items()} for row in frame.to_dict("records")]

    def memory(self) -> pd.DataFrame:
        """``memory.jsonl`` as rows of ``seconds`` (from the first sample), ``pid``,
        ``role`` and ``rss_mb``; empty without the file. A line cut short is skipped."""
        path = self.path / "memory.jsonl"
        rows: list[dict[str, Any]] = []
        if path.is_file():
            for line in path.read_text().splitlines():
                try:
                    sample = json.loads(line)
                except ValueError:
                    continue
                for process in sample.get("processes", []):
                    rows.append(
                        {
                            "at_unix_s": float(sample["at_unix_s"]),
                            "pid": int(process["pid"]),
                            "role": str(process["role"]),
                            "rss_mb": process["rss_kb"] / 1024,
                        }
                    )
        frame = pd.DataFrame(rows, columns=["at_unix_s", "pid", "role", "rss_mb"])
        frame["seconds"] = frame["at_unix_s"] - (frame["at_unix_s"].min() if rows else 0.0)
        return frame

    def feature_set(self) -> frozenset[str]:
        from results.metrics import features_of

        return features_of(self.manifest.get("scenario_resolved", {}))


def _missing(path: Path) -> dict[str, Any]:
    raise RunFolderError(f"{path}: missing")


def _json_object(path: Path) -> dict[str, Any]:
    try:
        body = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path}: unreadable JSON ({_first_line(exc)})") from None
    if not isinstance(body, dict):
        raise RunFolderError(f"{path}: malformed (expected a JSON object)")
    return body


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise RunFolderError(f"{path}: unreadable Parquet ({_first_line(exc)})") from None
    frame: pd.DataFrame = table.to_pandas()
    for name, field in zip(table.column_names, table.schema, strict=True):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            frame[name] = frame[name].astype("string")
    return frame


def _read_csv(path: Path, columns: dict[str, str] | None) -> pd.DataFrame:
    try:
        if columns is None:
            return pd.read_csv(path)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        typed = {}
        for name, kind in columns.items():
            if name not in frame.columns:
                raise RunFolderError(f"{path}: no column {name!r}")
            typed[name] = _typed(frame[name], kind, path, name)
        return pd.DataFrame(typed, columns=list(frame.columns))
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        if isinstance(exc, RunFolderError):
            raise
        raise RunFolderError(f"{path}: unreadable CSV ({_first_line(exc)})") from None


def _typed(values: pd.Series, kind: str, path: Path, name: str) -> pd.Series:
    try:
        if kind == "bool":
            unknown = set(values) - {"True", "False"}
            if unknown:
                raise ValueError(f"not True or False: {sorted(unknown)[:3]}")
            return values == "True"
        if kind in ("int", "float"):
            if (values == "").any():
                raise ValueError("an empty value")
            return values.astype(PANDAS_TYPES[kind])
        return values.astype("string")
    except (ValueError, TypeError) as exc:
        raise RunFolderError(
            f"{path}: column {name!r} is not {kind} ({_first_line(exc)}; truncated?)"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def is_na(value: Any) -> bool:
    """A summary value that is missing or undefined."""
    return value is None or (isinstance(value, float) and math.isnan(value))
