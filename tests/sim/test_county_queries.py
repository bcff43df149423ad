"""The county's spatial queries give what a plain scan of every home or camera gives."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.county import County, build_county
from sim.core.geography import haversine_m, haversine_one_m
from sim.core.streams import make_streams
from system.domain import geo
from tests.sim.county_fixtures import busy_params, tiny_county


@pytest.fixture(scope="module")
def county() -> County:
    population = tiny_county(households=3000, camera_share=0.4, seed=5)
    return build_county(population, busy_params(population.n_homes), make_streams(5))


def test_one_point_distance_is_the_systems_own_to_the_last_bit() -> None:
    rng = np.random.default_rng(7)
    lat = 40.7 + rng.uniform(-0.05, 0.05, 2000)
    lon = -73.6 + rng.uniform(-0.05, 0.05, 2000)
    from_lat, from_lon = 40.71, -73.59
    one = [haversine_one_m(from_lat, from_lon, a, b) for a, b in zip(lat, lon, strict=True)]
    assert one == [geo.distance_m(from_lat, from_lon, a, b) for a, b in zip(lat, lon, strict=True)]
    # numpy's arcsin may differ from the C library's in the last bit: picometres.
    assert np.allclose(one, haversine_m(from_lat, from_lon, lat, lon), rtol=1e-15, atol=1e-9)


def test_a_residents_cameras_inside_an_area_are_those_the_array_query_finds(
    county: County,
) -> None:
    pop = county.population
    rng = np.random.default_rng(3)
    checked = inside = 0
    for resident in rng.choice(county.n_residents, 300, replace=False).tolist():
        camera = int(county.resident_camera_ptr[resident])
        # Centres a few hundred metres away, so that some circles hold the cameras and
        # some do not.
        lat = float(pop.camera_lat[camera]) + rng.uniform(-0.004, 0.004)
        lon = float(pop.camera_lon[camera]) + rng.uniform(-0.005, 0.005)
        radius = float(rng.uniform(100.0, 600.0))
        expected = county.cameras_inside(county.cameras_of(resident), lat, lon, radius)
        assert county.resident_cameras_inside(resident, lat, lon, radius) == expected.tolist()
        checked += 1
        inside += expected.size > 0
    assert checked == 300
    assert 0 < inside < 300  # both outcomes were exercised


@pytest.mark.parametrize("radius_m", [0.0, 150.0, 1000.0, 5000.0])
def test_homes_near_a_home_are_every_home_within_the_radius_nearest_first(
    county: County, radius_m: float
) -> None:
    x, y = county.home_x_m, county.home_y_m
    for home in (0, 17, county.n_homes // 2, county.n_homes - 1):
        distance = np.hypot(x - x[home], y - y[home])
        within = np.flatnonzero(distance <= radius_m)
        expected = within[np.lexsort((within, distance[within]))]
        found = county.homes_near(home, radius_m)
        assert found.tolist() == expected.tolist()
        assert found[0] == home  # itself first, at distance 0
