"""Request rules at their exact limits and bad input at the service boundary (REQ-01..05)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from system.adapters import tables as t
from system.bootstrap import SqlServiceContext
from system.domain.area import CircleArea, PolygonArea
from system.domain.errors import DomainError, InvalidInput, PermissionDenied, RuleViolation
from system.domain.geo import SQ_M_PER_SQ_MI, Point, cap_radius_for_area_m
from system.service_layer import registration, requests
from system.service_layer.context import ServiceContext
from tests.system.world import APPROVE_ALL, CENTRE, World, build_world, offset


@pytest.fixture
def world(ctx: ServiceContext) -> World:
    return build_world(ctx)


def window(
    world: World, length: timedelta, *, ends_ago: timedelta = timedelta(hours=1)
) -> dict[str, Any]:
    end = world.ctx.clock.now() - ends_ago
    return {"window_start": end - length, "window_end": end}


def radius_for_sq_mi(sq_mi: float) -> float:
    return cap_radius_for_area_m(sq_mi * SQ_M_PER_SQ_MI)


# --- REQ-02: the window ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "accepted"),
    [
        (timedelta(minutes=14, seconds=59), False),
        (timedelta(minutes=15), True),
        (timedelta(hours=12), True),
        (timedelta(hours=12, seconds=1), False),
    ],
    ids=["14m59s", "15m00s", "12h00m00s", "12h00m01s"],
)
def test_req02_window_length_limits_are_inclusive(
    world: World, length: timedelta, accepted: bool
) -> None:
    if accepted:
        assert world.submit(**window(world, length)) > 0
    else:
        with pytest.raises(InvalidInput) as err:
            world.submit(**window(world, length))
        assert err.value.rule == "REQ-02"
        assert err.value.field == "window"


def test_req02_window_may_end_now_but_not_later(world: World) -> None:
    assert world.submit(**window(world, timedelta(hours=1), ends_ago=timedelta(0))) > 0
    with pytest.raises(InvalidInput) as err:
        world.submit(**window(world, timedelta(hours=1), ends_ago=-timedelta(seconds=1)))
    assert (err.value.field, err.value.rule) == ("window_end", "REQ-02")


def test_req02_window_may_start_180_days_back_but_no_earlier(world: World) -> None:
    now = world.ctx.clock.now()
    start = now - timedelta(days=180)
    assert world.submit(window_start=start, window_end=start + timedelta(hours=1)) > 0
    start -= timedelta(seconds=1)
    with pytest.raises(InvalidInput) as err:
        world.submit(window_start=start, window_end=start + timedelta(hours=1))
    assert (err.value.field, err.value.rule) == ("window_start", "REQ-02")


# --- REQ-03: the area -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sq_mi", "factor", "accepted"),
    [
        (0.025, 1.0001, True),
        (0.025, 0.9999, False),
        (0.5, 0.9999, True),
        (0.5, 1.0001, False),
    ],
    ids=["just-above-0.025", "just-below-0.025", "just-below-0.5", "just-above-0.5"],
)
def test_req03_circle_area_limits_on_the_sphere(
    world: World, sq_mi: float, factor: float, accepted: bool
) -> None:
    area = CircleArea(CENTRE[0], CENTRE[1], radius_for_sq_mi(sq_mi * factor))
    if accepted:
        assert world.submit(area=area) > 0
    else:
        with pytest.raises(InvalidInput) as err:
            world.submit(area=area)
        assert (err.value.field, err.value.rule) == ("area", "REQ-03")


def test_req03_limits_match_the_published_radii() -> None:
    assert 143 < radius_for_sq_mi(0.025) < 144.5
    assert 641 < radius_for_sq_mi(0.5) < 643


def square(side_m: float) -> PolygonArea:
    h = side_m / 2
    corners = [offset(-h, -h), offset(-h, h), offset(h, h), offset(h, -h)]
    return PolygonArea(tuple(Point(lat, lon) for lat, lon in corners))


def test_req03_polygon_area_limits(world: World) -> None:
    side_max = math.sqrt(0.5 * SQ_M_PER_SQ_MI)
    assert world.submit(area=square(side_max * 0.9995)) > 0
    with pytest.raises(InvalidInput) as err:
        world.submit(area=square(side_max * 1.0005))
    assert (err.value.field, err.value.rule) == ("area", "REQ-03")
    side_min = math.sqrt(0.025 * SQ_M_PER_SQ_MI)
    with pytest.raises(InvalidInput):
        world.submit(area=square(side_min * 0.9995))


def test_req03_self_crossing_polygon_is_refused(world: World) -> None:
    a, b, c, d = offset(-300, -300), offset(-300, 300), offset(300, 300), offset(300, -300)
    bowtie = PolygonArea(tuple(Point(*p) for p in (a, c, b, d)))
    with pytest.raises(InvalidInput) as err:
        world.submit(area=bowtie)
    assert (err.value.field, err.value.rule) == ("area.vertices", "REQ-03")


@pytest.mark.parametrize(("distance_m", "accepted"), [(399.5, True), (400.5, False)])
def test_req03_incident_must_lie_inside_the_area(
    world: World, distance_m: float, accepted: bool
) -> None:
    lat, lon = offset(distance_m, 0)
    if accepted:
        assert world.submit(incident_lat=lat, incident_lon=lon) > 0
    else:
        with pytest.raises(InvalidInput) as err:
            world.submit(incident_lat=lat, incident_lon=lon)
        assert (err.value.field, err.value.rule) == ("incident_location", "REQ-03")


# --- REQ-04: limits per case and per agency ------------------------------------------------


def test_req04_third_request_for_one_case_is_refused(world: World) -> None:
    world.submit()
    world.submit()
    with pytest.raises(RuleViolation) as err:
        world.submit()
    assert (err.value.field, err.value.rule) == ("case_id", "REQ-04")


def test_req04_rejected_requests_do_not_count_against_the_case(world: World) -> None:
    first = world.submit()
    requests.moderate(
        world.ctx,
        moderator_id=world.moderator_id,
        request_id=first,
        decision="reject",
        reason="Window too wide.",
        checklist=APPROVE_ALL,
    )
    world.submit()
    world.submit()


def test_req04_agency_daily_quota(ctx: ServiceContext) -> None:
    tight = SqlServiceContext(
        engine=ctx.engine, clock=ctx.clock, policy=type(ctx.policy)(agency_daily_quota=3)
    )
    world = build_world(tight)
    cases = [
        registration.open_case(
            tight, officer_id=world.detective_id, case_number=f"Q-{i}", incident_type="burglary"
        ).id
        for i in range(2)
    ]
    world.submit(case_id=cases[0])
    world.submit(case_id=cases[0])
    world.submit(case_id=cases[1])
    with pytest.raises(RuleViolation) as err:
        world.submit(case_id=cases[1])
    assert (err.value.field, err.value.rule) == ("agency", "REQ-04")


# --- REQ-05: who may ask ------------------------------------------------------------------


def test_req05_unverified_agency_cannot_request(ctx: ServiceContext) -> None:
    world = build_world(ctx)
    shady = registration.register_agency(ctx, name="Unverified PD", county="Nassau", verified=False)
    officer = registration.register_officer(
        ctx, agency_id=shady.id, name="X Y", email="xy@unverified.example", role="detective"
    )
    with pytest.raises(PermissionDenied) as err:
        requests.submit_request(ctx, officer_id=officer.id, draft=world.draft())
    assert err.value.rule == "REQ-05"


# --- bad input: typed errors naming field and rule, nothing stored changes -------------------


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in t.metadata.sorted_tables
        }


BAD_INPUTS: list[tuple[str, dict[str, Any], type[DomainError], str, str]] = [
    ("unknown case", {"case_id": 9999}, InvalidInput, "case_id", "REQ-01"),
    ("case id not a number", {"case_id": "abc"}, InvalidInput, "case_id", "REQ-01"),
    ("window in the future", {"window_end": "FUTURE"}, InvalidInput, "window_end", "REQ-02"),
    ("window older than 180 days", {"window_start": "OLD"}, InvalidInput, "window_start", "REQ-02"),
    (
        "window ends before it starts",
        {"window_end": "BEFORE"},
        InvalidInput,
        "window_end",
        "REQ-02",
    ),
    (
        "radius zero",
        {"area": CircleArea(CENTRE[0], CENTRE[1], 0.0)},
        InvalidInput,
        "area.radius_m",
        "REQ-03",
    ),
    (
        "radius negative",
        {"area": CircleArea(CENTRE[0], CENTRE[1], -5.0)},
        InvalidInput,
        "area.radius_m",
        "REQ-03",
    ),
    (
        "radius NaN",
        {"area": CircleArea(CENTRE[0], CENTRE[1], math.nan)},
        InvalidInput,
        "area.radius_m",
        "REQ-03",
    ),
    (
        "centre NaN",
        {"area": CircleArea(math.nan, CENTRE[1], 400)},
        InvalidInput,
        "area.center",
        "REQ-03",
    ),
    (
        "centre latitude 91",
        {"area": CircleArea(91.0, CENTRE[1], 400)},
        InvalidInput,
        "area.center",
        "REQ-03",
    ),
    (
        "incident longitude inf",
        {"incident_lon": math.inf},
        InvalidInput,
        "incident_location",
        "REQ-01",
    ),
    ("incident latitude -95", {"incident_lat": -95.0}, InvalidInput, "incident_location", "REQ-01"),
    ("empty description", {"description": "   "}, InvalidInput, "description", "REQ-01"),
    ("oversized description", {"description": "x" * 4001}, InvalidInput, "description", "REQ-01"),
    ("empty message", {"message": ""}, InvalidInput, "message", "REQ-01"),
    ("oversized message", {"message": "y" * 1001}, InvalidInput, "message", "REQ-01"),
    (
        "NUL in contact",
        {"investigator_contact": "a\x00b"},
        InvalidInput,
        "investigator_contact",
        "REQ-01",
    ),
    (
        "unknown incident type",
        {"incident_type": "protest"},
        InvalidInput,
        "incident_type",
        "REQ-01",
    ),
    (
        "polygon with two vertices",
        {"area": PolygonArea((Point(*CENTRE), Point(40.71, -73.61)))},
        InvalidInput,
        "area.vertices",
        "REQ-03",
    ),
]


@pytest.mark.parametrize(
    ("changes", "error", "field", "rule"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_gets_a_typed_error_naming_field_and_rule(
    world: World,
    engine: Engine,
    changes: dict[str, Any],
    error: type[DomainError],
    field: str,
    rule: str,
) -> None:
    now = world.ctx.clock.now()
    resolved = dict(changes)
    if resolved.get("window_end") == "FUTURE":
        resolved["window_end"] = now + timedelta(hours=1)
        resolved["window_start"] = now - timedelta(hours=1)
    if resolved.get("window_start") == "OLD":
        resolved["window_start"] = now - timedelta(days=181)
        resolved["window_end"] = resolved["window_start"] + timedelta(hours=1)
    if resolved.get("window_end") == "BEFORE":
        resolved["window_end"] = now - timedelta(hours=6)
    before = table_counts(engine)
    with pytest.raises(error) as err:
        world.submit(**resolved)
    assert err.value.field == field
    assert err.value.rule == rule
    assert field.split(".")[0].split("[")[0] in str(err.value)
    assert table_counts(engine) == before


def test_another_agencys_case_is_refused_and_nothing_changes(world: World, engine: Engine) -> None:
    before = table_counts(engine)
    with pytest.raises(InvalidInput) as err:
        requests.submit_request(world.ctx, officer_id=world.other_detective_id, draft=world.draft())
    assert [(p.field, p.rule) for p in err.value.problems] == [("case_id", "REQ-01")]
    assert table_counts(engine) == before


def test_req01_another_agencys_case_is_refused_exactly_as_a_missing_one(world: World) -> None:
    """A detective cannot tell which case ids exist in other agencies (issue 22, item 5)."""
    with pytest.raises(InvalidInput) as theirs:
        requests.submit_request(world.ctx, officer_id=world.other_detective_id, draft=world.draft())
    missing_id = world.case_id + 1000
    with pytest.raises(InvalidInput) as missing:
        requests.submit_request(
            world.ctx,
            officer_id=world.other_detective_id,
            draft=world.draft(case_id=missing_id),
        )
    assert type(theirs.value) is type(missing.value)
    assert theirs.value.problems[0].message.replace(str(world.case_id), "N") == (
        missing.value.problems[0].message.replace(str(missing_id), "N")
    )


def test_every_problem_is_reported_at_once(world: World) -> None:
    with pytest.raises(InvalidInput) as err:
        world.submit(description="", message="", area=CircleArea(CENTRE[0], CENTRE[1], 0.0))
    assert {p.field for p in err.value.problems} >= {"description", "message", "area.radius_m"}
