"""The emergency disclosure path on SQLite and PostgreSQL (EMG-01, EMG-02, PRV-02, PRV-04)."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from system.adapters import tables as t
from system.domain.clock import ManualClock
from system.domain.emergency import (
    DEFAULT_EMERGENCY_POLICY,
    OWNER_NOTICE_LIMIT,
    EmergencyPolicy,
    EmergencyStatus,
)
from system.domain.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from system.service_layer import emergency, jobs, registration
from system.service_layer.context import ServiceContext
from tests.system.consent_world import ConsentWorld
from tests.system.world import build_world, offset

LOCATION_A = offset(0, 0)
LOCATION_B = offset(600, 0)


@dataclass
class Scene:
    """An agency with a supervisor, camera owners around two addresses, clips on the cameras."""

    cw: ConsentWorld
    supervisor_id: int
    other_supervisor_id: int
    clips_in_window: list[int]

    @property
    def ctx(self) -> ServiceContext:
        return self.cw.ctx

    @property
    def now(self) -> datetime:
        return self.ctx.clock.now()

    def camera(self, label: str) -> int:
        return self.cw.camera_of[label]

    def submit(self, **changes: Any) -> int:
        values: dict[str, Any] = {
            "officer_id": self.cw.world.detective_id,
            "case_id": self.cw.world.case_id,
            "attestation": "I attest that a child was abducted from this block minutes ago "
            "and is in imminent danger of serious physical injury.",
            "narrative": "Witness saw a child pulled into a grey van outside the two addresses.",
            "locations": [LOCATION_A, LOCATION_B],
            "window_start": self.now - timedelta(minutes=90),
            "window_end": self.now - timedelta(minutes=30),
        }
        values.update(changes)
        return emergency.submit_emergency(self.ctx, **values)

    def supervisor_approves(self, emergency_id: int) -> None:
        emergency.supervisor_decide(
            self.ctx,
            supervisor_id=self.supervisor_id,
            emergency_id=emergency_id,
            approve=True,
            reason="Attestation is specific and the danger is ongoing.",
        )

    def review(self, emergency_id: int, camera_ids: list[int], *, approve: bool = True) -> None:
        emergency.platform_review(
            self.ctx,
            reviewer_id=self.cw.world.moderator_id,
            emergency_id=emergency_id,
            approve=approve,
            reason="Meets the emergency policy: specific addresses, one hour.",
            camera_ids=camera_ids,
        )

    def approved(self) -> int:
        emergency_id = self.submit()
        self.supervisor_approves(emergency_id)
        self.review(emergency_id, [self.camera("at_a"), self.camera("at_b")])
        return emergency_id


@pytest.fixture
def scene(full_ctx: ServiceContext) -> Scene:
    cw = ConsentWorld(build_world(full_ctx))
    now = full_ctx.clock.now()
    cw.add_camera_owner("at_a", 5, 0)  # 5 m from address A
    cw.add_camera_owner("at_b", 620, 0)  # 20 m from address B
    cw.add_camera_owner("neighbour", 0, 25)  # 25 m from A, never picked
    cw.add_camera_owner("down_the_street", 0, 45)  # 45 m from A: too far to pick
    in_window = [
        cw.upload("at_a", now - timedelta(minutes=60)),
        cw.upload("at_a", now - timedelta(minutes=45)),
        cw.upload("at_b", now - timedelta(minutes=40)),
    ]
    cw.upload("at_a", now - timedelta(hours=3))  # outside the window
    cw.upload("neighbour", now - timedelta(minutes=60))  # inside, but not picked
    world = cw.world
    supervisor = registration.register_officer(
        full_ctx,
        agency_id=world.agency_id,
        name="Pat Sarge",
        email="sarge@ncpd.example",
        role="supervisor",
    )
    other = registration.register_officer(
        full_ctx,
        agency_id=world.other_agency_id,
        name="Lee Chief",
        email="chief@scpd.example",
        role="supervisor",
    )
    return Scene(cw, supervisor.id, other.id, in_window)


def transfers_of(ctx: ServiceContext, emergency_id: int) -> list[Any]:
    with ctx.uow(read_only=True) as uow:
        return list(
            uow.connection.execute(
                select(t.transfers)
                .where(t.transfers.c.emergency_id == emergency_id)
                .order_by(t.transfers.c.clip_id)
            )
        )


def status_of(ctx: ServiceContext, emergency_id: int) -> str:
    with ctx.uow(read_only=True) as uow:
        return str(
            uow.connection.execute(
                select(t.emergency_disclosures.c.status).where(
                    t.emergency_disclosures.c.id == emergency_id
                )
            ).scalar_one()
        )


def audit_actions(ctx: ServiceContext, obj: str) -> list[tuple[str, str]]:
    with ctx.uow(read_only=True) as uow:
        return [(e.action, e.outcome) for e in uow.audit.entries(obj=obj)]


def messages(ctx: ServiceContext) -> list[Any]:
    with ctx.uow(read_only=True) as uow:
        return list(
            uow.connection.execute(
                select(t.resident_messages).order_by(t.resident_messages.c.resident_id)
            )
        )


# --- the full path ---------------------------------------------------------------------


def test_emg01_full_path_transfers_only_picked_cameras_clips_in_the_window(scene: Scene) -> None:
    emergency_id = scene.submit()
    assert status_of(scene.ctx, emergency_id) == "submitted"
    assert transfers_of(scene.ctx, emergency_id) == []
    scene.supervisor_approves(emergency_id)
    assert status_of(scene.ctx, emergency_id) == "supervisor_approved"
    assert transfers_of(scene.ctx, emergency_id) == []
    scene.review(emergency_id, [scene.camera("at_a"), scene.camera("at_b")])
    assert status_of(scene.ctx, emergency_id) == "approved"

    rows = transfers_of(scene.ctx, emergency_id)
    assert [r.clip_id for r in rows] == sorted(scene.clips_in_window)
    assert {(r.kind, r.request_id, r.include_audio, r.contributor_json) for r in rows} == {
        ("emergency", None, False, None)
    }
    assert {(r.agency_id, r.case_id) for r in rows} == {
        (scene.cw.world.agency_id, scene.cw.world.case_id)
    }

    jobs.run_pending_jobs(scene.ctx)
    assert {r.status for r in transfers_of(scene.ctx, emergency_id)} == {"delivered"}
    with scene.ctx.uow(read_only=True) as uow:
        items = uow.evidence.for_case(scene.cw.world.case_id)
    assert len(items) == len(scene.clips_in_window)
    assert not any(item.has_audio for item in items)  # no owner ticked "include audio"
    assert all(item.contributor is None for item in items)


def test_emg01_every_step_is_audited_on_the_disclosure(scene: Scene) -> None:
    emergency_id = scene.approved()
    assert audit_actions(scene.ctx, f"emergency:{emergency_id}") == [
        ("emergency.submit", "ok"),
        ("emergency.supervisor_approve", "ok"),
        ("emergency.platform_approve", "ok"),
    ]


def test_emg01_refused_step_is_audited_as_refused(scene: Scene) -> None:
    emergency_id = scene.submit()
    with pytest.raises(InvalidTransition):
        scene.review(emergency_id, [scene.camera("at_a")])
    assert ("emergency.platform_approve", "refused") in audit_actions(
        scene.ctx, f"emergency:{emergency_id}"
    )


def test_emg01_reviewer_sees_candidate_cameras_within_30_m_nearest_first(scene: Scene) -> None:
    emergency_id = scene.submit()
    candidates = emergency.candidate_cameras(
        scene.ctx, reviewer_id=scene.cw.world.moderator_id, emergency_id=emergency_id
    )
    assert [c.camera_id for c in candidates] == [
        scene.camera("at_a"),
        scene.camera("at_b"),
        scene.camera("neighbour"),
    ]
    assert [c.distance_m for c in candidates] == pytest.approx([5, 20, 25], abs=0.2)
    with pytest.raises(PermissionDenied):
        emergency.candidate_cameras(
            scene.ctx, reviewer_id=scene.supervisor_id, emergency_id=emergency_id
        )


# --- refusals ---------------------------------------------------------------------------


def _refused(err: pytest.ExceptionInfo[InvalidInput], field: str) -> None:
    assert err.value.rule == "EMG-01"
    assert field in {p.field for p in err.value.problems}


def nothing_stored(ctx: ServiceContext) -> bool:
    with ctx.uow(read_only=True) as uow:
        return uow.connection.execute(select(t.emergency_disclosures.c.id)).first() is None


@pytest.mark.parametrize("attestation", ["", "   "])
def test_emg01_submission_without_attestation_is_refused(scene: Scene, attestation: str) -> None:
    with pytest.raises(InvalidInput) as err:
        scene.submit(attestation=attestation)
    _refused(err, "attestation")
    assert nothing_stored(scene.ctx)


def test_emg01_window_longer_than_an_hour_is_refused(scene: Scene) -> None:
    with pytest.raises(InvalidInput) as err:
        scene.submit(
            window_start=scene.now - timedelta(minutes=91),
            window_end=scene.now - timedelta(minutes=30),
        )
    _refused(err, "window")
    assert nothing_stored(scene.ctx)


def test_emg01_window_that_has_not_ended_is_refused(scene: Scene) -> None:
    with pytest.raises(InvalidInput) as err:
        scene.submit(
            window_start=scene.now - timedelta(minutes=20),
            window_end=scene.now + timedelta(minutes=5),
        )
    _refused(err, "window_end")


def test_emg01_more_than_three_locations_is_refused(scene: Scene) -> None:
    four = [offset(0, 0), offset(100, 0), offset(200, 0), offset(300, 0)]
    with pytest.raises(InvalidInput) as err:
        scene.submit(locations=four)
    _refused(err, "locations")
    with pytest.raises(InvalidInput) as err:
        scene.submit(locations=[])
    _refused(err, "locations")
    assert nothing_stored(scene.ctx)


def test_emg01_area_instead_of_an_address_is_refused(scene: Scene) -> None:
    with pytest.raises(InvalidInput) as err:
        scene.submit(locations=[(LOCATION_A[0], LOCATION_A[1], 400.0)])
    _refused(err, "locations[0]")


def test_emg01_area_sweep_is_refused(scene: Scene) -> None:
    emergency_id = scene.submit()
    scene.supervisor_approves(emergency_id)
    with pytest.raises(InvalidInput) as err:  # a camera farther than 30 m from every address
        scene.review(emergency_id, [scene.camera("at_a"), scene.camera("down_the_street")])
    _refused(err, "camera_ids")
    assert "never an area sweep" in err.value.message
    scene.cw.add_camera_owner("next_door", -10, 0)
    four = [scene.camera(c) for c in ("at_a", "at_b", "neighbour")] + [
        scene.cw.camera_of["next_door"]
    ]
    with pytest.raises(InvalidInput) as err:  # more cameras than a specific disclosure needs
        scene.review(emergency_id, four)
    _refused(err, "camera_ids")
    with pytest.raises(InvalidInput) as err:  # no camera at all
        scene.review(emergency_id, [])
    _refused(err, "camera_ids")
    assert status_of(scene.ctx, emergency_id) == "supervisor_approved"
    assert transfers_of(scene.ctx, emergency_id) == []


def test_emg01_reviewer_cannot_decide_before_the_supervisor(scene: Scene) -> None:
    emergency_id = scene.submit()
    with pytest.raises(InvalidTransition) as err:
        scene.review(emergency_id, [scene.camera("at_a")])
    assert err.value.rule == "EMG-01"
    assert status_of(scene.ctx, emergency_id) == "submitted"
    assert transfers_of(scene.ctx, emergency_id) == []


def test_emg01_supervisor_cannot_approve_their_own_submission(scene: Scene) -> None:
    emergency_id = scene.submit(officer_id=scene.supervisor_id)
    with pytest.raises(PermissionDenied) as err:
        scene.supervisor_approves(emergency_id)
    assert err.value.rule == "EMG-01"
    assert status_of(scene.ctx, emergency_id) == "submitted"


def test_emg01_only_a_supervisor_of_the_same_agency_approves(scene: Scene) -> None:
    emergency_id = scene.submit()
    with pytest.raises(PermissionDenied):  # a detective is not a supervisor
        emergency.supervisor_decide(
            scene.ctx,
            supervisor_id=scene.cw.world.other_detective_id,
            emergency_id=emergency_id,
            approve=True,
            reason="looks fine",
        )
    with pytest.raises(NotFound):  # another agency's supervisor cannot even see it
        emergency.supervisor_decide(
            scene.ctx,
            supervisor_id=scene.other_supervisor_id,
            emergency_id=emergency_id,
            approve=True,
            reason="looks fine",
        )
    assert status_of(scene.ctx, emergency_id) == "submitted"


def test_emg01_other_agencys_case_is_refused(scene: Scene) -> None:
    with pytest.raises(PermissionDenied) as err:
        scene.submit(officer_id=scene.cw.world.other_detective_id)
    assert err.value.field == "case_id"
    assert nothing_stored(scene.ctx)
    assert ("emergency.submit", "refused") in audit_actions(
        scene.ctx, f"case:{scene.cw.world.case_id}"
    )


def test_emg01_only_moderators_or_admins_review(scene: Scene) -> None:
    auditor = registration.register_staff(
        scene.ctx, name="Au Ditor", email="auditor@platform.example", role="auditor"
    )
    emergency_id = scene.submit()
    scene.supervisor_approves(emergency_id)
    with pytest.raises(PermissionDenied):
        emergency.platform_review(
            scene.ctx,
            reviewer_id=auditor.id,
            emergency_id=emergency_id,
            approve=True,
            reason="ok",
            camera_ids=[scene.camera("at_a")],
        )
    admin = registration.register_staff(
        scene.ctx, name="Ad Min", email="admin@platform.example", role="admin"
    )
    emergency.platform_review(
        scene.ctx,
        reviewer_id=admin.id,
        emergency_id=emergency_id,
        approve=True,
        reason="ok",
        camera_ids=[scene.camera("at_a")],
    )
    assert status_of(scene.ctx, emergency_id) == "approved"


@pytest.mark.parametrize("step", ["supervisor", "platform"])
def test_emg01_rejection_at_either_step_transfers_nothing(scene: Scene, step: str) -> None:
    emergency_id = scene.submit()
    if step == "supervisor":
        emergency.supervisor_decide(
            scene.ctx,
            supervisor_id=scene.supervisor_id,
            emergency_id=emergency_id,
            approve=False,
            reason="Not an imminent danger; use a regular request.",
        )
    else:
        scene.supervisor_approves(emergency_id)
        scene.review(emergency_id, [scene.camera("at_a")], approve=False)
    assert status_of(scene.ctx, emergency_id) == "rejected"
    assert transfers_of(scene.ctx, emergency_id) == []
    view = emergency.emergency_status(
        scene.ctx, officer_id=scene.cw.world.detective_id, emergency_id=emergency_id
    )
    assert view.status is EmergencyStatus.REJECTED
    with pytest.raises(InvalidTransition):
        scene.review(emergency_id, [scene.camera("at_a")])


# --- what the agency may see (PRV-02) ---------------------------------------------------


def test_prv02_agency_view_names_no_camera_and_no_count(scene: Scene) -> None:
    emergency_id = scene.approved()
    view = emergency.emergency_status(
        scene.ctx, officer_id=scene.cw.world.detective_id, emergency_id=emergency_id
    )
    assert view.status is EmergencyStatus.APPROVED
    names = {f.name for f in fields(view)}
    assert not {n for n in names if "camera" in n or "count" in n or "resident" in n}
    values = " ".join(str(v) for v in vars(view).values())
    assert str(scene.camera("at_b")) not in values.split()
    with pytest.raises(NotFound):
        emergency.emergency_status(
            scene.ctx, officer_id=scene.cw.world.other_detective_id, emergency_id=emergency_id
        )


# --- the owner is told afterwards (EMG-02, PRV-04) --------------------------------------


def test_emg02_owner_notice_after_due_is_written_once(scene: Scene, clock: ManualClock) -> None:
    emergency_id = scene.approved()
    ctx = scene.ctx
    with ctx.uow() as uow:
        assert emergency.schedule_owner_notices(uow, ctx.clock.now()) == 0  # not due yet
        uow.commit()

    clock.advance(DEFAULT_EMERGENCY_POLICY.owner_notice_delay + timedelta(minutes=1))
    with ctx.uow() as uow:
        assert emergency.schedule_owner_notices(uow, ctx.clock.now()) == 1
        assert emergency.schedule_owner_notices(uow, ctx.clock.now()) == 0  # deduplicated
        [(payload, key)] = uow.connection.execute(
            select(t.jobs.c.payload_json, t.jobs.c.dedupe_key).where(
                t.jobs.c.kind == "owner_notice"
            )
        ).all()
        uow.commit()
    assert json.loads(payload) == {"emergency_id": emergency_id}
    assert key == f"owner_notice:{emergency_id}"

    emergency.owner_notice_job(ctx, json.loads(payload))
    emergency.owner_notice_job(ctx, json.loads(payload))  # a retried job adds nothing
    sent = messages(ctx)
    owners = {scene.cw.world.residents["at_a"], scene.cw.world.residents["at_b"]}
    assert {m.resident_id for m in sent} == owners
    assert len(sent) == len(owners)
    assert {(m.kind, m.ref) for m in sent} == {
        ("emergency_disclosure", f"emergency:{emergency_id}")
    }
    at_a = next(m for m in sent if m.resident_id == scene.cw.world.residents["at_a"])
    assert "Nassau County PD" in at_a.body
    assert f"camera #{scene.camera('at_a')}" in at_a.body
    assert "2 recording(s) sent" in at_a.body
    assert "without asking you" in at_a.body
    assert "imminent danger" in at_a.body
    window_start = scene.cw.world.ctx.clock.now() - timedelta(days=3, minutes=91)
    assert f"{window_start:%Y-%m-%d %H:%M}" in at_a.body
    assert ("emergency.owner_notified", "ok") in audit_actions(ctx, f"emergency:{emergency_id}")


def test_emg02_notice_runs_through_the_job_runner(scene: Scene, clock: ManualClock) -> None:
    emergency_id = scene.approved()
    ctx = scene.ctx
    clock.advance(timedelta(days=3, seconds=1))
    handlers = {**jobs.default_handlers(), "owner_notice": emergency.owner_notice_job}
    jobs.schedule_due_work(ctx, [emergency.schedule_owner_notices])
    jobs.run_pending_jobs(ctx, handlers=handlers, schedule=False)
    jobs.schedule_due_work(ctx, [emergency.schedule_owner_notices])
    jobs.run_pending_jobs(ctx, handlers=handlers, schedule=False)
    assert len(messages(ctx)) == 2
    assert {m.ref for m in messages(ctx)} == {f"emergency:{emergency_id}"}


def test_emg02_notice_falls_due_within_thirty_days() -> None:
    assert DEFAULT_EMERGENCY_POLICY.owner_notice_delay <= OWNER_NOTICE_LIMIT == timedelta(days=30)
    with pytest.raises(ValueError, match="30 days"):
        EmergencyPolicy(owner_notice_delay=timedelta(days=31))


def test_emg02_notice_due_time_is_recorded_at_approval(scene: Scene) -> None:
    approved_at = scene.now
    emergency_id = scene.approved()
    with scene.ctx.uow(read_only=True) as uow:
        due = uow.connection.execute(
            select(t.emergency_disclosures.c.owner_notice_due_at).where(
                t.emergency_disclosures.c.id == emergency_id
            )
        ).scalar_one()
    assert due == approved_at + timedelta(days=3)


def test_prv04_resident_sees_emergency_disclosures_of_their_footage(
    scene: Scene, clock: ManualClock
) -> None:
    emergency_id = scene.approved()
    ctx = scene.ctx
    at_a = scene.cw.world.residents["at_a"]
    assert emergency.resident_disclosures(ctx, resident_id=at_a) == []  # not before the notice
    clock.advance(timedelta(days=3))
    [due] = emergency.resident_disclosures(ctx, resident_id=at_a)
    assert due.notified_at is None
    emergency.owner_notice_job(ctx, {"emergency_id": emergency_id})
    [seen] = emergency.resident_disclosures(ctx, resident_id=at_a)
    assert seen.emergency_id == emergency_id
    assert seen.agency_name == "Nassau County PD"
    assert seen.camera_id == scene.camera("at_a")
    assert seen.clips_sent == 2
    assert seen.notified_at == ctx.clock.now()
    neighbour = scene.cw.world.residents["neighbour"]
    assert emergency.resident_disclosures(ctx, resident_id=neighbour) == []
    with pytest.raises(NotFound):
        emergency.resident_disclosures(ctx, resident_id=999_999)
