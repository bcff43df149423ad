"""The county as the model sees it: who can see which porch, and who the residents are.

Built once per replication from a :class:`~sim.core.population.Population`:

* **Porch views.** Every camera sees its own home's porch; it also sees each
  neighbour's porch within ``neighbour_view_max_m`` with ``neighbour_view_prob``
  (independently per camera and porch). Candidate pairs are found by bucketing
  points on a square grid of that size (a KD-style cell list: only the 3 × 3
  cells around a porch can hold a camera close enough), fully vectorised in
  numpy, and stored as a CSR table (``porch_view_ptr`` / ``porch_view_cameras``).
* **Residents.** Resident index = position in ``population.owner_homes`` (the
  port's convention). Each resident gets a behaviour profile, an upload
  bandwidth and whether they opted out before the run; each home gets a theft
  risk weight (``prevention_risk_multiplier`` times less exposure for homes with a
  prevention habit: signing for parcels, delivery when home, a locker; normalised
  so the county's mean household rate is unchanged).

Coordinates are projected to a local plane (metres east/north of the homes'
mean), accurate to well under a metre over a county-sized box for these
distances; the system's own spherical formula is used where it decides (who is
inside a request's area).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.core.geography import EARTH_RADIUS_M, haversine_m, haversine_one_m
from sim.core.params import ModelParams
from sim.core.population import Population
from sim.core.streams import Streams

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

HOME_GRID_CELL_M = 200.0
"""Cell size of the home index used for nearby-home queries (sprees, canvass)."""


def local_xy(
    lat: FloatArray, lon: FloatArray, origin: tuple[float, float]
) -> tuple[FloatArray, FloatArray]:
    """Metres east and north of ``origin`` (lat, lon) on the local tangent plane."""
    lat0, lon0 = origin
    x = np.radians(lon - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    y = np.radians(lat - lat0) * EARTH_RADIUS_M
    return x, y


def _cell_keys(ix: IntArray, iy: IntArray, rows: int) -> IntArray:
    return ix * rows + iy


def pairs_within(
    a_xy: tuple[FloatArray, FloatArray], b_xy: tuple[FloatArray, FloatArray], radius_m: float
) -> tuple[IntArray, IntArray]:
    """All (a, b) index pairs at most ``radius_m`` apart, sorted by a then b.

    Points of ``b`` are bucketed in cells of ``radius_m``; each point of ``a`` is
    matched against the 3 × 3 block of cells around its own, with the candidate
    ranges expanded by ``np.repeat`` (no Python loop over points).
    """
    ax, ay = a_xy
    bx, by = b_xy
    empty = np.empty(0, dtype=np.int64)
    if ax.size == 0 or bx.size == 0 or radius_m <= 0:
        return empty, empty
    x0 = min(float(ax.min()), float(bx.min()))
    y0 = min(float(ay.min()), float(by.min()))
    # Offset by one cell so that neighbour cells of every point have non-negative indices.
    aix = ((ax - x0) // radius_m).astype(np.int64) + 1
    aiy = ((ay - y0) // radius_m).astype(np.int64) + 1
    bix = ((bx - x0) // radius_m).astype(np.int64) + 1
    biy = ((by - y0) // radius_m).astype(np.int64) + 1
    rows = int(max(aiy.max(), biy.max())) + 2
    b_keys = _cell_keys(bix, biy, rows)
    order = np.argsort(b_keys, kind="stable")
    sorted_keys = b_keys[order]
    found_a, found_b = [], []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            keys = _cell_keys(aix + dx, aiy + dy, rows)
            lo = np.searchsorted(sorted_keys, keys, side="left")
            hi = np.searchsorted(sorted_keys, keys, side="right")
            counts = hi - lo
            total = int(counts.sum())
            if total == 0:
                continue
            a_idx = np.repeat(np.arange(ax.size, dtype=np.int64), counts)
            within_run = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            b_idx = order[np.repeat(lo, counts) + within_run]
            close = np.hypot(ax[a_idx] - bx[b_idx], ay[a_idx] - by[b_idx]) <= radius_m
            found_a.append(a_idx[close])
            found_b.append(b_idx[close].astype(np.int64))
    if not found_a:
        return empty, empty
    a_all, b_all = np.concatenate(found_a), np.concatenate(found_b)
    by_a_then_b = np.lexsort((b_all, a_all))
    return a_all[by_a_then_b], b_all[by_a_then_b]


@dataclass(frozen=True, eq=False)
class County:
    """Read-only per-replication view of the population (arrays indexed by home,
    camera or resident as their names say)."""

    population: Population
    home_x_m: FloatArray
    home_y_m: FloatArray
    home_risk: FloatArray  # relative porch exposure, mean 1 over homes in expectation
    home_prevention: NDArray[np.bool_]  # the home has a prevention habit (shorter dwell)
    porch_view_ptr: IntArray  # CSR over homes
    porch_view_cameras: IntArray
    camera_resident: IntArray
    resident_camera_ptr: IntArray  # CSR over residents (cameras are grouped by owner)
    resident_profile: IntArray  # index into params.resident_profiles
    resident_upload_mbps: FloatArray
    resident_opted_out_at_start: NDArray[np.bool_]
    resident_on_platform: NDArray[np.bool_]  # the platform's user: a request can reach them
    _grid_order: IntArray
    _grid_keys: IntArray
    _grid_rows: int
    _grid_origin: tuple[float, float]

    @property
    def n_homes(self) -> int:
        return self.population.n_homes

    @property
    def n_residents(self) -> int:
        return int(self.resident_camera_ptr.size - 1)

    def cameras_viewing_porch(self, home: int) -> IntArray:
        """Cameras whose field of view covers ``home``'s porch."""
        return self.porch_view_cameras[self.porch_view_ptr[home] : self.porch_view_ptr[home + 1]]

    def cameras_of(self, resident: int) -> IntArray:
        return np.arange(self.resident_camera_ptr[resident], self.resident_camera_ptr[resident + 1])

    def resident_home(self, resident: int) -> int:
        return int(self.population.camera_home[self.resident_camera_ptr[resident]])

    def resident_homes(self, residents: IntArray) -> IntArray:
        """:meth:`resident_home` of each of ``residents``."""
        homes: IntArray = self.population.camera_home[self.resident_camera_ptr[residents]]
        return homes

    def cameras_inside(
        self, cameras: IntArray, lat: float, lon: float, radius_m: float
    ) -> IntArray:
        """Those of ``cameras`` inside the circle (the system's spherical distance)."""
        pop = self.population
        distance = haversine_m(lat, lon, pop.camera_lat[cameras], pop.camera_lon[cameras])
        return cameras[distance <= radius_m]

    def resident_cameras_inside(
        self, resident: int, lat: float, lon: float, radius_m: float
    ) -> list[int]:
        """:meth:`cameras_inside` of the resident's own cameras (a few), on Python floats."""
        first, end = self.resident_camera_ptr[resident : resident + 2].tolist()
        pop = self.population
        lats = pop.camera_lat[first:end].tolist()
        lons = pop.camera_lon[first:end].tolist()
        return [
            camera
            for camera, c_lat, c_lon in zip(range(first, end), lats, lons, strict=True)
            if haversine_one_m(lat, lon, c_lat, c_lon) <= radius_m
        ]

    def homes_near(self, home: int, radius_m: float) -> IntArray:
        """Homes within ``radius_m`` of ``home`` (itself included), nearest first."""
        x, y = self.home_x_m[home], self.home_y_m[home]
        x0, y0 = self._grid_origin
        reach = math.ceil(radius_m / HOME_GRID_CELL_M)
        cx = int((x - x0) // HOME_GRID_CELL_M)
        cy = int((y - y0) // HOME_GRID_CELL_M)
        # The grid's columns cx ± reach, each the run of its rows cy ± reach: one search
        # for all the runs' starts and one for their ends, then every run gathered at once.
        columns = np.arange(max(cx - reach, 0), cx + reach + 1, dtype=np.int64) * self._grid_rows
        lo = np.searchsorted(self._grid_keys, columns + max(cy - reach, 0), side="left")
        hi = np.searchsorted(
            self._grid_keys, columns + min(cy + reach, self._grid_rows - 1), side="right"
        )
        lengths = hi - lo
        starts = np.repeat(lo - (np.cumsum(lengths) - lengths), lengths)
        candidates = self._grid_order[starts + np.arange(int(lengths.sum()), dtype=np.int64)]
        distance = np.hypot(self.home_x_m[candidates] - x, self.home_y_m[candidates] - y)
        close = distance <= radius_m
        nearest_first = np.lexsort((candidates[close], distance[close]))
        result: IntArray = candidates[close][nearest_first]
        return result


def slice_ring_m(params: ModelParams) -> float:
    """How wide the ring around a scaled run's slice must be: every camera that a request
    centred on a slice home can reach (the request radius, the farthest porch a camera
    sees, and a camera's offset from its home) is then in the population."""
    return params.request_radius_m + params.neighbour_view_max_m + 30.0


def build_county(population: Population, params: ModelParams, streams: Streams) -> County:
    """Porch views, resident profiles and home risk for one replication."""
    origin = (float(population.home_lat.mean()), float(population.home_lon.mean()))
    home_x, home_y = local_xy(population.home_lat, population.home_lon, origin)
    cam_x, cam_y = local_xy(population.camera_lat, population.camera_lon, origin)
    view_ptr, view_cameras = _porch_views(
        population, (home_x, home_y), (cam_x, cam_y), params, streams.views
    )
    owners = population.owner_homes
    camera_resident = np.searchsorted(owners, population.camera_home).astype(np.int64)
    resident_ptr = np.searchsorted(camera_resident, np.arange(owners.size + 1)).astype(np.int64)

    rng = streams.profiles
    weights = np.array([p.weight for p in params.resident_profiles], dtype=np.float64)
    profile = rng.choice(weights.size, size=owners.size, p=weights / weights.sum())
    cable = rng.lognormal(
        math.log(params.upload_mbps_median), params.upload_mbps_sigma, owners.size
    )
    fiber = rng.random(owners.size) < params.fiber_share
    upload = np.where(fiber, params.fiber_upload_mbps, cable)
    opted_out = rng.random(owners.size) < params.initial_opt_out_share
    habit = rng.random(population.n_homes) < params.prevention_share
    reach = params.platform_brand_share * params.platform_requests_enabled_share
    on_platform = rng.random(owners.size) < reach
    opted_out &= on_platform  # only the platform's users can opt out of its requests
    # The household theft rate is an average over homes with and without the habit.
    share, factor = params.prevention_share, params.prevention_risk_multiplier
    risk = np.where(habit, factor, 1.0) / (1.0 - share + share * factor)

    grid_origin = (float(home_x.min()), float(home_y.min())) if home_x.size else (0.0, 0.0)
    gx = ((home_x - grid_origin[0]) // HOME_GRID_CELL_M).astype(np.int64)
    gy = ((home_y - grid_origin[1]) // HOME_GRID_CELL_M).astype(np.int64)
    rows = int(gy.max()) + 1 if gy.size else 1
    keys = gx * rows + gy
    order = np.argsort(keys, kind="stable").astype(np.int64)
    return County(
        population=population,
        home_x_m=home_x,
        home_y_m=home_y,
        home_risk=risk.astype(np.float64),
        home_prevention=habit,
        porch_view_ptr=view_ptr,
        porch_view_cameras=view_cameras,
        camera_resident=camera_resident,
        resident_camera_ptr=resident_ptr,
        resident_profile=profile.astype(np.int64),
        resident_upload_mbps=upload,
        resident_opted_out_at_start=opted_out,
        resident_on_platform=on_platform,
        _grid_order=order,
        _grid_keys=keys[order],
        _grid_rows=rows,
        _grid_origin=grid_origin,
    )


def _porch_views(
    population: Population,
    home_xy: tuple[FloatArray, FloatArray],
    camera_xy: tuple[FloatArray, FloatArray],
    params: ModelParams,
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray]:
    """CSR (pointer over homes, cameras) of which cameras see each porch."""
    near_home, near_camera = pairs_within(home_xy, camera_xy, params.neighbour_view_max_m)
    neighbour = population.camera_home[near_camera] != near_home
    near_home, near_camera = near_home[neighbour], near_camera[neighbour]
    sees = rng.random(near_home.size) < params.neighbour_view_prob
    own_camera = np.arange(population.n_cameras, dtype=np.int64)
    homes = np.concatenate([population.camera_home, near_home[sees]])
    cameras = np.concatenate([own_camera, near_camera[sees]])
    order = np.lexsort((cameras, homes))
    homes, cameras = homes[order], cameras[order]
    ptr = np.searchsorted(homes, np.arange(population.n_homes + 1)).astype(np.int64)
    return ptr, cameras.astype(np.int64)
