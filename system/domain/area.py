"""Request areas: a circle (centre and radius) or a polygon, measured on the sphere."""

from __future__ import annotations

import math
from dataclasses import dataclass

from system.domain import geo
from system.domain.errors import Problem

MAX_POLYGON_VERTICES = 64


@dataclass(frozen=True)
class CircleArea:
    """A circle on the sphere: centre in degrees, geodesic radius in metres."""

    center_lat: float
    center_lon: float
    radius_m: float

    kind = "circle"

    def area_m2(self) -> float:
        return geo.cap_area_m2(self.radius_m)

    def contains(self, lat: float, lon: float) -> bool:
        return geo.distance_m(self.center_lat, self.center_lon, lat, lon) <= self.radius_m

    def bbox(self) -> geo.BoundingBox:
        return geo.circle_bbox(self.center_lat, self.center_lon, self.radius_m)

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        if not geo.coordinates_ok(self.center_lat, self.center_lon):
            found.append(
                Problem(
                    "area.center",
                    "REQ-03",
                    "centre must be finite coordinates with latitude in [-90, 90] and "
                    "longitude in [-180, 180]",
                )
            )
        if not _finite_number(self.radius_m) or self.radius_m <= 0:
            found.append(
                Problem("area.radius_m", "REQ-03", "radius must be a positive number of metres")
            )
        return found


@dataclass(frozen=True)
class PolygonArea:
    """A simple polygon with great-circle edges; vertices in order, not closed."""

    vertices: tuple[geo.Point, ...]

    kind = "polygon"

    def area_m2(self) -> float:
        return geo.polygon_area_m2(self.vertices)

    def contains(self, lat: float, lon: float) -> bool:
        return geo.point_in_polygon(lat, lon, self.vertices)

    def bbox(self) -> geo.BoundingBox:
        return geo.polygon_bbox(self.vertices)

    def problems(self) -> list[Problem]:
        n = len(self.vertices)
        if not 3 <= n <= MAX_POLYGON_VERTICES:
            return [
                Problem(
                    "area.vertices",
                    "REQ-03",
                    f"a polygon needs 3 to {MAX_POLYGON_VERTICES} vertices (got {n})",
                )
            ]
        bad = [i for i, v in enumerate(self.vertices) if not geo.coordinates_ok(v.lat, v.lon)]
        if bad:
            return [
                Problem(
                    f"area.vertices[{bad[0]}]",
                    "REQ-03",
                    "vertex must be finite coordinates with latitude in [-90, 90] and "
                    "longitude in [-180, 180]",
                )
            ]
        if not geo.polygon_is_simple(self.vertices):
            return [Problem("area.vertices", "REQ-03", "polygon edges must not cross each other")]
        return []


Area = CircleArea | PolygonArea


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
