"""Committed reference output of the county model on the real system.

The third tier of model tests (after unit tests and invariants): two small
configurations are run end to end through the in-process driver, and every
table and summary metric is compared with what was committed under
``tests/sim/reference/``. A change to the model, the driver or the system that
moves any simulated outcome shows up here, with the tables and metrics that
moved; a change meant only to make things faster must leave it unchanged.

When a change of outcomes is intended, regenerate the fixtures and commit them
with the change that explains them::

    .venv/bin/python -m tests.sim.reference_output

The fixtures hold each table's row count and SHA-256 and the full summary
(not the tables themselves, to keep the repository small).
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.loader import load_scenario
from sim.runner import RunOptions, run_scenario

FIXTURES = Path(__file__).resolve().parent / "reference"
REGENERATE = ".venv/bin/python -m tests.sim.reference_output"


@dataclass(frozen=True)
class ReferenceCase:
    name: str
    scenario: str
    overrides: tuple[str, ...]
    seed: int
    replications: int = 2

    def options(self) -> RunOptions:
        scenario = load_scenario(self.scenario, self.overrides)
        return RunOptions(
            scenario=scenario,
            replications=self.replications,
            seed=self.seed,
            scale=scenario.run.scale,
            horizon_days=scenario.run.horizon_days,
            table_format="csv",  # text, so a moved value can be found with diff
        )

    @property
    def fixture(self) -> Path:
        return FIXTURES / f"{self.name}.json"


CASES = (
    ReferenceCase("tiny", "tiny", (), seed=20250101),
    # Every branch of the model at once: canvassing beside platform requests, the
    # face-recognition what-if, and a pool of several detectives (80 x 0.05 = 4 full-time
    # equivalents for tiny's county, where Nassau's 300 would give 15).
    ReferenceCase(
        "tiny-both-face-recognition",
        "tiny",
        (
            'police.policy="both"',
            "identification.face_recognition.enabled=true",
            "police.detectives=80",
        ),
        seed=7,
    ),
)


def observe(case: ReferenceCase, workdir: Path) -> dict[str, Any]:
    """Run the case and describe its run folder as the fixture does."""
    run_dir, _summary = run_scenario(case.options(), out_root=workdir, progress=lambda _l: None)
    tables = {}
    for path in sorted(run_dir.glob("*.csv")):
        content = path.read_bytes()
        tables[path.stem] = {
            "rows": max(0, content.count(b"\n") - 1),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
    summary = json.loads((run_dir / "summary.json").read_text())
    return {
        "case": {
            "scenario": case.scenario,
            "overrides": list(case.overrides),
            "seed": case.seed,
            "replications": case.replications,
        },
        "tables": tables,
        "summary": summary,
    }


def differences(expected: dict[str, Any], observed: dict[str, Any]) -> list[str]:
    """What moved, one line each: tables first, then summary metrics."""
    lines = []
    for name in sorted(set(expected["tables"]) | set(observed["tables"])):
        want, got = expected["tables"].get(name), observed["tables"].get(name)
        if want != got:
            lines.append(f"table {name}: expected {want}, got {got}")
    want_metrics = expected["summary"]["metrics"]
    got_metrics = observed["summary"]["metrics"]
    for name in sorted(set(want_metrics) | set(got_metrics)):
        want, got = want_metrics.get(name), got_metrics.get(name)
        if want != got:
            lines.append(f"metric {name}: expected {want}, got {got}")
    for key in ("scenario", "replications"):
        if expected["summary"].get(key) != observed["summary"].get(key):
            lines.append(
                f"summary {key}: expected {expected['summary'].get(key)!r}, got "
                f"{observed['summary'].get(key)!r}"
            )
    return lines


def regenerate() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        for case in CASES:
            body = observe(case, Path(workdir) / case.name)
            case.fixture.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
            print(f"wrote {case.fixture}")


if __name__ == "__main__":
    regenerate()
    sys.exit(0)
