"""Evidence on the agency side, on SQLite and PostgreSQL (EVD-01..04, XFR-04, SEC-04).

Items are made directly (``tests.system.evidence_fixtures``) with real content
in the real encrypted evidence store; the clock is moved by hand for retention.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from system.adapters import tables as t
from system.domain.audit import AuditEntry
from system.domain.clock import ManualClock
from system.domain.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from system.domain.evidence import EvidenceItem, RetentionCategory, TombstoneKind
from system.domain.model import Role
from system.service_layer import evidence
from system.service_layer.context import ServiceContext
from tests.system.evidence_fixtures import (
    EvidenceWorld,
    StoredState,
    build_evidence_world,
    clip_bytes,
    stored_state,
)

DAY = timedelta(days=1)


@pytest.fixture
def ew(full_ctx: ServiceContext) -> EvidenceWorld:
    return build_evidence_world(full_ctx)


def audit_of(ctx: ServiceContext, evidence_id: int) -> list[AuditEntry]:
    with ctx.uow(read_only=True) as uow:
        return uow.audit.entries(obj=f"evidence:{evidence_id}")


def actions(entries: list[AuditEntry]) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.outcome) for e in entries]


def assert_chain_verifies(ctx: ServiceContext) -> None:
    with ctx.uow(read_only=True) as uow:
        result = uow.audit.verify()
    assert result.ok, str(result)


def state(ew: EvidenceWorld, evidence_id: int | None = None) -> StoredState:
    return stored_state(ew.ctx, ew.item_id if evidence_id is None else evidence_id)


def item_of(ew: EvidenceWorld, evidence_id: int | None = None) -> EvidenceItem:
    item = state(ew, evidence_id).item
    assert item is not None
    return item


def download(ew: EvidenceWorld, officer_id: int, evidence_id: int | None = None) -> bytes:
    chunks = evidence.download_evidence(
        ew.ctx,
        officer_id=officer_id,
        evidence_id=ew.item_id if evidence_id is None else evidence_id,
    )
    return b"".join(chunks)


def share(
    ew: EvidenceWorld,
    *,
    officer_id: int | None = None,
    access_level: str = "download",
    outside_agency: bool = True,
    justification: str | None = "Prosecution of case 2026-PT-0001",
    expires_in: timedelta = timedelta(days=14),
) -> str:
    """Share the world's item with a prosecutor; returns the secret token."""
    grant = evidence.share_evidence(
        ew.ctx,
        officer_id=ew.detective_id if officer_id is None else officer_id,
        evidence_id=ew.item_id,
        grantee_name="Jo Ramos",
        grantee_email="jramos@da.nassau.example",
        grantee_org="Nassau County District Attorney",
        access_level=access_level,
        outside_agency=outside_agency,
        justification=justification,
        expires_in=expires_in,
    )
    return grant.token


# --- EVD-01: who sees evidence ----------------------------------------------------------


def test_evd01_assigned_detective_reads_and_downloads_and_each_read_is_audited(
    ew: EvidenceWorld,
) -> None:
    view = evidence.view_evidence(ew.ctx, officer_id=ew.detective_id, evidence_id=ew.item_id)
    content = download(ew, ew.detective_id)

    assert view.id == ew.item_id
    assert content == ew.content
    assert hashlib.sha256(content).hexdigest() == view.sha256
    actor = f"officer:{ew.detective_id}"
    assert actions(audit_of(ew.ctx, ew.item_id)) == [
        (actor, "evidence.view", "ok"),
        (actor, "evidence.download", "ok"),
    ]
    assert all(e.role == Role.DETECTIVE.value for e in audit_of(ew.ctx, ew.item_id))
    assert_chain_verifies(ew.ctx)


def test_evd01_a_listing_reads_the_officer_once_for_its_check_and_its_audit_entry(
    ew: EvidenceWorld,
) -> None:
    """The audit entry's role and the access check (REQ-05) come from one read."""
    seen: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()).lower())

    event.listen(ew.ctx.engine, "before_cursor_execute", remember)
    try:
        views = evidence.list_evidence(ew.ctx, officer_id=ew.detective_id, case_id=ew.case_id)
    finally:
        event.remove(ew.ctx.engine, "before_cursor_execute", remember)

    assert [v.id for v in views] == [ew.item_id]
    officer_reads = [s for s in seen if s.startswith("select") and "from officers" in s]
    assert len(officer_reads) == 1, officer_reads
    with ew.ctx.uow(read_only=True) as uow:
        listing = uow.audit.entries(obj=f"case:{ew.case_id}")
    assert (listing[-1].role, listing[-1].action, listing[-1].outcome) == (
        Role.DETECTIVE.value,
        "evidence.list",
        "ok",
    )


