"""A synthetic county: homes with coordinates, camera owners and their cameras.

The county is a rectangle of its true land area (``width × height = land_area``,
``width / height = aspect_ratio``) centred on the county's centre. Home density
is a mixture of Gaussian town centres plus a uniform background, truncated to
the rectangle. About ``camera_adoption_share`` of homes own a doorbell camera at
the porch; some of those owners add an outdoor camera. Every camera keeps its
clips for one of Ring's retention options.

Units: distances in metres or kilometres as the names say, coordinates in
decimal degrees on a sphere of the mean Earth radius. Every random draw comes
from a generator spawned from one seed (:func:`_streams`), so the same seed gives
the same county, and a part of the county (``scale < 1``) is exactly the subset
of the full county's homes that fall in a box.

Only numpy, the standard library and faker's name lists are used here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), metres; the same sphere the system measures areas on."""

SQ_KM_PER_SQ_MI = 2.589988110336

RETENTION_DAY_OPTIONS = (1, 3, 7, 14, 21, 30, 60, 90, 120, 180)
"""Ring's cloud-retention options in days (calibration#retention, H)."""

# calibration#retention: the current US default (60 vs 30 days) is UNCONFIRMED, so most
# owners sit at 30 or 60 days. The rest of the spread is an ASSUMPTION.
DEFAULT_RETENTION_WEIGHTS = (0.01, 0.01, 0.02, 0.03, 0.02, 0.40, 0.40, 0.04, 0.02, 0.05)

DOORBELL_JITTER_M = 2.0
"""Standard deviation of a doorbell's offset from the home point (it is at the door)."""
OUTDOOR_JITTER_M = 6.0
"""Standard deviation of an outdoor camera's offset (a corner of the house, a garage)."""


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


@dataclass(frozen=True, eq=False)
class Population:
    """Homes and cameras as read-only numpy arrays (one element per home or camera).

    Cameras are grouped by owner in ascending home order: each owner's doorbell,
    then their outdoor camera if they have one. ``box`` is the slice of the county
    whose homes ``home_in_slice`` marks (the whole county when ``scale`` is 1); the
    other homes are its ring (:func:`generate_population`).
    """

    county: str
    scale: float
    county_households: int  # homes in the whole county
    home_in_slice: NDArray[np.bool_]  # the home is in the slice proper, not its ring
    box: LatLonBox
    home_lat: NDArray[np.float64]
    home_lon: NDArray[np.float64]
    has_camera: NDArray[np.bool_]
    camera_home: NDArray[np.int64]  # index of the camera's home
    camera_lat: NDArray[np.float64]
    camera_lon: NDArray[np.float64]
    camera_kind: NDArray[np.str_]  # "doorbell" or "outdoor"
    camera_retention_days: NDArray[np.int64]

    def __post_init__(self) -> None:
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def n_homes(self) -> int:
        return int(self.home_lat.size)

    @property
    def n_slice_homes(self) -> int:
        """Homes in the slice proper (all of them when the run is not scaled)."""
        return int(np.count_nonzero(self.home_in_slice))

    @property
    def slice_share(self) -> float:
        """The slice's share of the county's households: what a slice's counts are
        divided by to estimate the county's."""
        return self.n_slice_homes / self.county_households

    @property
    def n_cameras(self) -> int:
        return int(self.camera_home.size)

    @property
    def owner_homes(self) -> NDArray[np.int64]:
        """Indices of homes with at least one camera, ascending."""
        return np.flatnonzero(self.has_camera).astype(np.int64)


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
    lat, lon = _to_lat_lon(spec, np.array([0.0, spec.width_km]), np.array([0.0, spec.height_km]))
    return LatLonBox(float(lat[0]), float(lat[1]), float(lon[0]), float(lon[1]))


class _Streams(NamedTuple):
    locations: np.random.Generator
    adoption: np.random.Generator
    cameras: np.random.Generator
    retention: np.random.Generator
    names: np.random.Generator
    slice: np.random.Generator  # where a scaled run's slice lies (last: adding it moved nothing)


def _streams(seed: int) -> _Streams:
    """The one place the population spawns its random streams, one per source."""
    children = np.random.SeedSequence(seed).spawn(len(_Streams._fields))
    return _Streams(*(np.random.default_rng(child) for child in children))


