"""The whole path against real server processes: request, consent, upload, transfer, download.

SQLite with the embedded worker; PostgreSQL with an API process and two
worker processes; a 3600x scaled clock under which a request expires after
its 7-day response period (CON-08). And CON-03 over HTTP: a resident who
declines leaves every agency-facing response as it was while they were silent.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from system.domain.clip import encode_clip
from tests import databases
from tests.e2e.conftest import (
    CLOCK_FACTOR,
    Deployment,
    ExpiryRun,
    canvass_command,
    deployment,
    free_port,
    notification_for,
    open_case,
    poll,
    publish,
    running,
    seed,
    server_env,
    system_clock,
)

TRANSFER_TIMEOUT_S = 60.0


@pytest.fixture
def postgres_app(tmp_path: Path) -> Iterator[Deployment]:
    """``canvass serve --no-worker`` and two ``canvass worker`` processes on PostgreSQL."""
    databases.skip_or_fail_without_postgres()
    url = databases.create_postgres_database(prefix="canvass_e2e")
    try:
        seeded = seed(url, tmp_path / "data", scratch=tmp_path)
        port = free_port()
        db = ("--database-url", url)
        commands = [
            canvass_command("serve", "--port", str(port), *db, "--no-worker", "--no-migrate"),
            canvass_command("worker", *db, "--concurrency", "1"),
            canvass_command("worker", *db, "--concurrency", "1"),
        ]
        env = server_env(seeded.data_dir)
        with (
            running(
                commands, env=env, port=port, log_dir=tmp_path / "logs", clock=system_clock()
            ) as server,
            deployment(server, seeded) as deployed,
        ):
            yield deployed
    finally:
        databases.drop_postgres_database(url)


def upload(d: Deployment, clip: bytes) -> tuple[int, str]:
    digest = hashlib.sha256(clip).hexdigest()
    response = d.http.post(
        "/api/v1/devices/clips",
        content=clip,
        headers={
            "Authorization": f"Bearer {d.seeded.device_token}",
            "Content-Type": "application/octet-stream",
            "X-Content-SHA256": digest,
        },
    )
    assert response.status_code == 201, response.text
    clip_id: int = response.json()["clip_id"]
    return clip_id, digest


def share_two_clips_and_download_them(d: Deployment, case_number: str) -> dict[str, Any]:
    """The core flow; returns the evidence list and the uploaded hashes."""
    case_id = open_case(d, case_number)
    request_id = publish(d, case_id)
    nid = notification_for(d, "resident", request_id)
    now = d.server.clock.now()
    clips = [
        encode_clip(
            recorded_at=now - timedelta(hours=4),
            duration_s=20.0,
            video=os.urandom(300_000),
            audio=os.urandom(20_000),
        ),
        encode_clip(
            recorded_at=now - timedelta(hours=3), duration_s=15.0, video=os.urandom(90_000)
        ),
    ]
    uploaded = dict(upload(d, clip) for clip in clips)
    resident = d.user("resident")
    screen = resident.get(f"/api/v1/me/notifications/{nid}")
    assert screen.status_code == 200, screen.text
    assert set(uploaded) <= {c["clip_id"] for c in screen.json()["eligible_clips"]}
    answer = {"clip_ids": sorted(uploaded), "share_identity": False, "include_audio": True}
    receipt = resident.post(f"/api/v1/me/notifications/{nid}/response", json=answer)
    assert receipt.status_code == 201, receipt.text
    assert sorted(receipt.json()["shared_clip_ids"]) == sorted(uploaded)

    detective = d.user("detective1")
    listing = poll(
        lambda: detective.get(f"/api/v1/cases/{case_id}/evidence"),
        lambda r: r.status_code != 200 or len(r.json()) >= len(uploaded),
        timeout_s=TRANSFER_TIMEOUT_S,
    )
    assert listing.status_code == 200, listing.text
    items = listing.json()
    assert len(items) == len(uploaded), (items, d.server.log_tail())
    downloaded = {}
    for item in items:
        content = detective.get(f"/api/v1/evidence/{item['evidence_id']}/content")
        assert content.status_code == 200, content.text
        digest = hashlib.sha256(content.content).hexdigest()
        assert content.headers["x-content-sha256"] == digest == item["sha256"]
        downloaded[digest] = item
    assert set(downloaded) == set(uploaded.values())  # include_audio: the very bytes uploaded
    return {"case_id": case_id, "request_id": request_id, "items": items}


def test_xfr01_con02_a_shared_clip_reaches_the_detective_byte_for_byte_on_sqlite(
    sqlite_app: Deployment,
) -> None:
    flow = share_two_clips_and_download_them(sqlite_app, "E2E-SQLITE-1")
    assert all(item["contributor"] is None for item in flow["items"])  # CON-05: off by default


def test_evd02_a_grantee_downloads_through_a_share_link_until_it_is_revoked(
    sqlite_app: Deployment,
) -> None:
    flow = share_two_clips_and_download_them(sqlite_app, "E2E-SQLITE-SHARE")
    item = flow["items"][0]
    detective = sqlite_app.user("detective1")
    grant = detective.post(
        f"/api/v1/evidence/{item['evidence_id']}/shares",
        json={
            "grantee_name": "A. Prosecutor",
            "grantee_email": "ada@da.example",
            "grantee_org": "District Attorney",
            "access_level": "download",
            "outside_agency": True,
            "justification": "Discovery for the arraignment.",
        },
    )
    assert grant.status_code == 201, grant.text
    token, share_id = grant.json()["token"], grant.json()["share_id"]
    http = sqlite_app.http  # no account: the token is the credential
    content = http.get(f"/api/v1/shared/{token}/content")
    assert content.status_code == 200
    assert hashlib.sha256(content.content).hexdigest() == item["sha256"]
    assert detective.call("DELETE", f"/api/v1/shares/{share_id}").status_code == 204
    refused = http.get(f"/api/v1/shared/{token}")
    assert refused.status_code == 403
    assert refused.json()["rule"] == "EVD-02"


@pytest.mark.postgres
def test_xfr02_the_same_flow_on_postgresql_with_two_worker_processes(
    postgres_app: Deployment,
) -> None:
    share_two_clips_and_download_them(postgres_app, "E2E-PG-1")


def agency_view(d: Deployment, case_id: int, request_id: int) -> dict[str, Any]:
    """Everything the agency can read about a request, as JSON (and the public pages)."""
    today = d.server.clock.now().date()
    agency = d.seeded.agency_id
    pages = {
        f"{who} {path}": d.user(who).get(path)
        for who in ("detective1", "supervisor1")
        for path in (f"/api/v1/requests/{request_id}", f"/api/v1/cases/{case_id}/evidence")
    }
    pages["public log"] = d.http.get(f"/api/v1/public/agencies/{agency}/requests")
    pages["public report"] = d.http.get(
        f"/api/v1/public/agencies/{agency}/transparency",
        params={"start": "2020-01-01", "end": today.isoformat(), "period": "month"},
    )
    for name, response in pages.items():
        assert response.status_code == 200, (name, response.text)
    return {name: response.json() for name, response in pages.items()}


def test_con03_a_decline_leaves_every_agency_facing_response_as_silence_did(
    sqlite_app: Deployment,
) -> None:
    d = sqlite_app
    case_id = open_case(d, "E2E-CON03-1")
    request_id = publish(d, case_id)
    silent = agency_view(d, case_id, request_id)  # both residents notified, neither answered
    nid = notification_for(d, "neighbour", request_id)
    declined = d.user("neighbour").post(
        f"/api/v1/me/notifications/{nid}/response", json={"clip_ids": []}
    )
    assert declined.status_code == 201, declined.text
    assert declined.json()["decision"] == "decline"
    assert agency_view(d, case_id, request_id) == silent  # the resident still ignores it
    for who in ("detective1", "supervisor1"):
        assert d.user(who).get("/metrics").status_code == 403  # SEC-01: operators only
    assert d.user("admin").get("/metrics").status_code == 200


def test_con08_a_request_expires_after_its_response_period_on_a_scaled_clock(
    expiry_run: ExpiryRun | None,
) -> None:
    assert expiry_run is not None  # started by the session fixture when this test is selected
    outcome = expiry_run.wait()
    if outcome.error is not None:
        raise outcome.error
    assert outcome.statuses[0] == "active"
    assert outcome.final["status"] == "expired", outcome
    assert outcome.statuses[-1] == "expired"
    assert outcome.wall_s_approval_to_expiry is not None
    assert outcome.wall_s_approval_to_expiry < 240, outcome  # seven days in under 4 minutes
    week_s = 7 * 86400 / CLOCK_FACTOR
    assert outcome.wall_s_approval_to_expiry > 0.9 * week_s  # not before the period ended
