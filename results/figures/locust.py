"""A Locust results folder over time: requests and failures per second, latency.

Reads Locust's own ``*_stats_history.csv`` (Locust 2.x columns), its
``Aggregated`` rows: one row per second of the test, ``N/A`` where no request had
finished yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from results.figures.drawing import figure_and_panels, no_data

PERCENTILES: tuple[str, ...] = ("50%", "95%", "99%")


def aggregated(history: pd.DataFrame) -> pd.DataFrame:
    """The ``Aggregated`` rows with ``seconds`` from the first, numbers as floats
    (``N/A`` as NaN)."""
    rows = history[history["Name"] == "Aggregated"].copy()
    if rows.empty:
        return rows.assign(seconds=pd.Series(dtype=float))
    for column in ("Requests/s", "Failures/s", "User Count", *PERCENTILES):
        rows[column] = pd.to_numeric(rows[column], errors="coerce")
    rows["seconds"] = rows["Timestamp"] - rows["Timestamp"].iloc[0]
    return rows.reset_index(drop=True)


def locust_history(history: pd.DataFrame, axes: Sequence[Axes] | None = None) -> Figure:
    """Three panels sharing time: requests/s (and users), failures/s, latency
    percentiles. ``history``: Locust's ``*_stats_history.csv`` as read."""
    figure, (rates, failures, latency) = figure_and_panels(
        axes, 3, size_in=(7.0, 6.5), sharex=True, vertical=True
    )
    rows = aggregated(history)
    if rows.empty:
        for ax, title in zip(
            (rates, failures, latency), ("Requests", "Failures", "Latency"), strict=True
        ):
            no_data(ax, title, "no Aggregated rows in the stats history")
        return figure
    seconds = rows["seconds"].to_numpy(dtype=float)
    (line,) = rates.plot(seconds, rows["Requests/s"], color="tab:blue", label="requests/s")
    line.set_gid("locust:requests")
    users = rates.twinx()
    users.plot(seconds, rows["User Count"], color="0.5", linestyle=":", label="users")
    users.set_ylabel("users")
    users.set_ylim(bottom=0)
    rates.set_ylabel("requests/s")
    rates.set_title("Load test over time (Locust, all endpoints)")
    (line,) = failures.plot(seconds, rows["Failures/s"], color="tab:red")
    line.set_gid("locust:failures")
    failures.set_ylabel("failures/s")
    for percentile in PERCENTILES:
        (line,) = latency.plot(seconds, rows[percentile], label=f"{percentile} of requests")
        line.set_gid(f"locust:p{percentile.rstrip('%')}")
    latency.set_ylabel("latency (ms)")
    latency.set_xlabel("seconds from the start of the test")
    latency.legend(loc="lower right", fontsize="small", title="percentile (recent requests)")
    for ax in (rates, failures, latency):
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    rates.legend([rates.lines[0], users.lines[0]], ["requests/s", "users"], loc="lower right")
    return figure
