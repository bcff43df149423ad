"""Simulated outcomes match the committed reference output, table by table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sim.reference_output import CASES, REGENERATE, ReferenceCase, differences, observe


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_outcomes_match_the_committed_reference_output(case: ReferenceCase, tmp_path: Path) -> None:
    expected = json.loads(case.fixture.read_text())
    assert expected["case"]["seed"] == case.seed, "the fixture was made for another case"
    observed = observe(case, tmp_path)
    assert observed["tables"]["thefts"]["rows"] > 0, "the case must exercise the model"
    moved = differences(expected, observed)
    assert not moved, (
        f"{case.name}: simulated outcomes differ from {case.fixture.name} "
        f"({len(moved)} differences; if intended, regenerate with `{REGENERATE}` and "
        "commit the fixtures with the change that explains them):\n" + "\n".join(moved[:40])
    )


def test_a_moved_outcome_is_reported_by_table_and_metric() -> None:
    expected = {
        "tables": {"thefts": {"rows": 3, "sha256": "a"}, "reports": {"rows": 1, "sha256": "b"}},
        "summary": {"scenario": "tiny", "replications": 2, "metrics": {"thefts": {"mean": 3}}},
    }
    observed = {
        "tables": {"thefts": {"rows": 4, "sha256": "c"}, "reports": {"rows": 1, "sha256": "b"}},
        "summary": {"scenario": "tiny", "replications": 2, "metrics": {"thefts": {"mean": 4}}},
    }
    moved = differences(expected, observed)
    assert moved == [
        "table thefts: expected {'rows': 3, 'sha256': 'a'}, got {'rows': 4, 'sha256': 'c'}",
        "metric thefts: expected {'mean': 3}, got {'mean': 4}",
    ]
    assert differences(expected, expected) == []
