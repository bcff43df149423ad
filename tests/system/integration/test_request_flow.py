"""The request → moderation → fan-out flow on SQLite and PostgreSQL (REQ-08, CON-01, CON-04)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from system.adapters import tables as t
from system.domain.area import CircleArea, PolygonArea
from system.domain.errors import InvalidTransition, PermissionDenied
from system.domain.geo import Point
from system.domain.model import RequestStatus
from system.service_layer import fanout, registration, requests, residents
from system.service_layer.context import ServiceContext
from tests.system.world import APPROVE_ALL, World, build_world, offset


@pytest.fixture
def world(ctx: ServiceContext) -> World:
    world = build_world(ctx)
    world.add_resident("inside_a", 100, 0)
    world.add_resident("inside_b", -250, 300)
    world.add_resident("two_cameras", 0, -150, cameras=2)
    world.add_resident("edge_inside", 399, 0)
    world.add_resident("edge_outside", 401, 0)
    world.add_resident("far_away", 3000, 3000)
    world.add_resident("opted_out", 50, 50)
    world.add_resident("opted_out_of_agency", -50, -50)
    world.add_resident("opted_out_of_other_agency", 60, -60)
    world.add_resident("no_camera", 10, 10, cameras=0)
    residents.opt_out(ctx, resident_id=world.residents["opted_out"])
    residents.opt_out(
        ctx, resident_id=world.residents["opted_out_of_agency"], agency_id=world.agency_id
    )
    residents.opt_out(
        ctx,
        resident_id=world.residents["opted_out_of_other_agency"],
        agency_id=world.other_agency_id,
    )
    return world


def notified(world: World, request_id: int) -> set[str]:
    with world.ctx.uow(read_only=True) as uow:
        ids = set(uow.notifications.residents_for(request_id))
    return {label for label, rid in world.residents.items() if rid in ids}


def count_notifications(world: World) -> int:
    with world.ctx.uow(read_only=True) as uow:
        return uow.notifications.count()


EXPECTED = {"inside_a", "inside_b", "two_cameras", "edge_inside", "opted_out_of_other_agency"}


def test_con01_approved_request_notifies_exactly_eligible_residents(world: World) -> None:
    request_id = world.submit()
    world.approve(request_id)
    count = fanout.fan_out(world.ctx, request_id=request_id)
    assert notified(world, request_id) == EXPECTED
    assert count == len(EXPECTED)
    with world.ctx.uow(read_only=True) as uow:
        request = uow.requests.get(request_id)
    assert request is not None
    assert request.status is RequestStatus.ACTIVE
    assert request.expires_at == world.ctx.clock.now() + world.ctx.policy.response_period


def test_con01_polygon_area_notifies_residents_inside_the_polygon(world: World) -> None:
    corners = [offset(-300, -300), offset(-300, 350), offset(200, 350), offset(200, -300)]
    area = PolygonArea(tuple(Point(lat, lon) for lat, lon in corners))
    request_id = world.submit(area=area)
    world.approve(request_id)
    fanout.fan_out(world.ctx, request_id=request_id)
    assert notified(world, request_id) == {
        "inside_a",
        "inside_b",
        "two_cameras",
        "opted_out_of_other_agency",
    }


def test_req08_nothing_is_notified_before_approval(world: World) -> None:
    request_id = world.submit()
    with pytest.raises(InvalidTransition) as err:
        fanout.fan_out(world.ctx, request_id=request_id)
    assert err.value.rule == "REQ-08"
    requests.start_review(world.ctx, moderator_id=world.moderator_id, request_id=request_id)
    with pytest.raises(InvalidTransition):
        fanout.fan_out(world.ctx, request_id=request_id)
    assert count_notifications(world) == 0


def test_req08_rejected_request_notifies_no_one(world: World) -> None:
    request_id = world.submit()
    requests.moderate(
        world.ctx,
        moderator_id=world.moderator_id,
        request_id=request_id,
        decision="reject",
        reason="Area larger than the incident needs.",
        checklist={**APPROVE_ALL, "proportionate_scope": False},
    )
    with pytest.raises(InvalidTransition):
        fanout.fan_out(world.ctx, request_id=request_id)
    assert count_notifications(world) == 0
    status = requests.request_status(
        world.ctx, officer_id=world.detective_id, request_id=request_id
    )
    assert status.status is RequestStatus.REJECTED
    assert status.rejection_reason == "Area larger than the incident needs."


def test_req08_moderation_decision_is_recorded_with_checklist(world: World) -> None:
    request_id = world.submit()
    world.ctx.clock.advance(timedelta(minutes=7))  # type: ignore[attr-defined]
    world.approve(request_id)
    with world.ctx.uow(read_only=True) as uow:
        decisions = uow.moderation.for_request(request_id)
    assert len(decisions) == 1
    assert decisions[0]["moderator_id"] == world.moderator_id
    assert decisions[0]["decision"] == "approve"
    assert decisions[0]["checklist"] == APPROVE_ALL
    assert decisions[0]["decided_at"] == world.ctx.clock.now()


def test_fan_out_twice_notifies_no_one_twice(world: World) -> None:
    request_id = world.submit()
    world.approve(request_id)
    fanout.fan_out(world.ctx, request_id=request_id)
    with pytest.raises(InvalidTransition):
        fanout.fan_out(world.ctx, request_id=request_id)
    assert count_notifications(world) == len(EXPECTED)


def test_con04_opt_out_applies_to_later_requests_and_opt_in_restores(world: World) -> None:
    ctx = world.ctx
    first = world.submit()
    world.approve(first)
    fanout.fan_out(ctx, request_id=first)
    assert "inside_a" in notified(world, first)

    residents.opt_out(ctx, resident_id=world.residents["inside_a"])
    residents.opt_out(ctx, resident_id=world.residents["inside_a"])  # idempotent
    second = world.submit()
    world.approve(second)
    fanout.fan_out(ctx, request_id=second)
    assert "inside_a" not in notified(world, second)

    residents.opt_in(ctx, resident_id=world.residents["opted_out"])
    other_case = registration.open_case(
        ctx,
        officer_id=world.detective_id,
        case_number="2026-PT-0002",
        incident_type="package_theft",
    )
    third = world.submit(case_id=other_case.id)
    world.approve(third)
    fanout.fan_out(ctx, request_id=third)
    assert "opted_out" in notified(world, third)
    assert "inside_a" not in notified(world, third)


def test_con03_agency_status_view_reveals_no_notification_counts(world: World) -> None:
    request_id = world.submit()
    world.approve(request_id)
    fanout.fan_out(world.ctx, request_id=request_id)
    view = requests.request_status(world.ctx, officer_id=world.detective_id, request_id=request_id)
    fields = set(vars(view))
    assert not {f for f in fields if "notif" in f or "count" in f or "resident" in f}


def test_notifications_table_has_one_row_per_resident(world: World, engine) -> None:  # type: ignore[no-untyped-def]
    request_id = world.submit()
    world.approve(request_id)
    fanout.fan_out(world.ctx, request_id=request_id)
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.notifications.c.resident_id, func.count())
            .where(t.notifications.c.request_id == request_id)
            .group_by(t.notifications.c.resident_id)
        ).all()
    assert all(n == 1 for _, n in rows)


def test_req08_only_a_moderator_may_decide(world: World) -> None:
    auditor = registration.register_staff(
        world.ctx, name="Au Ditor", email="audit@platform.example", role="auditor"
    )
    request_id = world.submit()
    with pytest.raises(PermissionDenied):
        requests.moderate(
            world.ctx,
            moderator_id=auditor.id,
            request_id=request_id,
            decision="approve",
            reason="",
            checklist=APPROVE_ALL,
        )


def test_circle_area_smaller_than_the_full_radius_excludes_edge(world: World) -> None:
    request_id = world.submit(area=CircleArea(*offset(0, 0), 300.0))
    world.approve(request_id)
    fanout.fan_out(world.ctx, request_id=request_id)
    assert "edge_inside" not in notified(world, request_id)
