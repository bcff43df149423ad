"""The regression gate: this run's Locust statistics against an earlier results folder's.

Reads each folder's ``locust_stats.csv`` (Locust's ``--csv`` summary). A route
group's p95 more than ``p95_tolerance`` worse (default 20%) is a regression,
judged only for groups with at least :data:`MIN_REQUESTS` requests in both
runs (fewer make a percentile noise); so is a whole-run throughput (requests/s
of Locust's ``Aggregated`` row) more than ``throughput_tolerance`` lower
(default 10%). Compare runs of the same shape, users and pace: the throughput
is what the users asked for as much as what the system gave.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

STATS_FILE = "locust_stats.csv"
P95_TOLERANCE = 0.20
THROUGHPUT_TOLERANCE = 0.10
MIN_REQUESTS = 20
AGGREGATED = "Aggregated"


class BaselineError(ValueError):
    """A folder without Locust's statistics."""


@dataclass(frozen=True)
class Row:
    requests: int
    p95_ms: float
    per_s: float


@dataclass(frozen=True)
class Regression:
    what: str
    measured: float
    baseline: float
    unit: str

    def __str__(self) -> str:
        return (
            f"regression: {self.what}: measured {self.measured:g} {self.unit}, "
            f"baseline {self.baseline:g} {self.unit}"
        )


def read_stats(folder: Path) -> dict[str, Row]:
    """``"METHOD name"`` (``Aggregated`` for the whole run) to its row."""
    path = folder / STATS_FILE
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        return {
            (row["Name"] if row["Name"] == AGGREGATED else f"{row['Type']} {row['Name']}"): Row(
                int(row["Request Count"]), float(row["95%"] or 0), float(row["Requests/s"] or 0)
            )
            for row in rows
        }
    except (OSError, KeyError, ValueError) as exc:
        raise BaselineError(f"{path}: cannot read Locust's statistics ({exc})") from None


def compare(
    current: dict[str, Row],
    baseline: dict[str, Row],
    *,
    p95_tolerance: float = P95_TOLERANCE,
    throughput_tolerance: float = THROUGHPUT_TOLERANCE,
) -> list[Regression]:
    found: list[Regression] = []
    for name in sorted(set(current) & set(baseline) - {AGGREGATED}):
        now, then = current[name], baseline[name]
        if min(now.requests, then.requests) < MIN_REQUESTS or then.p95_ms <= 0:
            continue
        if now.p95_ms > then.p95_ms * (1 + p95_tolerance):
            found.append(Regression(f"p95 of {name}", now.p95_ms, then.p95_ms, "ms"))
    if AGGREGATED in current and AGGREGATED in baseline:
        now_rate, then_rate = current[AGGREGATED].per_s, baseline[AGGREGATED].per_s
        if now_rate < then_rate * (1 - throughput_tolerance):
            found.append(
                Regression("throughput", round(now_rate, 2), round(then_rate, 2), "requests/s")
            )
    return found
