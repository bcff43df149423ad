"""The public transparency report and request log over a real history (TRN-01, TRN-02, EMG-03).

The history, built through the real service functions, starts on the test's
'now' (27 Nov 2026, the month the agency registers) and runs into March 2027:

=========  ===========================================================================
November   10 requests: 5 approved and sent to 6 residents each, 5 rejected for scope
           (one also for purpose); 8 clips shared by 6 distinct residents; 5 approved
           emergency disclosures of 1 clip each; 5 onward shares
December   2 requests, approved
January    3 requests (2 approved, 1 rejected with every checklist item affirmed);
           5 items purged
February   1 request, approved
March      1 request, awaiting moderation (the running month: never reported)
=========  ===========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from system.adapters import tables as t
from system.domain.clock import ManualClock
from system.domain.errors import InvalidInput, NotFound
from system.domain.transparency import ReportPeriod
from system.service_layer import (
    consent,
    emergency,
    evidence,
    fanout,
    jobs,
    registration,
    requests,
    transparency,
)
from system.service_layer.context import ServiceContext
from tests.system.consent_world import ConsentWorld
from tests.system.world import APPROVE_ALL, build_world, offset

RESIDENTS = [f"r{i}" for i in range(6)]


@dataclass
class History:
    cw: ConsentWorld
    supervisor_id: int
    november_bytes: int = 0
    cases: int = 0

    @property
    def ctx(self) -> ServiceContext:
        return self.cw.ctx

    @property
    def agency_id(self) -> int:
        return self.cw.world.agency_id

    def request(self, *, failed: tuple[str, ...] = (), reject: bool = False) -> int:
        """Open a case and submit a request for it; approve and fan out, or reject."""
        self.cases += 1
        case = registration.open_case(
            self.ctx,
            officer_id=self.cw.world.detective_id,
            case_number=f"2026-TR-{self.cases:04d}",
            incident_type="package_theft",
        )
        request_id = self.cw.world.submit(case_id=case.id)
        if reject or failed:
            requests.moderate(
                self.ctx,
                moderator_id=self.cw.world.moderator_id,
                request_id=request_id,
                decision="reject",
                reason="Does not meet the request policy.",
                checklist={**APPROVE_ALL, **dict.fromkeys(failed, False)},
            )
        else:
            self.cw.world.approve(request_id)
            fanout.fan_out(self.ctx, request_id=request_id)
        return request_id

    def share(self, request_id: int, labels: list[str]) -> None:
        for label in labels:
            resident_id = self.cw.world.residents[label]
            [note] = [
                n
                for n in consent.my_notifications(self.ctx, resident_id=resident_id)
                if n.request_id == request_id
            ]
            consent.respond(
                self.ctx,
                resident_id=resident_id,
                notification_id=note.notification_id,
                clip_ids=self.cw.clips_of[label],
            )

    def emergency(self) -> None:
        now = self.ctx.clock.now()
        emergency_id = emergency.submit_emergency(
            self.ctx,
            officer_id=self.cw.world.detective_id,
            case_id=self.cw.world.case_id,
            attestation="I attest to an imminent danger of serious physical injury.",
            narrative="An armed person was seen entering the house.",
            locations=[offset(0, 0)],
            window_start=now - timedelta(hours=3, minutes=30),
            window_end=now - timedelta(hours=2, minutes=30),
        )
        emergency.supervisor_decide(
            self.ctx,
            supervisor_id=self.supervisor_id,
            emergency_id=emergency_id,
            approve=True,
            reason="Specific and urgent.",
        )
        emergency.platform_review(
            self.ctx,
            reviewer_id=self.cw.world.moderator_id,
            emergency_id=emergency_id,
            approve=True,
            reason="Meets the emergency policy.",
            camera_ids=[self.cw.camera_of["r0"]],
        )

    def evidence_of(self, case_id: int) -> list[int]:
        with self.ctx.uow(read_only=True) as uow:
            return [item.id for item in uow.evidence.for_case(case_id)]

    def case_of(self, request_id: int) -> int:
        with self.ctx.uow(read_only=True) as uow:
            request = uow.requests.get(request_id)
        assert request is not None
        return request.case_id


def build_history(ctx: ServiceContext, clock: ManualClock) -> History:
    cw = ConsentWorld(build_world(ctx))
    supervisor = registration.register_officer(
        ctx,
        agency_id=cw.world.agency_id,
        name="Pat Sarge",
        email="sarge@ncpd.example",
        role="supervisor",
    )
    history = History(cw, supervisor.id)
    for i, label in enumerate(RESIDENTS):
        cw.add_camera_owner(label, 50 * i, 0)
        cw.upload(label, clock.now() - timedelta(hours=3))  # inside every November window

    # November
    approved = [history.request() for _ in range(5)]
    for _ in range(4):
        history.request(failed=("proportionate_scope",))
    history.request(failed=("proportionate_scope", "lawful_purpose"))
    history.share(approved[0], RESIDENTS)
    history.share(approved[1], ["r0", "r1"])
    for _ in range(5):
        history.emergency()
    jobs.run_pending_jobs(ctx)  # every transfer is delivered in November
    with ctx.uow(read_only=True) as uow:
        x, c = t.transfers.c, t.clips.c
        history.november_bytes = int(
            uow.connection.execute(
                select(func.sum(c.size_bytes))
                .select_from(t.transfers.join(t.clips, x.clip_id == c.id))
                .where(x.status == "delivered")
            ).scalar_one()
        )
    for evidence_id in history.evidence_of(cw.world.case_id):  # the 5 emergency items
        evidence.share_evidence(
            ctx,
            officer_id=cw.world.detective_id,
            evidence_id=evidence_id,
            grantee_name="Dana Prosecutor",
            grantee_email="dana@da.example",
            grantee_org="Nassau County District Attorney",
            access_level="view",
            outside_agency=True,
            justification="Prosecution of the case.",
        )
    first_case = history.case_of(approved[0])
    for evidence_id in history.evidence_of(first_case)[:5]:
        evidence.mark_no_investigative_value(
            ctx, officer_id=cw.world.detective_id, evidence_id=evidence_id
        )
    registration.close_case(ctx, officer_id=cw.world.detective_id, case_id=first_case)

    clock.set(clock.now().replace(year=2026, month=12, day=2))
    for _ in range(2):
        history.request()
    clock.set(clock.now().replace(year=2027, month=1, day=2))
    assert evidence.purge_due_evidence(ctx) == 5
    history.request()
    history.request()
    history.request(reject=True)
    clock.set(clock.now().replace(year=2027, month=2, day=2))
    history.request()
    clock.set(clock.now().replace(year=2027, month=3, day=4))
    march_case = registration.open_case(
        ctx, officer_id=cw.world.detective_id, case_number="2027-TR-MARCH", incident_type="burglary"
    )
    cw.world.submit(case_id=march_case.id, incident_type="burglary")
    return history


@pytest.fixture
def history(full_ctx: ServiceContext, clock: ManualClock) -> History:
    return build_history(full_ctx, clock)


def report(history: History, **changes: Any) -> transparency.Report:
    values: dict[str, Any] = {
        "agency_id": history.agency_id,
        "start": date(2026, 11, 1),
        "end": date(2027, 3, 31),
        "period": "month",
    }
    values.update(changes)
    return transparency.transparency_report(history.ctx, **values)


def test_trn02_report_counts_each_period_and_suppresses_small_counts(history: History) -> None:
    november, _ = report(history).periods
    assert (november.start, november.end, november.periods_merged) == (
        date(2026, 11, 1),
        date(2026, 12, 1),
        1,
    )
    assert november.requests_submitted == 10
    assert november.requests_approved == 5
    assert november.requests_rejected == 5
    assert november.rejection_reasons["proportionate_scope"] == 5
    assert november.rejection_reasons["lawful_purpose"] == "<5"  # 1
    assert november.rejection_reasons["no_pressure"] == "<5"  # 0
    assert november.rejection_reasons["other"] == "<5"
    assert november.notifications_sent == 30
    assert november.residents_shared == 6  # distinct: 8 shares by 6 residents
    assert november.clips_transferred == 13  # 8 shared + 5 disclosed in emergencies
    assert november.bytes_transferred == history.november_bytes
    assert november.onward_shares == 5
    assert november.purges == "<5"  # 0 in November


def test_emg03_emergency_disclosures_are_counted_in_the_report(history: History) -> None:
    november, later = report(history).periods
    assert november.emergency_disclosures == 5
    assert later.emergency_disclosures == "<5"


def test_trn02_periods_with_fewer_than_five_requests_are_merged(history: History) -> None:
    # December (2) merges forward with January (3); February's 1 merges backward.
    _, merged = report(history).periods
    assert (merged.start, merged.end, merged.periods_merged) == (
        date(2026, 12, 1),
        date(2027, 3, 1),
        3,
    )
    assert merged.requests_submitted == 6
    assert merged.requests_approved == 5
    assert merged.requests_rejected == "<5"
    assert merged.rejection_reasons["other"] == "<5"
    assert merged.notifications_sent == 30
    assert merged.residents_shared == "<5"
    assert merged.clips_transferred == "<5"
    assert merged.bytes_transferred == "withheld (<5 clips)"
    assert merged.purges == 5


def test_trn02_running_period_is_never_reported(history: History) -> None:
    periods = report(history).periods
    assert periods[-1].end == date(2027, 3, 1)  # March is still running
    quarterly = report(history, period="quarter").periods
    assert [(p.start, p.end) for p in quarterly] == [(date(2026, 10, 1), date(2027, 1, 1))]
    assert quarterly[0].requests_submitted == 12


def test_trn02_grouping_does_not_depend_on_where_the_range_starts(history: History) -> None:
    # Asking for January alone returns its whole merged group: a reader cannot
    # difference two ranges to isolate December's two requests.
    [group] = report(history, start=date(2027, 1, 1), end=date(2027, 1, 31)).periods
    assert (group.start, group.end) == (date(2026, 12, 1), date(2027, 3, 1))
    assert group == report(history).periods[1]


def test_trn02_report_before_any_complete_period_is_empty(ctx: ServiceContext) -> None:
    world = build_world(ctx)
    world.submit()
    empty = transparency.transparency_report(
        ctx,
        agency_id=world.agency_id,
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        period="month",
    )
    assert empty.periods == ()
    assert empty.agency_name == "Nassau County PD"


def test_trn02_bad_period_or_unknown_agency_is_refused(ctx: ServiceContext) -> None:
    world = build_world(ctx)
    with pytest.raises(InvalidInput) as err:
        transparency.transparency_report(
            ctx,
            agency_id=world.agency_id,
            start=date(2026, 1, 1),
            end=date(2025, 1, 1),
            period="week",
        )
    assert {p.field for p in err.value.problems} == {"period", "end"}
    with pytest.raises(NotFound):
        transparency.transparency_report(
            ctx, agency_id=999, start=date(2026, 1, 1), end=date(2026, 2, 1), period="month"
        )


def test_trn01_public_log_lists_every_request_with_a_coarsened_area(history: History) -> None:
    log = transparency.public_request_log(history.ctx, agency_id=history.agency_id)
    assert len(log) == 17
    first = log[0]
    assert first.incident_type == "package_theft"
    assert (first.area_centre_lat, first.area_centre_lon, first.area_radius_m) == (
        40.71,
        -73.62,
        500.0,
    )
    assert first.submitted_on == date(2026, 11, 27)
    assert first.decided_on == date(2026, 11, 27)
    assert first.window_end - first.window_start == timedelta(hours=3)
    assert [e.status for e in log].count("rejected") == 6
    assert log[-1].status == "submitted"
    assert log[-1].incident_type == "burglary"
    assert log[-1].decided_on is None
    assert [e.submitted_on for e in log] == sorted(e.submitted_on for e in log)
    other = transparency.public_request_log(history.ctx, agency_id=history.cw.world.other_agency_id)
    assert other == []


def test_prv02_report_and_log_hold_no_resident_or_camera_identity(history: History) -> None:
    published = report(history)
    log = transparency.public_request_log(history.ctx, agency_id=history.agency_id)
    names = (
        {f.name for f in fields(transparency.Report)}
        | {f.name for f in fields(ReportPeriod)}
        | {f.name for f in fields(transparency.PublicLogEntry)}
    )
    forbidden = ("resident", "camera", "device", "email", "notified", "case", "officer")
    aggregate_counts = {"residents_shared"}  # a suppressed count, never an identity
    assert not {n for n in names - aggregate_counts if any(word in n for word in forbidden)}
    text = repr(published) + repr(log)
    for label in RESIDENTS:
        assert f"{label}@residents.example" not in text
        assert label.title() not in text
    assert "2026-TR-" not in text  # no case numbers either
    assert not {f.name for f in fields(transparency.PublicLogEntry)} & {"notifications_sent"}
