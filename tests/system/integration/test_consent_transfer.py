"""Consent and transfer, end to end on SQLite and PostgreSQL (CON-02..09, XFR-01..06, PRV-03)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from system.adapters import tables as t
from system.domain.clip import read_metadata
from system.domain.errors import Conflict, InvalidInput, NotFound, RuleViolation
from system.domain.model import RequestStatus
from system.service_layer import consent, evidence, jobs, requests
from system.service_layer.context import ServiceContext
from tests.system.consent_world import ConsentWorld, build_consent_world

RESIDENTS = {"sharer": (100, 0), "decliner": (-100, 50), "silent": (0, 150), "picky": (50, -50)}


@pytest.fixture
def cw(full_ctx: ServiceContext) -> ConsentWorld:
    cw = build_consent_world(full_ctx, RESIDENTS)
    cw.upload("sharer", full_ctx.clock.now() - timedelta(hours=4))  # a second clip in the window
    cw.upload("sharer", full_ctx.clock.now() - timedelta(days=2))  # outside the window
    cw.publish()
    return cw


def evidence_rows(ctx: ServiceContext) -> list[object]:
    with ctx.uow(read_only=True) as uow:
        return list(
            uow.connection.execute(select(t.evidence_items).order_by(t.evidence_items.c.id))
        )


def test_core_flow_shared_clips_reach_evidence_with_matching_hash(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    assert set(cw.notification_of) == set(RESIDENTS)
    screen = consent.consent_screen(
        ctx, resident_id=cw.world.residents["sharer"], notification_id=cw.notification_of["sharer"]
    )
    eligible = [c.clip_id for c in screen.eligible_clips]
    assert sorted(eligible) == sorted(cw.clips_of["sharer"][:2])  # two days old: not offered
    consent.respond(
        ctx,
        resident_id=cw.world.residents["sharer"],
        notification_id=cw.notification_of["sharer"],
        clip_ids=eligible,
        include_audio=True,
    )
    consent.respond(
        ctx,
        resident_id=cw.world.residents["decliner"],
        notification_id=cw.notification_of["decliner"],
        clip_ids=[],
    )
    report = jobs.run_pending_jobs(ctx)
    assert report.errors == []
    rows = evidence_rows(ctx)
    assert len(rows) == 2
    with ctx.uow(read_only=True) as uow:
        originals = {uow.clips.get(c).sha256 for c in eligible}  # type: ignore[union-attr]
    for row in rows:
        data = ctx.stores.evidence.read_all(row.sha256)  # type: ignore[attr-defined]
        assert hashlib.sha256(data).hexdigest() == row.sha256  # type: ignore[attr-defined]
        assert row.sha256 in originals  # type: ignore[attr-defined]  # audio kept: same bytes
        assert not ctx.stores.outbox.exists(row.sha256)  # type: ignore[attr-defined]  # XFR-03
        assert row.contributor_json is None  # type: ignore[attr-defined]  # CON-05 default
    # Only the case's detectives read the evidence, and each read is audited (EVD-01, SEC-04).
    detective = cw.world.detective_id
    for item in evidence.list_evidence(ctx, officer_id=detective, case_id=cw.world.case_id):
        data = b"".join(evidence.download_evidence(ctx, officer_id=detective, evidence_id=item.id))
        assert hashlib.sha256(data).hexdigest() == item.sha256
        with ctx.uow(read_only=True) as uow:
            actions = [e.action for e in uow.audit.entries(obj=f"evidence:{item.id}")]
        assert actions == ["evidence.download"]
        with pytest.raises(NotFound):
            evidence.view_evidence(ctx, officer_id=cw.world.other_detective_id, evidence_id=item.id)
    # The request expires after its response period.
    ctx.clock.advance(ctx.policy.response_period)  # type: ignore[attr-defined]
    jobs.run_pending_jobs(ctx)
    status = requests.request_status(ctx, officer_id=detective, request_id=cw.request_id)
    assert status.status is RequestStatus.EXPIRED


def test_prv03_audio_is_removed_unless_ticked_as_a_derived_copy(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    clip_id = cw.clips_of["picky"][0]
    consent.respond(
        ctx,
        resident_id=cw.world.residents["picky"],
        notification_id=cw.notification_of["picky"],
        clip_ids=[clip_id],
    )
    jobs.run_pending_jobs(ctx)
    [row] = evidence_rows(ctx)
    with ctx.uow(read_only=True) as uow:
        original = uow.clips.get(clip_id)
    assert original is not None
    assert original.has_audio
    assert row.sha256 != original.sha256  # type: ignore[attr-defined]  # XFR-04: new object
    assert row.derivation == f"audio_removed_from:{original.sha256}"  # type: ignore[attr-defined]
    delivered = ctx.stores.evidence.read_all(row.sha256)  # type: ignore[attr-defined]
    assert not read_metadata(delivered[:512]).has_audio
    assert ctx.stores.clips.exists(original.sha256)  # the original is untouched


def test_con05_identity_is_shared_only_when_ticked(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    consent.respond(
        ctx,
        resident_id=cw.world.residents["picky"],
        notification_id=cw.notification_of["picky"],
        clip_ids=cw.clips_of["picky"],
        share_identity=True,
    )
    jobs.run_pending_jobs(ctx)
    [row] = evidence_rows(ctx)
    assert "picky@residents.example" in row.contributor_json  # type: ignore[attr-defined]


def test_con09_second_answer_is_a_conflict_and_nothing_moves_twice(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    rid, nid = cw.world.residents["picky"], cw.notification_of["picky"]
    consent.respond(ctx, resident_id=rid, notification_id=nid, clip_ids=cw.clips_of["picky"])
    with pytest.raises(Conflict) as err:
        consent.respond(ctx, resident_id=rid, notification_id=nid, clip_ids=cw.clips_of["picky"])
    assert err.value.rule == "CON-09"
    with pytest.raises(Conflict):
        consent.respond(ctx, resident_id=rid, notification_id=nid, clip_ids=[])
    jobs.run_pending_jobs(ctx)
    assert len(evidence_rows(ctx)) == 1


def test_con02_only_own_clips_inside_the_window_can_be_shared(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    rid, nid = cw.world.residents["picky"], cw.notification_of["picky"]
    for bad in ([cw.clips_of["sharer"][0]], [cw.clips_of["sharer"][2]], [999_999]):
        with pytest.raises(InvalidInput) as err:
            consent.respond(ctx, resident_id=rid, notification_id=nid, clip_ids=bad)
        assert (err.value.field, err.value.rule) == ("clip_ids", "CON-02")
    with pytest.raises(InvalidInput) as err:
        consent.respond(ctx, resident_id=rid, notification_id=nid, clip_ids=list(range(1, 18)))
    assert err.value.rule == "XFR-05"
    with ctx.uow(read_only=True) as uow:
        assert uow.connection.execute(select(func.count()).select_from(t.responses)).scalar() == 0


def test_xfr06_clip_without_recorded_at_is_flagged_not_stamped(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    clip_id = cw.upload("picky", None)
    with ctx.uow(read_only=True) as uow:
        clip = uow.clips.get(clip_id)
    assert clip is not None
    assert clip.recorded_at is None
    assert clip.flags == ("missing_recorded_at",)
    screen = consent.consent_screen(
        ctx, resident_id=cw.world.residents["picky"], notification_id=cw.notification_of["picky"]
    )
    assert clip_id not in [c.clip_id for c in screen.eligible_clips]


def test_con07_withdrawal_until_transfer_starts(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    rid, nid = cw.world.residents["picky"], cw.notification_of["picky"]
    consent.respond(ctx, resident_id=rid, notification_id=nid, clip_ids=cw.clips_of["picky"])
    assert consent.withdraw(ctx, resident_id=rid, notification_id=nid) == 1
    jobs.run_pending_jobs(ctx)
    assert evidence_rows(ctx) == []
    rid2, nid2 = cw.world.residents["sharer"], cw.notification_of["sharer"]
    consent.respond(ctx, resident_id=rid2, notification_id=nid2, clip_ids=cw.clips_of["sharer"][:1])
    jobs.run_pending_jobs(ctx)
    with pytest.raises(Conflict) as err:
        consent.withdraw(ctx, resident_id=rid2, notification_id=nid2)
    assert err.value.rule == "CON-07"


def test_con07_consent_screen_states_agency_case_retention_and_no_recall(cw: ConsentWorld) -> None:
    screen = consent.consent_screen(
        cw.ctx, resident_id=cw.world.residents["picky"], notification_id=cw.notification_of["picky"]
    )
    assert screen.agency_name == "Nassau County PD"
    assert screen.case_number == "2026-PT-0001"
    assert "years" in screen.retention_statement
    assert "cannot be recalled" in screen.recall_statement
    assert "only if you tick" in screen.identity_statement
    assert screen.open_for_responses


def test_con08_request_expires_after_the_response_period_and_late_answers_fail(
    cw: ConsentWorld,
) -> None:
    ctx = cw.ctx
    ctx.clock.advance(ctx.policy.response_period)  # type: ignore[attr-defined]
    jobs.run_pending_jobs(ctx)
    with ctx.uow(read_only=True) as uow:
        request = uow.requests.get(cw.request_id)
    assert request is not None
    assert request.status is RequestStatus.EXPIRED
    with pytest.raises(RuleViolation) as err:
        consent.respond(
            ctx,
            resident_id=cw.world.residents["silent"],
            notification_id=cw.notification_of["silent"],
            clip_ids=[],
        )
    assert err.value.rule == "CON-08"
    assert "no longer open" in str(err.value)


def test_con06_no_reminders_are_sent_to_non_responders(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    before = consent.my_notifications(ctx, resident_id=cw.world.residents["silent"])
    ctx.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    jobs.run_pending_jobs(ctx)
    after = consent.my_notifications(ctx, resident_id=cw.world.residents["silent"])
    assert len(after) == len(before) == 1
    with ctx.uow(read_only=True) as uow:
        kinds = {r.kind for r in uow.connection.execute(select(t.jobs))}
        messages = uow.connection.execute(
            select(func.count()).select_from(t.resident_messages)
        ).scalar()
    assert kinds <= {"fan_out", "transfer", "expire_request", "delete_clip"}
    assert messages == 0