def test_evd01_unassigned_detective_of_the_same_agency_is_denied_and_the_denial_audited(
    ew: EvidenceWorld,
) -> None:
    before = state(ew)
    officer = ew.unassigned_detective_id

    with pytest.raises(PermissionDenied) as viewing:
        evidence.view_evidence(ew.ctx, officer_id=officer, evidence_id=ew.item_id)
    with pytest.raises(PermissionDenied):
        download(ew, officer)
    with pytest.raises(PermissionDenied):
        evidence.list_evidence(ew.ctx, officer_id=officer, case_id=ew.case_id)

    assert viewing.value.rule == "EVD-01"
    assert viewing.value.field == "evidence_id"
    assert actions(audit_of(ew.ctx, ew.item_id)) == [
        (f"officer:{officer}", "evidence.view", "denied"),
        (f"officer:{officer}", "evidence.download", "denied"),
    ]
    with ew.ctx.uow(read_only=True) as uow:
        listing = uow.audit.entries(obj=f"case:{ew.case_id}")
    assert (listing[-1].action, listing[-1].outcome) == ("evidence.list", "denied")
    assert state(ew) == before
    assert_chain_verifies(ew.ctx)


def test_evd01_supervisor_of_the_agency_reads_without_being_assigned(ew: EvidenceWorld) -> None:
    views = evidence.list_evidence(ew.ctx, officer_id=ew.supervisor_id, case_id=ew.case_id)
    content = download(ew, ew.supervisor_id)

    assert [v.id for v in views] == [ew.item_id]
    assert content == ew.content
    entries = audit_of(ew.ctx, ew.item_id)
    assert (entries[-1].role, entries[-1].action, entries[-1].outcome) == (
        "supervisor",
        "evidence.download",
        "ok",
    )


def test_evd01_other_agency_never_sees_evidence(ew: EvidenceWorld) -> None:
    for officer in (ew.world.other_detective_id, ew.other_supervisor_id):
        with pytest.raises(NotFound) as viewing:
            evidence.view_evidence(ew.ctx, officer_id=officer, evidence_id=ew.item_id)
        with pytest.raises(NotFound):
            download(ew, officer)
        with pytest.raises(NotFound):
            evidence.list_evidence(ew.ctx, officer_id=officer, case_id=ew.case_id)
        with pytest.raises(NotFound):
            share(ew, officer_id=officer)
        assert viewing.value.rule == "EVD-01"
        assert "your agency" in viewing.value.message

    denied = [e for e in audit_of(ew.ctx, ew.item_id) if e.outcome == "denied"]
    assert len(denied) == 6
    assert all(e.outcome != "ok" for e in audit_of(ew.ctx, ew.item_id))


def test_evd01_supervisor_assigns_a_detective_who_then_sees_the_evidence(
    ew: EvidenceWorld,
) -> None:
    officer = ew.unassigned_detective_id
    with pytest.raises(PermissionDenied):
        evidence.assign_officer(
            ew.ctx, supervisor_id=ew.detective_id, case_id=ew.case_id, officer_id=officer
        )
    with pytest.raises(NotFound):
        evidence.assign_officer(
            ew.ctx, supervisor_id=ew.other_supervisor_id, case_id=ew.case_id, officer_id=officer
        )
    with pytest.raises(InvalidInput) as foreign:
        evidence.assign_officer(
            ew.ctx,
            supervisor_id=ew.supervisor_id,
            case_id=ew.case_id,
            officer_id=ew.world.other_detective_id,
        )
    assert foreign.value.field == "officer_id"

    evidence.assign_officer(
        ew.ctx, supervisor_id=ew.supervisor_id, case_id=ew.case_id, officer_id=officer
    )

    assert download(ew, officer) == ew.content
    with ew.ctx.uow(read_only=True) as uow:
        entries = uow.audit.entries(obj=f"case:{ew.case_id}")
    assigns = [(e.action, e.outcome) for e in entries if e.action == "case.assign"]
    assert assigns == [("case.assign", "denied")] * 3 + [("case.assign", "ok")]
    assert_chain_verifies(ew.ctx)


