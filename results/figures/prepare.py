"""From a run folder's tables to the data a figure draws (no drawing here).

Everything counts the slice a scaled run counts, as ``summary.json`` does: thefts
in the slice, the cases their reports became and what followed from them, and the
slice's residents' opt-outs (those before the run left out). Times are simulation
minutes from the run's start at midnight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from results.statistics import metric

MIN_PER_HOUR = 60.0
MIN_PER_WEEK = 7 * 24 * 60.0
MILES_PER_DEGREE_LAT = 69.09
"""Miles per degree of latitude (a mean Earth radius of 3,958.8 miles)."""
SEASON_SERIES: tuple[str, ...] = ("thefts", "requests", "notifications", "responses", "opt-outs")


def in_slice_cases(frame: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` (with ``replication`` and ``case_id``) whose case is the slice's."""
    if "in_slice" not in reports.columns or bool(reports["in_slice"].all()):
        return frame
    kept = reports.loc[reports["in_slice"], ["replication", "report_id"]]
    keys = pd.MultiIndex.from_frame(frame[["replication", "case_id"]])
    return frame[keys.isin(pd.MultiIndex.from_frame(kept))]


def first_evidence(evidence: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """One row per (replication, case) with evidence: ``hours`` from the report to the
    case's first evidence item (the smallest ``seen_at_min``) and that item's ``path``."""
    items = in_slice_cases(evidence, reports)
    if items.empty:
        return pd.DataFrame({"replication": [], "case_id": [], "path": [], "hours": []})
    ordered = items.sort_values(["replication", "case_id", "seen_at_min"], kind="stable")
    first = ordered.groupby(["replication", "case_id"], as_index=False, sort=True).first()
    reported = reports[["replication", "report_id", "reported_at_min"]].rename(
        columns={"report_id": "case_id"}
    )
    first = first.merge(reported, on=["replication", "case_id"], how="left", validate="1:1")
    hours = (first["seen_at_min"] - first["reported_at_min"]) / MIN_PER_HOUR
    return pd.DataFrame(
        {
            "replication": first["replication"],
            "case_id": first["case_id"],
            "path": first["path"].astype(str),
            "hours": hours.astype(float),
        }
    )


def weekly(
    *,
    thefts: pd.DataFrame,
    reports: pd.DataFrame,
    moderations: pd.DataFrame,
    notifications: pd.DataFrame,
    responses: pd.DataFrame,
    opt_outs: pd.DataFrame,
    replications: int,
    horizon_days: float,
) -> pd.DataFrame:
    """Per week of the run (``week`` from 0), each of :data:`SEASON_SERIES` averaged over
    ``replications``: thefts, requests published (approved by a moderator, at the
    decision), notifications, responses and opt-outs."""
    if "in_slice" in thefts.columns:
        thefts = thefts[thefts["in_slice"]]
    approved = moderations[moderations["approved"]]
    outs = opt_outs[~opt_outs["before_run"]]
    if "home_in_slice" in outs.columns:
        outs = outs[outs["home_in_slice"]]
    times = {
        "thefts": thefts["at_min"],
        "requests": in_slice_cases(approved, reports)["decided_at_min"],
        "notifications": in_slice_cases(notifications, reports)["notified_at_min"],
        "responses": in_slice_cases(responses, reports)["responded_at_min"],
        "opt-outs": outs["at_min"],
    }
    weeks = max(1, math.ceil(horizon_days * 24 * 60 / MIN_PER_WEEK))
    frame = pd.DataFrame({"week": np.arange(weeks)})
    for name, at_min in times.items():
        index = np.minimum((at_min.to_numpy(dtype=float) // MIN_PER_WEEK).astype(int), weeks - 1)
        counts = np.bincount(index, minlength=weeks).astype(float)
        frame[name] = counts / max(1, replications)
    return frame


def start_date(scenario: dict[str, Any]) -> date | None:
    text = scenario.get("run", {}).get("start_date")
    return date.fromisoformat(str(text)) if text else None


def holiday_peak(scenario: dict[str, Any]) -> tuple[date, date] | None:
    """The holiday peak's first and last day (inclusive), if the scenario has one."""
    deliveries = scenario.get("deliveries", {})
    first, last = (deliveries.get(k) for k in ("holiday_peak_start_date", "holiday_peak_end_date"))
    if not first or not last:
        return None
    return date.fromisoformat(str(first)), date.fromisoformat(str(last))


def day_offset(start: date, day: date) -> float:
    """Days from the run's start (midnight) to the start of ``day``."""
    return float((day - start) / timedelta(days=1))


def misidentifications_by_group(
    identifications: pd.DataFrame, replications: Sequence[int], groups: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Per group, the mean and 95% interval over replications of the wrongly matched
    people (identifications with ``correct`` False); a replication without any counts 0."""
    wrong = identifications[~identifications["correct"]]
    names = list(dict.fromkeys([*groups, *sorted(set(wrong["group"].astype(str)))]))
    counts = wrong.groupby(["group", "replication"]).size()
    summary = {}
    for group in names:
        values = [float(counts.get((group, r), 0)) for r in replications]
        summary[group] = metric(values, "people", (0.0, math.inf))
    return summary


def project_miles(
    lat: np.ndarray, lon: np.ndarray, centre: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Local equirectangular projection: miles east and north of ``centre`` (lat, lon).
    Good to well under 1% across a county."""
    lat0, lon0 = centre
    x = (lon - lon0) * MILES_PER_DEGREE_LAT * math.cos(math.radians(lat0))
    y = (lat - lat0) * MILES_PER_DEGREE_LAT
    return x, y


def county_map_data(
    *,
    homes: pd.DataFrame,
    thefts: pd.DataFrame,
    notifications: pd.DataFrame,
    requests: pd.DataFrame,
    moderations: pd.DataFrame,
    replication: int,
    population: int,
) -> dict[str, Any]:
    """One replication's map in miles around the homes' centre: every home, the thefts'
    homes, the notified households (one point per distinct home) and the published
    requests' circles (centre at the theft's home, radius in miles)."""
    people = homes[homes["replication"] == population]
    centre = (float(people["lat"].mean()), float(people["lon"].mean()))
    x, y = project_miles(people["lat"].to_numpy(), people["lon"].to_numpy(), centre)
    where = pd.DataFrame({"x": x, "y": y}, index=people["home"].to_numpy())

    def at(home_ids: pd.Series) -> pd.DataFrame:
        return where.reindex(home_ids.to_numpy()).dropna()

    own = thefts[thefts["replication"] == replication]
    notified = notifications.loc[notifications["replication"] == replication, "home"]
    published = moderations.loc[
        (moderations["replication"] == replication) & moderations["approved"], "request_id"
    ]
    asked = requests[
        (requests["replication"] == replication) & requests["request_id"].isin(published)
    ]
    home_of_theft = own.set_index("theft_id")["home"]
    circle_homes = home_of_theft.reindex(asked["case_id"].to_numpy())
    circles = where.reindex(circle_homes.to_numpy())
    circles["radius_mi"] = asked["radius_m"].to_numpy() / 1609.344
    return {
        "homes": where,
        "thefts": at(own["home"]),
        "notified": at(notified.drop_duplicates()),
        "circles": circles.dropna().reset_index(drop=True),
        "centre": centre,
    }
