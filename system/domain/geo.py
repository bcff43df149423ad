"""Geometry on the sphere for request areas.

All distances are in metres, areas in square metres unless a name says
otherwise, and coordinates in decimal degrees (WGS84 latitude/longitude on a
sphere of the mean Earth radius). Areas are exact on the sphere: a circle is
a spherical cap and a polygon's area is its spherical excess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), metres."""

SQ_M_PER_SQ_MI = 2_589_988.110336
"""Square metres in one international square mile."""


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


@dataclass(frozen=True)
class BoundingBox:
    """A latitude/longitude box that contains an area (never crosses the antimeridian)."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


def coordinates_ok(lat: float, lon: float) -> bool:
    """True when ``lat``/``lon`` are finite and within [-90, 90] × [-180, 180]."""
    return (
        isinstance(lat, int | float)
        and isinstance(lon, int | float)
        and math.isfinite(lat)
        and math.isfinite(lon)
        and -90.0 <= lat <= 90.0
        and -180.0 <= lon <= 180.0
    )


def distance_m(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Great-circle distance by the haversine formula, metres."""
    p1, p2 = math.radians(a_lat), math.radians(b_lat)
    dp = p2 - p1
    dl = math.radians(b_lon - a_lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def cap_area_m2(radius_m: float) -> float:
    """Area of a spherical cap (a circle on the sphere) of geodesic radius ``radius_m``."""
    # 1 - cos(x) written as 2 sin²(x/2): no cancellation for the tiny angles of requests.
    half = math.sin(radius_m / EARTH_RADIUS_M / 2)
    return 4 * math.pi * EARTH_RADIUS_M**2 * half * half


def cap_radius_for_area_m(area_m2: float) -> float:
    """Inverse of :func:`cap_area_m2`: the radius whose cap has ``area_m2``."""
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(area_m2 / (4 * math.pi * EARTH_RADIUS_M**2)))


def _unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    p, l_ = math.radians(lat), math.radians(lon)
    return (math.cos(p) * math.cos(l_), math.cos(p) * math.sin(l_), math.sin(p))


def polygon_area_m2(vertices: tuple[Point, ...]) -> float:
    """Area of a simple spherical polygon with great-circle edges, square metres.

    Sums signed solid angles of the triangles fanned from the first vertex
    (Van Oosterom & Strackee's formula), which stays accurate for the tiny
    polygons requests use, and works for concave shapes.
    """
    if len(vertices) < 3:
        return 0.0
    a = _unit_vector(vertices[0].lat, vertices[0].lon)
    total = 0.0
    for i in range(1, len(vertices) - 1):
        b = _unit_vector(vertices[i].lat, vertices[i].lon)
        c = _unit_vector(vertices[i + 1].lat, vertices[i + 1].lon)
        cross = (
            b[1] * c[2] - b[2] * c[1],
            b[2] * c[0] - b[0] * c[2],
            b[0] * c[1] - b[1] * c[0],
        )
        triple = a[0] * cross[0] + a[1] * cross[1] + a[2] * cross[2]
        dots = 1 + _dot(a, b) + _dot(b, c) + _dot(c, a)
        total += 2 * math.atan2(triple, dots)
    return abs(total) * EARTH_RADIUS_M**2


def _dot(u: tuple[float, float, float], v: tuple[float, float, float]) -> float:
    return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]


def polygon_is_simple(vertices: tuple[Point, ...]) -> bool:
    """True when no two non-adjacent edges cross (checked in a local plane)."""
    xy = _local_xy(vertices)
    n = len(xy)
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue
            if _segments_cross(xy[i], xy[(i + 1) % n], xy[j], xy[(j + 1) % n]):
                return False
    return True


def _local_xy(vertices: tuple[Point, ...]) -> list[tuple[float, float]]:
    lat0 = sum(v.lat for v in vertices) / len(vertices)
    scale = math.cos(math.radians(lat0))
    return [(v.lon * scale, v.lat) for v in vertices]


def _orient(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
    return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])


def _segments_cross(
    p1: tuple[float, float],
    p2: tuple[float, float],
    q1: tuple[float, float],
    q2: tuple[float, float],
) -> bool:
    d1, d2 = _orient(q1, q2, p1), _orient(q1, q2, p2)
    d3, d4 = _orient(p1, p2, q1), _orient(p1, p2, q2)
    return (d1 * d2 < 0) and (d3 * d4 < 0)


def point_in_polygon(lat: float, lon: float, vertices: tuple[Point, ...]) -> bool:
    """Even-odd test in a local equirectangular plane (exact enough below 1 km)."""
    scale = math.cos(math.radians(sum(v.lat for v in vertices) / len(vertices)))
    x, y = lon * scale, lat
    inside = False
    n = len(vertices)
    for i in range(n):
        xi, yi = vertices[i].lon * scale, vertices[i].lat
        xj, yj = vertices[(i + 1) % n].lon * scale, vertices[(i + 1) % n].lat
        if (yi > y) != (yj > y):
            x_cross = xi + (y - yi) * (xj - xi) / (yj - yi)
            if x < x_cross:
                inside = not inside
    return inside


def circle_bbox(lat: float, lon: float, radius_m: float) -> BoundingBox:
    """The smallest latitude/longitude box containing a circle (with a tiny margin)."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M) * 1.000001
    coslat = max(math.cos(math.radians(lat)), 1e-9)
    dlon = min(180.0, dlat / coslat * 1.000001)
    return BoundingBox(lat - dlat, lat + dlat, lon - dlon, lon + dlon)


def polygon_bbox(vertices: tuple[Point, ...]) -> BoundingBox:
    # Great-circle edges bulge poleward by far less than a metre at request sizes,
    # so a margin of 1e-5 degrees (about 1 m) is ample.
    margin = 1e-5
    return BoundingBox(
        min(v.lat for v in vertices) - margin,
        max(v.lat for v in vertices) + margin,
        min(v.lon for v in vertices) - margin,
        max(v.lon for v in vertices) + margin,
    )


GRID_CELL_DEG = 0.01
"""Side of a location-index cell in degrees (about 1.1 km north-south)."""

_LON_CELLS = 36_001


def grid_cell(lat: float, lon: float) -> int:
    """The location-index cell that holds a point (an integer key for a B-tree index)."""
    return (math.floor(lat / GRID_CELL_DEG) + 9_001) * _LON_CELLS + (
        math.floor(lon / GRID_CELL_DEG) + 18_001
    )


def grid_cells_covering(box: BoundingBox) -> list[int]:
    """Every index cell that meets ``box``: the candidates for an area query."""
    lat_lo, lat_hi = (
        math.floor(box.min_lat / GRID_CELL_DEG),
        math.floor(box.max_lat / GRID_CELL_DEG),
    )
    lon_lo, lon_hi = (
        math.floor(box.min_lon / GRID_CELL_DEG),
        math.floor(box.max_lon / GRID_CELL_DEG),
    )
    return [
        (i + 9_001) * _LON_CELLS + (j + 18_001)
        for i in range(lat_lo, lat_hi + 1)
        for j in range(lon_lo, lon_hi + 1)
    ]
