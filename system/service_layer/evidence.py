"""Evidence on the agency side: access, shares, retention, deletion (EVD-01..04, XFR-04).

Access (EVD-01): an officer sees a case's evidence when assigned to the case
or a supervisor of its agency; anyone else comes in through an explicit share
(a bearer token, EVD-02); officers of another agency never, and for them the
item does not exist (``NotFound``).

Every action is audited (SEC-04), refusals too: a refused attempt is recorded
with outcome ``denied`` and committed before the error is raised, and it
writes nothing else.

Removing content: the database change (status, tombstone, audit entry)
commits first, then the content leaves the evidence store, and only when no
stored item still refers to the same SHA-256 (the store is content-addressed).
A crash in between leaves unreferenced ciphertext, never an item without its
content; :func:`purge_evidence_job` finishes such a removal when it runs again.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from system.domain.audit import AuditEvent
from system.domain.errors import (
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Problem,
    RuleViolation,
    invalid,
)
from system.domain.evidence import (
    MAX_DERIVATION_CHARS,
    MAX_EVIDENCE_BYTES,
    MAX_REASON_CHARS,
    PURGE_ACTOR,
    PURGE_REASON,
    SHARE_DEFAULT_EXPIRY,
    AccessBasis,
    AccessLevel,
    EvidenceItem,
    EvidenceShare,
    EvidenceStatus,
    EvidenceView,
    RetentionCategory,
    ShareGrant,
    Tombstone,
    TombstoneKind,
    officer_access,
    purge_block,
    share_problems,
    token_digest,
)
from system.domain.model import AGENCY_ROLES, Case, CaseStatus, Officer
from system.domain.rules import check_text
from system.domain.stores import Content, ObjectNotFound
from system.service_layer.attempts import AuditedAttempt
from system.service_layer.context import ServiceContext
from system.service_layer.registration import active_officer, active_supervisor
from system.service_layer.retention import retention_policy
from system.service_layer.unit_of_work import UnitOfWork

PURGE_JOB = "purge_evidence"
"""Job kind of :func:`purge_evidence_job` (one job per item due for purge)."""


@dataclass(frozen=True)
class SharedEvidence:
    """What a grantee gets through a share: the item's record, and its content on download."""

    view: EvidenceView
    content: Iterator[bytes] | None = None


def _officer_attempt(
    uow: UnitOfWork, ctx: ServiceContext, officer_id: int, *, obj: str, action: str
) -> AuditedAttempt:
    # The read the access check (active_officer) makes next: one statement for both.
    officer, _agency = uow.officers.with_agency(officer_id)
    role = "unknown" if officer is None else officer.role.value
    return AuditedAttempt(uow, ctx.clock.now(), f"officer:{officer_id}", role, obj, action)


def _case_access(
    uow: UnitOfWork, officer: Officer, case_id: int, *, field: str
) -> tuple[Case, AccessBasis]:
    case = uow.cases.get(case_id)
    if case is None or case.agency_id != officer.agency_id:
        raise NotFound(f"no case {case_id} in your agency", rule="EVD-01", field=field)
    basis = officer_access(
        role=officer.role,
        officer_agency_id=officer.agency_id,
        case_agency_id=case.agency_id,
        assigned=officer.id in uow.cases.assigned_officers(case.id),
    )
    if basis is None:
        raise PermissionDenied(
            f"you are not assigned to case {case.case_number}: only its assigned detectives, "
            "their supervisors and explicit grantees see its evidence",
            rule="EVD-01",
            field=field,
        )
    return case, basis


def _require_stored(uow: UnitOfWork, item: EvidenceItem) -> None:
    if item.status is EvidenceStatus.STORED:
        return
    tombstone = uow.evidence.tombstone(item.id)
    message = (
        tombstone.describe()
        if tombstone is not None
        else f"evidence {item.id} was {item.status.value}; it is no longer available"
    )
    rule = "EVD-04" if item.status is EvidenceStatus.DELETED else "EVD-03"
    raise NotFound(message, rule=rule, field="evidence_id")


