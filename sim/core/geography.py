"""Distances and places on the sphere the system measures areas on (no randomness).

Coordinates are decimal degrees on a sphere of the mean Earth radius; distances are
metres. :func:`haversine_m` is the system's own formula; :func:`densest_circle`
finds the busiest circle of homes a request could cover (the benchmarks' worst case).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), metres; the same sphere the system measures areas on."""

SQ_KM_PER_SQ_MI = 2.589988110336


@dataclass(frozen=True)
class LatLonBox:
    """A latitude/longitude rectangle, degrees."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.bool_]:
        return (
            (lat >= self.min_lat)
            & (lat <= self.max_lat)
            & (lon >= self.min_lon)
            & (lon <= self.max_lon)
        )


def haversine_m(
    lat: float, lon: float, lats: NDArray[np.float64], lons: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Great-circle distance from one point to many, metres (the system's formula)."""
    p1, p2 = math.radians(lat), np.radians(lats)
    dl = np.radians(lons - lon)
    h = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    distance: NDArray[np.float64] = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return distance


def haversine_one_m(lat: float, lon: float, lat2: float, lon2: float) -> float:
    """:func:`haversine_m` to one point, on Python floats, for the few cameras of one
    resident, where numpy's per-call cost dominates. It is the system's own computation
    to the last bit; numpy's arcsin may differ from the C library's by that bit."""
    p1, p2 = math.radians(lat), math.radians(lat2)
    dl = math.radians(lon2 - lon)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def densest_circle(
    lat: NDArray[np.float64], lon: NDArray[np.float64], radius_m: float, *, cell_m: float = 50.0
) -> tuple[float, float, int]:
    """The centre of the circle of ``radius_m`` holding the most points, and that count.

    Points are binned on a local grid of ``cell_m`` cells and convolved with a disc
    (FFT); the best few cells and sub-cell shifts around the best are then counted
    exactly on the sphere. The count returned is exact for the centre returned.
    """
    if lat.size == 0:
        raise ValueError("no points")
    lat0, lon0 = float(lat.mean()), float(lon.mean())
    coslat = math.cos(math.radians(lat0))
    x = np.radians(lon - lon0) * EARTH_RADIUS_M * coslat
    y = np.radians(lat - lat0) * EARTH_RADIUS_M
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1.0)
    cell = max(cell_m, span / 4000)  # bound the grid for very spread-out inputs
    x_min, y_min = float(x.min()), float(y.min())
    ix = ((x - x_min) / cell).astype(np.int64)
    iy = ((y - y_min) / cell).astype(np.int64)
    nx, ny = int(ix.max()) + 1, int(iy.max()) + 1
    counts = np.bincount(ix * ny + iy, minlength=nx * ny).reshape(nx, ny).astype(np.float64)
    smoothed = _disc_convolve(counts, radius_m / cell)

    def exact(cx: float, cy: float) -> int:
        near = (np.abs(x - cx) <= radius_m * 1.01 + 1) & (np.abs(y - cy) <= radius_m * 1.01 + 1)
        c_lat = lat0 + math.degrees(cy / EARTH_RADIUS_M)
        c_lon = lon0 + math.degrees(cx / (EARTH_RADIUS_M * coslat))
        return int(np.count_nonzero(haversine_m(c_lat, c_lon, lat[near], lon[near]) <= radius_m))

    top = np.argpartition(smoothed.ravel(), -min(8, smoothed.size))[-8:]
    candidates = [((i // ny + 0.5) * cell + x_min, (i % ny + 0.5) * cell + y_min) for i in top]
    bx, by = max(candidates, key=lambda c: exact(*c))
    shifts = np.linspace(-cell, cell, 5)
    bx, by = max(((bx + dx, by + dy) for dx in shifts for dy in shifts), key=lambda c: exact(*c))
    best_lat = lat0 + math.degrees(by / EARTH_RADIUS_M)
    best_lon = lon0 + math.degrees(bx / (EARTH_RADIUS_M * coslat))
    return best_lat, best_lon, exact(bx, by)


def _disc_convolve(grid: NDArray[np.float64], radius_cells: float) -> NDArray[np.float64]:
    """``grid`` convolved with a disc of ``radius_cells`` (same shape), by FFT."""
    k = math.ceil(radius_cells)
    offsets = np.arange(-k, k + 1)
    disc = (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius_cells**2).astype(np.float64)
    shape = (grid.shape[0] + 2 * k, grid.shape[1] + 2 * k)
    full = np.fft.irfft2(np.fft.rfft2(grid, shape) * np.fft.rfft2(disc, shape), shape)
    result: NDArray[np.float64] = full[k : k + grid.shape[0], k : k + grid.shape[1]]
    return result
