"""The served system's memory over a load test: each process's resident set size.

Draws from the rows :meth:`results.reader.RunFolder.memory` gives (``seconds``,
``pid``, ``role``, ``rss_mb``), one line per process; a line that keeps
climbing through a long (soak) run is memory the process does not give back.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from results.figures.drawing import figure_and_axes, no_data


def memory_over_time(samples: pd.DataFrame, ax: Axes | None = None) -> Figure:
    figure, ax = figure_and_axes(ax)
    if samples.empty:
        no_data(ax, "Memory", "no memory samples (memory.jsonl)")
        return figure
    for (role, pid), rows in samples.groupby(["role", "pid"], sort=True):
        minutes = rows["seconds"].to_numpy(dtype=float) / 60.0
        (line,) = ax.plot(minutes, rows["rss_mb"], marker=".", label=f"{role} {pid}")
        line.set_gid(f"memory:{pid}")
    ax.set_title("Memory of the served processes (resident set size)")
    ax.set_xlabel("minutes from the first sample")
    ax.set_ylabel("MB")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return figure