def _item_access(
    uow: UnitOfWork,
    officer: Officer,
    evidence_id: int,
    *,
    for_update: bool = False,
    require_stored: bool = True,
) -> tuple[EvidenceItem, Case, AccessBasis]:
    """The item, its case and the officer's basis for seeing it, or a refusal (EVD-01)."""
    item = uow.evidence.get(evidence_id, for_update=for_update)
    if item is None or item.agency_id != officer.agency_id:
        raise NotFound(
            f"no evidence {evidence_id} in your agency", rule="EVD-01", field="evidence_id"
        )
    case, basis = _case_access(uow, officer, item.case_id, field="evidence_id")
    if require_stored:
        _require_stored(uow, item)
    return item, case, basis


def _open_content(
    ctx: ServiceContext, attempt: AuditedAttempt, item: EvidenceItem
) -> Iterator[bytes]:
    """The item's content, streamed and verified against its SHA-256 at the end (XFR-01)."""
    try:
        return ctx.stores.evidence.read(item.sha256)
    except ObjectNotFound:
        attempt.record("error", reason="the content is missing from the evidence store")
        attempt.uow.commit()
        raise


def _remove_content(ctx: ServiceContext, sha256: str) -> bool:
    """Delete content no stored item refers to any more; True if something was deleted."""
    with ctx.uow(read_only=True) as uow:
        in_use = uow.evidence.sha256_in_use(sha256)
    return False if in_use else ctx.stores.evidence.delete(sha256)


# --- access (EVD-01) ----------------------------------------------------------------


def assign_officer(
    ctx: ServiceContext, *, supervisor_id: int, case_id: int, officer_id: int
) -> None:
    """A supervisor assigns an officer of their agency to a case (a permission change)."""
    with ctx.uow() as uow:
        attempt = _officer_attempt(
            uow, ctx, supervisor_id, obj=f"case:{case_id}", action="case.assign"
        )
        with attempt.checks():
            supervisor, _ = active_supervisor(
                uow, supervisor_id, may="assigns officers to a case", rule="EVD-01"
            )
            case = uow.cases.get(case_id)
            if case is None or case.agency_id != supervisor.agency_id:
                raise NotFound(f"no case {case_id} in your agency", rule="EVD-01", field="case_id")
            officer = uow.officers.get(officer_id)
            if (
                officer is None
                or officer.agency_id != case.agency_id
                or not officer.active
                or officer.role not in AGENCY_ROLES
            ):
                raise invalid(
                    "officer_id", "EVD-01", f"officer {officer_id} is not an active officer here"
                )
        already = officer_id in uow.cases.assigned_officers(case_id)
        if not already:
            uow.cases.assign(case_id, officer_id, now=attempt.now)
        attempt.record(officer_id=officer_id, already_assigned=already)
        uow.commit()


def list_evidence(
    ctx: ServiceContext, *, officer_id: int, case_id: int, after_id: int = 0
) -> list[EvidenceView]:
    """The case's stored items, oldest first; purged and deleted items are left out.
    ``after_id`` lists only items newer than that one (an incremental listing)."""
    with ctx.uow() as uow:
        attempt = _officer_attempt(
            uow, ctx, officer_id, obj=f"case:{case_id}", action="evidence.list"
        )
        with attempt.checks():
            officer, _ = active_officer(uow, officer_id)
            case, basis = _case_access(uow, officer, case_id, field="case_id")
        views = [
            EvidenceView.of(i)
            for i in uow.evidence.for_case(case.id, stored_only=True, after_id=after_id)
        ]
        attempt.record(basis=basis.value, items=len(views))
        uow.commit()
    return views


def view_evidence(ctx: ServiceContext, *, officer_id: int, evidence_id: int) -> EvidenceView:
    with ctx.uow() as uow:
        attempt = _officer_attempt(
            uow, ctx, officer_id, obj=f"evidence:{evidence_id}", action="evidence.view"
        )
        with attempt.checks():
            officer, _ = active_officer(uow, officer_id)
            item, _, basis = _item_access(uow, officer, evidence_id)
        attempt.record(basis=basis.value)
        uow.commit()
    return EvidenceView.of(item)


def download_evidence(ctx: ServiceContext, *, officer_id: int, evidence_id: int) -> Iterator[bytes]:
    """The item's content in chunks; it is verified against its SHA-256 when exhausted."""
    with ctx.uow() as uow:
        attempt = _officer_attempt(
            uow, ctx, officer_id, obj=f"evidence:{evidence_id}", action="evidence.download"
        )
        with attempt.checks():
            officer, _ = active_officer(uow, officer_id)
            item, _, basis = _item_access(uow, officer, evidence_id)
        content = _open_content(ctx, attempt, item)
        attempt.record(basis=basis.value, sha256=item.sha256, size_bytes=item.size_bytes)
        uow.commit()
    return content


