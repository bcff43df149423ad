"""Calibration outputs: what a run says beside the public figures it should land near.

Each :class:`Anchor` names a metric of the run (a county-year estimate or a rate),
the public figure it is compared with, the plausible range a default run should
land in, and where the figure comes from (a section of ``docs/calibration.md``,
which gives the public source) and which request mechanism it reflects: the
anchors come from different mechanisms (2018 e-mail Video Requests, 2021-24
Request for Assistance posts, 2025 Community Requests) and from years of lower
camera adoption, so a range, not the figure itself, is what a run is held to.
``docs/model.md`` (Validation) argues for each range. :func:`calibration_outputs`
puts a run's summary beside them; ``summary.json`` carries the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Anchor:
    output: str  # the metric of summary.json compared
    what: str
    figure: str  # the public figure, as published
    low: float  # the plausible range a default run should land in
    high: float
    unit: str
    source: str  # a section of docs/calibration.md, where the public source is given
    mechanism: str  # which request mechanism and year the figure reflects


ANCHORS: tuple[Anchor, ...] = (
    Anchor(
        output="requests_per_year_county",
        what="requests a year (county)",
        figure="22,335 incidents with video requests in the whole US in 2020 (Ring); about 11 "
        "per partner agency-year; Milwaukee, the heaviest user, about 860 a year",
        low=100,
        high=1500,
        unit="requests/yr",
        source="docs/calibration.md#requests",
        mechanism="2020: e-mail Video Requests and the Neighbors app's early posts",
    ),
    Anchor(
        output="notifications_per_request",
        what="camera owners notified per request",
        figure="14.5 (Fort Lauderdale, May-Sep 2018: 22 requests to 319 recipients)",
        low=10,
        high=300,
        unit="owners/request",
        source="docs/calibration.md#requests",
        mechanism="2018 e-mail Video Requests, when doorbell adoption was about a fifth of "
        "today's (4% of internet households in 2017 against 27% now)",
    ),
    Anchor(
        output="response_rate",
        what="response rate of those notified",
        figure="requests 'largely ignored' (Ring on Fort Lauderdale 2018); about 3.5% in a "
        "secondary source that could not be traced",
        low=0.02,
        high=0.20,
        unit="share",
        source="docs/calibration.md#validation",
        mechanism="2018 e-mail Video Requests",
    ),
    Anchor(
        output="reports_share_of_property_crime",
        what="porch-theft reports against the county's reported property crime",
        figure="Nassau about 16,900 property crimes in 2023 (1,217.3 per 100k, DCJS via "
        "Newsday); Suffolk about 20,700 index crimes in 2023",
        low=0.0,
        high=0.5,
        unit="share",
        source="docs/calibration.md#police",
        mechanism="police-recorded crime, any mechanism",
    ),
    Anchor(
        output="identifications_per_report",
        what="identifications (clearances) per report",
        figure="18.4% of larceny-thefts cleared (FBI CIUS 2019); record lows since",
        low=0.08,
        high=0.20,
        unit="share",
        source="docs/calibration.md#workload",
        mechanism="clearance by arrest or exception, per offence known to police",
    ),
)

REPORTED_PROPERTY_CRIME_PER_YEAR: dict[str, float] = {
    "nassau": 16_900.0,  # 2023: 1,217.3 per 100k x 13.88 (hundreds of thousands), DERIVED
    "suffolk": 20_700.0,  # 2023: all index crime, 1,351.3 per 100k x 15.3, DERIVED
}
"""A county's reported property crime a year, for the reports anchor (docs/calibration.md,
#police and #derived); a county missing here gets no such output."""


def calibration_outputs(metrics: dict[str, dict[str, Any]], *, county: str) -> list[dict[str, Any]]:
    """Each anchor beside the run's value (mean and 95% interval, from ``metrics`` as
    summary.json holds them) and whether the mean is inside the plausible range."""
    rows = []
    for anchor in ANCHORS:
        value = metrics.get(anchor.output) or {}
        mean = value.get("mean")
        rows.append(
            {
                "output": anchor.output,
                "what": anchor.what,
                "mean": mean,
                "ci95": value.get("ci95"),
                "plausible_range": [anchor.low, anchor.high],
                "within_range": None if mean is None else anchor.low <= mean <= anchor.high,
                "unit": anchor.unit,
                "public_figure": anchor.figure,
                "source": anchor.source,
                "mechanism": anchor.mechanism,
            }
        )
    return rows
