"""One audited attempt at an action on one object (SEC-04).

Checks run inside :meth:`AuditedAttempt.checks`; a refusal is audited as
``denied``, committed, then re-raised, so denials leave a trace even though the
action did not happen. Only reads may happen inside the checks: the commit
would keep any write made there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from system.domain.audit import AuditEvent
from system.domain.errors import DomainError
from system.service_layer.unit_of_work import UnitOfWork


@dataclass
class AuditedAttempt:
    uow: UnitOfWork
    now: datetime
    actor: str
    role: str
    obj: str
    action: str
    source_ip: str | None = None

    @contextmanager
    def checks(self) -> Iterator[None]:
        try:
            yield
        except DomainError as exc:
            self.record("denied", rule=exc.rule, field=exc.field, reason=exc.message)
            self.uow.commit()
            raise

    def record(self, outcome: str = "ok", **details: Any) -> None:
        self.uow.audit.record(
            AuditEvent(
                actor=self.actor,
                role=self.role,
                object=self.obj,
                action=self.action,
                outcome=outcome,
                source_ip=self.source_ip,
                details=details,
            ),
            now=self.now,
        )
