"""Replications until the estimates are precise enough (``canvass run --precision REL``).

The sequential relative-precision rule (Law, *Simulation Modeling and Analysis*,
ch. 9; ``docs/calibration.md#replications``): after a pilot of ``min_replications``,
keep adding replications until, for every chosen metric, the half-width of the
95% t-interval over the replications so far divided by ``|mean|`` is at most
``γ / (1 + γ)``, where ``γ`` is the target relative error; stop at
``max_replications`` whether or not it holds.

The rule is checked after each replication in index order, so the number of
replications (and every table) does not depend on how many processes ran
them: a parallel round that overshoots keeps only the replications up to the
first index at which the rule held. Replication ``i`` has the same seed as in a
fixed ``--replications`` run, so a precision run that stops at ``n`` equals
``--replications n``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from results.statistics import metric
from scenarios.overrides import did_you_mean
from sim.core.metrics import METRIC_UNITS

DEFAULT_METRICS = ("cases_with_usable_video", "share_rate", "notifications_per_request")
"""What planners read first: outcomes, consent and the privacy cost per request."""
DEFAULT_MIN_REPLICATIONS = 10  # calibration#replications: a pilot of n0 >= 10 replications
DEFAULT_MAX_REPLICATIONS = 50


class PrecisionError(ValueError):
    """A precision request that cannot be honoured; the message says what to change."""


@dataclass(frozen=True)
class Precision:
    """Target relative error ``relative_error`` (γ) for each metric in ``metrics``."""

    relative_error: float
    metrics: tuple[str, ...] = DEFAULT_METRICS
    min_replications: int = DEFAULT_MIN_REPLICATIONS
    max_replications: int = DEFAULT_MAX_REPLICATIONS

    def __post_init__(self) -> None:
        if not 0 < self.relative_error < 1:
            raise PrecisionError(
                f"--precision must be a relative error between 0 and 1, such as 0.05 for "
                f"±5% (got {self.relative_error:g})"
            )
        if not self.metrics:
            raise PrecisionError("--precision needs at least one metric to judge")
        for name in self.metrics:
            if name not in METRIC_UNITS:
                raise PrecisionError(
                    f"unknown metric {name!r} for --precision-metric"
                    f"{did_you_mean(name, METRIC_UNITS) or '; see summary.json for the names'}"
                )
        if self.min_replications < 2:
            raise PrecisionError(
                f"--min-replications must be at least 2 to estimate an interval "
                f"(got {self.min_replications})"
            )
        if self.max_replications < self.min_replications:
            raise PrecisionError(
                f"--max-replications ({self.max_replications}) must be at least "
                f"--min-replications ({self.min_replications})"
            )

    @property
    def threshold(self) -> float:
        """The largest half-width / |mean| that meets the target: γ / (1 + γ)."""
        return self.relative_error / (1 + self.relative_error)


@dataclass(frozen=True)
class PrecisionCheck:
    """The rule judged on the first ``replications`` replications."""

    replications: int
    relative_half_widths: dict[str, float]  # inf where no relative width exists yet
    met: bool

    def manifest(self, precision: Precision) -> dict[str, Any]:
        """The run manifest's account (inf widths as null: JSON has no inf)."""
        return {
            "relative_error": precision.relative_error,
            "threshold": precision.threshold,
            "metrics": list(precision.metrics),
            "min_replications": precision.min_replications,
            "max_replications": precision.max_replications,
            "met": self.met,
            "replications": self.replications,
            "relative_half_widths": {
                name: None if math.isinf(width) else width
                for name, width in self.relative_half_widths.items()
            },
        }

    def describe(self, precision: Precision) -> str:
        widths = ", ".join(
            f"{name} ±{_percent(width)}" for name, width in self.relative_half_widths.items()
        )
        return f"{widths} (target ±{_percent(precision.threshold)})"


def relative_half_width(values: Sequence[float]) -> float:
    """Half-width of the 95% t-interval over ``|mean|``, NaN values left out (as in the
    summary). 0 when every value is the same; inf with fewer than two values or a zero
    mean with spread (no relative precision is possible there)."""
    summary = metric([v for v in values if not math.isnan(v)], "")
    if summary["ci95"] is None:
        return math.inf
    half = (summary["ci95"][1] - summary["ci95"][0]) / 2
    if half == 0:
        return 0.0
    mean = abs(summary["mean"])
    return half / mean if mean > 0 else math.inf


def check(precision: Precision, values: Mapping[str, Sequence[float]]) -> PrecisionCheck:
    """Judge the rule on replication values per metric (every metric of ``precision``)."""
    widths = {name: relative_half_width(values[name]) for name in precision.metrics}
    replications = max((len(v) for v in values.values()), default=0)
    met = replications >= precision.min_replications and all(
        width <= precision.threshold for width in widths.values()
    )
    return PrecisionCheck(replications, widths, met)


def _percent(width: float) -> str:
    return "inf" if math.isinf(width) else f"{100 * width:.2f}%"