def test_evd01_the_agency_sees_no_resident_or_camera_identity_unless_the_resident_chose(
    ew: EvidenceWorld,
) -> None:
    named = ew.add_item("named", contributor={"name": "Dana Whitfield"})

    views = {
        v.id: v
        for v in evidence.list_evidence(ew.ctx, officer_id=ew.detective_id, case_id=ew.case_id)
    }

    assert views[ew.item_id].contributor is None
    assert views[named].contributor == {"name": "Dana Whitfield"}
    for view in views.values():
        assert not hasattr(view, "source_ref")
        assert not any("resident" in name or "camera" in name for name in vars(view))


# --- EVD-02: shares ---------------------------------------------------------------------


def test_evd02_download_share_lets_the_grantee_download_the_exact_bytes(
    ew: EvidenceWorld,
) -> None:
    token = share(ew, access_level="download")

    shared = evidence.access_shared_evidence(ew.ctx, token=token, want="download")

    assert shared.content is not None
    content = b"".join(shared.content)
    assert hashlib.sha256(content).hexdigest() == shared.view.sha256 == item_of(ew).sha256
    assert content == ew.content
    entries = audit_of(ew.ctx, ew.item_id)
    assert [(e.action, e.outcome) for e in entries] == [
        ("evidence.share", "ok"),
        ("evidence.download", "ok"),
    ]
    assert entries[-1].role == "grantee"
    assert token not in "".join(e.details_json for e in entries)


def test_evd02_share_token_is_kept_only_as_its_hash(ew: EvidenceWorld) -> None:
    token = share(ew)

    with ew.ctx.uow(read_only=True) as uow:
        stored = uow.connection.execute(select(t.evidence_shares.c.token_hash)).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert stored != token


def test_evd02_view_only_share_cannot_download(ew: EvidenceWorld) -> None:
    token = share(ew, access_level="view")

    viewed = evidence.access_shared_evidence(ew.ctx, token=token, want="view")
    with pytest.raises(PermissionDenied) as downloading:
        evidence.access_shared_evidence(ew.ctx, token=token, want="download")

    assert viewed.view.id == ew.item_id
    assert viewed.content is None
    assert downloading.value.rule == "EVD-02"
    assert [(e.action, e.outcome) for e in audit_of(ew.ctx, ew.item_id)][-2:] == [
        ("evidence.view", "ok"),
        ("evidence.download", "denied"),
    ]


def test_evd02_expired_share_is_refused_and_the_attempt_audited(
    ew: EvidenceWorld, clock: ManualClock
) -> None:
    token = share(ew, expires_in=timedelta(days=14))
    evidence.access_shared_evidence(ew.ctx, token=token, want="view")

    clock.advance(timedelta(days=14))

    with pytest.raises(PermissionDenied) as late:
        evidence.access_shared_evidence(ew.ctx, token=token, want="download")
    assert late.value.rule == "EVD-02"
    assert "expired" in late.value.message
    last = audit_of(ew.ctx, ew.item_id)[-1]
    assert (last.action, last.outcome) == ("evidence.download", "denied")
    assert_chain_verifies(ew.ctx)


def test_evd02_revoked_share_is_refused_at_once(ew: EvidenceWorld) -> None:
    grant = evidence.share_evidence(
        ew.ctx,
        officer_id=ew.detective_id,
        evidence_id=ew.item_id,
        grantee_name="Chris Vale",
        grantee_email="cvale@legalaid.example",
        grantee_org="Legal Aid Society",
        access_level="download",
        outside_agency=True,
        justification="Discovery for the defence",
    )
    evidence.access_shared_evidence(ew.ctx, token=grant.token, want="download")

    evidence.revoke_share(ew.ctx, officer_id=ew.supervisor_id, share_id=grant.share_id)

    with pytest.raises(PermissionDenied) as revoked:
        evidence.access_shared_evidence(ew.ctx, token=grant.token, want="view")
    assert "revoked" in revoked.value.message
    assert [(e.action, e.outcome) for e in audit_of(ew.ctx, ew.item_id)] == [
        ("evidence.share", "ok"),
        ("evidence.download", "ok"),
        ("evidence.share_revoked", "ok"),
        ("evidence.view", "denied"),
    ]


