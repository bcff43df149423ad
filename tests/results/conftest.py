"""Run folders shared by the results tests: each configuration runs once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.runner import run_scenario
from tests.sim.reference_output import CASES, ReferenceCase

LOCUST_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "locust"
"""Real Locust 2.47 output: 10 s headless against a local http.server, 1 in 6 requests 404."""


def _run(case: ReferenceCase, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp(case.name)
    run_dir, _summary = run_scenario(case.options(), out_root=out, progress=lambda _l: None)
    return Path(run_dir)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``canvass run tiny`` (two replications, platform requests only)."""
    return _run(CASES[0], tmp_path_factory)


@pytest.fixture(scope="session")
def face_canvass_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny with canvassing beside requests, face recognition on, 80 detectives."""
    return _run(CASES[1], tmp_path_factory)


@pytest.fixture
def locust_folder() -> Path:
    return LOCUST_FIXTURE
