"""The counties the population generator knows: their size, shape and town centres.

A county is a rectangle of its true land area (``width × height = land_area``,
``width / height = aspect_ratio``) centred on the county's centre; home density is a
mixture of Gaussian town centres (:class:`TownCentre`) plus a uniform background.
:func:`nassau` and :func:`suffolk` are the two layouts shipped; a scenario naming any
other county is refused (``sim.core.scenario_params.TOWN_LAYOUTS``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.core.geography import EARTH_RADIUS_M, SQ_KM_PER_SQ_MI, LatLonBox

RETENTION_DAY_OPTIONS = (1, 3, 7, 14, 21, 30, 60, 90, 120, 180)
"""Ring's cloud-retention options in days (calibration#retention, H)."""

# calibration#retention: the current US default (60 vs 30 days) is UNCONFIRMED, so most
# owners sit at 30 or 60 days. The rest of the spread is an ASSUMPTION.
DEFAULT_RETENTION_WEIGHTS = (0.01, 0.01, 0.02, 0.03, 0.02, 0.40, 0.40, 0.04, 0.02, 0.05)


@dataclass(frozen=True)
class TownCentre:
    """A Gaussian bump of home density; ``x_frac``/``y_frac`` in [0, 1] across the box
    (west→east, south→north), ``weight`` relative to the other towns."""

    x_frac: float
    y_frac: float
    sigma_km: float
    weight: float
    name: str = ""


@dataclass(frozen=True)
class CountySpec:
    """What the generator needs to know about a county. Units are in the names."""

    name: str
    center_lat: float
    center_lon: float
    land_area_sq_mi: float
    households: int
    aspect_ratio: float  # east-west extent / north-south extent
    town_centres: tuple[TownCentre, ...]
    background_weight: float  # share of homes spread uniformly over the box
    camera_adoption_share: float = 0.30  # calibration#cameras: ASSUMPTION, sweep 0.20-0.55
    extra_camera_share: float = 0.25  # owners with a second, outdoor camera: ASSUMPTION
    retention_days_options: tuple[int, ...] = RETENTION_DAY_OPTIONS
    retention_days_weights: tuple[float, ...] = DEFAULT_RETENTION_WEIGHTS

    def __post_init__(self) -> None:
        problems = []
        if self.households < 1 or self.land_area_sq_mi <= 0 or self.aspect_ratio <= 0:
            problems.append("households, land_area_sq_mi and aspect_ratio must be positive")
        for share in ("background_weight", "camera_adoption_share", "extra_camera_share"):
            if not 0.0 <= getattr(self, share) <= 1.0:
                problems.append(f"{share} must be in [0, 1]")
        if not self.town_centres and self.background_weight != 1.0:
            problems.append("with no town centres, background_weight must be 1")
        for town in self.town_centres:
            if not (0 <= town.x_frac <= 1 and 0 <= town.y_frac <= 1):
                problems.append(f"town {town.name!r}: x_frac and y_frac must be in [0, 1]")
            if town.sigma_km <= 0 or town.weight < 0:
                problems.append(f"town {town.name!r}: sigma_km > 0 and weight >= 0 required")
        if len(self.retention_days_options) != len(self.retention_days_weights):
            problems.append("retention_days_options and retention_days_weights differ in length")
        if any(w < 0 for w in self.retention_days_weights) or sum(self.retention_days_weights) <= 0:
            problems.append("retention_days_weights must be non-negative with a positive sum")
        if problems:
            raise ValueError(f"county {self.name!r}: " + "; ".join(problems))

    @property
    def height_km(self) -> float:
        return math.sqrt(self.land_area_sq_mi * SQ_KM_PER_SQ_MI / self.aspect_ratio)

    @property
    def width_km(self) -> float:
        return self.height_km * self.aspect_ratio


def _town(
    spec_center: tuple[float, float],
    size_km: tuple[float, float],
    place: tuple[str, float, float, float, float],
) -> TownCentre:
    """A town centre from its real coordinates, placed (and clamped) in the county box."""
    name, lat, lon, sigma_km, weight = place
    width_km, height_km = size_km
    x_km = _east_m(lon, spec_center) / 1000 + width_km / 2
    y_km = _north_m(lat, spec_center[0]) / 1000 + height_km / 2
    return TownCentre(_inside(x_km / width_km), _inside(y_km / height_km), sigma_km, weight, name)


def _inside(frac: float) -> float:
    """Places outside the county's rectangle (Long Beach, the forks) sit at its edge."""
    return min(0.98, max(0.02, frac))


def _east_m(lon: float, center: tuple[float, float]) -> float:
    return math.radians(lon - center[1]) * EARTH_RADIUS_M * math.cos(math.radians(center[0]))


def _north_m(lat: float, center_lat: float) -> float:
    return math.radians(lat - center_lat) * EARTH_RADIUS_M


