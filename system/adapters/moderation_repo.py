"""The platform's staff and the moderation decisions they record (REQ-06, REQ-08)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from system.adapters import driver_sql
from system.adapters import tables as t
from system.adapters.repo_base import Repository, email_taken
from system.domain.model import ModerationDecision, Role, Staff


class StaffRepository(Repository):
    def add(self, *, name: str, email: str, role: Role, now: datetime) -> Staff:
        new_id = self._insert(
            t.staff, name=name, email=email, role=role.value, active=True, created_at=now
        )
        return Staff(new_id, name, email, role)

    def get(self, staff_id: int) -> Staff | None:
        row = driver_sql.first_row(self.connection, _STAFF, {"id": staff_id})
        if row is None:
            return None
        return Staff(row.id, row.name, row.email, Role(row.role), row.active)

    def email_taken(self, email: str) -> bool:
        return email_taken(self.connection, t.staff, email)


class ModerationRepository(Repository):
    def add(self, decision: ModerationDecision) -> int:
        return self._insert(
            t.moderation_decisions,
            request_id=decision.request_id,
            moderator_id=decision.moderator_id,
            decision=decision.decision.value,
            reason=decision.reason,
            checklist_json=json.dumps(decision.checklist, sort_keys=True),
            lint_flags_json=json.dumps(list(decision.lint_flags)),
            decided_at=decision.decided_at,
        )

    def for_request(self, request_id: int) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(t.moderation_decisions)
            .where(t.moderation_decisions.c.request_id == request_id)
            .order_by(t.moderation_decisions.c.id)
        )
        return [
            {
                "moderator_id": r.moderator_id,
                "decision": r.decision,
                "reason": r.reason,
                "checklist": json.loads(r.checklist_json),
                "lint_flags": json.loads(r.lint_flags_json),
                "decided_at": r.decided_at,
            }
            for r in rows
        ]


_STAFF = select(t.staff).where(t.staff.c.id == bindparam("id"))
