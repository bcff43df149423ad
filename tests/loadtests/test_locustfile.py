"""The locustfile against a real server: every actor's routes, judged, the journey, PERF-01/02.

Each test runs real Locust as a subprocess (a few users, 30 seconds at most)
against a seeded ``canvass serve`` on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.loadtests.conftest import Target, run_locust

ROUTES_BY_ACTOR = {
    "Detective": [
        "POST /api/v1/cases",
        "POST /api/v1/requests",
        "GET /api/v1/requests/[id]",
        "GET /api/v1/cases/[id]/evidence",
        "GET /api/v1/evidence/[id]/content",
    ],
    "Moderator": [
        "GET /api/v1/moderation/queue",
        "POST /api/v1/moderation/requests/[id]/review",
        "POST /api/v1/moderation/requests/[id]/decision",
    ],
    "Resident": [
        "GET /api/v1/me/notifications",
        "GET /api/v1/me/notifications/[id]",
        "POST /api/v1/me/notifications/[id]/response",
        "POST /api/v1/me/opt-out",
        "POST /api/v1/me/opt-in",
    ],
    "Camera": ["POST /api/v1/devices/clips"],
    "Public": [
        "GET /api/v1/public/agencies/[id]/requests",
        "GET /api/v1/public/agencies/[id]/transparency",
    ],
}


@pytest.mark.slow
def test_every_actor_runs_without_a_failure_and_requests_reach_evidence(
    target: Target, tmp_path: Path
) -> None:
    # Twice the users' own pace, so the first journeys end well inside the run (Locust's
    # CSV misses what happens in its last seconds).
    run = run_locust(target, tmp_path, "--canvass-pace", "2", run_time_s=30)
    assert run.failures == [], run.failures
    assert run.returncode == 0, run.output[-3000:]
    missing = {
        actor: [route for route in routes if run.count(route) == 0]
        for actor, routes in ROUTES_BY_ACTOR.items()
    }
    assert not any(missing.values()), (missing, sorted(run.stats))
    assert run.count("journey request to first evidence") >= 1, sorted(run.stats)
    # PERF-01 and PERF-02, timed by the residents and detectives, with Locust's percentiles.
    assert run.count("perf-01 approval to notification") >= 1, sorted(run.stats)
    assert run.count("perf-02 share to evidence") >= 1, sorted(run.stats)
