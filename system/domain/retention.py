"""How long the agency's evidence is kept, per retention category (EVD-03).

An admin may change the periods; the defaults are the design values in
:data:`system.domain.evidence.DEFAULT_RETENTION`. A period is whole days from
receipt, or ``None`` for "kept until a person decides". Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from system.domain.errors import Problem
from system.domain.evidence import DEFAULT_RETENTION, RetentionCategory

MAX_RETENTION_DAYS = 100 * 365
"""The longest finite period accepted; longer means "until a person decides" (None)."""

FIELD = "periods_days"
"""Where the periods sit in an admin's request body; problems name ``periods_days.<category>``."""


def _days(period: timedelta | None) -> int | None:
    return None if period is None else period.days


@dataclass(frozen=True)
class RetentionPolicy:
    """Days from receipt to purge, by category (``None``: kept until a person decides)."""

    days: Mapping[RetentionCategory, int | None] = field(
        default_factory=lambda: {c: _days(p) for c, p in DEFAULT_RETENTION.items()}
    )

    def __post_init__(self) -> None:
        missing = set(RetentionCategory) - set(self.days)
        if missing:
            raise ValueError(f"a retention policy needs every category; missing {sorted(missing)}")
        object.__setattr__(self, "days", MappingProxyType(dict(self.days)))

    def period(self, category: RetentionCategory) -> timedelta | None:
        days = self.days[category]
        return None if days is None else timedelta(days=days)

    def retain_until(self, received_at: datetime, category: RetentionCategory) -> datetime | None:
        """When an item received at ``received_at`` becomes due for purge (EVD-03)."""
        period = self.period(category)
        return None if period is None else received_at + period

    def cutoffs(self, now: datetime) -> dict[RetentionCategory, datetime]:
        """Per category with a finite period: items received at or before this are due."""
        return {c: now - p for c in RetentionCategory if (p := self.period(c)) is not None}

    def as_dict(self) -> dict[str, int | None]:
        return {c.value: self.days[c] for c in RetentionCategory}


DEFAULT_POLICY = RetentionPolicy()


def changed_policy(
    current: RetentionPolicy, changes: Mapping[str, object]
) -> tuple[RetentionPolicy, list[Problem]]:
    """``current`` with ``changes`` applied (category name -> days or None), and what is wrong.

    Rules: a category must exist; a period is a whole number of days from 1 to
    :data:`MAX_RETENTION_DAYS`, or None; items of no investigative value are
    purged, and sooner than standard items (EVD-03).
    """
    problems: list[Problem] = []
    days = dict(current.days)
    if not changes:
        problems.append(Problem(FIELD, "EVD-03", "name at least one category to change"))
    for name, value in changes.items():
        where = f"{FIELD}.{name}"
        if name not in RetentionCategory._value2member_map_:
            allowed = ", ".join(c.value for c in RetentionCategory)
            problems.append(Problem(where, "EVD-03", f"unknown category; one of: {allowed}"))
            continue
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 1 <= value <= MAX_RETENTION_DAYS
        ):
            problems.append(
                Problem(
                    where,
                    "EVD-03",
                    f"must be a whole number of days from 1 to {MAX_RETENTION_DAYS}, "
                    "or null for 'kept until a person decides'",
                )
            )
            continue
        days[RetentionCategory(name)] = value
    if problems:
        return current, problems
    no_value = days[RetentionCategory.NO_INVESTIGATIVE_VALUE]
    standard = days[RetentionCategory.STANDARD]
    where = f"{FIELD}.{RetentionCategory.NO_INVESTIGATIVE_VALUE.value}"
    if no_value is None:
        problems.append(Problem(where, "EVD-03", "items of no investigative value must be purged"))
    elif standard is not None and no_value >= standard:
        problems.append(
            Problem(
                where,
                "EVD-03",
                f"must be shorter than the standard period ({standard} days): items of "
                "no investigative value are purged sooner",
            )
        )
    return (current, problems) if problems else (RetentionPolicy(days), [])
