"""Bar figures of summary metrics with their 95% intervals: the two funnels,
staff utilisation, the privacy cost per case and misidentifications by group.

Each bar is a metric's mean over replications and its error bar the clipped 95%
interval ``ci95`` of ``summary.json`` (none with one replication). A metric that
does not apply to the run is labelled "n/a" and drawn as no bar. Bars carry the
SVG id ``bar:<metric>`` and error bars ``ci95:<metric>``, so a test can read back
what was drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from results.figures.drawing import figure_and_axes, no_data
from results.tables import number

CASE_FUNNEL: tuple[tuple[str, str], ...] = (
    ("thefts", "thefts"),
    ("reports", "reported"),
    ("cases_with_request", "with a published request"),
    ("cases_with_share", "with an owner's share"),
    ("cases_with_evidence", "with evidence"),
    ("cases_with_usable_video", "with usable video"),
    ("identifications", "right thief identified\n(with or without video)"),
)
OWNER_FUNNEL: tuple[tuple[str, str], ...] = (
    ("notifications", "owners notified"),
    ("responses", "answered"),
    ("shares", "shared a clip"),
)
UTILISATION: tuple[tuple[str, str], ...] = (
    ("detective_utilisation", "detectives"),
    ("moderator_utilisation", "moderators"),
)
PRIVACY: tuple[tuple[str, str], ...] = (
    ("notifications_per_usable_case", "households notified"),
    ("bystander_clips_per_usable_case", "bystander clips transferred"),
)

Summary = Mapping[str, Mapping[str, Any]]
"""``summary.json``'s ``metrics``: name → {mean, ci95, n, applies, unit, ...}."""


def _bars(
    ax: Axes,
    metrics: Summary,
    rows: Sequence[tuple[str, str]],
    *,
    percent: bool = False,
) -> bool:
    """Horizontal bars, top to bottom, for ``rows`` of (metric, label); False when no
    metric had a value."""
    drawn = False
    labels = []
    for position, (name, label) in enumerate(rows):
        summary = metrics.get(name, {})
        mean = summary.get("mean")
        if not summary.get("applies", True) or mean is None:
            labels.append(f"{label} (n/a)")
            ax.text(0, position, " n/a", va="center", color="0.4")
            continue
        drawn = True
        labels.append(label)
        bars = ax.barh([position], [mean], color="tab:blue", height=0.6)
        bars.patches[0].set_gid(f"bar:{name}")
        text = f"{mean:.0%}" if percent else number(mean)
        interval = summary.get("ci95")
        end = mean
        if interval is not None:
            low, high = interval
            errors = ax.errorbar(
                [mean],
                [position],
                xerr=[[mean - low], [high - mean]],
                fmt="none",
                ecolor="black",
                capsize=4,
                linewidth=1,
            )
            errors.lines[2][0].set_gid(f"ci95:{name}")
            shown = (f"{low:.0%}", f"{high:.0%}") if percent else (number(low), number(high))
            text += f"  ({shown[0]} to {shown[1]})"
            end = high
        ax.annotate(text, (end, position), xytext=(4, 0), textcoords="offset points", va="center")
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.margins(x=0.35)
    ax.set_xlim(0, max(ax.get_xlim()[1], 1.0))  # all zeros still get a readable axis
    ax.spines[["top", "right"]].set_visible(False)
    return drawn


def _replications_note(metrics: Summary, names: Sequence[str]) -> str:
    n = max((int(metrics.get(name, {}).get("n") or 0) for name in names), default=0)
    return f"mean of {n} replication{'s' if n != 1 else ''}; bars: 95% interval"


def funnel_cases(metrics: Summary, ax: Axes | None = None) -> Figure:
    """Cases from theft to identification (summary means, 95% intervals)."""
    return _metric_figure(
        metrics,
        CASE_FUNNEL,
        ax,
        title="Cases: from theft to the right thief identified",
        unit="cases (thefts for the first bar)",
    )


def funnel_owners(metrics: Summary, ax: Axes | None = None) -> Figure:
    """Camera owners from notification to a shared clip (summary means, 95% intervals)."""
    return _metric_figure(
        metrics,
        OWNER_FUNNEL,
        ax,
        title="Camera owners: notified, answered, shared",
        unit="notifications (one per owner per published request)",
    )


def utilisation(metrics: Summary, ax: Axes | None = None) -> Figure:
    """Time-weighted share of each staff pool busy over the run."""
    figure = _metric_figure(
        metrics,
        UTILISATION,
        ax,
        title="Staff utilisation over the run",
        unit="share of the pool busy (time-weighted)",
        percent=True,
    )
    return figure


def privacy(metrics: Summary, ax: Axes | None = None) -> Figure:
    """Households notified and bystander clips transferred per case with usable video."""
    return _metric_figure(
        metrics,
        PRIVACY,
        ax,
        title="Privacy cost per case with usable video",
        unit="per case with usable video",
    )


def _metric_figure(
    metrics: Summary,
    rows: Sequence[tuple[str, str]],
    ax: Axes | None,
    *,
    title: str,
    unit: str,
    percent: bool = False,
) -> Figure:
    figure, ax = figure_and_axes(ax)
    if not _bars(ax, metrics, rows, percent=percent):
        ax.clear()
        no_data(ax, title, "no metric applies or has a value")
        return figure
    ax.set_title(title)
    ax.set_xlabel(f"{unit}\n{_replications_note(metrics, [name for name, _ in rows])}")
    if percent:
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter("{x:.0%}")
    return figure


def group_bars(
    by_group: Mapping[str, Mapping[str, Any]], ax: Axes | None = None, *, title: str, unit: str
) -> Figure:
    """Bars of per-group summaries (``results.statistics.metric`` of each group's
    per-replication values); used for misidentifications by group."""
    figure, ax = figure_and_axes(ax)
    if not by_group:
        no_data(ax, title)
        return figure
    rows = [(group, group) for group in by_group]
    _bars(ax, {group: {**value, "applies": True} for group, value in by_group.items()}, rows)
    ax.set_title(title)
    ax.set_xlabel(f"{unit}\n{_replications_note(by_group, list(by_group))}")
    return figure