# --- shares (EVD-02) --------------------------------------------------------------------


def share_evidence(
    ctx: ServiceContext,
    *,
    officer_id: int,
    evidence_id: int,
    grantee_name: str,
    grantee_email: str,
    grantee_org: str,
    access_level: AccessLevel | str,
    outside_agency: bool,
    justification: str | None,
    expires_in: timedelta = SHARE_DEFAULT_EXPIRY,
) -> ShareGrant:
    """Grant someone (a prosecutor, defence counsel) access to one item (EVD-02).

    Sharing outside the agency needs a justification; a share lasts at most
    90 days (design). The token is returned here once; only its SHA-256 is kept.
    """
    with ctx.uow() as uow:
        attempt = _officer_attempt(
            uow, ctx, officer_id, obj=f"evidence:{evidence_id}", action="evidence.share"
        )
        with attempt.checks():
            officer, _ = active_officer(uow, officer_id)
            item, _, _ = _item_access(uow, officer, evidence_id)
            problems = share_problems(
                grantee_name=grantee_name,
                grantee_email=grantee_email,
                grantee_org=grantee_org,
                access_level=access_level,
                outside_agency=outside_agency,
                justification=justification,
                expires_in=expires_in,
            )
            if problems:
                raise InvalidInput(problems)
        token = secrets.token_urlsafe(32)
        share = EvidenceShare(
            id=0,
            evidence_id=item.id,
            granted_by=officer.id,
            grantee_name=grantee_name.strip(),
            grantee_email=grantee_email.strip(),
            grantee_org=grantee_org.strip(),
            outside_agency=outside_agency,
            justification=(justification or "").strip() or None,
            access_level=AccessLevel(access_level),
            created_at=attempt.now,
            expires_at=attempt.now + expires_in,
        )
        share_id = uow.evidence.add_share(share, token_hash=token_digest(token))
        attempt.record(
            share_id=share_id,
            grantee_org=share.grantee_org,
            access_level=share.access_level.value,
            outside_agency=outside_agency,
            justification=share.justification,
            expires_at=share.expires_at.isoformat(),
        )
        uow.commit()
    return ShareGrant(share_id=share_id, token=token, expires_at=share.expires_at)


def revoke_share(ctx: ServiceContext, *, officer_id: int, share_id: int) -> None:
    """End a share at once; revoking twice is harmless (EVD-02)."""
    with ctx.uow() as uow:
        attempt = _officer_attempt(
            uow, ctx, officer_id, obj=f"evidence_share:{share_id}", action="evidence.share_revoked"
        )
        with attempt.checks():
            officer, _ = active_officer(uow, officer_id)
            share = uow.evidence.get_share(share_id, for_update=True)
            if share is None:
                raise NotFound(f"no share {share_id}", rule="EVD-02", field="share_id")
            attempt.obj = f"evidence:{share.evidence_id}"
            _item_access(uow, officer, share.evidence_id, require_stored=False)
        if share.revoked_at is None:
            uow.evidence.revoke_share(share_id, by=officer.id, now=attempt.now)
        attempt.record(share_id=share_id, already_revoked=share.revoked_at is not None)
        uow.commit()


def access_shared_evidence(ctx: ServiceContext, *, token: str, want: str) -> SharedEvidence:
    """A grantee uses a share token to view (``want="view"``) or download an item.

    Unknown, expired and revoked tokens are refused with ``PermissionDenied``
    (EVD-02), and so is a download through a view-only share; every attempt
    is audited under the share's id, never the token.
    """
    with ctx.uow() as uow:
        share = uow.evidence.share_by_token_hash(token_digest(token)) if token else None
        action = f"evidence.{want}" if want in AccessLevel._value2member_map_ else "evidence.access"
        attempt = AuditedAttempt(
            uow,
            ctx.clock.now(),
            actor="grantee:unknown" if share is None else f"grantee:share-{share.id}",
            role="grantee",
            obj="evidence_share:unknown" if share is None else f"evidence:{share.evidence_id}",
            action=action,
        )
        with attempt.checks():
            if want not in AccessLevel._value2member_map_:
                raise invalid("want", "EVD-02", "must be 'view' or 'download'")
            if share is None:
                raise PermissionDenied("this share link is not valid", rule="EVD-02", field="token")
            why_not = share.unusable_because(attempt.now)
            if why_not is not None:
                raise PermissionDenied(why_not, rule="EVD-02", field="token")
            if not share.allows(AccessLevel(want)):
                raise PermissionDenied(
                    "this share allows viewing only, not downloading",
                    rule="EVD-02",
                    field="want",
                )
            item = uow.evidence.get(share.evidence_id)
            if item is None:  # the foreign key makes this unreachable
                raise NotFound("the shared evidence is gone", rule="EVD-02", field="token")
            _require_stored(uow, item)
        content = _open_content(ctx, attempt, item) if want == AccessLevel.DOWNLOAD else None
        attempt.record(share_id=share.id, grantee_org=share.grantee_org)
        uow.commit()
    return SharedEvidence(EvidenceView.of(item), content)


