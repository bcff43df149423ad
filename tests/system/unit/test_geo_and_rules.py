"""Pure rules: spherical geometry, the moderation lint and checklist, the lifecycle."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from system.domain import geo
from system.domain.area import CircleArea, PolygonArea
from system.domain.clock import ManualClock
from system.domain.errors import InvalidTransition
from system.domain.model import IncidentType, RequestStatus, VideoRequest
from system.domain.moderation import CHECKLIST_ITEMS, checklist_problems, lint

T0 = datetime(2026, 11, 27, 15, tzinfo=UTC)


def test_haversine_matches_a_known_distance() -> None:
    # One degree of latitude on the mean sphere is R·π/180.
    assert geo.distance_m(40.0, -73.0, 41.0, -73.0) == pytest.approx(111_195.08, rel=1e-6)


def test_req03_cap_area_and_radius_are_inverse() -> None:
    for sq_mi in (0.025, 0.1, 0.5):
        area = sq_mi * geo.SQ_M_PER_SQ_MI
        assert geo.cap_area_m2(geo.cap_radius_for_area_m(area)) == pytest.approx(area, rel=1e-9)


def test_req03_polygon_area_of_a_square_matches_its_side_squared() -> None:
    lat0, lon0, side = 40.7, -73.6, 800.0
    dlat = math.degrees(side / geo.EARTH_RADIUS_M)
    dlon = dlat / math.cos(math.radians(lat0))
    square = tuple(
        geo.Point(lat, lon)
        for lat, lon in [
            (lat0, lon0),
            (lat0, lon0 + dlon),
            (lat0 + dlat, lon0 + dlon),
            (lat0 + dlat, lon0),
        ]
    )
    assert geo.polygon_area_m2(square) == pytest.approx(side * side, rel=2e-3)
    assert geo.polygon_area_m2(tuple(reversed(square))) == pytest.approx(
        geo.polygon_area_m2(square)
    )


@given(
    lat=st.floats(-60, 60),
    lon=st.floats(-170, 170),
    radius=st.floats(50, 2000),
    bearing=st.floats(0, 2 * math.pi),
    frac=st.floats(0, 0.999),
)
def test_con01_points_inside_a_circle_fall_inside_its_index_box(
    lat: float, lon: float, radius: float, bearing: float, frac: float
) -> None:
    d = radius * frac / geo.EARTH_RADIUS_M
    p_lat = lat + math.degrees(d * math.cos(bearing))
    p_lon = lon + math.degrees(d * math.sin(bearing) / math.cos(math.radians(lat)))
    area = CircleArea(lat, lon, radius)
    if area.contains(p_lat, p_lon):
        box = area.bbox()
        assert box.min_lat <= p_lat <= box.max_lat
        assert box.min_lon <= p_lon <= box.max_lon
        assert geo.grid_cell(p_lat, p_lon) in geo.grid_cells_covering(box)


def test_point_in_concave_polygon() -> None:
    # An L shape: the notch is outside.
    pts = [(0, 0), (0, 2), (1, 2), (1, 1), (2, 1), (2, 0)]
    poly = PolygonArea(tuple(geo.Point(40 + a * 0.001, -73 + b * 0.001) for a, b in pts))
    assert poly.contains(40.0005, -72.9995)
    assert not poly.contains(40.0015, -72.9985)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Footage of the protest on Main St would help.", "prohibited_purpose"),
        ("Looking for video of the rally at the town hall.", "prohibited_purpose"),
        ("A black male was seen on the porch.", "race_only_description"),
        ("Contact the victim at 516-555-0199.", "victim_pii"),
        ("The victim's name is Jane Doe.", "victim_pii"),
        ("You must share your video immediately.", "pressuring_language"),
        ("Failure to respond may be obstruction.", "pressuring_language"),
    ],
)
def test_req06_req07_lint_flags_suspect_text(text: str, kind: str) -> None:
    assert any(flag.startswith(kind) for flag in lint(text))


def test_req07_lint_accepts_a_plain_specific_request() -> None:
    text = (
        "A package was taken from a porch on Tuesday afternoon. The person wore a grey "
        "hoodie and left in a blue sedan. If you have video, sharing is optional."
    )
    assert lint(text) == ()


def test_req07_race_with_other_descriptors_is_not_race_only() -> None:
    assert not any(
        f.startswith("race_only") for f in lint("A white man wearing a red jacket and jeans.")
    )


def test_req06_approval_needs_every_checklist_item_affirmed() -> None:
    all_true = dict.fromkeys(CHECKLIST_ITEMS, True)
    assert checklist_problems(all_true, approving=True) == []
    one_false = {**all_true, "lawful_purpose": False}
    [problem] = checklist_problems(one_false, approving=True)
    assert problem.rule == "REQ-06"
    assert "lawful_purpose" in problem.message
    assert checklist_problems(one_false, approving=False) == []
    missing = dict(all_true)
    del missing["no_pressure"]
    assert "no_pressure" in checklist_problems(missing, approving=False)[0].message
    assert "bogus" in checklist_problems({**all_true, "bogus": True}, approving=False)[0].message


def make_request() -> VideoRequest:
    return VideoRequest(
        id=1,
        agency_id=1,
        case_id=1,
        officer_id=1,
        incident_type=IncidentType.BURGLARY,
        description="d",
        investigator_contact="c",
        incident_lat=40.7,
        incident_lon=-73.6,
        window_start=T0 - timedelta(hours=3),
        window_end=T0 - timedelta(hours=1),
        area=CircleArea(40.7, -73.6, 300),
        message="m",
        submitted_at=T0,
    )


def test_lifecycle_follows_the_documented_transitions() -> None:
    request = make_request()
    request.start_review(T0)
    request.approve(T0)
    request.activate(T0, notified_count=3, response_period=timedelta(days=7))
    assert request.accepts_responses(T0 + timedelta(days=6))
    assert not request.accepts_responses(T0 + timedelta(days=7))
    with pytest.raises(InvalidTransition):
        request.expire(T0 + timedelta(days=6))
    request.expire(T0 + timedelta(days=7))
    assert request.status is RequestStatus.EXPIRED
    with pytest.raises(InvalidTransition):
        request.close(T0 + timedelta(days=8))


def test_req08_a_rejected_request_can_never_become_active() -> None:
    request = make_request()
    request.reject(T0)
    with pytest.raises(InvalidTransition) as err:
        request.activate(T0, notified_count=0, response_period=timedelta(days=7))
    assert err.value.rule == "REQ-08"


def test_manual_clock_never_runs_backwards() -> None:
    clock = ManualClock(T0)
    clock.advance(timedelta(minutes=5))
    assert clock.now() == T0 + timedelta(minutes=5)
    with pytest.raises(ValueError, match="backwards"):
        clock.set(T0)
    with pytest.raises(ValueError, match="timezone"):
        ManualClock(datetime(2026, 1, 1))
