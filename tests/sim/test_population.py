"""The synthetic county: reproducible, the right size, uneven density, sensible cameras."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pytest

from sim.core.counties import (
    RETENTION_DAY_OPTIONS,
    CountySpec,
    TownCentre,
    county_box,
    nassau,
    suffolk,
)
from sim.core.geography import densest_circle, haversine_m
from sim.core.population import Population, camera_rows, generate_population, resident_rows

ARRAYS = (
    "home_lat",
    "home_lon",
    "has_camera",
    "camera_home",
    "camera_lat",
    "camera_lon",
    "camera_kind",
    "camera_retention_days",
)


@pytest.fixture(scope="module")
def county() -> Population:
    return generate_population(nassau(), seed=7)


@pytest.fixture(scope="module")
def small_county() -> CountySpec:
    """A tenth of Nassau's homes on a tenth of its land: same density, quicker tests."""
    spec = nassau()
    return dataclasses.replace(
        spec, households=spec.households // 10, land_area_sq_mi=spec.land_area_sq_mi / 10
    )


def test_the_same_seed_gives_the_same_county(small_county: CountySpec) -> None:
    a = generate_population(small_county, seed=3)
    b = generate_population(small_county, seed=3)
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert resident_rows(a, seed=3) == resident_rows(b, seed=3)
    assert camera_rows(a) == camera_rows(b)


def test_a_different_seed_gives_a_different_county(small_county: CountySpec) -> None:
    a = generate_population(small_county, seed=3)
    b = generate_population(small_county, seed=4)
    assert not np.array_equal(a.home_lat, b.home_lat)
    assert not np.array_equal(a.has_camera, b.has_camera)


@pytest.mark.parametrize("make_spec", [nassau, suffolk])
def test_every_household_is_generated_inside_the_county_box(
    make_spec: Callable[[], CountySpec],
) -> None:
    spec = make_spec()
    population = generate_population(spec, seed=1)
    assert population.n_homes == spec.households
    assert county_box(spec).contains(population.home_lat, population.home_lon).all()


def test_the_county_box_has_the_true_land_area() -> None:
    spec = nassau()
    box = county_box(spec)
    north_south_m = haversine_m(
        box.min_lat, spec.center_lon, np.array([box.max_lat]), np.array([spec.center_lon])
    )
    east_west_m = haversine_m(
        spec.center_lat, box.min_lon, np.array([spec.center_lat]), np.array([box.max_lon])
    )
    area_sq_mi = float(north_south_m[0] * east_west_m[0]) / 2_589_988.110336
    assert area_sq_mi == pytest.approx(spec.land_area_sq_mi, rel=1e-3)
    assert float(east_west_m[0] / north_south_m[0]) == pytest.approx(spec.aspect_ratio, rel=1e-3)


def test_density_is_much_higher_in_towns_than_in_a_typical_square_kilometre(
    county: Population,
) -> None:
    km_lat = 1000 / 111_195
    km_lon = km_lat / math.cos(math.radians(float(county.home_lat.mean())))
    row = ((county.home_lat - county.home_lat.min()) / km_lat).astype(np.int64)
    col = ((county.home_lon - county.home_lon.min()) / km_lon).astype(np.int64)
    per_cell = np.bincount(row * 10_000 + col)
    occupied = per_cell[per_cell > 0]
    assert occupied.max() > 4 * np.median(occupied)


def test_about_the_adoption_share_of_homes_own_a_camera(county: Population) -> None:
    share = nassau().camera_adoption_share
    assert county.has_camera.mean() == pytest.approx(share, abs=0.005)
    assert county.n_cameras >= int(county.has_camera.sum())


def test_every_owner_has_a_doorbell_and_some_add_an_outdoor_camera(county: Population) -> None:
    owners = county.owner_homes
    doorbells = county.camera_home[county.camera_kind == "doorbell"]
    np.testing.assert_array_equal(doorbells, owners)
    outdoor = county.camera_home[county.camera_kind == "outdoor"]
    assert set(outdoor.tolist()) <= set(owners.tolist())
    assert outdoor.size / owners.size == pytest.approx(nassau().extra_camera_share, abs=0.01)


def test_cameras_sit_within_metres_of_their_home(county: Population) -> None:
    for i in range(0, county.n_cameras, 997):
        home = county.camera_home[i]
        d = haversine_m(
            county.home_lat[home],
            county.home_lon[home],
            county.camera_lat[i : i + 1],
            county.camera_lon[i : i + 1],
        )
        assert d[0] < 40


def test_retention_is_one_of_rings_options_mostly_30_or_60_days(county: Population) -> None:
    assert set(np.unique(county.camera_retention_days).tolist()) <= set(RETENTION_DAY_OPTIONS)
    assert np.isin(county.camera_retention_days, [30, 60]).mean() > 0.7


