"""Figures over time: report to first evidence (ECDF), the season week by week, and
the load on the system hour by hour.

Each takes the data :mod:`results.figures.prepare` (or :mod:`results.load_profile`)
computes from a run folder, and an optional Axes. Lines carry the SVG id of what
they show (``ecdf:<path>``, ``season:<series>``, ``load:total``).
"""

from __future__ import annotations

import textwrap
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from results.figures.drawing import COLOURS, figure_and_axes, no_data
from results.figures.prepare import SEASON_SERIES, day_offset
from results.tables import number

PATH_LABELS = {
    "platform": "platform request",
    "victim": "victim's own camera",
    "canvass": "canvass",
}


def ecdf_first_evidence(first: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Share of cases with evidence whose first item had arrived, by hours since the
    report; one step line per evidence path of that first item (pooled replications).
    ``first``: :func:`results.figures.prepare.first_evidence`. Each line's points are
    (0, 0), then every case's hours with the cumulative share, then the right edge."""
    figure, ax = figure_and_axes(ax)
    title = "Time from report to a case's first evidence"
    if first.empty:
        no_data(ax, title, "no case received evidence")
        return figure
    longest = max(float(first["hours"].max()), 1.0)
    for path in sorted(set(first["path"]), key=_path_order):
        hours = np.sort(first.loc[first["path"] == path, "hours"].to_numpy(dtype=float))
        share = np.arange(1, len(hours) + 1) / len(hours)
        # From (0, 0) to the right edge, so a path whose cases all had evidence at once
        # (the victim's own camera, at the report) still shows as a line.
        (line,) = ax.step(
            np.concatenate([[min(0.0, hours[0])], hours, [longest * 1.02]]),
            np.concatenate([[0.0], share, [1.0]]),
            where="post",
            color=COLOURS.get(path),
            label=f"{PATH_LABELS.get(path, path)} (n = {len(hours)} cases)",
        )
        line.set_gid(f"ecdf:{path}")
    ax.set_title(title)
    ax.set_xlabel("hours from the report to the case's first evidence item")
    ax.set_ylabel("share of those cases")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(-0.02 * longest, longest * 1.02)
    ax.yaxis.set_major_formatter("{x:.0%}")
    ax.legend(title="path of the first item", loc="lower right")
    ax.grid(alpha=0.3)
    return figure


def _path_order(path: str) -> tuple[int, str]:
    order = list(PATH_LABELS)
    return (order.index(path) if path in order else len(order), path)


def season(
    weekly: pd.DataFrame,
    *,
    start: date | None,
    peak: tuple[date, date] | None,
    ax: Axes | None = None,
) -> Figure:
    """Each series of :data:`SEASON_SERIES` per week (mean over replications), with the
    holiday peak shaded where it falls inside the run. ``weekly``:
    :func:`results.figures.prepare.weekly`. The x axis is days from the start."""
    figure, ax = figure_and_axes(ax)
    title = "The season week by week"
    series = [name for name in SEASON_SERIES if name in weekly.columns]
    if weekly.empty or not weekly[series].to_numpy().any():
        no_data(ax, title, "nothing happened in the run")
        return figure
    days = weekly["week"].to_numpy(dtype=float) * 7 + 3.5  # the middle of each week
    for name in series:
        (line,) = ax.plot(days, weekly[name].to_numpy(), marker="o", markersize=3, label=name)
        line.set_gid(f"season:{name}")
    end_day = len(weekly) * 7.0
    if peak is not None and start is not None:
        first, last = day_offset(start, peak[0]), day_offset(start, peak[1]) + 1
        if first < end_day and last > 0:
            shade = ax.axvspan(
                max(first, 0), min(last, end_day), color="0.85", label="holiday peak", zorder=0
            )
            shade.set_gid("holiday-peak")
    ax.set_xlim(0, end_day)
    # Linear below 1, logarithmic above: notifications outnumber thefts tenfold or more,
    # and a week with none stays on the plot.
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    starting = f" (day 0 = {start.isoformat()})" if start else ""
    ax.set_xlabel(f"days from the run's start{starting}; points at each week's middle")
    ax.set_ylabel("per week (mean over replications)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    ax.grid(alpha=0.3)
    return figure


def load_hourly(
    hourly: pd.DataFrame,
    busiest: dict[str, Any] | None,
    *,
    start: date | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Operations the system served per clock hour (mean over replications), the
    busiest hour marked and its counts written on the plot. ``hourly``:
    :func:`results.load_profile.hourly`; ``busiest``: ``load_profile.json``'s
    ``busiest_hour``."""
    figure, ax = figure_and_axes(ax)
    title = "Load on the system, hour by hour"
    if hourly.empty or not hourly["total"].any():
        no_data(ax, title, "no operation recorded")
        return figure
    days = hourly["hour"].to_numpy(dtype=float) / 24
    (line,) = ax.plot(
        days, hourly["total"].to_numpy(), linewidth=0.8, drawstyle="steps-post", label="all"
    )
    line.set_gid("load:total")
    if busiest is not None:
        at_day = float(busiest["start_min"]) / 1440
        ax.axvline(at_day, color="tab:red", linewidth=1, linestyle="--").set_gid("busiest-hour")
        ax.text(
            0.99,
            0.97,
            _busiest_text(busiest, start),
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize="small",
            bbox={"facecolor": "white", "edgecolor": "tab:red", "alpha": 0.9},
            gid="busiest-hour-text",
        )
    ax.set_title(title)
    starting = f" (day 0 = {start.isoformat()})" if start else ""
    ax.set_xlabel(f"days from the run's start{starting}")
    ax.set_ylabel("operations per hour (mean over replications)")
    ax.set_xlim(0, max(days[-1] + 1 / 24, 1 / 24))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    return figure


def _busiest_text(busiest: dict[str, Any], start: date | None) -> str:
    minutes = float(busiest["start_min"])
    if start is not None:
        moment = (pd.Timestamp(start) + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M")
    else:
        moment = f"minute {number(minutes)}"
    counts = ", ".join(
        f"{name.replace('_', ' ')} {count}"
        for name, count in busiest.get("totals", {}).items()
        if count
    )
    return f"busiest hour: {moment} (replication {busiest['replication']})\n" + textwrap.fill(
        f"{busiest['total']} operations: {counts}", 48
    )
