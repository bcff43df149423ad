"""The county map, drawn offline: no tiles, no network, projected coordinates.

Two panels on the same local projection (miles east and north of the homes'
centre, :func:`results.figures.prepare.project_miles`): where the thefts were, and
which households were notified, each as hexbins over the homes (grey dots), with
the published requests' areas as circles and a scale bar in miles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from matplotlib.ticker import MaxNLocator

from results.figures.drawing import figure_and_panels, no_data

SCALE_BAR_MILES = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
MAX_HOME_DOTS = 20_000
"""Above this many homes the grey dots are a regular subsample (every k-th home)."""


def county_map(data: dict[str, Any], axes: Sequence[Axes] | None = None) -> Figure:
    """Thefts and notified households as hexbins, request areas as circles. ``data``:
    :func:`results.figures.prepare.county_map_data`; ``axes``: two Axes, or None for a
    new figure (the map needs two panels, so it takes two)."""
    figure, panels = figure_and_panels(axes, 2, size_in=(11.0, 5.0))
    homes: pd.DataFrame = data["homes"]
    layers = (
        ("thefts", "Thefts", "Reds", data["thefts"]),
        ("notified", "Households notified", "Blues", data["notified"]),
    )
    if homes.empty:
        for ax, (_key, title, _cmap, _points) in zip(panels, layers, strict=True):
            no_data(ax, title, "no homes in the run folder")
        return figure
    extent = (
        float(homes["x"].min()),
        float(homes["x"].max()),
        float(homes["y"].min()),
        float(homes["y"].max()),
    )
    step = max(1, len(homes) // MAX_HOME_DOTS)
    for ax, (key, title, cmap, points) in zip(panels, layers, strict=True):
        ax.scatter(homes["x"][::step], homes["y"][::step], s=1, color="0.8", linewidths=0)
        if len(points):
            cells = ax.hexbin(
                points["x"],
                points["y"],
                gridsize=25,
                extent=extent,
                mincnt=1,
                cmap=cmap,
                linewidths=0.2,
                # From 0, so a cell with one point is clearly coloured, not white.
                vmin=0,
            )
            cells.set_gid(f"hexbin:{key}")
            counts = cells.get_array()
            cells.set_clim(0, max(1.0, float(counts.max()) if counts is not None else 1.0))
            bar = figure.colorbar(cells, ax=ax, shrink=0.7, label=f"{title.lower()} per cell")
            bar.locator = MaxNLocator(integer=True)
            bar.update_ticks()
        else:
            ax.text(0.5, 0.5, f"no {title.lower()}", transform=ax.transAxes, ha="center")
        _circles(ax, data["circles"])
        ax.set_aspect("equal")
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_title(f"{title} ({len(points)})")
        ax.set_xlabel("miles east of the centre")
        ax.set_ylabel("miles north of the centre")
        _scale_bar(ax, extent)
    return figure


def _circles(ax: Axes, circles: pd.DataFrame) -> None:
    if circles.empty:
        return
    patches = [
        Circle((x, y), r)
        for x, y, r in circles[["x", "y", "radius_mi"]].itertuples(index=False, name=None)
    ]
    collection = PatchCollection(
        patches, facecolor="none", edgecolor="0.2", linewidth=0.5, alpha=0.5
    )
    collection.set_gid("request-areas")
    ax.add_collection(collection)


def _scale_bar(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    """A bar of a round number of miles, about a fifth of the map's width, lower left."""
    x0, x1, y0, y1 = extent
    width, height = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    fitting = [m for m in SCALE_BAR_MILES if m <= width / 4] or [SCALE_BAR_MILES[0]]
    miles = fitting[-1]
    left, bottom = x0 + 0.05 * width, y0 + 0.06 * height
    (bar,) = ax.plot([left, left + miles], [bottom, bottom], color="black", linewidth=3)
    bar.set_gid("scale-bar")
    label = f"{miles:g} mile" + ("" if miles == 1 else "s")
    ax.text(left + miles / 2, bottom + 0.02 * height, label, ha="center", va="bottom")
