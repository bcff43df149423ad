"""What every figure shares: a fresh Figure or the caller's Axes, "no data", saving.

Figures are built on :class:`matplotlib.figure.Figure` directly, never through
``pyplot``, so no state leaks from one figure to the next and nothing needs a
display. Saving is deterministic: the same figure gives byte-identical SVG and PNG
(a fixed ``svg.hashsalt``, no date in the metadata, fixed sizes and DPI).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

DPI = 100
"""Dots per inch of the PNGs: a 7 × 4 in figure is 700 × 400 pixels."""
SIZE_IN = (7.0, 4.0)
"""Width and height of a one-panel figure, in inches."""
NO_DATA = "no data"

# One colour per evidence path and per series, from matplotlib's default cycle.
COLOURS = {
    "platform": "tab:blue",
    "victim": "tab:orange",
    "canvass": "tab:green",
}


def figure_and_axes(ax: Axes | None, size_in: tuple[float, float] = SIZE_IN) -> tuple[Figure, Axes]:
    """The caller's Axes and its figure, or a new figure of ``size_in`` with one Axes."""
    if ax is not None:
        return root_figure(ax), ax
    figure = Figure(figsize=size_in, dpi=DPI, layout="constrained")
    return figure, figure.add_subplot()


def figure_and_panels(
    axes: Sequence[Axes] | None,
    panels: int,
    *,
    size_in: tuple[float, float],
    sharex: bool = False,
    vertical: bool = False,
) -> tuple[Figure, list[Axes]]:
    """The caller's ``panels`` Axes, or a new figure with that many side by side
    (stacked when ``vertical``)."""
    if axes is not None:
        if len(axes) != panels:
            raise ValueError(f"expected {panels} Axes, got {len(axes)}")
        return root_figure(axes[0]), list(axes)
    figure = Figure(figsize=size_in, dpi=DPI, layout="constrained")
    rows, columns = (panels, 1) if vertical else (1, panels)
    grid = figure.subplots(rows, columns, sharex=sharex, squeeze=False)
    return figure, [a for row in grid for a in row]


def root_figure(ax: Axes) -> Figure:
    figure = ax.get_figure(root=True)
    assert isinstance(figure, Figure)
    return figure


def no_data(ax: Axes, title: str, why: str = "") -> None:
    """Mark ``ax`` as having nothing to draw: the words "no data" (and why) instead."""
    ax.set_title(title)
    ax.text(
        0.5,
        0.5,
        f"{NO_DATA}\n{why}" if why else NO_DATA,
        ha="center",
        va="center",
        fontsize=14,
        color="0.4",
        transform=ax.transAxes,
        gid="no-data",
    )
    ax.set_xticks([])
    ax.set_yticks([])


def save(figure: Figure, out_dir: Path, figure_id: str) -> tuple[Path, Path]:
    """Write ``<figure_id>.png`` and ``<figure_id>.svg`` into ``out_dir``; byte-identical
    files for the same figure."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{figure_id}.png", out_dir / f"{figure_id}.svg"
    with matplotlib.rc_context(
        {
            "svg.hashsalt": "canvass",  # element ids derive from it, not from a random salt
            "svg.fonttype": "path",  # glyphs as paths: the SVG needs no font
        }
    ):
        figure.savefig(svg, format="svg", metadata={"Date": None})
        figure.savefig(png, format="png", dpi=DPI, metadata={"Date": None, "Software": None})
    return png, svg
