"""Platform administration on real databases: agencies (REQ-05) and retention settings (EVD-03).

Every change and every refusal leaves an audit entry (SEC-04), and the purge
follows the retention periods in force, counted from receipt.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from system.domain.audit import AuditEntry
from system.domain.clock import ManualClock
from system.domain.errors import InvalidInput, NotFound, PermissionDenied
from system.domain.evidence import DEFAULT_RETENTION, RetentionCategory
from system.service_layer import evidence, registration, retention
from system.service_layer.context import ServiceContext
from tests.system.evidence_fixtures import EvidenceWorld, build_evidence_world, stored_state

DAY = timedelta(days=1)
ADMIN = "account:77"


@pytest.fixture
def ew(full_ctx: ServiceContext) -> EvidenceWorld:
    return build_evidence_world(full_ctx)


def audit(ctx: ServiceContext, obj: str) -> list[AuditEntry]:
    with ctx.uow(read_only=True) as uow:
        return uow.audit.entries(obj=obj)


def chain_ok(ctx: ServiceContext) -> bool:
    with ctx.uow(read_only=True) as uow:
        return uow.audit.verify().ok


# --- agencies (REQ-05) --------------------------------------------------------------------


def test_req05_an_unverified_agency_is_refused_until_an_admin_verifies_it(
    ew: EvidenceWorld,
) -> None:
    ctx, world = ew.ctx, ew.world
    registration.set_agency_verified(
        ctx, agency_id=world.agency_id, verified=False, changed_by=ADMIN, source_ip="10.0.0.9"
    )
    with pytest.raises(PermissionDenied) as refused:
        registration.open_case(
            ctx, officer_id=world.detective_id, case_number="NC-2", incident_type="burglary"
        )
    assert refused.value.rule == "REQ-05"

    registration.set_agency_verified(
        ctx, agency_id=world.agency_id, verified=True, changed_by=ADMIN
    )
    case = registration.open_case(
        ctx, officer_id=world.detective_id, case_number="NC-2", incident_type="burglary"
    )
    assert case.agency_id == world.agency_id

    trail = [(e.actor, e.action, e.outcome) for e in audit(ctx, f"agency:{world.agency_id}")]
    assert trail == [(ADMIN, "agency.verify", "ok")] * 2
    first = audit(ctx, f"agency:{world.agency_id}")[0]
    assert first.source_ip == "10.0.0.9"
    assert json.loads(first.details_json) == {"previous": True, "verified": False}
    assert chain_ok(ctx)


def test_req05_an_admin_registers_an_agency_unverified_by_default_and_lists_it(
    ctx: ServiceContext,
) -> None:
    made = registration.register_agency(
        ctx, name="Hempstead PD", county="Nassau", verified=False, registered_by=ADMIN
    )
    assert not made.verified
    assert [(a.name, a.verified) for a in registration.list_agencies(ctx)] == [
        ("Hempstead PD", False)
    ]
    assert [(e.action, e.outcome) for e in audit(ctx, "agency:new")] == [("agency.register", "ok")]


def test_req05_a_duplicate_or_blank_agency_is_refused_naming_the_field_and_audited(
    ctx: ServiceContext,
) -> None:
    registration.register_agency(ctx, name="Glen Cove PD", county="Nassau", verified=True)
    with pytest.raises(InvalidInput) as duplicate:
        registration.register_agency(
            ctx, name="Glen Cove PD", county="Nassau", verified=True, registered_by=ADMIN
        )
    with pytest.raises(InvalidInput) as blank:
        registration.register_agency(
            ctx, name="Long Beach PD", county="  ", verified=True, registered_by=ADMIN
        )

    assert (duplicate.value.field, blank.value.field) == ("name", "county")
    assert len(registration.list_agencies(ctx)) == 1
    assert [e.outcome for e in audit(ctx, "agency:new")] == ["denied", "denied"]


def test_req05_verifying_an_agency_that_does_not_exist_is_a_not_found_naming_it(
    ctx: ServiceContext,
) -> None:
    with pytest.raises(NotFound) as missing:
        registration.set_agency_verified(ctx, agency_id=4242, verified=True, changed_by=ADMIN)
    assert missing.value.field == "agency_id"
    assert [e.outcome for e in audit(ctx, "agency:4242")] == ["denied"]


# --- retention settings (EVD-03) -------------------------------------------------------------


def test_evd03_retention_settings_start_at_the_design_defaults(ctx: ServiceContext) -> None:
    shown = retention.show_retention(ctx)
    assert shown.updated_at is None
    assert {c: shown.policy.period(c) for c in RetentionCategory} == DEFAULT_RETENTION


def test_evd03_a_shorter_standard_period_redates_stored_items_and_the_purge_follows_it(
    ew: EvidenceWorld, clock: ManualClock
) -> None:
    received = stored_state(ew.ctx, ew.item_id).item
    assert received is not None
    ew.close_case()

    change = retention.change_retention(
        ew.ctx, changes={"standard": 90}, actor=ADMIN, source_ip="10.0.0.9"
    )
    assert change.items_redated == 1
    assert change.settings.policy.days[RetentionCategory.STANDARD] == 90
    item = stored_state(ew.ctx, ew.item_id).item
    assert item is not None
    assert item.retain_until == received.received_at + 90 * DAY

    clock.set(received.received_at + 90 * DAY - timedelta(seconds=1))
    assert evidence.purge_due_evidence(ew.ctx) == 0
    clock.set(received.received_at + 90 * DAY)
    assert evidence.purge_due_evidence(ew.ctx) == 1
    assert not stored_state(ew.ctx, ew.item_id).content_present

    entry = audit(ew.ctx, "retention:evidence")[0]
    assert (entry.actor, entry.action, entry.outcome) == (ADMIN, "retention.change", "ok")
    details = json.loads(entry.details_json)
    assert details["previous"]["standard"] == 1095  # the period it replaced is on record
    assert (details["periods_days"]["standard"], details["items_redated"]) == (90, 1)
    assert chain_ok(ew.ctx)


def test_evd03_items_received_after_a_change_are_purged_by_the_new_period_too(
    ew: EvidenceWorld, clock: ManualClock
) -> None:
    retention.change_retention(
        ew.ctx, changes={"standard": 10, "no_investigative_value": 5}, actor=ADMIN
    )
    late = ew.add_item("late-arrival")  # stamped with the design default, like a transfer
    ew.close_case()

    clock.advance(10 * DAY)
    with ew.ctx.uow() as uow:
        assert evidence.schedule_purges(uow, clock.now()) == 2
        uow.commit()
    assert evidence.purge_due_evidence(ew.ctx) == 2
    assert not stored_state(ew.ctx, late).content_present


def test_evd03_a_longer_period_keeps_items_past_the_default(
    ew: EvidenceWorld, clock: ManualClock
) -> None:
    retention.change_retention(
        ew.ctx, changes={"standard": 5 * 365, "no_investigative_value": 60}, actor=ADMIN
    )
    ew.close_case()
    clock.advance(3 * 365 * DAY + DAY)
    assert evidence.purge_due_evidence(ew.ctx) == 0
    clock.advance(2 * 365 * DAY)
    assert evidence.purge_due_evidence(ew.ctx) == 1


def test_evd03_null_keeps_a_category_until_a_person_decides(
    ew: EvidenceWorld, clock: ManualClock
) -> None:
    retention.change_retention(ew.ctx, changes={"standard": None}, actor=ADMIN)
    ew.close_case()
    clock.advance(50 * 365 * DAY)
    assert evidence.purge_due_evidence(ew.ctx) == 0
    item = stored_state(ew.ctx, ew.item_id).item
    assert item is not None
    assert item.retain_until is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"standard": 0}, "periods_days.standard"),
        ({"standard": -5}, "periods_days.standard"),
        ({"standard": 10**9}, "periods_days.standard"),
        ({"standard": True}, "periods_days.standard"),
        ({"standard": "30"}, "periods_days.standard"),
        ({"forever": 30}, "periods_days.forever"),
        ({"no_investigative_value": None}, "periods_days.no_investigative_value"),
        ({"no_investigative_value": 2000}, "periods_days.no_investigative_value"),
        ({"standard": 20}, "periods_days.no_investigative_value"),  # no-value (30) not sooner
        ({}, "periods_days"),
    ],
)
def test_evd03_a_bad_retention_change_names_the_field_changes_nothing_and_is_audited(
    ew: EvidenceWorld, changes: dict[str, object], field: str
) -> None:
    before = stored_state(ew.ctx, ew.item_id)
    with pytest.raises(InvalidInput) as refused:
        retention.change_retention(ew.ctx, changes=changes, actor=ADMIN)

    assert refused.value.field == field
    assert refused.value.rule == "EVD-03"
    assert retention.show_retention(ew.ctx).updated_at is None
    assert stored_state(ew.ctx, ew.item_id) == before
    assert [e.outcome for e in audit(ew.ctx, "retention:evidence")] == ["denied"]
