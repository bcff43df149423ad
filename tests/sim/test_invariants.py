"""The record invariants hold on real runs and catch broken records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, insert, select

from scenarios.loader import load_scenario
from sim.core import scenario_params
from sim.core.invariants import check_record_invariants
from sim.core.model import CountyModel
from sim.core.records import ModelResult, ReportRecord, UtilisationRecord
from sim.drivers.inprocess import InProcessDriver, system_policy
from sim.drivers.invariants import check_system_invariants
from system.adapters import tables as t
from system.domain.model import PUBLISHED_STATUSES
from tests.sim.county_fixtures import busy_params, tiny_county
from tests.sim.fake_system import FakeSystem


def run_once() -> ModelResult:
    population = tiny_county()
    params = busy_params(population.n_homes)
    return CountyModel(population, params, FakeSystem(), seed=5).run(3 * 24 * 60)


def test_a_real_run_keeps_every_invariant() -> None:
    result = run_once()
    assert result.thefts
    assert check_record_invariants(result) == []


def test_a_report_before_its_theft_is_caught() -> None:
    result = run_once()
    bad = ReportRecord(
        report_id=99_999, theft_id=0, theft_at_min=100.0, reported_at_min=50.0, in_slice=True
    )
    broken = replace(result, reports=(*result.reports, bad))
    assert any("report before theft" in p for p in check_record_invariants(broken))


def test_requests_numbered_other_than_one_two_are_caught() -> None:
    result = run_once()
    first = result.requests[0]
    again = replace(first, request_id=-1, window_start_min=0.0, window_end_min=60.0, attempt=1)
    broken = replace(result, requests=(*result.requests, again))
    assert any("not numbered 1, 2" in p for p in check_record_invariants(broken))


def test_utilisation_above_one_is_caught() -> None:
    result = run_once()
    broken = replace(
        result,
        utilisation=(
            UtilisationRecord(
                resource="detectives",
                capacity=1,
                horizon_min=10.0,
                busy_minutes=12.0,
                utilisation=1.2,
                slice_busy_minutes=12.0,
            ),
        ),
    )
    assert any("outside [0, 1]" in p for p in check_record_invariants(broken))


@pytest.fixture(scope="module")
def system_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessDriver]:
    """Ten days of the tiny scenario on the real system (SQLite), with 1-day response
    periods and 1 h windows so that cases get follow-up requests."""
    scenario = load_scenario("tiny")
    population, params = scenario_params.replication_inputs(scenario, seed=5, scale=1.0)
    params = replace(
        params,
        response_period_min=scenario_params.MIN_PER_DAY,
        request_window_min=60.0,
        followup_request_prob=1.0,
    )
    driver = InProcessDriver(
        tmp_path_factory.mktemp("system"),
        start=datetime(2025, 11, 20, tzinfo=UTC),
        policy=system_policy(params),
    )
    CountyModel(population, params, driver, seed=5).run(10 * scenario_params.MIN_PER_DAY)
    yield driver
    driver.close()


def test_the_system_database_keeps_every_invariant_after_a_run(
    system_run: InProcessDriver,
) -> None:
    with system_run.ctx.uow(read_only=True) as uow:
        notifications = uow.connection.execute(
            select(func.count()).select_from(t.notifications)
        ).scalar_one()
        per_case = uow.connection.execute(
            select(func.count())
            .select_from(t.video_requests)
            .where(t.video_requests.c.status.in_([s.value for s in PUBLISHED_STATUSES]))
            .group_by(t.video_requests.c.case_id)
        ).scalars()
        published_per_case = Counter(per_case)
    assert notifications > 20  # the checks saw real traffic
    assert published_per_case[2] > 0  # follow-ups went through the system's REQ-04 check
    assert set(published_per_case) <= {1, 2}
    assert check_system_invariants(system_run.ctx) == []


def test_the_system_expires_requests_after_the_models_response_period(
    system_run: InProcessDriver,
) -> None:
    """The model's 1-day period reaches the system (sim.drivers.inprocess.system_policy):
    each activated request expires 1 day after it went out, as the model's residents
    and detectives assume, not after the system's default 7."""
    r = t.video_requests.c
    with system_run.ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(r.activated_at, r.expires_at, r.status).where(r.activated_at.is_not(None))
        ).all()
    assert len(rows) > 5
    assert {row.expires_at - row.activated_at for row in rows} == {timedelta(days=1)}
    # Ten days in, every request activated more than a day before the end has expired.
    end = datetime(2025, 11, 30, tzinfo=UTC)
    due = [row for row in rows if row.expires_at < end - timedelta(hours=1)]
    assert due
    assert {row.status for row in due} == {"expired"}


def test_a_case_with_more_published_requests_than_req_04_allows_is_caught(
    system_run: InProcessDriver,
) -> None:
    vr = t.video_requests
    limit = system_run.ctx.policy.max_requests_per_case
    with system_run.ctx.uow() as uow:
        first = uow.connection.execute(select(vr).order_by(vr.c.id).limit(1)).mappings().one()
        copy = {k: v for k, v in first.items() if k != "id"} | {"status": "expired"}
        added = [
            uow.connection.execute(insert(vr).values(**copy)).inserted_primary_key[0]
            for _ in range(limit)
        ]
        uow.commit()
    try:
        problems = check_system_invariants(system_run.ctx)
        assert f"cases with more than {limit} published requests (REQ-04): 1" in problems
    finally:
        with system_run.ctx.uow() as uow:
            uow.connection.execute(delete(vr).where(vr.c.id.in_(added)))
            uow.commit()
    assert check_system_invariants(system_run.ctx) == []
