"""The load a run put on the system, and ``load_profile.json`` for the load tests.

The *busiest hour* is defined here, once: the clock hour (counted from the run's
start at midnight) with the most operations the system's users cause, summed over
these operations, each read from a table of the run folder:

======================  ==========================================================
operation               when it happens
======================  ==========================================================
``requests_submitted``  a detective submits a request (``requests.submitted_at_min``,
                        refused ones too: the system answered them)
``moderation_decisions`` a moderator approves or rejects (``moderations.decided_at_min``)
``notifications``       a notification is delivered (``notifications.notified_at_min``)
``answers``             a resident answers (``responses.responded_at_min``)
``clip_uploads``        a camera uploads a clip, the first time it is shared
                        (earliest ``clip_shares.shared_at_min`` of each clip)
``evidence_listings``   a detective lists a case's evidence (``listings.at_min``)
======================  ==========================================================

Counts are of the slice a scaled run counts (its cases and what followed from
them); ``county_factor`` (1 ÷ the scale) turns them into a whole county's. The
busiest hour and day are taken over every replication and name the one they come
from. ``load_profile.json`` is plain JSON, so a locustfile reads it without this
package::

    {"format": "canvass-load-profile/1", "operations": [...], "county_factor": 5.0,
     "counts_are": "...", "busiest_hour": {"replication": 0, "start_min": 480.0,
     "start": "2025-12-01T08:00:00", "minutes": 60, "total": 31,
     "totals": {"answers": 9, ...}, "per_minute": {"answers": [0, 1, ...], ...}},
     "busiest_day": {... "minutes": 1440 ...}}
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from results.reader import RunFolder

FORMAT = "canvass-load-profile/1"
OPERATIONS: tuple[str, ...] = (
    "requests_submitted",
    "moderation_decisions",
    "notifications",
    "answers",
    "clip_uploads",
    "evidence_listings",
)


def operation_times(run: RunFolder) -> pd.DataFrame:
    """Every operation of the slice's cases: columns ``replication``, ``operation``,
    ``at_min`` (sorted by replication, then time)."""
    in_slice = _slice_cases(run)
    pieces = []

    def add(operation: str, frame: pd.DataFrame, column: str) -> None:
        if "case_id" in frame.columns and in_slice is not None:
            keys = pd.MultiIndex.from_arrays([frame["replication"], frame["case_id"]])
            frame = frame[keys.isin(in_slice)]
        pieces.append(
            pd.DataFrame(
                {
                    "replication": frame["replication"].to_numpy(dtype=np.int64),
                    "operation": operation,
                    "at_min": frame[column].to_numpy(dtype=np.float64),
                }
            )
        )

    add("requests_submitted", run.table("requests"), "submitted_at_min")
    add("moderation_decisions", run.table("moderations"), "decided_at_min")
    add("notifications", run.table("notifications"), "notified_at_min")
    add("answers", run.table("responses"), "responded_at_min")
    shares = run.table("clip_shares")
    if in_slice is not None and len(shares):
        case_of = run.table("requests")[["replication", "request_id", "case_id"]]
        shares = shares.merge(case_of, on=["replication", "request_id"], how="left")
    uploads = shares.groupby(["replication", "clip_id"], as_index=False).agg(
        at_min=("shared_at_min", "min"),
        **({"case_id": ("case_id", "first")} if "case_id" in shares.columns else {}),
    )
    add("clip_uploads", uploads, "at_min")
    if run.has_table("listings"):
        add("evidence_listings", run.table("listings"), "at_min")
    frame = pd.concat(pieces, ignore_index=True)
    frame["operation"] = pd.Categorical(frame["operation"], categories=list(OPERATIONS))
    return frame.sort_values(["replication", "at_min"], kind="stable").reset_index(drop=True)


def _slice_cases(run: RunFolder) -> pd.MultiIndex | None:
    """(replication, case_id) of the slice's cases; None when every case is in it."""
    reports = run.table("reports")
    if "in_slice" not in reports.columns or bool(reports["in_slice"].all()):
        return None
    kept = reports[reports["in_slice"]]
    return pd.MultiIndex.from_arrays([kept["replication"], kept["report_id"]])