def test_evd02_unknown_token_is_refused_and_audited(ew: EvidenceWorld) -> None:
    with pytest.raises(PermissionDenied) as unknown:
        evidence.access_shared_evidence(ew.ctx, token="not-a-real-token", want="view")

    assert unknown.value.rule == "EVD-02"
    with ew.ctx.uow(read_only=True) as uow:
        entries = uow.audit.entries(obj="evidence_share:unknown")
    assert [(e.actor, e.outcome) for e in entries] == [("grantee:unknown", "denied")]


def test_evd02_outside_agency_share_without_justification_is_refused(ew: EvidenceWorld) -> None:
    before = state(ew)

    for justification in (None, "   "):
        with pytest.raises(InvalidInput) as refused:
            share(ew, outside_agency=True, justification=justification)
        assert (refused.value.field, refused.value.rule) == ("justification", "EVD-02")

    assert state(ew) == before
    assert [(e.action, e.outcome) for e in audit_of(ew.ctx, ew.item_id)] == [
        ("evidence.share", "denied")
    ] * 2
    share(ew, outside_agency=False, justification=None)  # inside the agency none is needed
    assert state(ew).shares == 1


def test_evd02_share_lasts_at_most_ninety_days(ew: EvidenceWorld) -> None:
    with pytest.raises(InvalidInput) as too_long:
        share(ew, expires_in=timedelta(days=91))

    assert too_long.value.field == "expires_in"
    assert state(ew).shares == 0


# --- EVD-03: retention and legal hold ---------------------------------------------------


def test_evd03_standard_item_is_kept_until_its_retention_ends_then_purged_with_a_tombstone(
    ew: EvidenceWorld, clock: ManualClock
) -> None:
    item = state(ew).item
    assert item is not None
    assert item.retain_until is not None
    ew.close_case()

    clock.set(item.retain_until - timedelta(seconds=1))
    assert evidence.purge_due_evidence(ew.ctx) == 0
    assert state(ew).content_present

    clock.set(item.retain_until)
    assert evidence.purge_due_evidence(ew.ctx) == 1

    after = state(ew)
    assert after.item is not None
    assert after.item.status == "purged"
    assert not after.content_present
    assert after.tombstone is not None
    assert (after.tombstone.kind, after.tombstone.sha256) == (TombstoneKind.PURGED, item.sha256)
    assert after.tombstone.reason == "retention period ended"
    with pytest.raises(NotFound) as gone:
        evidence.view_evidence(ew.ctx, officer_id=ew.detective_id, evidence_id=ew.item_id)
    assert "purged" in gone.value.message
    assert "tombstone" in gone.value.message
    assert evidence.list_evidence(ew.ctx, officer_id=ew.detective_id, case_id=ew.case_id) == []
    assert ("system:retention", "evidence.purge", "ok") in actions(audit_of(ew.ctx, ew.item_id))
    assert_chain_verifies(ew.ctx)


def test_evd03_item_of_no_investigative_value_is_purged_after_thirty_days(
    ew: EvidenceWorld, clock: ManualClock
) -> None:
    clock.advance(5 * DAY)
    view = evidence.mark_no_investigative_value(
        ew.ctx, officer_id=ew.detective_id, evidence_id=ew.item_id
    )
    assert view.retention_category is RetentionCategory.NO_INVESTIGATIVE_VALUE
    assert view.retain_until == view.received_at + 30 * DAY  # the clock started at receipt
    ew.close_case()

    clock.advance(24 * DAY)
    assert evidence.purge_due_evidence(ew.ctx) == 0
    clock.advance(1 * DAY)
    assert evidence.purge_due_evidence(ew.ctx) == 1

    assert not state(ew).content_present
    changed = [e for e in audit_of(ew.ctx, ew.item_id) if e.action == "evidence.retention_changed"]
    assert len(changed) == 1