def _to_lat_lon(
    spec: CountySpec, x_km: NDArray[np.float64], y_km: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Box coordinates (km from the south-west corner) to degrees (local equirectangular)."""
    north_m = (y_km - spec.height_km / 2) * 1000
    east_m = (x_km - spec.width_km / 2) * 1000
    lat = spec.center_lat + np.degrees(north_m / EARTH_RADIUS_M)
    coslat = math.cos(math.radians(spec.center_lat))
    lon = spec.center_lon + np.degrees(east_m / (EARTH_RADIUS_M * coslat))
    return lat, lon


def _home_xy(
    spec: CountySpec, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Every home of the county, km from the south-west corner; draws outside are redrawn."""
    n, width, height = spec.households, spec.width_km, spec.height_km
    towns = spec.town_centres
    total = sum(t.weight for t in towns) or 1.0
    shares = [(1 - spec.background_weight) * t.weight / total for t in towns]
    shares.append(spec.background_weight)
    p = np.array(shares) / sum(shares)
    background = len(towns)
    cx = np.array([t.x_frac * width for t in towns] + [0.0])
    cy = np.array([t.y_frac * height for t in towns] + [0.0])
    sigma = np.array([t.sigma_km for t in towns] + [0.0])
    component = rng.choice(len(p), size=n, p=p)
    x, y = np.empty(n), np.empty(n)
    todo = np.arange(n)
    while todo.size:  # truncation: a handful of rounds, each one vectorised
        c = component[todo]
        uniform = c == background
        xs = np.where(
            uniform,
            rng.uniform(0, width, todo.size),
            cx[c] + sigma[c] * rng.standard_normal(todo.size),
        )
        ys = np.where(
            uniform,
            rng.uniform(0, height, todo.size),
            cy[c] + sigma[c] * rng.standard_normal(todo.size),
        )
        x[todo], y[todo] = xs, ys
        todo = todo[(xs < 0) | (xs > width) | (ys < 0) | (ys > height)]
    return x, y


def _slice_of_county(
    spec: CountySpec,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    *,
    scale: float,
    ring_km: float,
    rng: np.random.Generator,
) -> tuple[NDArray[np.int64], NDArray[np.bool_], tuple[float, float, float, float]]:
    """The slice of the county a scaled run simulates: (homes kept, which of them are in
    the slice proper, the slice's box in km).

    The slice is the smallest box (the county's aspect ratio, clipped to the county)
    around a home drawn uniformly by ``rng`` that holds ``round(scale * n)`` homes, so
    every home is about equally likely to be in it and its density is the county's on
    average. The ring is every home outside it within ``ring_km`` of the box: its
    residents can be notified and its thefts make requests that reach the slice's
    residents, but the run's outputs count the slice only.
    """
    n = x.size
    keep = max(1, round(scale * n))
    if keep >= n:
        return (
            np.arange(n, dtype=np.int64),
            np.ones(n, dtype=np.bool_),
            (
                0.0,
                spec.width_km,
                0.0,
                spec.height_km,
            ),
        )
    centre = int(rng.integers(n))
    ax, ay = float(x[centre]), float(y[centre])
    reach = np.maximum(np.abs(x - ax) / spec.aspect_ratio, np.abs(y - ay))
    chosen = np.argpartition(reach, keep - 1)[:keep]
    half = float(reach[chosen].max())
    x0, x1 = (
        max(0.0, ax - half * spec.aspect_ratio),
        min(spec.width_km, ax + half * spec.aspect_ratio),
    )
    y0, y1 = max(0.0, ay - half), min(spec.height_km, ay + half)
    in_slice = np.zeros(n, dtype=np.bool_)
    in_slice[chosen] = True
    dx = np.maximum(np.maximum(x0 - x, x - x1), 0.0)
    dy = np.maximum(np.maximum(y0 - y, y - y1), 0.0)
    kept = np.flatnonzero(in_slice | (np.hypot(dx, dy) <= ring_km)).astype(np.int64)
    return kept, in_slice[kept], (x0, x1, y0, y1)


class _CameraDraws(NamedTuple):
    """Camera draws for every home of the full county (cut to a part afterwards)."""

    owns: NDArray[np.bool_]
    adds_outdoor: NDArray[np.bool_]
    jitter: NDArray[np.float64]  # standard normal: home, camera slot, north/east
    retention_days: NDArray[np.int64]  # home, camera slot


def _draw_cameras(spec: CountySpec, streams: _Streams, n: int) -> _CameraDraws:
    weights = np.array(spec.retention_days_weights) / sum(spec.retention_days_weights)
    options = np.array(spec.retention_days_options, dtype=np.int64)
    return _CameraDraws(
        owns=streams.adoption.random(n) < spec.camera_adoption_share,
        adds_outdoor=streams.cameras.random(n) < spec.extra_camera_share,
        jitter=streams.cameras.standard_normal((n, 2, 2)),
        retention_days=streams.retention.choice(options, size=(n, 2), p=weights),
    )


def generate_population(
    spec: CountySpec, *, seed: int, scale: float = 1.0, ring_m: float = 0.0
) -> Population:
    """Homes and cameras of ``spec``. With ``scale`` in (0, 1) only a slice of the
    county is kept: a contiguous box holding that share of the homes, placed by the
    seed (:func:`_slice_of_county`), and a ring ``ring_m`` wide around it.

    Every draw is made for the whole county and then cut, so a slice is exactly the
    subset of the full county's homes (and cameras) inside its box, and the same seed
    places it in the same box whatever else a run changes.
    """
    if not 0.0 < scale <= 1.0:
        raise ValueError(f"scale must be in (0, 1] (got {scale})")
    if ring_m < 0:
        raise ValueError(f"ring_m must be non-negative (got {ring_m})")
    streams = _streams(seed)
    x, y = _home_xy(spec, streams.locations)
    draws = _draw_cameras(spec, streams, x.size)
    kept, in_slice, (x0, x1, y0, y1) = _slice_of_county(
        spec, x, y, scale=scale, ring_km=ring_m / 1000, rng=streams.slice
    )
    home_lat, home_lon = _to_lat_lon(spec, x[kept], y[kept])
    box_lat, box_lon = _to_lat_lon(spec, np.array([x0, x1]), np.array([y0, y1]))
    has_camera = draws.owns[kept]

    owners = np.flatnonzero(has_camera)
    per_owner = 1 + draws.adds_outdoor[kept][owners].astype(np.int64)
    camera_home = np.repeat(owners, per_owner).astype(np.int64)
    first_of_owner = np.repeat(np.cumsum(per_owner) - per_owner, per_owner)
    slot = np.arange(camera_home.size) - first_of_owner  # 0 = doorbell, 1 = outdoor
    spread_m = np.where(slot == 0, DOORBELL_JITTER_M, OUTDOOR_JITTER_M)
    full_index = kept[camera_home]
    north_m = draws.jitter[full_index, slot, 0] * spread_m
    east_m = draws.jitter[full_index, slot, 1] * spread_m
    coslat = np.cos(np.radians(home_lat[camera_home]))
    return Population(
        county=spec.name,
        scale=scale,
        county_households=int(x.size),
        home_in_slice=in_slice,
        box=LatLonBox(float(box_lat[0]), float(box_lat[1]), float(box_lon[0]), float(box_lon[1])),
        home_lat=home_lat,
        home_lon=home_lon,
        has_camera=has_camera,
        camera_home=camera_home,
        camera_lat=home_lat[camera_home] + np.degrees(north_m / EARTH_RADIUS_M),
        camera_lon=home_lon[camera_home] + np.degrees(east_m / (EARTH_RADIUS_M * coslat)),
        camera_kind=np.where(slot == 0, "doorbell", "outdoor"),
        camera_retention_days=draws.retention_days[full_index, slot],
    )


@cache
def _name_lists() -> tuple[
    tuple[str, ...], NDArray[np.float64], tuple[str, ...], NDArray[np.float64]
]:
    """Faker's en_US first and last names with their frequency weights, read once."""
    from faker.providers.person.en_US import Provider  # imported only when names are needed

    def names_and_p(table: dict[str, float]) -> tuple[tuple[str, ...], NDArray[np.float64]]:
        weights = np.array(list(table.values()), dtype=np.float64)
        return tuple(table), weights / weights.sum()

    first, first_p = names_and_p(dict(Provider.first_names))
    last, last_p = names_and_p(dict(Provider.last_names))
    return first, first_p, last, last_p


def resident_rows(population: Population, *, seed: int) -> list[dict[str, object]]:
    """One row per camera owner, in ascending home order: ``name``, ``email`` (unique),
    ``home_lat``, ``home_lon``. Names follow Faker's en_US frequencies."""
    owners = population.owner_homes
    rng = _streams(seed).names
    first, first_p, last, last_p = _name_lists()
    first_i = rng.choice(len(first), size=owners.size, p=first_p).tolist()
    last_i = rng.choice(len(last), size=owners.size, p=last_p).tolist()
    first_lower = [n.lower() for n in first]
    last_lower = [n.lower() for n in last]
    return [
        {
            "name": f"{first[f]} {last[g]}",
            "email": f"{first_lower[f]}.{last_lower[g]}.{home}@residents.example",
            "home_lat": lat,
            "home_lon": lon,
        }
        for f, g, home, lat, lon in zip(
            first_i,
            last_i,
            owners.tolist(),
            population.home_lat[owners].tolist(),
            population.home_lon[owners].tolist(),
            strict=True,
        )
    ]


def camera_rows(population: Population) -> list[dict[str, object]]:
    """One row per camera: ``owner`` (0-based index into :func:`resident_rows`), ``lat``,
    ``lon``, ``retention_days``, ``kind``."""
    owner = np.searchsorted(population.owner_homes, population.camera_home)
    return [
        {"owner": o, "lat": lat, "lon": lon, "retention_days": days, "kind": kind}
        for o, lat, lon, days, kind in zip(
            owner.tolist(),
            population.camera_lat.tolist(),
            population.camera_lon.tolist(),
            population.camera_retention_days.tolist(),
            population.camera_kind.tolist(),
            strict=True,
        )
    ]


def haversine_m(
    lat: float, lon: float, lats: NDArray[np.float64], lons: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Great-circle distance from one point to many, metres (the system's formula)."""
    p1, p2 = math.radians(lat), np.radians(lats)
    dl = np.radians(lons - lon)
    h = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    distance: NDArray[np.float64] = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return distance


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