def hourly(run: RunFolder, operations: pd.DataFrame | None = None) -> pd.DataFrame:
    """Operations per clock hour of the run, averaged over replications: one row per
    hour (``hour`` from the start), one column per operation, and ``total``."""
    ops = operation_times(run) if operations is None else operations
    hours = int(np.ceil(float(run.manifest.get("horizon_days", 0)) * 24)) or 1
    replications = max(1, int(run.manifest.get("replications", 1)))
    table = np.zeros((hours, len(OPERATIONS)))
    codes = ops["operation"].cat.codes.to_numpy()
    index = np.minimum((ops["at_min"].to_numpy() // 60).astype(np.int64), hours - 1)
    np.add.at(table, (index, codes), 1.0)
    frame = pd.DataFrame(table / replications, columns=list(OPERATIONS))
    frame.insert(0, "hour", np.arange(hours))
    frame["total"] = frame[list(OPERATIONS)].sum(axis=1)
    return frame


def busiest(operations: pd.DataFrame, minutes: int) -> dict[str, Any] | None:
    """The ``minutes``-long clock period (aligned to the run's start) with the most
    operations in any one replication, with per-minute counts of each operation."""
    if operations.empty:
        return None
    period = (operations["at_min"].to_numpy() // minutes).astype(np.int64)
    keyed = pd.DataFrame({"replication": operations["replication"].to_numpy(), "period": period})
    counts = keyed.value_counts(sort=False).reset_index(name="n")
    counts = counts.sort_values(["n", "replication", "period"], ascending=[False, True, True])
    top = counts.iloc[0]
    replication, start = int(top["replication"]), int(top["period"]) * minutes
    chosen = operations[
        (operations["replication"] == replication)
        & (operations["at_min"] >= start)
        & (operations["at_min"] < start + minutes)
    ]
    per_minute = {}
    for operation in OPERATIONS:
        times = chosen.loc[chosen["operation"] == operation, "at_min"].to_numpy()
        offsets = np.minimum((times - start).astype(np.int64), minutes - 1)
        per_minute[operation] = np.bincount(offsets, minlength=minutes).astype(int).tolist()
    totals = {op: int(sum(values)) for op, values in per_minute.items()}
    return {
        "replication": replication,
        "start_min": float(start),
        "minutes": minutes,
        "total": int(sum(totals.values())),
        "totals": totals,
        "per_minute": per_minute,
    }


def load_profile(run: RunFolder) -> dict[str, Any]:
    operations = operation_times(run)
    scale = float(run.manifest.get("scale", 1.0) or 1.0)
    start = _start_date(run)
    profile: dict[str, Any] = {
        "format": FORMAT,
        "operations": list(OPERATIONS),
        "counts_are": "the slice's operations (a whole county's at scale 1); multiply by "
        "county_factor for a whole county's",
        "county_factor": 1.0 / scale,
        "scale": scale,
        "replications": int(run.manifest.get("replications", 1)),
        "definition": "the clock hour (day) from the run's start with the most operations "
        "of any one replication",
    }
    for name, minutes in (("busiest_hour", 60), ("busiest_day", 1440)):
        found = busiest(operations, minutes)
        if found is not None and start is not None:
            found["start"] = (start + timedelta(minutes=found["start_min"])).isoformat()
        profile[name] = found
    return profile


def _start_date(run: RunFolder) -> datetime | None:
    text = run.manifest.get("scenario_resolved", {}).get("run", {}).get("start_date")
    if not text:
        return None
    day = date.fromisoformat(str(text))
    return datetime(day.year, day.month, day.day)


def write_load_profile(run_dir: Path) -> Path:
    path = run_dir / "load_profile.json"
    path.write_text(json.dumps(load_profile(RunFolder(run_dir)), sort_keys=True) + "\n")
    return path