def test_evd03_legal_hold_blocks_purge_and_deletion_until_lifted(
    ew: EvidenceWorld, clock: ManualClock
) -> None:
    evidence.mark_no_investigative_value(ew.ctx, officer_id=ew.detective_id, evidence_id=ew.item_id)
    evidence.set_legal_hold(
        ew.ctx,
        supervisor_id=ew.supervisor_id,
        evidence_id=ew.item_id,
        hold=True,
        reason="Preservation letter from defence counsel",
    )
    ew.close_case()
    clock.advance(60 * DAY)
    before = state(ew)

    assert evidence.purge_due_evidence(ew.ctx) == 0
    with pytest.raises(RuleViolation) as held:
        evidence.delete_evidence(
            ew.ctx, officer_id=ew.detective_id, evidence_id=ew.item_id, reason="Duplicate"
        )
    assert held.value.field == "legal_hold"
    assert state(ew) == before

    evidence.set_legal_hold(
        ew.ctx,
        supervisor_id=ew.supervisor_id,
        evidence_id=ew.item_id,
        hold=False,
        reason="Litigation ended",
    )
    assert evidence.purge_due_evidence(ew.ctx) == 1
    holds = [(e.action, e.outcome) for e in audit_of(ew.ctx, ew.item_id)]
    assert holds.count(("evidence.legal_hold", "ok")) == 2
    assert ("evidence.delete", "denied") in holds


def test_evd03_only_a_supervisor_places_a_legal_hold(ew: EvidenceWorld) -> None:
    with pytest.raises(PermissionDenied):
        evidence.set_legal_hold(
            ew.ctx, supervisor_id=ew.detective_id, evidence_id=ew.item_id, hold=True, reason="x"
        )
    with pytest.raises(InvalidInput) as no_reason:
        evidence.set_legal_hold(
            ew.ctx, supervisor_id=ew.supervisor_id, evidence_id=ew.item_id, hold=True, reason=""
        )

    assert no_reason.value.field == "reason"
    assert item_of(ew).legal_hold is False


def test_evd03_purge_jobs_are_scheduled_once_per_item_and_the_handler_is_idempotent(
    ew: EvidenceWorld, clock: ManualClock
) -> None:
    kept = ew.add_item("kept-for-trial", category=RetentionCategory.SERIOUS_CRIME)
    evidence.mark_no_investigative_value(ew.ctx, officer_id=ew.detective_id, evidence_id=ew.item_id)
    ew.close_case()
    now = clock.advance(31 * DAY)

    with ew.ctx.uow() as uow:
        first = evidence.schedule_purges(uow, now)
        second = evidence.schedule_purges(uow, now)
        uow.commit()
    assert (first, second) == (1, 0)

    evidence.purge_evidence_job(ew.ctx, {"evidence_id": ew.item_id})
    after_first = state(ew)
    audit_after_first = audit_of(ew.ctx, ew.item_id)
    evidence.purge_evidence_job(ew.ctx, {"evidence_id": ew.item_id})

    assert after_first.item is not None
    assert after_first.item.status == "purged"
    assert not after_first.content_present
    assert state(ew) == after_first
    assert audit_of(ew.ctx, ew.item_id) == audit_after_first
    assert state(ew, kept).content_present

    # A run that crashed after its commit left the ciphertext behind: a rerun removes it.
    ew.ctx.stores.evidence.put(ew.content, max_bytes=len(ew.content))
    evidence.purge_evidence_job(ew.ctx, {"evidence_id": ew.item_id})
    assert state(ew) == after_first
    assert audit_of(ew.ctx, ew.item_id) == audit_after_first
    with pytest.raises(ValueError, match="evidence_id"):
        evidence.purge_evidence_job(ew.ctx, {"evidence_id": "1"})


def test_evd03_purging_one_item_keeps_content_another_item_still_uses(
    ew: EvidenceWorld, clock: ManualClock
) -> None:
    twin = ew.add_item("twin", content=ew.content)  # the same clip, delivered twice
    evidence.mark_no_investigative_value(ew.ctx, officer_id=ew.detective_id, evidence_id=ew.item_id)
    ew.close_case()
    clock.advance(30 * DAY)

    assert evidence.purge_due_evidence(ew.ctx) == 1

    assert download(ew, ew.detective_id, twin) == ew.content


# --- EVD-04: deletion -------------------------------------------------------------------


def test_evd04_open_case_blocks_purge_and_deletion(ew: EvidenceWorld, clock: ManualClock) -> None:
    evidence.mark_no_investigative_value(ew.ctx, officer_id=ew.detective_id, evidence_id=ew.item_id)
    clock.advance(400 * DAY)
    before = state(ew)

    assert evidence.purge_due_evidence(ew.ctx) == 0
    with pytest.raises(RuleViolation) as blocked:
        evidence.delete_evidence(
            ew.ctx, officer_id=ew.supervisor_id, evidence_id=ew.item_id, reason="Not relevant"
        )

    assert (blocked.value.rule, blocked.value.field) == ("EVD-04", "case_id")
    assert state(ew) == before
    assert download(ew, ew.detective_id) == ew.content
    ew.close_case()
    assert evidence.purge_due_evidence(ew.ctx) == 1  # due as soon as the case closes


