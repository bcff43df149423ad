"""Stateful property tests of the service layer (hypothesis ``RuleBasedStateMachine``).

Each run builds a world on a fresh real database (SQLite and PostgreSQL),
then takes random steps: requests approved or rejected, fan-out, opt-outs
and opt-ins, shares, declines and withdrawals, the worker's transfers, days
passing (expiries, purges), evidence shares and revocations, items marked of
no investigative value, emergency disclosures. After every step it checks:

- CON-04: no resident was notified while opted out (of all agencies or this one);
- CON-02, XFR-02: only clips a resident shared (and did not withdraw in time),
  or that an approved emergency disclosure picked, became evidence, each once;
  and every share the worker has run for did become evidence;
- EVD-01, EVD-02: evidence is readable by its case's detective and supervisor,
  never by an unassigned detective or another agency, and through a share link
  only while the share is live;
- SEC-04: the audit chain verifies.

CI runs ``STATEFUL_EXAMPLES`` runs of ``STATEFUL_STEPS`` steps per database
(``CANVASS_STATEFUL_EXAMPLES`` and ``CANVASS_STATEFUL_STEPS`` raise them).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from system.adapters import tables as t
from system.adapters.db import make_engine
from system.adapters.stores import make_stores
from system.bootstrap import SqlServiceContext
from system.domain.clock import ManualClock
from system.domain.errors import DomainError
from system.service_layer import (
    audit,
    consent,
    emergency,
    evidence,
    jobs,
    registration,
    requests,
    residents,
)
from tests import databases
from tests.conftest import T0
from tests.system.consent_world import ConsentWorld, build_consent_world
from tests.system.world import APPROVE_ALL, offset

STATEFUL_EXAMPLES = int(os.environ.get("CANVASS_STATEFUL_EXAMPLES", "4"))
STATEFUL_STEPS = int(os.environ.get("CANVASS_STATEFUL_STEPS", "15"))
RESIDENTS = {"ann": (5.0, 0.0), "bob": (-100.0, 50.0), "cy": (0.0, 150.0)}
"""Camera owners around the world's centre; ann's camera is 5 m from the emergency address."""
LABELS = sorted(RESIDENTS)
EMERGENCY_ADDRESS = offset(0, 0)


@dataclass
class Share:
    """What the model knows of one resident's answer that shared clips."""

    clip_ids: frozenset[int]
    worker_ran: bool = False  # the worker has run since: the transfer has started
    withdrawn: bool = False


@dataclass
class Link:
    share_id: int
    evidence_id: int
    token: str
    expires_at: datetime
    revoked: bool = False


@dataclass
class Model:
    # (label, agency id or None for all) -> when the opt-out in force began
    opted_out: dict[tuple[str, int | None], datetime] = field(default_factory=dict)
    # every opt-out interval that has ended: (label, scope, start, end)
    past_opt_outs: list[tuple[str, int | None, datetime, datetime]] = field(default_factory=list)
    notifications: dict[int, str] = field(default_factory=dict)  # notification id -> label
    answered: set[int] = field(default_factory=set)
    shares: dict[int, Share] = field(default_factory=dict)  # notification id -> share
    emergencies: dict[int, tuple[int, datetime, datetime]] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)


