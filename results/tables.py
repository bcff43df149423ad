"""The run's numbers as text: the summary and calibration tables ``canvass run`` prints.

Each metric's mean and clipped 95% interval (:mod:`results.statistics`), "n/a" for
a metric the run's features do not give, and footnotes saying what the numbers
are: whether an interval was clipped to the metric's natural range, whether the
counts are a slice's, and whether there were too few replications to act on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from results.statistics import FEW_REPLICATIONS, clipped


def number(value: float) -> str:
    """Counts as counts (81,240, not 8.124e+04); small values to four significant digits."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def summary_table(metrics: Mapping[str, Mapping[str, Any]], *, scale: float | None = None) -> str:
    """Every metric's mean and 95% interval, one line each, with the footnotes."""
    lines = [f"{'metric':40} {'mean':>14} {'95% CI':>29} unit"]
    any_clipped = False
    for name, m in metrics.items():
        mean, ci = m.get("mean"), m.get("ci95")
        if m.get("applies") is False:
            mean_text, ci_text = "n/a", ""
        else:
            mean_text = "n/a" if not isinstance(mean, int | float) else number(mean)
            ci_text = "" if not isinstance(ci, list) else f"[{number(ci[0])}, {number(ci[1])}]"
            if clipped(dict(m)):
                any_clipped = True
                ci_text += "*"
        lines.append(f"{name:40} {mean_text:>14} {ci_text:>29} {m.get('unit', '')}")
    replications = max((n for m in metrics.values() if isinstance(n := m.get("n"), int)), default=0)
    lines += footnotes(replications, any_clipped=any_clipped, scale=scale)
    return "\n".join(lines)


def footnotes(replications: int, *, any_clipped: bool, scale: float | None) -> list[str]:
    notes = []
    if not replications:
        notes.append("(no replications)")
    else:
        notes.append(f"(mean and 95% t-interval over {replications} replication(s))")
    if replications == 1:
        notes.append(
            "(one replication gives no interval: pass --replications 10, or --precision 0.05 "
            "to add replications until each judged mean is within ±5%)"
        )
    elif 1 < replications < FEW_REPLICATIONS:
        notes.append(
            f"(with {replications} replications the intervals are too wide to act on: pass "
            "--replications 10 or more, or --precision 0.05)"
        )
    if any_clipped:
        notes.append(
            "(* interval clipped to the metric's natural range: counts and times at 0, shares "
            "to [0, 1]; summary.json keeps the t-interval as ci95_t)"
        )
    notes.append("(n/a: the metric needs a feature this run did not have; docs/metrics.md)")
    if scale is not None and scale < 1:
        notes.append(
            f"(counts are the simulated slice's, {scale:g} of the county's households; "
            "<metric>_county estimates the whole county)"
        )
    return notes


def calibration_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Each calibration output beside its plausible range."""
    lines = ["", f"{'calibration output':40} {'mean':>14} {'plausible range':>20} within"]
    for row in rows:
        mean = row["mean"]
        low, high = row["plausible_range"]
        verdict = {True: "yes", False: "NO", None: "n/a"}[row["within_range"]]
        mean_text = "n/a" if mean is None else number(mean)
        lines.append(
            f"{row['output']:40} {mean_text:>14} {number(low) + '-' + number(high):>20} {verdict}"
        )
    lines.append("(public figures and sources: summary.json, calibration; docs/model.md)")
    return "\n".join(lines)
