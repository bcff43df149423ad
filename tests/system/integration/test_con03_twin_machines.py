"""CON-03 with twin state machines: a decline looks like silence, whatever came before.

Two worlds are built alike on two real databases and take the same random
steps (requests, fan-out, answers, opt-outs, days passing, the worker). The
only difference: whenever resident ``cy`` declines in the first world, ``cy``
says nothing in the second. After every step, everything the agency and the
public can read (request statuses, evidence lists and records, the public
request log) must be identical in both.

CI runs ``TWIN_EXAMPLES`` runs of ``TWIN_STEPS`` steps per database
(``CANVASS_TWIN_EXAMPLES`` and ``CANVASS_TWIN_STEPS`` raise them).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
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

from system.adapters.db import make_engine
from system.adapters.migrate import upgrade
from system.adapters.stores import make_stores
from system.bootstrap import SqlServiceContext
from system.domain.clock import ManualClock
from system.domain.errors import DomainError
from system.service_layer import consent, evidence, jobs, registration, residents, transparency
from system.service_layer import requests as video_requests
from tests import databases
from tests.conftest import T0
from tests.system.consent_world import ConsentWorld, build_consent_world

TWIN_EXAMPLES = int(os.environ.get("CANVASS_TWIN_EXAMPLES", "3"))
TWIN_STEPS = int(os.environ.get("CANVASS_TWIN_STEPS", "12"))
RESIDENTS = {"ann": (5.0, 0.0), "bob": (-100.0, 50.0), "cy": (0.0, 150.0)}
LABELS = sorted(RESIDENTS)
SILENT = "cy"
"""Declines in the first world; is silent in the second."""


class Twin:
    """One of the two worlds."""

    def __init__(self, url: str, data: Path) -> None:
        self.engine = make_engine(url)
        self.ctx = SqlServiceContext(
            engine=self.engine, clock=ManualClock(T0), content=make_stores(data, durable=False)
        )
        self.cw: ConsentWorld = build_consent_world(self.ctx, RESIDENTS)
        self.requests: list[int] = []
        self.cases: list[int] = [self.cw.world.case_id]
        self.numbers = count(1)

    def resident(self, label: str) -> int:
        return self.cw.world.residents[label]

    def advance(self, delta: timedelta) -> None:
        self.ctx.clock.advance(delta)  # type: ignore[attr-defined]

    def publish(self) -> None:
        world = self.cw.world
        case_id = registration.open_case(
            self.ctx,
            officer_id=world.detective_id,
            case_number=f"2026-TWIN-{next(self.numbers)}",
            incident_type="package_theft",
        ).id
        for label in LABELS:
            self.cw.upload(label, self.ctx.clock.now() - timedelta(hours=3))
        request_id = world.submit(case_id=case_id)
        world.approve(request_id)
        self.cases.append(case_id)
        self.requests.append(request_id)

    def notification(self, label: str, request_index: int) -> int | None:
        wanted = self.requests[request_index]
        notes = consent.my_notifications(self.ctx, resident_id=self.resident(label))
        return next((n.notification_id for n in notes if n.request_id == wanted), None)

    def answer(self, label: str, request_index: int, *, share: bool) -> None:
        nid = self.notification(label, request_index)
        if nid is None:
            return
        rid = self.resident(label)
        try:
            screen = consent.consent_screen(self.ctx, resident_id=rid, notification_id=nid)
            clips = [c.clip_id for c in screen.eligible_clips] if share else []
            consent.respond(self.ctx, resident_id=rid, notification_id=nid, clip_ids=clips)
        except DomainError:
            pass  # answered already, or the request has expired: the same in both worlds

    def agency_view(self) -> list[object]:
        """Everything the requesting agency and the public can read."""
        world = self.cw.world
        seen: list[object] = [
            video_requests.request_status(self.ctx, officer_id=world.detective_id, request_id=r)
            for r in self.requests
        ]
        for case_id in self.cases:
            items = evidence.list_evidence(self.ctx, officer_id=world.detective_id, case_id=case_id)
            seen.append(items)
            seen += [
                evidence.view_evidence(self.ctx, officer_id=world.detective_id, evidence_id=i.id)
                for i in items
            ]
        seen.append(transparency.public_request_log(self.ctx, agency_id=world.agency_id))
        return seen


class TwinLifecycle(RuleBasedStateMachine):
    fresh_databases: Callable[[], tuple[str, str]]  # set by the test
    data_root: Path

    def __init__(self) -> None:
        super().__init__()
        self.twins: list[Twin] = []

    @initialize()
    def build_worlds(self) -> None:
        for url in type(self).fresh_databases():
            self.twins.append(Twin(url, Path(tempfile.mkdtemp(dir=type(self).data_root))))

    def teardown(self) -> None:
        for twin in self.twins:
            twin.engine.dispose()

    def each(self, step: Callable[[Twin], None]) -> None:
        for twin in self.twins:
            twin.advance(timedelta(seconds=1))
            step(twin)

    @rule()
    def approve_a_request(self) -> None:
        self.each(Twin.publish)

    @rule()
    def worker_runs(self) -> None:
        self.each(lambda twin: jobs.run_pending_jobs(twin.ctx))

    @rule(days=st.integers(1, 10))
    def days_pass(self, days: int) -> None:
        def later(twin: Twin) -> None:
            twin.advance(timedelta(days=days))
            jobs.schedule_due_work(twin.ctx)
            jobs.run_pending_jobs(twin.ctx)

        self.each(later)

    @rule(label=st.sampled_from(LABELS), out=st.booleans())
    def resident_opts_out_or_in(self, label: str, out: bool) -> None:
        change = residents.opt_out if out else residents.opt_in
        self.each(lambda twin: change(twin.ctx, resident_id=twin.resident(label)))

    @precondition(lambda self: self.twins and self.twins[0].requests)
    @rule(data=st.data(), label=st.sampled_from(LABELS), share=st.booleans())
    def resident_answers(self, data: st.DataObject, label: str, share: bool) -> None:
        index = data.draw(st.integers(0, len(self.twins[0].requests) - 1))
        first, second = self.twins
        for twin in self.twins:
            twin.advance(timedelta(seconds=1))
        if label == SILENT:
            first.answer(label, index, share=False)  # a decline here; silence in the second
            return
        for twin in (first, second):
            twin.answer(label, index, share=share)

    @invariant()
    def the_agency_sees_the_same_in_both_worlds(self) -> None:
        if not self.twins:
            return
        first, second = self.twins
        assert first.agency_view() == second.agency_view()


@pytest.fixture
def second_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    if database_url.startswith("sqlite"):
        yield "sqlite"
        return
    url = databases.create_postgres_database("canvass_twin")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        databases.drop_postgres_database(url)


def test_con03_a_decline_and_silence_give_identical_agency_views_under_random_steps(
    database_url: str, second_database: str, sqlite_template: Path, tmp_path: Path
) -> None:
    def fresh_databases() -> tuple[str, str]:
        if database_url.startswith("sqlite"):
            return tuple(  # type: ignore[return-value]
                databases.fresh_sqlite_copy(sqlite_template, Path(tempfile.mkdtemp(dir=tmp_path)))
                for _ in range(2)
            )
        for url in (database_url, second_database):
            engine = make_engine(url)
            databases.truncate_all(engine)
            engine.dispose()
        return database_url, second_database

    class Lifecycle(TwinLifecycle):
        pass

    Lifecycle.fresh_databases = staticmethod(fresh_databases)  # type: ignore[assignment]
    Lifecycle.data_root = tmp_path
    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=TWIN_EXAMPLES,
            stateful_step_count=TWIN_STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
