"""Break-glass access to a resident clip on SQLite and PostgreSQL (SEC-05, SEC-04)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest

from system.domain.audit import AuditEntry
from system.domain.breakglass import MAX_GRANT_MINUTES
from system.domain.clock import ManualClock
from system.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from system.service_layer import registration
from system.service_layer.breakglass import (
    approve_break_glass,
    request_break_glass,
    revoke_break_glass,
    view_clip_break_glass,
)
from system.service_layer.context import ServiceContext
from tests.system.consent_world import build_consent_world

TICKET = "INC-4711"


@dataclass
class Platform:
    ctx: ServiceContext
    clock: ManualClock
    clip_id: int
    clip_bytes: bytes
    moderator_id: int
    auditor_id: int
    admin_id: int
    other_admin_id: int

    def ask(self, staff_id: int | None = None) -> int:
        return request_break_glass(
            self.ctx,
            staff_id=self.moderator_id if staff_id is None else staff_id,
            clip_id=self.clip_id,
            ticket=TICKET,
            reason="Resident reports the clip shows abuse; trust & safety must check it.",
        )

    def approved_grant(self, minutes: int = 60) -> int:
        grant_id = self.ask()
        approve_break_glass(self.ctx, admin_id=self.admin_id, grant_id=grant_id, minutes=minutes)
        return grant_id

    def audit(self, action: str) -> list[AuditEntry]:
        with self.ctx.uow(read_only=True) as uow:
            return [e for e in uow.audit.entries() if e.action == action]


@pytest.fixture
def platform(full_ctx: ServiceContext, clock: ManualClock) -> Platform:
    cw = build_consent_world(full_ctx, {"alice": (0.0, 0.0)})
    clip_id = cw.clips_of["alice"][0]
    with full_ctx.uow(read_only=True) as uow:
        clip = uow.clips.get(clip_id)
    assert clip is not None
    staff = {
        role: registration.register_staff(
            full_ctx, name=f"{role.title()} One", email=f"{role}@p.example", role=role
        ).id
        for role in ("auditor", "admin")
    }
    other_admin = registration.register_staff(
        full_ctx, name="Admin Two", email="admin2@p.example", role="admin"
    )
    return Platform(
        ctx=full_ctx,
        clock=clock,
        clip_id=clip_id,
        clip_bytes=full_ctx.stores.clips.read_all(clip.sha256),
        moderator_id=cw.world.moderator_id,
        auditor_id=staff["auditor"],
        admin_id=staff["admin"],
        other_admin_id=other_admin.id,
    )


def test_sec05_requested_approved_grant_lets_its_requester_read_the_clip_audited_with_ticket(
    platform: Platform,
) -> None:
    grant_id = platform.approved_grant()

    content = view_clip_break_glass(platform.ctx, staff_id=platform.moderator_id, grant_id=grant_id)

    assert content == platform.clip_bytes
    for action in ("breakglass.request", "breakglass.approve", "breakglass.view"):
        (entry,) = platform.audit(action)
        assert entry.outcome == "ok"
        assert json.loads(entry.details_json)["ticket"] == TICKET
    (view,) = platform.audit("breakglass.view")
    assert view.actor == f"staff:{platform.moderator_id}"
    assert view.role == "moderator"
    assert json.loads(view.details_json)["clip_id"] == platform.clip_id
    with platform.ctx.uow(read_only=True) as uow:
        assert uow.audit.verify().ok


def test_sec05_moderator_without_an_approved_grant_cannot_read_the_clip(
    platform: Platform,
) -> None:
    grant_id = platform.ask()  # asked, never approved

    with pytest.raises(PermissionDenied) as refused:
        view_clip_break_glass(platform.ctx, staff_id=platform.moderator_id, grant_id=grant_id)
    with pytest.raises(NotFound):
        view_clip_break_glass(platform.ctx, staff_id=platform.moderator_id, grant_id=999_999)

    assert refused.value.rule == "SEC-05"
    outcomes = [e.outcome for e in platform.audit("breakglass.view")]
    assert outcomes == ["denied", "denied"]


def test_sec05_grant_expires_and_a_late_view_is_refused_and_audited(platform: Platform) -> None:
    grant_id = platform.approved_grant(minutes=30)
    view_clip_break_glass(platform.ctx, staff_id=platform.moderator_id, grant_id=grant_id)

    platform.clock.advance(timedelta(minutes=30))

    with pytest.raises(PermissionDenied, match="expired") as refused:
        view_clip_break_glass(platform.ctx, staff_id=platform.moderator_id, grant_id=grant_id)
    assert refused.value.rule == "SEC-05"
    late = platform.audit("breakglass.view")[-1]
    assert late.outcome == "denied"
    assert "expired" in json.loads(late.details_json)["reason"]


def test_sec05_grant_lasts_at_most_four_hours(platform: Platform) -> None:
    grant_id = platform.ask()

    with pytest.raises(InvalidInput) as refused:
        approve_break_glass(
            platform.ctx,
            admin_id=platform.admin_id,
            grant_id=grant_id,
            minutes=MAX_GRANT_MINUTES + 1,
        )

    assert refused.value.field == "minutes"
    expires_at = approve_break_glass(
        platform.ctx, admin_id=platform.admin_id, grant_id=grant_id, minutes=MAX_GRANT_MINUTES
    )
    assert expires_at == platform.clock.now() + timedelta(hours=4)


def test_sec05_an_admin_cannot_approve_their_own_request(platform: Platform) -> None:
    grant_id = platform.ask(staff_id=platform.admin_id)

    with pytest.raises(PermissionDenied, match="other than its requester"):
        approve_break_glass(platform.ctx, admin_id=platform.admin_id, grant_id=grant_id, minutes=60)
    with pytest.raises(PermissionDenied):
        view_clip_break_glass(platform.ctx, staff_id=platform.admin_id, grant_id=grant_id)

    assert [e.outcome for e in platform.audit("breakglass.approve")] == ["denied"]
    approve_break_glass(
        platform.ctx, admin_id=platform.other_admin_id, grant_id=grant_id, minutes=5
    )
    assert view_clip_break_glass(platform.ctx, staff_id=platform.admin_id, grant_id=grant_id)


def test_sec05_only_admins_approve(platform: Platform) -> None:
    grant_id = platform.ask()

    with pytest.raises(PermissionDenied):
        approve_break_glass(
            platform.ctx, admin_id=platform.auditor_id, grant_id=grant_id, minutes=60
        )


def test_sec05_revoked_grant_is_refused(platform: Platform) -> None:
    grant_id = platform.approved_grant()

    revoke_break_glass(platform.ctx, admin_id=platform.other_admin_id, grant_id=grant_id)
    revoke_break_glass(platform.ctx, admin_id=platform.other_admin_id, grant_id=grant_id)

    with pytest.raises(PermissionDenied, match="revoked"):
        view_clip_break_glass(platform.ctx, staff_id=platform.moderator_id, grant_id=grant_id)
    with pytest.raises(Conflict):
        approve_break_glass(platform.ctx, admin_id=platform.admin_id, grant_id=grant_id, minutes=60)
    revocations = platform.audit("breakglass.revoke")
    assert [json.loads(e.details_json)["already_revoked"] for e in revocations] == [False, True]


def test_sec05_another_staff_member_cannot_use_someone_elses_grant(platform: Platform) -> None:
    grant_id = platform.approved_grant()

    for intruder in (platform.auditor_id, platform.admin_id, platform.other_admin_id):
        with pytest.raises(PermissionDenied, match="another staff member"):
            view_clip_break_glass(platform.ctx, staff_id=intruder, grant_id=grant_id)

    denied = platform.audit("breakglass.view")
    assert [e.outcome for e in denied] == ["denied"] * 3
    assert {e.actor for e in denied} == {
        f"staff:{s}" for s in (platform.auditor_id, platform.admin_id, platform.other_admin_id)
    }


def test_sec05_request_needs_a_ticket_a_reason_and_a_stored_clip(platform: Platform) -> None:
    with pytest.raises(InvalidInput) as refused:
        request_break_glass(
            platform.ctx,
            staff_id=platform.moderator_id,
            clip_id=platform.clip_id,
            ticket=" ",
            reason="",
        )
    assert {p.field for p in refused.value.problems} == {"ticket", "reason"}
    with pytest.raises(NotFound):
        request_break_glass(
            platform.ctx,
            staff_id=platform.moderator_id,
            clip_id=999_999,
            ticket=TICKET,
            reason="r",
        )
    assert [e.outcome for e in platform.audit("breakglass.request")] == ["denied", "denied"]
