"""The SLO gate and the county-hour shape, with real Locust against a real server.

An impossibly low threshold makes Locust exit 3 naming it; a small synthetic
busiest hour replayed at 120x (30 seconds, then a drain of at most 30) gives
each operation the profile's total × counties, within 10%, as Locust counts them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from loadtests.profile import OPERATION_ENTRIES
from tests.loadtests.conftest import Target, run_locust


@pytest.mark.slow
def test_a_threshold_set_impossibly_low_makes_locust_exit_3_naming_it(
    target: Target, tmp_path: Path
) -> None:
    strict = tmp_path / "strict.toml"
    strict.write_text('[latency.groups."GET /api/v1/me/notifications"]\np95_ms = 0.001\n')
    run = run_locust(target, tmp_path / "run", "--canvass-slo", str(strict), run_time_s=10)
    assert run.returncode == 3, run.output[-3000:]
    assert re.search(
        r"SLO broken: p95 of GET /api/v1/me/notifications: measured [\d.]+ ms, limit 0.001 ms",
        run.output,
    ), run.output[-3000:]


def minutes(total: int, first: int, last: int) -> list[int]:
    """``total`` operations spread one a minute from minute ``first`` (60 minutes)."""
    counts = [0] * 60
    for i in range(total):
        counts[first + i * (last - first) // max(1, total)] += 1
    return counts


HOUR = {
    "requests_submitted": minutes(6, 0, 12),
    "moderation_decisions": minutes(6, 6, 24),
    "notifications": minutes(14, 0, 56),
    "answers": minutes(5, 20, 44),
    "clip_uploads": minutes(40, 0, 60),
    "evidence_listings": minutes(20, 10, 60),
}


@pytest.mark.slow
def test_the_county_hour_shape_replays_each_operation_of_the_profile(
    target: Target, tmp_path: Path
) -> None:
    profile = tmp_path / "load_profile.json"
    profile.write_text(
        json.dumps(
            {
                "format": "canvass-load-profile/1",
                "operations": list(HOUR),
                "county_factor": 1.0,
                "busiest_hour": {
                    "minutes": 60,
                    "per_minute": HOUR,
                    "totals": {op: sum(c) for op, c in HOUR.items()},
                },
            }
        )
    )
    counties, speedup = 2, 120  # the hour in 30 s, two counties' worth (slack for a busy CI)
    run = run_locust(
        target,
        tmp_path / "run",
        *("--canvass-shape", "county-hour", "--canvass-profile", str(tmp_path)),
        *("--canvass-counties", str(counties), "--canvass-speedup", str(speedup)),
        *("--canvass-pace", "4"),
        users=12,
        run_time_s=65,  # the shape ends the run: the hour, then the drain until caught up
    )
    assert run.failures == [], run.failures
    # The run's own report: Locust's statistics when the run ended (its CSV is rewritten
    # every 2 s and may miss the last operations).
    reported = re.findall(r"^  (\w+): (\d+) achieved, ([\d.]+) in the profile", run.output, re.M)
    achieved = {op: int(count) for op, count, _target in reported}
    assert set(achieved) == set(OPERATION_ENTRIES), run.output[-3000:]
    expected = {op: sum(counts) * counties for op, counts in HOUR.items()}
    off = {
        op: (achieved[op], expected[op])
        for op in expected
        if abs(achieved[op] - expected[op]) > 0.1 * expected[op]
    }
    assert not off, (off, run.output[-2000:])
    assert "county-hour: 2 counties at 120x" in run.output


@pytest.mark.slow
def test_a_capacity_search_reports_the_last_rate_that_held(target: Target, tmp_path: Path) -> None:
    run = run_locust(
        target,
        tmp_path,
        *("--canvass-shape", "step", "--canvass-step-s", "6", "--canvass-steps", "2"),
        *("--canvass-step-users", "4"),
        users=8,
        run_time_s=14,
    )
    assert run.returncode == 0, run.output[-3000:]
    held = re.search(r"step: last rate that held: ([\d.]+) requests/s with (\d+) users", run.output)
    assert held, run.output[-3000:]
    assert float(held[1]) > 0
    assert int(held[2]) in (8, 12)
