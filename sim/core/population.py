"""A synthetic county's population: homes with coordinates, camera owners and cameras.

Homes are placed by the county's layout (:mod:`sim.core.counties`), truncated to its
rectangle. About ``camera_adoption_share`` of homes own a doorbell camera at the
porch; some of those owners add an outdoor camera. Every camera keeps its clips for
one of Ring's retention options.

Units: distances in metres or kilometres as the names say, coordinates in
decimal degrees on a sphere of the mean Earth radius. Every random draw comes
from a generator spawned from one seed (:func:`_streams`), so the same seed gives
the same county, and a slice of the county (``scale < 1``) is exactly the subset
of the full county's homes that fall in its box and ring.

Only numpy, the standard library and faker's name lists are used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from sim.core.counties import CountySpec, to_lat_lon
from sim.core.geography import EARTH_RADIUS_M, LatLonBox

DOORBELL_JITTER_M = 2.0
"""Standard deviation of a doorbell's offset from the home point (it is at the door)."""
OUTDOOR_JITTER_M = 6.0
"""Standard deviation of an outdoor camera's offset (a corner of the house, a garage)."""


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
    home_lat, home_lon = to_lat_lon(spec, x[kept], y[kept])
    box_lat, box_lon = to_lat_lon(spec, np.array([x0, x1]), np.array([y0, y1]))
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
