"""Invariants of one replication's records: checked after every run.

The system's own database is checked separately (:mod:`sim.drivers.invariants`);
these are the model's accounting identities and physical limits.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.core.packed_records import column
from sim.core.records import ModelResult, Record

TOLERANCE = 1e-9


def _gaps(records: Sequence[Record], earlier: str, later: str) -> list[float]:
    """``later - earlier`` for each record, read a column at a time."""
    return [b - a for a, b in zip(column(records, earlier), column(records, later), strict=True)]


def check_record_invariants(result: ModelResult) -> list[str]:
    """Every broken invariant, described; an empty list means all hold."""
    problems: list[str] = []

    def at_most(small: int, large: int, what: str) -> None:
        if small > large:
            problems.append(f"{what}: {small} > {large}")

    cases_with_request = len({r.case_id for r in result.requests if not r.refused_rule})
    at_most(len(result.reports), len(result.thefts), "reports exceed thefts")
    at_most(cases_with_request, len(result.reports), "cases with a request exceed reports")
    at_most(len(result.responses), len(result.notifications), "responses exceed notifications")
    shares = sum(1 for count in column(result.responses, "clips_shared") if count > 0)
    at_most(shares, len(result.responses), "shares exceed responses")
    attempts: dict[int, list[int]] = {}
    for request in result.requests:
        attempts.setdefault(request.case_id, []).append(request.attempt)
    misnumbered = [c for c, seen in attempts.items() if seen != list(range(1, len(seen) + 1))]
    if misnumbered:
        problems.append(f"cases whose requests are not numbered 1, 2, ...: {len(misnumbered)}")
    platform = sum(1 for path in column(result.evidence, "path") if path == "platform")
    at_most(platform, len(result.clip_shares), "platform evidence items exceed clips shared")
    latencies = [
        ("report before theft", [r.reported_at_min - r.theft_at_min for r in result.reports]),
        (
            "case picked up before its report",
            [c.started_at_min - c.reported_at_min for c in result.cases],
        ),
        (
            "moderation before submission",
            [m.decided_at_min - m.queued_at_min for m in result.moderations],
        ),
        (
            "response before notification",
            _gaps(result.responses, "notified_at_min", "responded_at_min"),
        ),
        (
            "delivery before sharing",
            _gaps(result.transfers, "shared_at_min", "delivered_at_min"),
        ),
        ("evidence seen before shared", _gaps(result.evidence, "shared_at_min", "seen_at_min")),
    ]
    for what, values in latencies:
        negative = [v for v in values if v < -TOLERANCE]
        if negative:
            problems.append(
                f"{what}: {len(negative)} negative latencies (min {min(negative):.3g} min)"
            )
    for u in result.utilisation:
        if not -TOLERANCE <= u.utilisation <= 1 + TOLERANCE:
            problems.append(f"utilisation of {u.resource} is {u.utilisation:.4f}, outside [0, 1]")
    return problems
