"""Evidence items on the agency side: access, shares, retention (EVD-01..05, XFR-04).

Pure rules and value objects; the use cases that apply them live in
:mod:`system.service_layer.evidence`. Times are aware UTC datetimes and are
always passed in.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from system.domain.errors import Problem
from system.domain.model import CaseStatus, Role
from system.domain.rules import check_text

MAX_EVIDENCE_BYTES = 2 * 1024**3
"""Largest object the evidence store accepts, in bytes: one clip (XFR-05, design)."""

SHARE_DEFAULT_EXPIRY = timedelta(days=14)
"""A share's lifetime unless the officer chooses another (EVD-02, design)."""

SHARE_MAX_EXPIRY = timedelta(days=90)
"""The longest a share may last (EVD-02, design): long-lived links are a leak risk."""

MAX_REASON_CHARS = 2000
MAX_DERIVATION_CHARS = 40  # evidence_items.derivation

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class EvidenceStatus(StrEnum):
    STORED = "stored"
    PURGED = "purged"  # removed at the end of its retention
    DELETED = "deleted"  # removed by a person, with a reason and a tombstone


class RetentionCategory(StrEnum):
    """How long an item is kept from receipt (design values; settings may override)."""

    STANDARD = "standard"
    NO_INVESTIGATIVE_VALUE = "no_investigative_value"
    SERIOUS_CRIME = "serious_crime"


DEFAULT_RETENTION: dict[RetentionCategory, timedelta | None] = {
    RetentionCategory.STANDARD: timedelta(days=3 * 365),
    RetentionCategory.NO_INVESTIGATIVE_VALUE: timedelta(days=30),  # EVD-03 (design)
    RetentionCategory.SERIOUS_CRIME: None,  # kept until a person decides
}


def retain_until(
    received_at: datetime,
    category: RetentionCategory,
    policy: dict[RetentionCategory, timedelta | None] | None = None,
) -> datetime | None:
    """When an item becomes due for purge; the clock starts at receipt (EVD-03)."""
    period = (policy or DEFAULT_RETENTION)[category]
    return None if period is None else received_at + period


@dataclass(frozen=True)
class EvidenceItem:
    id: int
    agency_id: int
    case_id: int
    request_id: int | None
    source_ref: str
    sha256: str
    size_bytes: int
    recorded_at: datetime | None
    has_audio: bool
    received_at: datetime
    retention_category: RetentionCategory
    retain_until: datetime | None
    legal_hold: bool
    status: EvidenceStatus
    parent_id: int | None = None
    derivation: str | None = None
    contributor: dict[str, str] | None = None


@dataclass(frozen=True)
class EvidenceView:
    """What the agency (or a grantee) is shown about an item.

    It carries no resident, camera or transfer identity (CON-03): not even
    ``source_ref``. The only person it may name is the contributor, and only
    when the resident chose to share their identity (CON-05).
    """

    id: int
    case_id: int
    request_id: int | None
    sha256: str
    size_bytes: int
    recorded_at: datetime | None
    has_audio: bool
    received_at: datetime
    retention_category: RetentionCategory
    retain_until: datetime | None
    legal_hold: bool
    parent_id: int | None
    derivation: str | None
    contributor: dict[str, str] | None

    @classmethod
    def of(cls, item: EvidenceItem) -> EvidenceView:
        return cls(
            id=item.id,
            case_id=item.case_id,
            request_id=item.request_id,
            sha256=item.sha256,
            size_bytes=item.size_bytes,
            recorded_at=item.recorded_at,
            has_audio=item.has_audio,
            received_at=item.received_at,
            retention_category=item.retention_category,
            retain_until=item.retain_until,
            legal_hold=item.legal_hold,
            parent_id=item.parent_id,
            derivation=item.derivation,
            contributor=None if item.contributor is None else dict(item.contributor),
        )


class AccessBasis(StrEnum):
    """Why an officer may see a case's evidence (EVD-01)."""

    ASSIGNED = "assigned"
    SUPERVISOR = "supervisor"


def officer_access(
    *, role: Role, officer_agency_id: int, case_agency_id: int, assigned: bool
) -> AccessBasis | None:
    """The basis on which an officer sees a case's evidence, or None (EVD-01).

    Detectives assigned to the case and supervisors of its agency; nobody from
    another agency, whatever their role. Grantees come in through a share.
    """
    if officer_agency_id != case_agency_id:
        return None
    if role is Role.SUPERVISOR:
        return AccessBasis.SUPERVISOR
    if role is Role.DETECTIVE and assigned:
        return AccessBasis.ASSIGNED
    return None


