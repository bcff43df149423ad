"""Summary statistics over replications: mean, sd and a 95% interval people can read.

The interval is Student's t over independent replications. A bound outside the
metric's natural range (below 0 for a count or an hour, outside [0, 1] for a
share) is clipped to it: the true value lies in that range, so clipping keeps
the interval's coverage and only removes values that cannot happen. ``ci95`` is
the clipped interval, ``ci95_t`` the t-interval as computed. With one
replication there is no interval (``null``), never a zero-width one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from scipy import stats

FEW_REPLICATIONS = 3
"""Below this many replications the intervals are too wide to act on."""


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom."""
    return float(stats.t.ppf(0.975, df))


def metric(
    values: Sequence[float],
    unit: str,
    natural_range: tuple[float, float] = (-math.inf, math.inf),
) -> dict[str, Any]:
    """Mean, sd and 95% t-interval of replication values, the interval also clipped to
    ``natural_range`` (``ci95``; ``ci95_t`` unclipped); sd and both intervals are null
    when n = 1, everything but n is null when n = 0."""
    n = len(values)
    if n == 0:
        return {"mean": None, "sd": None, "ci95": None, "ci95_t": None, "n": 0, "unit": unit}
    mean = sum(values) / n
    if n == 1:
        return {"mean": mean, "sd": None, "ci95": None, "ci95_t": None, "n": 1, "unit": unit}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    low, high = natural_range
    return {
        "mean": mean,
        "sd": sd,
        "ci95": [max(low, mean - half), min(high, mean + half)],
        "ci95_t": [mean - half, mean + half],
        "n": n,
        "unit": unit,
    }


def clipped(summary: dict[str, Any]) -> bool:
    """Whether the interval shown was clipped to the metric's natural range."""
    return bool(summary.get("ci95") and summary["ci95"] != summary.get("ci95_t"))