# --- retention and legal hold (EVD-03) ------------------------------------------------


def set_retention_category(
    ctx: ServiceContext,
    *,
    officer_id: int,
    evidence_id: int,
    category: RetentionCategory | str,
) -> EvidenceView:
    """Change an item's category; its purge date is recomputed from its receipt (EVD-03)."""
    with ctx.uow() as uow:
        attempt = _officer_attempt(
            uow,
            ctx,
            officer_id,
            obj=f"evidence:{evidence_id}",
            action="evidence.retention_changed",
        )
        with attempt.checks():
            officer, _ = active_officer(uow, officer_id)
            item, _, _ = _item_access(uow, officer, evidence_id, for_update=True)
            if category not in RetentionCategory._value2member_map_:
                allowed = ", ".join(c.value for c in RetentionCategory)
                raise invalid("category", "EVD-03", f"must be one of: {allowed}")
        new = RetentionCategory(category)
        until = retention_policy(uow).retain_until(item.received_at, new)
        uow.evidence.update(item.id, retention_category=new.value, retain_until=until)
        attempt.record(
            previous=item.retention_category.value,
            category=new.value,
            retain_until=None if until is None else until.isoformat(),
        )
        uow.commit()
    return EvidenceView.of(replace(item, retention_category=new, retain_until=until))


def mark_no_investigative_value(
    ctx: ServiceContext, *, officer_id: int, evidence_id: int
) -> EvidenceView:
    """The item is of no investigative value: purged 30 days after receipt (EVD-03)."""
    return set_retention_category(
        ctx,
        officer_id=officer_id,
        evidence_id=evidence_id,
        category=RetentionCategory.NO_INVESTIGATIVE_VALUE,
    )


def set_legal_hold(
    ctx: ServiceContext, *, supervisor_id: int, evidence_id: int, hold: bool, reason: str
) -> None:
    """A supervisor places or lifts a legal hold; a held item is never purged or deleted."""
    with ctx.uow() as uow:
        attempt = _officer_attempt(
            uow, ctx, supervisor_id, obj=f"evidence:{evidence_id}", action="evidence.legal_hold"
        )
        with attempt.checks():
            supervisor, _ = active_supervisor(
                uow, supervisor_id, may="places or lifts a legal hold", rule="EVD-03"
            )
            item, _, _ = _item_access(uow, supervisor, evidence_id, for_update=True)
            problems = check_text(reason, field="reason", rule="EVD-03", max_chars=MAX_REASON_CHARS)
            if not isinstance(hold, bool):
                problems.append(Problem("hold", "EVD-03", "must be true or false"))
            if problems:
                raise InvalidInput(problems)
        if item.legal_hold != hold:
            uow.evidence.update(item.id, legal_hold=hold)
        attempt.record(hold=hold, reason=reason.strip(), changed=item.legal_hold != hold)
        uow.commit()