def purge_block(item: EvidenceItem, *, case_status: CaseStatus, now: datetime) -> str | None:
    """Why ``item`` may not be purged at ``now``, or None when it is due (EVD-03, EVD-04).

    Items of an open case are kept past their retention until the case
    closes: EVD-04 forbids removing them, and that rule wins over the clock.
    """
    if item.status is not EvidenceStatus.STORED:
        return f"it is already {item.status.value}"
    if item.legal_hold:
        return "it is on legal hold"
    if item.retain_until is None:
        return f"category {item.retention_category.value} is kept until a person decides"
    if item.retain_until > now:
        return f"it is retained until {item.retain_until.isoformat()}"
    if case_status is CaseStatus.OPEN:
        return "its case is open"
    return None


class TombstoneKind(StrEnum):
    PURGED = "purged"
    DELETED = "deleted"


@dataclass(frozen=True)
class Tombstone:
    """What remains of a removed item: its hash, who removed it, why and when (EVD-04)."""

    evidence_id: int
    sha256: str
    kind: TombstoneKind
    actor: str
    reason: str
    removed_at: datetime

    def describe(self) -> str:
        verb = "purged" if self.kind is TombstoneKind.PURGED else "deleted"
        return (
            f"evidence {self.evidence_id} was {verb} on {self.removed_at.isoformat()} "
            f"by {self.actor} ({self.reason}); only its tombstone remains"
        )


PURGE_REASON = "retention period ended"
PURGE_ACTOR = "system:retention"


class AccessLevel(StrEnum):
    """What a share's grantee may do: view the item's record, or also download it."""

    VIEW = "view"
    DOWNLOAD = "download"


@dataclass(frozen=True)
class EvidenceShare:
    """An explicit grant to someone outside the case team (EVD-02).

    The secret token is never stored: only its SHA-256 (:func:`token_digest`).
    """

    id: int
    evidence_id: int
    granted_by: int
    grantee_name: str
    grantee_email: str
    grantee_org: str
    outside_agency: bool
    justification: str | None
    access_level: AccessLevel
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_by: int | None = None

    def unusable_because(self, now: datetime) -> str | None:
        """Why the share does not work at ``now`` (revoked, expired), or None."""
        if self.revoked_at is not None:
            return f"this share was revoked on {self.revoked_at.isoformat()}"
        if now >= self.expires_at:
            return f"this share expired on {self.expires_at.isoformat()}"
        return None

    def allows(self, want: AccessLevel) -> bool:
        return want is AccessLevel.VIEW or self.access_level is AccessLevel.DOWNLOAD


@dataclass(frozen=True)
class ShareGrant:
    """A new share: the secret token is here once and is never shown again."""

    share_id: int
    token: str
    expires_at: datetime


def token_digest(token: str) -> str:
    """The SHA-256 (hex) of a share token: what the database holds instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def share_problems(
    *,
    grantee_name: object,
    grantee_email: object,
    grantee_org: object,
    access_level: object,
    outside_agency: object,
    justification: object,
    expires_in: object,
) -> list[Problem]:
    """Everything wrong with a share request (EVD-02); empty when it may be granted."""
    found = check_text(
        grantee_name, field="grantee_name", rule="EVD-02", max_chars=200, single_line=True
    )
    found += check_text(
        grantee_org, field="grantee_org", rule="EVD-02", max_chars=200, single_line=True
    )
    if (
        not isinstance(grantee_email, str)
        or len(grantee_email) > 254
        or not _EMAIL.match(grantee_email)
    ):
        found.append(Problem("grantee_email", "EVD-02", "must be an email address"))
    if access_level not in AccessLevel._value2member_map_:
        found.append(Problem("access_level", "EVD-02", "must be 'view' or 'download'"))
    if not isinstance(outside_agency, bool):
        found.append(Problem("outside_agency", "EVD-02", "must be true or false"))
    if outside_agency is True:
        found += check_text(
            justification, field="justification", rule="EVD-02", max_chars=MAX_REASON_CHARS
        )
    elif justification is not None:
        found += check_text(
            justification,
            field="justification",
            rule="EVD-02",
            max_chars=MAX_REASON_CHARS,
            required=False,
        )
    if not isinstance(expires_in, timedelta) or expires_in <= timedelta(0):
        found.append(Problem("expires_in", "EVD-02", "must be a positive duration"))
    elif expires_in > SHARE_MAX_EXPIRY:
        found.append(
            Problem(
                "expires_in", "EVD-02", f"must be at most {SHARE_MAX_EXPIRY.days} days (design)"
            )
        )
    return found
