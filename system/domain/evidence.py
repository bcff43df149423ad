"""Evidence items on the agency side, and their retention (EVD-01..05, XFR-04)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


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
