"""CON-03 as a black box: declining and ignoring look the same from the agency's side.

Two worlds are built alike; they differ only in which resident declined and
which ignored the request. Every service function an agency (or the public)
can call must return identical results in both.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from system.adapters.db import make_engine
from system.adapters.migrate import upgrade
from system.adapters.stores import make_stores
from system.bootstrap import SqlServiceContext
from system.domain.clock import ManualClock
from system.service_layer import consent, evidence, jobs, requests, transparency
from system.service_layer.context import ServiceContext
from tests import databases
from tests.conftest import T0
from tests.system.consent_world import ConsentWorld, build_consent_world

RESIDENTS = {"sharer": (100, 0), "alice": (-100, 50), "bob": (0, 150), "carol": (50, -50)}


@pytest.fixture
def two_databases(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if database_url.startswith("sqlite"):
        yield database_url, f"sqlite:///{tmp_path / 'second.db'}"
        return
    second = databases.create_postgres_database("canvass_con03")
    try:
        yield database_url, second
    finally:
        databases.drop_postgres_database(second)


def world(url: str, data: Path, decliners: set[str]) -> tuple[ConsentWorld, ServiceContext]:
    engine = make_engine(url)
    upgrade(engine)
    ctx = SqlServiceContext(
        engine=engine, clock=ManualClock(T0), content=make_stores(data, durable=False)
    )
    cw = build_consent_world(ctx, RESIDENTS)
    cw.publish()
    for label in ("sharer", "alice", "bob", "carol"):
        ctx.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
        rid, nid = cw.world.residents[label], cw.notification_of[label]
        if label == "sharer":
            consent.respond(ctx, resident_id=rid, notification_id=nid, clip_ids=cw.clips_of[label])
        elif label in decliners:
            consent.respond(ctx, resident_id=rid, notification_id=nid, clip_ids=[])
    jobs.run_pending_jobs(ctx)
    return cw, ctx


def agency_view(cw: ConsentWorld, ctx: ServiceContext) -> list[object]:
    """Everything the requesting agency and the public can read, in one list."""
    officer, case, request = cw.world.detective_id, cw.world.case_id, cw.request_id
    seen: list[object] = [requests.request_status(ctx, officer_id=officer, request_id=request)]
    items = evidence.list_evidence(ctx, officer_id=officer, case_id=case)
    seen.append(items)
    for item in items:
        seen.append(evidence.view_evidence(ctx, officer_id=officer, evidence_id=item.id))
        seen.append(
            b"".join(evidence.download_evidence(ctx, officer_id=officer, evidence_id=item.id))
        )
    seen.append(transparency.public_request_log(ctx, agency_id=cw.world.agency_id))
    ctx.clock.advance(timedelta(days=70))  # type: ignore[attr-defined]  # the period is complete
    jobs.run_pending_jobs(ctx)
    seen.append(requests.request_status(ctx, officer_id=officer, request_id=request))
    seen.append(
        transparency.transparency_report(
            ctx,
            agency_id=cw.world.agency_id,
            start=date(2026, 11, 1),
            end=date(2026, 12, 31),
            period="month",
        )
    )
    return seen


def test_con03_decline_and_silence_give_identical_agency_facing_results(
    two_databases: tuple[str, str], tmp_path: Path
) -> None:
    first_url, second_url = two_databases
    cw_a, ctx_a = world(first_url, tmp_path / "a", decliners={"alice"})
    cw_b, ctx_b = world(second_url, tmp_path / "b", decliners={"bob", "carol"})
    try:
        view_a, view_b = agency_view(cw_a, ctx_a), agency_view(cw_b, ctx_b)
        assert len(view_a[1]) == 1  # type: ignore[arg-type]  # the sharer's clip is evidence
        assert view_a == view_b
        assert repr(view_a) == repr(view_b)
    finally:
        ctx_a.engine.dispose()
        ctx_b.engine.dispose()