def _purge(uow: UnitOfWork, evidence_id: int, now: datetime) -> str | None:
    """Purge one item if it is due; returns its SHA-256, or None when it is not purged.

    Due-ness follows the retention policy in force (admin settings over the
    design defaults), counted from receipt, whatever ``retain_until`` says.
    """
    stored = uow.evidence.get(evidence_id, for_update=True)
    case = None if stored is None else uow.cases.get(stored.case_id)
    if stored is None or case is None:
        return None
    until = retention_policy(uow).retain_until(stored.received_at, stored.retention_category)
    item = replace(stored, retain_until=until)
    if purge_block(item, case_status=case.status, now=now) is not None:
        return None
    uow.evidence.update(item.id, status=EvidenceStatus.PURGED.value)
    uow.evidence.add_tombstone(
        Tombstone(item.id, item.sha256, TombstoneKind.PURGED, PURGE_ACTOR, PURGE_REASON, now)
    )
    uow.audit.record(
        AuditEvent(
            actor=PURGE_ACTOR,
            role="system",
            object=f"evidence:{item.id}",
            action="evidence.purge",
            details={
                "reason": PURGE_REASON,
                "retention_category": item.retention_category.value,
                "retain_until": None
                if item.retain_until is None
                else item.retain_until.isoformat(),
                "sha256": item.sha256,
            },
        ),
        now=now,
    )
    return item.sha256


def purge_due_evidence(ctx: ServiceContext) -> int:
    """Purge every item past its retention; returns how many were purged (EVD-03).

    An item is purged when its ``retain_until`` has passed, it is not on legal
    hold, and its case is closed. Items of an open case are never removed,
    even past their retention (EVD-04 wins over the clock): they become due
    the moment the case closes. Each purge leaves a tombstone and an audit entry.

    One transaction per item, as in :func:`purge_evidence_job`: a transaction
    holding several items' rows and audit streams could deadlock with it.
    """
    with ctx.uow(read_only=True) as uow:
        due = _due_for_purge(uow, ctx.clock.now())
    return sum(_purge_one(ctx, evidence_id) for evidence_id in due)


def _due_for_purge(uow: UnitOfWork, now: datetime) -> list[int]:
    """Ids of items due at ``now`` under the retention policy in force (EVD-03)."""
    return uow.retention.due_for_purge(retention_policy(uow).cutoffs(now))


def schedule_purges(uow: UnitOfWork, now: datetime) -> int:
    """Enqueue one :data:`PURGE_JOB` per item due at ``now``; returns how many were new.

    The caller commits. Jobs are deduplicated per item (``purge:<id>``), so a
    job that found its item no longer due (a hold placed in between) is not
    enqueued again; :func:`purge_due_evidence` is the sweep that catches those.
    """
    enqueued = 0
    for evidence_id in _due_for_purge(uow, now):
        job_id = uow.jobs.enqueue(
            PURGE_JOB, {"evidence_id": evidence_id}, now=now, dedupe_key=f"purge:{evidence_id}"
        )
        if job_id is not None:
            enqueued += 1
    return enqueued


def purge_evidence_job(ctx: ServiceContext, payload: Mapping[str, Any]) -> None:
    """Job handler for :data:`PURGE_JOB`: purge one item if it is (still) due.

    Idempotent: a second run finds the item purged and changes nothing in the
    database; it only finishes removing content that a crashed run left behind.
    """
    evidence_id = payload.get("evidence_id")
    if not isinstance(evidence_id, int) or isinstance(evidence_id, bool):
        raise ValueError(f"a {PURGE_JOB} job needs an integer evidence_id, got {payload!r}")
    _purge_one(ctx, evidence_id)


def _purge_one(ctx: ServiceContext, evidence_id: int) -> bool:
    """Purge one item if due, then remove its content; True if it was purged now.

    For an item purged or deleted earlier, it only finishes removing content
    that a crashed run left behind.
    """
    with ctx.uow() as uow:
        sha256 = _purge(uow, evidence_id, ctx.clock.now())
        purged = sha256 is not None
        if not purged:
            item = uow.evidence.get(evidence_id)
            removed = item is not None and item.status is not EvidenceStatus.STORED
            sha256 = item.sha256 if item is not None and removed else None
        uow.commit()
    if sha256 is not None and ctx.stores.evidence.exists(sha256):
        _remove_content(ctx, sha256)
    return purged


# --- deletion (EVD-04) and derived copies (XFR-04) --------------------------------------


