"""The record invariants hold on real runs and catch broken records."""

from __future__ import annotations

from dataclasses import replace

from sim.core.invariants import check_record_invariants
from sim.core.model import CountyModel
from sim.core.records import ModelResult, ReportRecord, UtilisationRecord
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
    bad = ReportRecord(99_999, 0, theft_at_min=100.0, reported_at_min=50.0)
    broken = replace(result, reports=(*result.reports, bad))
    assert any("report before theft" in p for p in check_record_invariants(broken))


def test_utilisation_above_one_is_caught() -> None:
    result = run_once()
    broken = replace(result, utilisation=(UtilisationRecord("detectives", 1, 10.0, 12.0, 1.2),))
    assert any("outside [0, 1]" in p for p in check_record_invariants(broken))
