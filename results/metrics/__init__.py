"""Every metric of a run, defined once: name, unit, definition, numerator, denominator.

The county model computes the values (``sim.core.metrics``), ``results`` summarises
and presents them, and ``docs/metrics.md`` is generated from this table
(``python -m results.metrics > docs/metrics.md``), so the three cannot drift apart.
This package imports nothing else of the project: both the model and ``results``
import it.

A metric's *kind* gives its natural range, which a 95% interval is clipped to
(:mod:`results.statistics`): a ``count``, a ``nonneg`` quantity (hours, costs,
ratios of counts) never below 0, a ``share`` in [0, 1]. A metric that needs a
feature the run did not have (face recognition off, no canvassing, no platform
requests) does not apply to it: the summary says "n/a" for it, not 0.
"""

from __future__ import annotations

from results.metrics.definitions import BASE, PUBLIC_FIGURE_OUTPUTS
from results.metrics.metric import FEATURES, RANGES, Feature, Kind, Metric, features_of

__all__ = [
    "COUNT_METRICS",
    "FEATURES",
    "METRICS",
    "RANGES",
    "REGISTRY",
    "Feature",
    "Kind",
    "Metric",
    "features_of",
]

COUNT_METRICS: tuple[str, ...] = tuple(
    m.name for m in BASE if m.kind == "count" or m.name in ("parcels_delivered", "detective_hours")
)
"""Totals over the slice; each has a county-total estimate ``<name>_county``."""


def _county(base: Metric) -> Metric:
    return Metric(
        name=f"{base.name}_county",
        unit=base.unit,
        kind=base.kind,
        definition=f"{base.definition}, estimated for the whole county "
        "(the slice's count ÷ the slice's share of the county's households)",
        numerator=base.name,
        denominator="the slice's share of the county's households",
        section=base.section,
        needs=base.needs,
        county_estimate_of=base.name,
    )


_BY_NAME = {m.name: m for m in BASE}
METRICS: tuple[Metric, ...] = (
    *BASE,
    *(_county(_BY_NAME[name]) for name in COUNT_METRICS),
    *PUBLIC_FIGURE_OUTPUTS,
)
"""Every metric, in the order of ``summary.json`` and the summary table."""

REGISTRY: dict[str, Metric] = {m.name: m for m in METRICS}
