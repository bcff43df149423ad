"""What a load test's report page shows beside its figures: outcome, timings, memory.

Read from the results folder alone: the manifest ``canvass loadtest`` writes
(its outcome and memory summary), the SLO verdict (``slo.json``) and Locust's
final statistics (``*_stats.csv``), from which the journey and PERF-01/02
entries are shown in seconds beside Locust's own figures. A plain Locust
folder, with none of these, shows what it has.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from results.reader import RunFolder
from results.tables import number

TIMED = {
    "journey": "request → first evidence the detective can list",
    "perf-01": "PERF-01 fan-out: approval → notification readable by the resident",
    "perf-02": "PERF-02: a resident shares a clip → evidence visible to the detective",
}
"""The locustfile's timed entries (their Locust type), not routes: what each measures."""
OUTCOME = (
    ("exit status", "exit_code"),
    ("interrupted", "interrupted"),
    ("SLO held", "slo_held"),
    ("reconciled", "reconciled"),
    ("no regression against the baseline", "baseline_held"),
)


def loadtest_context(run: RunFolder) -> dict[str, Any]:
    manifest = run.manifest if (run.path / "manifest.json").is_file() else {}
    return {
        "outcome": [
            (label, _shown(manifest[key]))
            for label, key in OUTCOME
            if manifest.get(key) is not None
        ],
        "verdict": _verdict(run.path / "slo.json"),
        "timed": _timed(run.locust_stats_rows()),
        "memory": [_memory_row(m) for m in manifest.get("memory", [])],
        "files": sorted((p.name, p.stat().st_size) for p in run.path.iterdir() if p.is_file()),
    }


def _shown(value: Any) -> str:
    return (
        {True: "yes", False: "no"}.get(value, str(value)) if isinstance(value, bool) else str(value)
    )


def _verdict(path: Path) -> list[str]:
    try:
        lines = json.loads(path.read_text()).get("lines", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [str(line) for line in lines]


def _seconds(ms: str) -> str:
    try:
        return number(float(ms) / 1000.0)
    except ValueError:
        return ""


def _timed(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    timed = []
    for row in rows:
        if row.get("Type") not in TIMED:
            continue
        timed.append(
            {
                "entry": f"{row['Type']} {row['Name']}",
                "what": TIMED[row["Type"]],
                "count": row.get("Request Count", ""),
                "median_s": _seconds(row.get("50%", "")),
                "p95_s": _seconds(row.get("95%", "")),
                "max_s": _seconds(row.get("Max Response Time", "")),
            }
        )
    return timed


def _memory_row(summary: dict[str, Any]) -> dict[str, str]:
    growth = summary.get("growth_mb_per_h")
    return {
        "process": f"{summary.get('role', '')} {summary.get('pid', '')}",
        "samples": str(summary.get("samples", "")),
        "start_mb": number(float(summary.get("start_mb", 0))),
        "peak_mb": number(float(summary.get("peak_mb", 0))),
        "end_mb": number(float(summary.get("end_mb", 0))),
        "growth": "" if growth is None else f"{float(growth):+.1f}",
        "fitted_s": number(float(summary.get("fitted_s", 0))),
    }