class ServiceLifecycle(RuleBasedStateMachine):
    """Random interleavings of the whole request-to-evidence lifecycle."""

    fresh_database: Callable[[], str]  # set by the test: a migrated, empty database
    data_root: Path

    def __init__(self) -> None:
        super().__init__()
        self.engine = make_engine(type(self).fresh_database())
        data = Path(tempfile.mkdtemp(dir=type(self).data_root))
        self.ctx = SqlServiceContext(
            engine=self.engine, clock=ManualClock(T0), content=make_stores(data, durable=False)
        )
        self.model = Model()
        self.case_numbers = count(1)

    # --- set-up ---------------------------------------------------------------------

    @initialize()
    def build_world(self) -> None:
        self.cw: ConsentWorld = build_consent_world(self.ctx, RESIDENTS)
        world = self.cw.world
        officer = registration.register_officer
        self.supervisor_id = officer(
            self.ctx, agency_id=world.agency_id, name="Pat S", email="s@n.ex", role="supervisor"
        ).id
        self.unassigned_id = officer(
            self.ctx, agency_id=world.agency_id, name="Un A", email="u@n.ex", role="detective"
        ).id

    def teardown(self) -> None:
        self.engine.dispose()

    # --- helpers ----------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.ctx.clock.now()

    def tick(self) -> None:
        """Each step happens one second after the last, so their order shows in the times."""
        self.ctx.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]

    def resident(self, label: str) -> int:
        return self.cw.world.residents[label]

    def run_worker(self) -> None:
        jobs.run_pending_jobs(self.ctx)
        for share in self.model.shares.values():
            share.worker_ran = True
        for label in LABELS:
            for note in consent.my_notifications(self.ctx, resident_id=self.resident(label)):
                self.model.notifications.setdefault(note.notification_id, label)

    def submit(self) -> int:
        world = self.cw.world
        case_id = registration.open_case(
            self.ctx,
            officer_id=world.detective_id,
            case_number=f"2026-PROP-{next(self.case_numbers)}",
            incident_type="package_theft",
        ).id
        for label in LABELS:  # a clip inside the request's window (-5 h .. -2 h)
            self.cw.upload(label, self.now - timedelta(hours=3))
        return world.submit(case_id=case_id)

    # --- requests, moderation, fan-out ----------------------------------------------------

    @rule()
    def approve_a_request(self) -> None:
        self.tick()
        self.cw.world.approve(self.submit())

    @rule()
    def reject_a_request(self) -> None:
        self.tick()
        requests.moderate(
            self.ctx,
            moderator_id=self.cw.world.moderator_id,
            request_id=self.submit(),
            decision="reject",
            reason="Area larger than the incident needs.",
            checklist={**APPROVE_ALL, "proportionate_scope": False},
        )

    @rule()
    def worker_runs(self) -> None:
        self.tick()
        self.run_worker()

    @rule(days=st.integers(1, 12))
    def days_pass(self, days: int) -> None:
        """Expiries (CON-08), clip deletions, evidence purges (EVD-03), owner notices."""
        self.ctx.clock.advance(timedelta(days=days))  # type: ignore[attr-defined]
        jobs.schedule_due_work(self.ctx)
        self.run_worker()

    # --- residents ----------------------------------------------------------------------

    @rule(label=st.sampled_from(LABELS), everyone=st.booleans())
    def resident_opts_out(self, label: str, everyone: bool) -> None:
        self.tick()
        scope = None if everyone else self.cw.world.agency_id
        residents.opt_out(self.ctx, resident_id=self.resident(label), agency_id=scope)
        self.model.opted_out.setdefault((label, scope), self.now)

    @rule(label=st.sampled_from(LABELS), everyone=st.booleans())
    def resident_opts_back_in(self, label: str, everyone: bool) -> None:
        self.tick()
        scope = None if everyone else self.cw.world.agency_id
        residents.opt_in(self.ctx, resident_id=self.resident(label), agency_id=scope)
        started = self.model.opted_out.pop((label, scope), None)
        if started is not None:
            self.model.past_opt_outs.append((label, scope, started, self.now))

    def unanswered(self) -> list[int]:
        return sorted(set(self.model.notifications) - self.model.answered)

    @precondition(lambda self: self.unanswered())
    @rule(data=st.data(), share=st.booleans())
    def resident_answers(self, data: st.DataObject, share: bool) -> None:
        """Share every eligible clip, or decline (no clips). Silence is the absent step."""
        self.tick()
        nid = data.draw(st.sampled_from(self.unanswered()))
        rid = self.resident(self.model.notifications[nid])
        screen = consent.consent_screen(self.ctx, resident_id=rid, notification_id=nid)
        clip_ids = [c.clip_id for c in screen.eligible_clips] if share else []
        try:
            receipt = consent.respond(
                self.ctx, resident_id=rid, notification_id=nid, clip_ids=clip_ids
            )
        except DomainError:
            assert not screen.open_for_responses, "an open request refused an answer"
            return
        self.model.answered.add(nid)
        assert receipt.decision == ("share" if clip_ids else "decline")
        if clip_ids:
            self.model.shares[nid] = Share(frozenset(clip_ids))

    def withdrawable(self) -> list[int]:
        return sorted(n for n, s in self.model.shares.items() if not s.withdrawn)

    @precondition(lambda self: self.withdrawable())
    @rule(data=st.data())
    def resident_withdraws(self, data: st.DataObject) -> None:
        self.tick()
        nid = data.draw(st.sampled_from(self.withdrawable()))
        share = self.model.shares[nid]
        rid = self.resident(self.model.notifications[nid])
        try:
            consent.withdraw(self.ctx, resident_id=rid, notification_id=nid)
        except DomainError:
            assert share.worker_ran, "a share was refused withdrawal before its transfer began"
            return
        assert not share.worker_ran, "a share was withdrawn after its transfer had begun"
        share.withdrawn = True

    # --- evidence -----------------------------------------------------------------------

    def stored_items(self) -> list[tuple[int, int]]:
        """(evidence id, case id) of every item that is still stored."""
        with self.ctx.uow(read_only=True) as uow:
            rows = uow.connection.execute(
                select(t.evidence_items.c.id, t.evidence_items.c.case_id).where(
                    t.evidence_items.c.status == "stored"
                )
            ).all()
        return [(r.id, r.case_id) for r in rows]

    @precondition(lambda self: self.stored_items())
    @rule(data=st.data(), days=st.integers(1, 20))
    def detective_shares_evidence(self, data: st.DataObject, days: int) -> None:
        self.tick()
        evidence_id, _ = data.draw(st.sampled_from(self.stored_items()))
        grant = evidence.share_evidence(
            self.ctx,
            officer_id=self.cw.world.detective_id,
            evidence_id=evidence_id,
            grantee_name="Dana Prosecutor",
            grantee_email="dana@da.example",
            grantee_org="District Attorney",
            access_level="view",
            outside_agency=True,
            justification="Prosecution of the case",
            expires_in=timedelta(days=days),
        )
        self.model.links.append(Link(grant.share_id, evidence_id, grant.token, grant.expires_at))

    @precondition(lambda self: any(not link.revoked for link in self.model.links))
    @rule(data=st.data())
    def detective_revokes_a_share(self, data: st.DataObject) -> None:
        self.tick()
        link = data.draw(st.sampled_from([lk for lk in self.model.links if not lk.revoked]))
        evidence.revoke_share(
            self.ctx, officer_id=self.cw.world.detective_id, share_id=link.share_id
        )
        link.revoked = True

    @precondition(lambda self: self.stored_items())
    @rule(data=st.data())
    def detective_marks_no_investigative_value(self, data: st.DataObject) -> None:
        """The item is purged 30 days after receipt (EVD-03)."""
        self.tick()
        evidence_id, _ = data.draw(st.sampled_from(self.stored_items()))
        evidence.mark_no_investigative_value(
            self.ctx, officer_id=self.cw.world.detective_id, evidence_id=evidence_id
        )

    # --- emergency disclosure (EMG-01) -----------------------------------------------------

    @rule()
    def emergency_disclosure(self) -> None:
        self.tick()
        world = self.cw.world
        start, end = self.now - timedelta(minutes=60), self.now - timedelta(minutes=30)
        self.cw.upload("ann", self.now - timedelta(minutes=45))
        emergency_id = emergency.submit_emergency(
            self.ctx,
            officer_id=world.detective_id,
            case_id=world.case_id,
            attestation="I attest that a person is in imminent danger of serious injury here.",
            narrative="A witness saw a person forced into a van at this address.",
            locations=[EMERGENCY_ADDRESS],
            window_start=start,
            window_end=end,
        )
        emergency.supervisor_decide(
            self.ctx,
            supervisor_id=self.supervisor_id,
            emergency_id=emergency_id,
            approve=True,
            reason="Specific and ongoing danger.",
        )
        camera = self.cw.camera_of["ann"]
        emergency.platform_review(
            self.ctx,
            reviewer_id=world.moderator_id,
            emergency_id=emergency_id,
            approve=True,
            reason="One address, half an hour.",
            camera_ids=[camera],
        )
        self.model.emergencies[emergency_id] = (camera, start, end)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def no_resident_is_notified_while_opted_out(self) -> None:
        """CON-04."""
        if not hasattr(self, "cw"):
            return
        intervals = [*self.model.past_opt_outs]
        intervals += [(lb, sc, start, self.now) for (lb, sc), start in self.model.opted_out.items()]
        with self.ctx.uow(read_only=True) as uow:
            rows = uow.connection.execute(
                select(
                    t.notifications.c.resident_id,
                    t.notifications.c.notified_at,
                    t.video_requests.c.agency_id,
                ).join(t.video_requests, t.video_requests.c.id == t.notifications.c.request_id)
            ).all()
        label_of = {rid: label for label, rid in self.cw.world.residents.items()}
        for row in rows:
            for label, scope, start, end in intervals:
                covered = scope is None or scope == row.agency_id
                if label_of[row.resident_id] == label and covered:
                    assert not start <= row.notified_at <= end, (
                        f"{label} was notified at {row.notified_at} while opted out "
                        f"({start} to {end})"
                    )

    @invariant()
    def only_shared_or_disclosed_clips_become_evidence_each_once(self) -> None:
        """CON-02, XFR-02, EMG-01."""
        if not hasattr(self, "cw"):
            return
        tr, sc, rs, cl = t.transfers, t.shared_clips, t.responses, t.clips
        with self.ctx.uow(read_only=True) as uow:
            sources = uow.connection.execute(select(t.evidence_items.c.source_ref)).scalars()
            transfer_ids = [int(ref.split(":")[1]) for ref in sources]
            transfers = {
                r.id: r
                for r in uow.connection.execute(
                    select(
                        tr.c.id,
                        tr.c.kind,
                        tr.c.clip_id,
                        tr.c.emergency_id,
                        rs.c.notification_id,
                        cl.c.camera_id,
                        cl.c.recorded_at,
                    )
                    .outerjoin(sc, sc.c.id == tr.c.shared_clip_id)
                    .outerjoin(rs, rs.c.id == sc.c.response_id)
                    .join(cl, cl.c.id == tr.c.clip_id)
                )
            }
        rows = [transfers[i] for i in transfer_ids]  # every item came through a transfer
        seen: set[tuple[object, ...]] = set()
        for row in rows:
            if row.kind == "consent":
                share = self.model.shares.get(row.notification_id)
                assert share is not None, "a clip of an answer that shared nothing"
                assert row.clip_id in share.clip_ids, "a clip the resident did not share"
                assert not share.withdrawn, "a withdrawn clip became evidence"
                key: tuple[object, ...] = ("consent", row.notification_id, row.clip_id)
            else:
                camera, start, end = self.model.emergencies[row.emergency_id]
                assert row.camera_id == camera, "a camera the reviewer did not pick"
                assert start <= row.recorded_at <= end, "a clip outside the window"
                key = ("emergency", row.emergency_id, row.clip_id)
            assert key not in seen, f"{key} became evidence twice"
            seen.add(key)
        for nid, share in self.model.shares.items():
            if share.worker_ran and not share.withdrawn:
                for clip_id in share.clip_ids:
                    assert ("consent", nid, clip_id) in seen, "a shared clip never arrived"

    @invariant()
    def evidence_is_readable_only_by_permitted_roles(self) -> None:
        """EVD-01, EVD-02."""
        if not hasattr(self, "cw"):
            return
        world = self.cw.world
        stored = dict(self.stored_items())
        for evidence_id in stored:
            for officer in (world.detective_id, self.supervisor_id):
                evidence.view_evidence(self.ctx, officer_id=officer, evidence_id=evidence_id)
            for outsider in (self.unassigned_id, world.other_detective_id):
                with pytest.raises(DomainError):
                    evidence.view_evidence(self.ctx, officer_id=outsider, evidence_id=evidence_id)
        for link in self.model.links:
            live = not link.revoked and self.now < link.expires_at
            if live and link.evidence_id in stored:
                evidence.access_shared_evidence(self.ctx, token=link.token, want="view")
            else:
                with pytest.raises(DomainError):
                    evidence.access_shared_evidence(self.ctx, token=link.token, want="view")

    @invariant()
    def the_audit_chain_verifies(self) -> None:
        """SEC-04."""
        result = audit.verify_audit_chain(self.ctx, actor="test:stateful")
        assert result.ok, result.problem


def test_con04_con02_evd01_sec04_hold_under_random_interleavings(
    database_url: str, sqlite_template: Path, tmp_path: Path
) -> None:
    def fresh_database() -> str:
        if database_url.startswith("sqlite"):
            folder = Path(tempfile.mkdtemp(dir=tmp_path))
            return databases.fresh_sqlite_copy(sqlite_template, folder)
        engine = make_engine(database_url)
        databases.truncate_all(engine)
        engine.dispose()
        return database_url

    class Lifecycle(ServiceLifecycle):
        pass

    Lifecycle.fresh_database = staticmethod(fresh_database)  # type: ignore[assignment]
    Lifecycle.data_root = tmp_path
    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