def _county(
    *,
    name: str,
    center: tuple[float, float],
    land_area_sq_mi: float,
    households: int,
    aspect_ratio: float,
    background_weight: float,
    places: list[tuple[str, float, float, float, float]],
) -> CountySpec:
    height_km = math.sqrt(land_area_sq_mi * SQ_KM_PER_SQ_MI / aspect_ratio)
    size = (height_km * aspect_ratio, height_km)
    return CountySpec(
        name=name,
        center_lat=center[0],
        center_lon=center[1],
        land_area_sq_mi=land_area_sq_mi,
        households=households,
        aspect_ratio=aspect_ratio,
        town_centres=tuple(_town(center, size, p) for p in places),
        background_weight=background_weight,
    )


def nassau() -> CountySpec:
    """Nassau County, NY: dense south-west, sparser north shore and east."""
    return _county(
        name="nassau",
        center=(40.73, -73.59),  # approximate centre of the county
        land_area_sq_mi=284.7,  # calibration#county "Land area": STATS Indiana (H)
        households=456_076,  # calibration#county "Households": 2023 ACS via veritasx (M)
        # ~29 km east-west (Queens line to Suffolk line) by ~26 km of land north-south.
        aspect_ratio=1.1,
        background_weight=0.30,  # ASSUMPTION: suburban fill between the villages
        # (place, lat, lon, sigma_km, weight): approximate place coordinates; weights are an
        # ASSUMPTION that roughly follows each place's households, heavier in the south-west.
        places=[
            ("Hempstead", 40.706, -73.619, 1.5, 17),
            ("Freeport", 40.658, -73.583, 1.4, 13),
            ("Long Beach", 40.588, -73.658, 1.3, 8),
            ("Valley Stream", 40.664, -73.709, 1.5, 14),
            ("Elmont", 40.701, -73.713, 1.4, 11),
            ("Baldwin", 40.657, -73.609, 1.3, 9),
            ("Oceanside", 40.639, -73.640, 1.4, 10),
            ("Rockville Centre", 40.659, -73.641, 1.1, 8),
            ("East Meadow", 40.714, -73.559, 1.6, 12),
            ("Mineola/Garden City", 40.738, -73.637, 1.8, 13),
            ("Westbury", 40.756, -73.588, 1.5, 8),
            ("Levittown", 40.726, -73.514, 2.0, 15),
            ("Hicksville", 40.768, -73.525, 1.8, 13),
            ("Massapequa", 40.681, -73.474, 2.0, 12),
            ("Great Neck", 40.801, -73.729, 1.6, 9),
            ("Port Washington", 40.826, -73.698, 1.5, 6),
            ("Glen Cove", 40.862, -73.634, 1.4, 6),
            ("Syosset", 40.826, -73.502, 2.2, 5),
        ],
    )


def suffolk() -> CountySpec:
    """Suffolk County, NY: dense western towns, thin East End (a long, narrow box)."""
    return _county(
        name="suffolk",
        center=(40.85, -72.85),  # approximate centre of the county
        land_area_sq_mi=912.0,  # calibration#county "Land area": kiddle/Wikipedia (H)
        households=512_000,  # calibration#county "Households": DERIVED 419,631 / 0.819 (M/L)
        aspect_ratio=4.0,  # ~100 km of island east-west by ~24 km; the forks are folded in
        background_weight=0.20,  # ASSUMPTION
        # (place, lat, lon, sigma_km, weight): approximate coordinates; weights ASSUMPTION.
        places=[
            ("Huntington", 40.853, -73.411, 3.0, 14),
            ("Babylon/Lindenhurst", 40.690, -73.370, 3.0, 14),
            ("Bay Shore/Brentwood", 40.750, -73.250, 3.0, 16),
            ("Central Islip", 40.790, -73.190, 2.5, 9),
            ("Smithtown/Commack", 40.860, -73.220, 3.0, 10),
            ("Selden/Centereach/Coram", 40.870, -73.040, 3.0, 11),
            ("Patchogue/Medford", 40.780, -73.010, 2.5, 9),
            ("Port Jefferson/Stony Brook", 40.930, -73.100, 2.5, 5),
            ("Shirley/Mastic", 40.800, -72.870, 2.5, 6),
            ("Riverhead", 40.920, -72.660, 2.5, 3),
            ("Southampton", 40.884, -72.390, 3.0, 1.5),
            ("East Hampton", 40.964, -72.185, 3.0, 1.5),
        ],
    )


def county_box(spec: CountySpec) -> LatLonBox:
    """The county's rectangle in degrees."""
    lat, lon = to_lat_lon(spec, np.array([0.0, spec.width_km]), np.array([0.0, spec.height_km]))
    return LatLonBox(float(lat[0]), float(lat[1]), float(lon[0]), float(lon[1]))


def to_lat_lon(
    spec: CountySpec, x_km: NDArray[np.float64], y_km: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Box coordinates (km from the south-west corner) to degrees (local equirectangular)."""
    north_m = (y_km - spec.height_km / 2) * 1000
    east_m = (x_km - spec.width_km / 2) * 1000
    lat = spec.center_lat + np.degrees(north_m / EARTH_RADIUS_M)
    coslat = math.cos(math.radians(spec.center_lat))
    lon = spec.center_lon + np.degrees(east_m / (EARTH_RADIUS_M * coslat))
    return lat, lon
