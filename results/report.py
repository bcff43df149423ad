"""``report.html``: one self-contained page that tells the story of a run folder.

:func:`build_report` rebuilds the figures from the folder alone and renders
``templates/report.html`` (Jinja2) into a single file: the figures embedded as
base64 PNG, the style inline, no script, font or stylesheet from anywhere. A run
folder's report shows what ran, the headline numbers with their 95% intervals and
definitions, every figure that applies with its caption, the calibration outputs
beside their public figures, the parameters that are assumptions to sweep, the
invariant checks and the manifest; a load test's shows its outcome and SLO verdict,
the journey and PERF-01/02 timings, the served processes' memory, its figures and
files (:mod:`results.loadtest_page`).
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import jinja2

from results.figures import Rendered, render_all
from results.loadtest_page import loadtest_context
from results.metrics import REGISTRY
from results.reader import RunFolder, is_na
from results.statistics import FEW_REPLICATIONS, clipped
from results.tables import number
from scenarios.assumptions import assumptions
from scenarios.schema import ScenarioError

FIGURES_DIR = "figures"
BASE_SCENARIO = "nassau"
"""Whose marks to show when a run's own scenario file cannot be found."""


def build_report(run_dir: Path, out_dir: Path | None = None) -> Path:
    """Rebuild the figures of ``run_dir`` into ``<out_dir>/figures/`` and write
    ``<out_dir>/report.html`` (``out_dir`` defaults to the run folder); returns its path.
    Raises :class:`~results.reader.RunFolderError` for a folder it cannot read."""
    run = RunFolder(run_dir)
    out = Path(out_dir) if out_dir is not None else Path(run_dir)
    figures = render_all(run, out / FIGURES_DIR)
    context: dict[str, Any] = {
        "kind": run.kind,
        "folder": Path(run_dir).name,
        "figures": _embedded(figures),
    }
    if run.kind == "run":
        context |= _run_context(run)
    else:
        context |= loadtest_context(run)
    path = out / "report.html"
    path.write_text(_template().render(**context))
    return path


def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("results", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html")


def _embedded(figures: list[Rendered]) -> list[dict[str, Any]]:
    embedded = []
    for figure in figures:
        data = figure.png.read_bytes()
        width, height = struct.unpack(">II", data[16:24])  # the PNG's IHDR chunk
        embedded.append(
            {
                "id": figure.id,
                "caption": figure.caption,
                "src": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
                "width": width,
                "height": height,
            }
        )
    return embedded


def _run_context(run: RunFolder) -> dict[str, Any]:
    manifest, summary = run.manifest, run.summary
    scenario = manifest.get("scenario_resolved", {})
    replications = int(summary.get("replications", manifest.get("replications", 0)))
    return {
        "scenario": manifest.get("scenario", ""),
        "description": scenario.get("description", ""),
        "what_ran": _what_ran(manifest),
        "parameters": _flatten(scenario),
        "headline": _headline(summary["metrics"]),
        "few_replications": replications < FEW_REPLICATIONS,
        "replications": replications,
        "clipped_any": any(clipped(m) for m in summary["metrics"].values()),
        "scale": float(manifest.get("scale", 1.0) or 1.0),
        "calibration": [_calibration(row) for row in summary.get("calibration", [])],
        "assumptions": _assumptions(str(manifest.get("scenario", "")), scenario),
        "invariant_problems": [str(p) for p in manifest.get("invariant_problems", [])],
        "manifest": json.dumps(manifest, indent=2, sort_keys=True),
    }


def _what_ran(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    versions = manifest.get("versions", {})
    rows = [
        ("scenario", manifest.get("scenario")),
        ("status", manifest.get("status")),
        ("replications", manifest.get("replications")),
        ("seed", manifest.get("seed")),
        ("replication seeds", ", ".join(str(s) for s in manifest.get("replication_seeds", []))),
        ("scale", manifest.get("scale")),
        ("horizon (days)", manifest.get("horizon_days")),
        ("driver", manifest.get("driver")),
        ("canvass version", versions.get("canvass")),
        ("git revision", manifest.get("git_revision")),
        ("created", manifest.get("created_at")),
        ("command", manifest.get("command")),
        ("versions", ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))),
    ]
    return [(label, "" if value is None else str(value)) for label, value in rows]


def _flatten(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flatten(value, f"{dotted}.")
        else:
            rows.append((dotted, _value(value)))
    return rows


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _headline(metrics: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    ordered = [name for name in REGISTRY if name in metrics]
    ordered += sorted(name for name in metrics if name not in REGISTRY)
    rows = []
    for name in ordered:
        value, definition = metrics[name], REGISTRY.get(name)
        applies = value.get("applies", True) and not is_na(value.get("mean"))
        interval = value.get("ci95")
        rows.append(
            {
                "name": name,
                "section": definition.section if definition else "",
                "unit": str(value.get("unit", definition.unit if definition else "")),
                "mean": number(float(value["mean"])) if applies else "n/a",
                "ci95": (
                    f"{number(interval[0])} to {number(interval[1])}"
                    + ("*" if clipped(value) else "")
                    if applies and interval
                    else ("—" if applies else "n/a")
                ),
                "n": str(value.get("n", "")),
                "definition": definition.definition if definition else "",
            }
        )
    return rows


def _calibration(row: dict[str, Any]) -> dict[str, str]:
    interval = row.get("ci95")
    low, high = row.get("plausible_range", [None, None])
    mean: Any = row.get("mean")
    return {
        "what": str(row.get("what", row.get("output", ""))),
        "output": str(row.get("output", "")),
        "unit": str(row.get("unit", "")),
        "mean": "n/a" if is_na(mean) else number(float(mean)),
        "ci95": f"{number(interval[0])} to {number(interval[1])}" if interval else "—",
        "range": f"{low} to {high}",
        "within": _within(row.get("within_range")),
        "public_figure": str(row.get("public_figure", "")),
        "mechanism": str(row.get("mechanism", "")),
        "source": str(row.get("source", "")),
    }


def _within(within: Any) -> str:
    return "n/a" if within is None else ("yes" if within else "NO")


def _assumptions(scenario_name: str, resolved: dict[str, Any]) -> dict[str, Any]:
    """The run's values that its scenario's comments mark as assumptions to sweep."""
    note = ""
    try:
        marked = assumptions(scenario_name)
    except (ScenarioError, OSError):
        marked = assumptions(BASE_SCENARIO)
        note = (
            f"The scenario file {scenario_name!r} was not found here; the marks shown are "
            f"those of the shipped base scenario, {BASE_SCENARIO}."
        )
    rows = []
    for item in marked:
        value: Any = resolved
        for part in item.key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        rows.append(
            {
                "key": item.key,
                "value": "(not in this run)" if value is None else _value(value),
                "note": item.note,
                "file": item.file,
            }
        )
    return {"rows": rows, "note": note}