def delete_evidence(ctx: ServiceContext, *, officer_id: int, evidence_id: int, reason: str) -> None:
    """Delete an item of a closed case, with a reason; a tombstone remains (EVD-04).

    Refused for an open case (EVD-04) and for an item on legal hold (EVD-03).
    """
    with ctx.uow() as uow:
        attempt = _officer_attempt(
            uow, ctx, officer_id, obj=f"evidence:{evidence_id}", action="evidence.delete"
        )
        with attempt.checks():
            officer, _ = active_officer(uow, officer_id)
            item, case, _ = _item_access(uow, officer, evidence_id, for_update=True)
            problems = check_text(reason, field="reason", rule="EVD-04", max_chars=MAX_REASON_CHARS)
            if problems:
                raise InvalidInput(problems)
            if case.status is CaseStatus.OPEN:
                raise RuleViolation(
                    f"case {case.case_number} is open: its evidence cannot be deleted "
                    "until the case is closed",
                    rule="EVD-04",
                    field="case_id",
                )
            if item.legal_hold:
                raise RuleViolation(
                    f"evidence {item.id} is on legal hold: a supervisor must lift the hold first",
                    rule="EVD-03",
                    field="legal_hold",
                )
        actor = attempt.actor
        uow.evidence.update(item.id, status=EvidenceStatus.DELETED.value)
        uow.evidence.add_tombstone(
            Tombstone(
                item.id, item.sha256, TombstoneKind.DELETED, actor, reason.strip(), attempt.now
            )
        )
        attempt.record(reason=reason.strip(), sha256=item.sha256)
        uow.commit()
    _remove_content(ctx, item.sha256)


def derive_copy(
    ctx: ServiceContext,
    *,
    officer_id: int,
    evidence_id: int,
    derivation: str,
    content: Content,
    has_audio: bool | None = None,
) -> int:
    """Store a derived copy (redacted, trimmed, audio removed) of an item; returns its id.

    The original is immutable and untouched (XFR-04): the copy is a new object
    with its own SHA-256 and a ``parent_id`` link. It follows its original's
    retention clock and legal hold, so a copy never outlives the rules of its
    source. ``has_audio`` defaults to the original's. Deriving the same
    content twice returns the first copy's id.
    """
    _check_may_derive(ctx, officer_id=officer_id, evidence_id=evidence_id, derivation=derivation)
    stored = ctx.stores.evidence.put(content, max_bytes=MAX_EVIDENCE_BYTES)
    try:
        return _record_derived(
            ctx,
            officer_id=officer_id,
            evidence_id=evidence_id,
            derivation=derivation.strip(),
            sha256=stored.sha256,
            size_bytes=stored.size,
            has_audio=has_audio,
        )
    except DomainError:
        _remove_content(ctx, stored.sha256)
        raise


def _check_may_derive(
    ctx: ServiceContext, *, officer_id: int, evidence_id: int, derivation: str
) -> None:
    """Refuse (audited) before any content is written to the evidence store."""
    with ctx.uow() as uow:
        attempt = _officer_attempt(
            uow, ctx, officer_id, obj=f"evidence:{evidence_id}", action="evidence.derive"
        )
        with attempt.checks():
            officer, _ = active_officer(uow, officer_id)
            _item_access(uow, officer, evidence_id)
            problems = check_text(
                derivation, field="derivation", rule="XFR-04", max_chars=MAX_DERIVATION_CHARS
            )
            if problems:
                raise InvalidInput(problems)


def _record_derived(
    ctx: ServiceContext,
    *,
    officer_id: int,
    evidence_id: int,
    derivation: str,
    sha256: str,
    size_bytes: int,
    has_audio: bool | None,
) -> int:
    with ctx.uow() as uow:
        attempt = _officer_attempt(
            uow, ctx, officer_id, obj=f"evidence:{evidence_id}", action="evidence.derive"
        )
        with attempt.checks():
            officer, _ = active_officer(uow, officer_id)
            parent, _, _ = _item_access(uow, officer, evidence_id, for_update=True)
            if sha256 == parent.sha256:
                raise invalid("content", "XFR-04", "a derived copy must differ from its original")
        source_ref = f"derived:{parent.id}:{sha256[:40]}"  # fits evidence_items.source_ref
        existing = uow.evidence.by_source_ref(source_ref)
        if existing is not None:
            return existing.id
        copy_id = uow.evidence.add(
            replace(
                parent,
                id=0,
                source_ref=source_ref,
                sha256=sha256,
                size_bytes=size_bytes,
                has_audio=parent.has_audio if has_audio is None else has_audio,
                parent_id=parent.id,
                derivation=derivation,
            )
        )
        attempt.record(derived_id=copy_id, derivation=derivation, sha256=sha256)
        uow.commit()
    return copy_id
