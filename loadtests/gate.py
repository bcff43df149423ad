"""What the locustfile prints and decides after a run: the SLO gate and the shape's report.

Runs on the process that holds the whole run's statistics (a master, or a
lone Locust): a broken threshold sets exit status :data:`SLO_EXIT_CODE` and is
printed with its measured value and limit; a ``county-hour`` run prints each
operation's achieved total beside the profile's × counties; a ``step`` run
prints the last rate that held (a capacity search that found its limit is not
a failure: its gate is the steps it judged).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from loadtests import slo
from loadtests.profile import OPERATION_ENTRIES, HourProfile

SLO_EXIT_CODE = 3


@dataclass(frozen=True)
class Verdict:
    lines: list[str]
    exit_code: int | None  # None: leave Locust's own exit code


def slo_verdict(entries: Mapping[str, slo.Figures], thresholds: slo.Thresholds) -> Verdict:
    breaches = slo.judge(entries, thresholds)
    if breaches:
        return Verdict([str(b) for b in breaches], SLO_EXIT_CODE)
    groups = sum(1 for f in entries.values() if f.requests)
    return Verdict([f"SLO held: every threshold, over {groups} route groups"], None)


WAITS_ON = {
    "moderation_decisions": "a decision needs a request submitted in the replay",
    "answers": "an answer needs a notification a resident has read",
    "evidence_listings": "a listing needs a live request of the replay's detectives",
}
"""Operations that act on what earlier ones made: short of the profile, they may have
found nothing to act on (a profile's hour can hold decisions on requests from before it)."""


def county_hour_lines(
    entries: Mapping[str, slo.Figures], hour: HourProfile, *, counties: float, speedup: float
) -> list[str]:
    """Each operation: achieved total (Locust's count of its entry) beside the target."""
    lines = [f"county-hour: {counties:g} counties at {speedup:g}x"]
    short = []
    for operation, target in hour.expected(counties=counties).items():
        entry = entries.get(OPERATION_ENTRIES[operation])
        achieved = entry.requests if entry is not None else 0
        share = f"{achieved / target:.0%}" if target else "-"
        if achieved < 0.9 * target:
            short.append(operation)
        lines.append(f"  {operation}: {achieved} achieved, {target:g} in the profile ({share})")
    if short:
        why = "the users could not keep up (raise --users or --canvass-pace)"
        waiting = [WAITS_ON[op] for op in short if op in WAITS_ON]
        if waiting:
            why += f", or had nothing to act on ({'; '.join(waiting)})"
        lines.append(f"  short of the profile: {', '.join(short)}: {why}")
    return lines
