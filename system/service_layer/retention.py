"""Evidence retention settings: what an admin may change, and the policy the purge follows (EVD-03).

Periods an admin has set are stored (``retention_settings``); every other
category keeps its design default. A change applies to items already stored
as well: their ``retain_until`` is recomputed from receipt, in the same
transaction, and the purge (:mod:`system.service_layer.evidence`) decides what
is due from the policy itself. Every change, and every refused one, is audited
(SEC-04: retention changes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from system.domain.errors import InvalidInput
from system.domain.evidence import RetentionCategory
from system.domain.retention import RetentionPolicy, changed_policy
from system.service_layer.attempts import AuditedAttempt
from system.service_layer.context import ServiceContext
from system.service_layer.reads import reads_only
from system.service_layer.unit_of_work import UnitOfWork


def retention_policy(uow: UnitOfWork) -> RetentionPolicy:
    """The policy in force: stored periods over the design defaults."""
    stored = {r.category: r.period_days for r in uow.retention.rows()}
    default = RetentionPolicy()
    return RetentionPolicy(
        {c: stored[c.value] if c.value in stored else default.days[c] for c in RetentionCategory}
    )


@dataclass(frozen=True)
class RetentionSettings:
    policy: RetentionPolicy
    updated_at: datetime | None  # None: every period is its design default
    updated_by: str | None


@reads_only
def show_retention(ctx: ServiceContext) -> RetentionSettings:
    with ctx.uow(read_only=True) as uow:
        rows = uow.retention.rows()
        policy = retention_policy(uow)
    last = max(rows, key=lambda r: r.updated_at, default=None)
    return RetentionSettings(
        policy, None if last is None else last.updated_at, None if last is None else last.updated_by
    )


@dataclass(frozen=True)
class RetentionChange:
    settings: RetentionSettings
    previous: RetentionPolicy
    items_redated: int


def change_retention(
    ctx: ServiceContext,
    *,
    changes: Mapping[str, object],
    actor: str,
    role: str = "admin",
    source_ip: str | None = None,
) -> RetentionChange:
    """Apply ``changes`` (category -> days, or None for "until a person decides").

    Refused changes (an unknown category, a bad period, no-value items kept
    longer than standard ones) are audited as denied and change nothing.
    """
    now = ctx.clock.now()
    with ctx.uow() as uow:
        attempt = AuditedAttempt(
            uow, now, actor, role, "retention:evidence", "retention.change", source_ip
        )
        with attempt.checks():
            previous = retention_policy(uow)
            policy, problems = changed_policy(previous, changes)
            if problems:
                raise InvalidInput(problems)
        repo = uow.retention
        redated = 0
        for category in RetentionCategory:
            if category.value not in changes:
                continue
            repo.save(category.value, policy.days[category], now=now, by=actor)
            if policy.days[category] != previous.days[category]:
                items = repo.stored_received(category)
                repo.set_retain_until({i: policy.retain_until(r, category) for i, r in items})
                redated += len(items)
        attempt.record(
            previous=previous.as_dict(), periods_days=policy.as_dict(), items_redated=redated
        )
        uow.commit()
    return RetentionChange(RetentionSettings(policy, now, actor), previous, redated)