def test_a_part_of_the_county_keeps_that_share_of_homes_in_one_box(county: Population) -> None:
    part = generate_population(nassau(), seed=7, scale=0.05)
    assert part.n_homes == round(0.05 * county.n_homes)
    assert part.box.contains(part.home_lat, part.home_lon).all()
    # Contiguous: every home of the full county inside the box is in the part.
    assert int(part.box.contains(county.home_lat, county.home_lon).sum()) == part.n_homes
    assert part.has_camera.mean() == pytest.approx(county.has_camera.mean(), abs=0.02)


def test_a_part_of_the_county_has_the_countys_true_density(county: Population) -> None:
    part = generate_population(nassau(), seed=7, scale=0.05)
    lat = float((part.box.min_lat + part.box.max_lat) / 2)
    lon = float((part.box.min_lon + part.box.max_lon) / 2)
    near_in_part = int((haversine_m(lat, lon, part.home_lat, part.home_lon) <= 500).sum())
    near_in_full = int((haversine_m(lat, lon, county.home_lat, county.home_lon) <= 500).sum())
    assert near_in_part > 50
    assert near_in_part == near_in_full


def test_scale_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_population(nassau(), seed=1, scale=0.0)


def test_densest_circle_finds_a_planted_cluster() -> None:
    rng = np.random.default_rng(11)
    lat = rng.uniform(40.6, 40.9, 20_000)
    lon = rng.uniform(-73.8, -73.4, 20_000)
    planted_lat, planted_lon = 40.71, -73.52
    cluster_lat = planted_lat + rng.normal(0, 0.001, 600)
    cluster_lon = planted_lon + rng.normal(0, 0.0013, 600)
    all_lat = np.concatenate([lat, cluster_lat])
    all_lon = np.concatenate([lon, cluster_lon])
    c_lat, c_lon, count = densest_circle(all_lat, all_lon, 400.0)
    assert haversine_m(planted_lat, planted_lon, np.array([c_lat]), np.array([c_lon]))[0] < 100
    exact = int((haversine_m(c_lat, c_lon, all_lat, all_lon) <= 400.0).sum())
    assert count == exact
    assert count >= 600


def test_densest_circle_beats_every_town_centre(county: Population) -> None:
    _, _, best = densest_circle(county.home_lat, county.home_lon, 642.0)
    box = county_box(nassau())
    for town in nassau().town_centres:
        lat = box.min_lat + town.y_frac * (box.max_lat - box.min_lat)
        lon = box.min_lon + town.x_frac * (box.max_lon - box.min_lon)
        assert best >= int((haversine_m(lat, lon, county.home_lat, county.home_lon) <= 642.0).sum())


def test_residents_are_the_camera_owners_with_unique_emails(county: Population) -> None:
    residents = resident_rows(county, seed=7)
    assert len(residents) == county.owner_homes.size
    emails = [r["email"] for r in residents]
    assert len(set(emails)) == len(emails)
    first = residents[0]
    assert set(first) == {"name", "email", "home_lat", "home_lon"}
    assert type(first["home_lat"]) is float
    assert first["home_lat"] == county.home_lat[county.owner_homes[0]]
    assert len({r["name"] for r in residents[:2000]}) > 1000


def test_camera_rows_point_at_their_owners_row(county: Population) -> None:
    residents = resident_rows(county, seed=7)
    cameras = camera_rows(county)
    assert len(cameras) == county.n_cameras
    for row in cameras[:: max(1, len(cameras) // 500)]:
        owner_index, lat, lon = row["owner"], row["lat"], row["lon"]
        assert type(owner_index) is int
        assert type(row["retention_days"]) is int
        assert type(lat) is float
        assert type(lon) is float
        owner = residents[owner_index]
        home_lat, home_lon = owner["home_lat"], owner["home_lon"]
        assert isinstance(home_lat, float)
        assert isinstance(home_lon, float)
        d = haversine_m(home_lat, home_lon, np.array([lat]), np.array([lon]))
        assert d[0] < 40
        assert row["kind"] in {"doorbell", "outdoor"}


def test_a_county_spec_rejects_shares_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="camera_adoption_share"):
        dataclasses.replace(nassau(), camera_adoption_share=1.5)


def test_a_uniform_county_needs_no_town_centres() -> None:
    spec = CountySpec(
        name="flat",
        center_lat=40.0,
        center_lon=-73.0,
        land_area_sq_mi=10.0,
        households=1000,
        aspect_ratio=2.0,
        town_centres=(),
        background_weight=1.0,
    )
    population = generate_population(spec, seed=1)
    assert population.n_homes == 1000
    with pytest.raises(ValueError, match="town"):
        dataclasses.replace(spec, town_centres=(TownCentre(1.5, 0.5, 1.0, 1.0),))
