"""``summary.json`` rebuilt from the run folder's own files.

The summary is a function of the ``replications`` table (each replication's
metrics), the run's features (from the manifest's resolved scenario) and the
calibration anchors ``summary.json`` already carries (each output's public figure,
range and source, which the model defines). ``canvass report`` rebuilds it this
way, so a summary that does not follow from the tables shows up as a difference,
and a figure drawn from the tables agrees with the numbers beside it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from results.reader import RunFolder, RunFolderError
from results.runfolder import summarise, write_summary


def rebuild_summary(run: RunFolder, out_dir: Path) -> Path:
    """Write ``out_dir/summary.json`` from ``run``'s replications table; the same bytes
    as the run wrote when nothing in the folder changed."""
    old = run.summary
    table = run.replications
    names = [name for name in old["metrics"] if name in table.columns]
    missing = sorted(set(old["metrics"]) - set(names))
    if missing:
        raise RunFolderError(
            f"{run.path / 'replications'}: no column for {missing[0]} "
            f"(and {len(missing) - 1} more); the table does not match summary.json"
            if len(missing) > 1
            else f"{run.path / 'replications'}: no column for {missing[0]}"
        )
    values = {name: [float(v) for v in table[name]] for name in names}
    metrics = summarise(values, features=run.feature_set())
    calibration = [_refreshed(row, metrics) for row in old.get("calibration", [])]
    return write_summary(
        out_dir,
        scenario=str(old["scenario"]),
        replications=len(table),
        metrics=metrics,
        calibration=calibration,
        scale=old.get("scale"),
    )


def _refreshed(row: dict[str, Any], metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A calibration row with the run's value recomputed beside its unchanged anchor."""
    value = metrics.get(row["output"]) or {}
    mean = value.get("mean")
    low, high = row["plausible_range"]
    within = None if mean is None or math.isnan(mean) else low <= mean <= high
    return {**row, "mean": mean, "ci95": value.get("ci95"), "within_range": within}