def test_evd04_deletion_without_a_reason_is_refused(ew: EvidenceWorld) -> None:
    ew.close_case()
    before = state(ew)

    for reason in ("", "   "):
        with pytest.raises(InvalidInput) as refused:
            evidence.delete_evidence(
                ew.ctx, officer_id=ew.detective_id, evidence_id=ew.item_id, reason=reason
            )
        assert (refused.value.field, refused.value.rule) == ("reason", "EVD-04")

    assert state(ew) == before
    assert [(e.action, e.outcome) for e in audit_of(ew.ctx, ew.item_id)] == [
        ("evidence.delete", "denied")
    ] * 2


def test_evd04_deletion_leaves_a_tombstone_and_removes_the_content(
    ew: EvidenceWorld, clock: ManualClock
) -> None:
    sha256 = item_of(ew).sha256
    ew.close_case()
    with pytest.raises(PermissionDenied):
        evidence.delete_evidence(
            ew.ctx, officer_id=ew.unassigned_detective_id, evidence_id=ew.item_id, reason="x"
        )

    evidence.delete_evidence(
        ew.ctx,
        officer_id=ew.detective_id,
        evidence_id=ew.item_id,
        reason="Wrong address: footage shows another street",
    )

    after = state(ew)
    assert after.item is not None
    assert after.item.status == "deleted"
    assert not after.content_present
    assert after.tombstone is not None
    assert after.tombstone.kind is TombstoneKind.DELETED
    assert after.tombstone.sha256 == sha256
    assert after.tombstone.actor == f"officer:{ew.detective_id}"
    assert after.tombstone.reason == "Wrong address: footage shows another street"
    assert after.tombstone.removed_at == clock.now()
    with pytest.raises(NotFound) as gone:
        download(ew, ew.detective_id)
    assert "deleted" in gone.value.message
    assert [(e.action, e.outcome) for e in audit_of(ew.ctx, ew.item_id)] == [
        ("evidence.delete", "denied"),
        ("evidence.delete", "ok"),
        ("evidence.download", "denied"),
    ]
    assert_chain_verifies(ew.ctx)


# --- XFR-04: derived copies -------------------------------------------------------------


def test_xfr04_derived_copy_keeps_the_original_intact_with_a_parent_link(
    ew: EvidenceWorld,
) -> None:
    original = state(ew)
    redacted = clip_bytes("porch-front-door, faces blurred")

    copy_id = evidence.derive_copy(
        ew.ctx,
        officer_id=ew.detective_id,
        evidence_id=ew.item_id,
        derivation="faces_blurred",
        content=redacted,
    )

    copy = evidence.view_evidence(ew.ctx, officer_id=ew.detective_id, evidence_id=copy_id)
    assert copy.parent_id == ew.item_id
    assert copy.derivation == "faces_blurred"
    assert copy.sha256 == hashlib.sha256(redacted).hexdigest() != item_of(ew).sha256
    assert download(ew, ew.detective_id, copy_id) == redacted
    assert download(ew, ew.detective_id) == ew.content
    assert state(ew) == original
    again = evidence.derive_copy(
        ew.ctx,
        officer_id=ew.detective_id,
        evidence_id=ew.item_id,
        derivation="faces_blurred",
        content=redacted,
    )
    assert again == copy_id


def test_xfr04_derived_copy_is_refused_to_an_officer_without_access(ew: EvidenceWorld) -> None:
    redacted = clip_bytes("sneaky copy")

    with pytest.raises(PermissionDenied):
        evidence.derive_copy(
            ew.ctx,
            officer_id=ew.unassigned_detective_id,
            evidence_id=ew.item_id,
            derivation="trimmed",
            content=redacted,
        )

    assert not ew.ctx.stores.evidence.exists(hashlib.sha256(redacted).hexdigest())
    with ew.ctx.uow(read_only=True) as uow:
        assert len(uow.evidence.for_case(ew.case_id)) == 1
