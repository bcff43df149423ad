"""The run-folder contract: ``results/runs/<stamp>-<scenario>/``.

A run folder holds ``manifest.json`` (what ran, with which seeds, versions and
command line), one flat CSV per record type, and ``summary.json`` of the form
``{"scenario", "replications", "metrics": {NAME: {"mean", "sd", "ci95", "n", "unit"}}}``.
"""

from __future__ import annotations

import csv
import json
import math
import platform
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from scipy import stats

DEFAULT_ROOT = Path("results") / "runs"


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
    packages: Iterable[str] = ("canvass", "simpy", "numpy", "sqlalchemy"),
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
    path = run_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    return path


def write_table(
    run_dir: Path, name: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> Path:
    """One flat CSV per record type, with a header even when there are no rows."""
    path = run_dir / f"{name}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def metric(values: Sequence[float], unit: str) -> dict[str, Any]:
    """Mean, sd and 95% t-interval of replication values; sd and ci95 are null when n = 1."""
    n = len(values)
    if n == 0:
        return {"mean": None, "sd": None, "ci95": None, "n": 0, "unit": unit}
    mean = sum(values) / n
    if n == 1:
        return {"mean": mean, "sd": None, "ci95": None, "n": 1, "unit": unit}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return {"mean": mean, "sd": sd, "ci95": [mean - half, mean + half], "n": n, "unit": unit}


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom."""
    return float(stats.t.ppf(0.975, df))


def write_summary(
    run_dir: Path,
    *,
    scenario: str,
    replications: int,
    metrics: Mapping[str, dict[str, Any]],
    calibration: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """``summary.json``: every metric's statistics, and the calibration outputs (each
    beside its public figure and source) when the run has them."""
    path = run_dir / "summary.json"
    body: dict[str, Any] = {
        "scenario": scenario,
        "replications": replications,
        "metrics": dict(metrics),
    }
    if calibration:
        body["calibration"] = [dict(row) for row in calibration]
    path.write_text(json.dumps(body, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return path
