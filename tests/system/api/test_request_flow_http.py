"""The whole path over HTTP: case, request, moderation, fan-out, consent, upload, status."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from system.adapters import tables as t
from system.domain.clip import encode_clip
from system.service_layer import jobs
from tests.system.api.conftest import Api, make_api
from tests.system.api.test_http_hardening import request_body
from tests.system.world import APPROVE_ALL


def publish(api: Api) -> int:
    submitted = api.client.post(
        "/api/v1/requests", json=request_body(api), headers=api.auth("detective")
    )
    assert submitted.status_code == 201, submitted.text
    request_id: int = submitted.json()["request_id"]
    moderator = api.auth("moderator")
    queue = api.client.get("/api/v1/moderation/queue", headers=moderator).json()
    assert [item["request_id"] for item in queue] == [request_id]
    base = f"/api/v1/moderation/requests/{request_id}"
    assert api.client.post(f"{base}/review", headers=moderator).status_code == 204
    decision = {"decision": "approve", "reason": "", "checklist": APPROVE_ALL}
    assert api.client.post(f"{base}/decision", json=decision, headers=moderator).status_code == 204
    jobs.run_pending_jobs(api.ctx)
    return request_id


def test_req08_con02_a_request_flows_from_detective_to_resident_and_back(api: Api) -> None:
    request_id = publish(api)
    resident = api.auth("resident")
    notes = api.client.get("/api/v1/me/notifications", headers=resident).json()
    assert [n["request_id"] for n in notes] == [request_id]
    nid = notes[0]["notification_id"]
    screen = api.client.get(f"/api/v1/me/notifications/{nid}", headers=resident).json()
    assert screen["agency_name"] == "Nassau County PD"
    clip_ids = [c["clip_id"] for c in screen["eligible_clips"]]
    assert clip_ids
    answer = {"clip_ids": clip_ids, "share_identity": False, "include_audio": False}
    receipt = api.client.post(
        f"/api/v1/me/notifications/{nid}/response", json=answer, headers=resident
    )
    assert receipt.status_code == 201
    assert receipt.json()["decision"] == "share"
    again = api.client.post(
        f"/api/v1/me/notifications/{nid}/response", json=answer, headers=resident
    )
    assert again.status_code == 409
    assert again.json()["rule"] == "CON-09"
    status = api.client.get(f"/api/v1/requests/{request_id}", headers=api.auth("detective"))
    assert status.status_code == 200
    assert status.json()["status"] == "active"
    assert not {"notified", "notified_count", "responses"} & set(status.json())  # CON-03
    # Both answers went through group commit, one transaction each (they came one by one).
    metrics = api.client.get("/metrics", headers=api.auth("admin")).text
    assert 'canvass_group_commit_batches_total{use="answers"} 2' in metrics
    assert 'canvass_group_commit_items_total{use="answers"} 2' in metrics


def test_con03_a_resident_cannot_see_another_residents_notification(api: Api) -> None:
    publish(api)
    assert (
        api.client.get("/api/v1/me/notifications/999", headers=api.auth("resident")).status_code
        == 404
    )


def test_req05_another_agencys_case_is_refused(api: Api) -> None:
    body = request_body(api, case_id=api.cw.world.case_id + 1000)
    response = api.client.post("/api/v1/requests", json=body, headers=api.auth("detective"))
    assert response.status_code == 422
    assert response.json()["field"] == "case_id"


def test_con04_residents_opt_out_and_back_in(api: Api) -> None:
    resident = api.auth("resident")
    assert api.client.post("/api/v1/me/opt-out", json={}, headers=resident).status_code == 204
    publish(api)
    assert api.client.get("/api/v1/me/notifications", headers=resident).json() == []
    assert api.client.post("/api/v1/me/opt-in", json={}, headers=resident).status_code == 204


def test_xfr01_a_camera_uploads_a_clip_with_its_sha256(api: Api) -> None:
    clip = encode_clip(
        recorded_at=api.clock.now() - timedelta(hours=1), duration_s=20.0, video=os.urandom(50_000)
    )
    digest = hashlib.sha256(clip).hexdigest()
    device = {**api.auth("device"), "Content-Type": "application/octet-stream"}
    ok = api.client.post(
        "/api/v1/devices/clips", content=clip, headers={**device, "X-Content-SHA256": digest}
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["clip_id"] > 0
    wrong = api.client.post(
        "/api/v1/devices/clips", content=clip, headers={**device, "X-Content-SHA256": "0" * 64}
    )
    assert wrong.status_code == 422
    assert wrong.json()["rule"] == "XFR-01"
    missing = api.client.post("/api/v1/devices/clips", content=clip, headers=device)
    assert missing.status_code == 422
    assert missing.json()["field"] == "X-Content-SHA256"
    garbage = api.client.post(
        "/api/v1/devices/clips",
        content=b"not a clip",
        headers={**device, "X-Content-SHA256": hashlib.sha256(b"not a clip").hexdigest()},
    )
    assert garbage.status_code == 422


def test_sec02_an_admin_creates_a_staff_account_and_its_totp_secret_is_shown_once(api: Api) -> None:
    from system.service_layer import registration

    staff = registration.register_staff(
        api.ctx, name="New Mod", email="n@p.example", role="moderator"
    )
    body = {
        "username": "newmod@canvass.example",
        "password": "a long enough password",
        "role": "moderator",
        "subject_id": staff.id,
    }
    created = api.client.post("/api/v1/admin/accounts", json=body, headers=api.auth("admin"))
    assert created.status_code == 201, created.text
    assert created.json()["totp_secret"]
    assert created.json()["totp_uri"].startswith("otpauth://totp/")
    duplicate = api.client.post("/api/v1/admin/accounts", json=body, headers=api.auth("admin"))
    assert duplicate.status_code == 422


def test_sec04_auditors_verify_the_audit_chain(api: Api) -> None:
    response = api.client.get("/api/v1/admin/audit/verify", headers=api.auth("auditor"))
    assert response.status_code == 200
    assert response.json()["ok"] is True


def test_prv04_a_resident_pages_through_notifications_newest_first(api: Api) -> None:
    first, second = publish(api), publish(api)
    resident = api.auth("resident")
    url = "/api/v1/me/notifications"
    everything = api.client.get(url, headers=resident)
    assert [n["request_id"] for n in everything.json()] == [second, first]
    assert "link" not in everything.headers  # one page holds them all

    page = api.client.get(url, params={"limit": 1}, headers=resident)
    assert [n["request_id"] for n in page.json()] == [second]
    following = page.headers["link"]
    assert following.endswith('>; rel="next"')
    assert f"before={page.json()[0]['notification_id']}" in following
    older = api.client.get(following[1 : following.index(">")], headers=resident)
    assert [n["request_id"] for n in older.json()] == [first]
    last = api.client.get(
        url, params={"limit": 1, "before": older.json()[0]["notification_id"]}, headers=resident
    )
    assert last.json() == []


def test_prv04_paging_refuses_bad_bounds_and_a_cursor_that_is_not_mine(api: Api) -> None:
    publish(api)
    resident = api.auth("resident")
    url = "/api/v1/me/notifications"
    for bad in ({"limit": 0}, {"limit": 201}, {"limit": "ten"}, {"before": -1}):
        response = api.client.get(url, params=bad, headers=resident)
        assert response.status_code == 422, bad
        assert response.json()["field"] in {"limit", "before"}
    mine = api.client.get(url, headers=resident).json()[0]["notification_id"]
    unknown = api.client.get(url, params={"before": mine + 1000}, headers=resident)
    assert unknown.status_code == 404
    assert unknown.json()["field"] == "before"


def metric(text: str, name: str) -> float:
    """The value of one exposition line (``name`` with its labels, exactly)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics:\n{text}")


def test_metrics_count_notifications_answers_transfers_bytes_and_the_queue_lag(api: Api) -> None:
    admin = api.auth("admin")
    before = api.client.get("/metrics", headers=admin).text
    assert metric(before, "canvass_notifications") == 0
    assert metric(before, "canvass_evidence_bytes") == 0
    assert metric(before, "canvass_evidence_items") == 0
    clips_before = metric(before, "canvass_clips")
    assert clips_before > 0  # the world's cameras have recorded
    publish(api)
    resident = api.auth("resident")
    nid = api.client.get("/api/v1/me/notifications", headers=resident).json()[0]["notification_id"]
    screen = api.client.get(f"/api/v1/me/notifications/{nid}", headers=resident).json()
    clip_ids = [c["clip_id"] for c in screen["eligible_clips"]]
    answer = {"clip_ids": clip_ids, "share_identity": False, "include_audio": False}
    answered = api.client.post(
        f"/api/v1/me/notifications/{nid}/response", json=answer, headers=resident
    )
    assert answered.status_code == 201
    api.clock.advance(timedelta(minutes=3))  # the transfer jobs have waited three minutes
    waiting = api.client.get("/metrics", headers=admin).text
    assert metric(waiting, 'canvass_transfers{status="queued"}') == len(clip_ids)
    assert metric(waiting, "canvass_jobs_queue_lag_seconds") >= 180
    jobs.run_pending_jobs(api.ctx)
    after = api.client.get("/metrics", headers=admin).text
    assert metric(after, "canvass_notifications") == len(api.cw.camera_of) == 1  # alice
    assert metric(after, 'canvass_responses{decision="share"}') == 1
    assert metric(after, 'canvass_responses{decision="decline"}') == 0
    assert metric(after, 'canvass_transfers{status="delivered"}') == len(clip_ids)
    assert metric(after, 'canvass_transfers{status="queued"}') == 0
    assert metric(after, "canvass_jobs_queue_lag_seconds") == 0
    evidence = api.client.get(
        f"/api/v1/cases/{api.cw.world.case_id}/evidence", headers=api.auth("detective")
    ).json()
    assert metric(after, "canvass_evidence_bytes") == sum(i["size_bytes"] for i in evidence)
    assert metric(after, "canvass_evidence_items") == len(evidence) == len(clip_ids)
    assert metric(after, "canvass_clips") == clips_before


@pytest.fixture
def small_clip_api(tmp_path: Path, sqlite_template: Path) -> Iterator[Api]:
    """The app with a 100 kB clip limit (the real one, 2 GiB, is too big to send in a test)."""
    yield from make_api(tmp_path, sqlite_template, clip_limit_bytes=100_000)


def test_xfr01_a_clip_over_the_upload_limit_is_413_and_stores_nothing(small_clip_api: Api) -> None:
    api = small_clip_api
    clip = encode_clip(
        recorded_at=api.clock.now() - timedelta(hours=1), duration_s=20.0, video=os.urandom(150_000)
    )
    device = {**api.auth("device"), "Content-Type": "application/octet-stream"}
    digest = {"X-Content-SHA256": hashlib.sha256(clip).hexdigest()}
    declared = api.client.post("/api/v1/devices/clips", content=clip, headers={**device, **digest})
    assert declared.status_code == 413
    assert declared.json()["code"] == "body_too_large"

    def streamed() -> Iterator[bytes]:  # no Content-Length: refused while it streams
        for start in range(0, len(clip), 16_384):
            yield clip[start : start + 16_384]

    chunked = api.client.post(
        "/api/v1/devices/clips", content=streamed(), headers={**device, **digest}
    )
    assert chunked.status_code == 413
    with api.ctx.uow(read_only=True) as uow:
        stored = uow.connection.execute(select(func.count()).select_from(t.clips)).scalar_one()
    assert stored == len(api.cw.clips_of["alice"])  # only the world's own clip
    small = encode_clip(
        recorded_at=api.clock.now() - timedelta(hours=1), duration_s=20.0, video=os.urandom(50_000)
    )
    accepted = api.client.post(
        "/api/v1/devices/clips",
        content=small,
        headers={**device, "X-Content-SHA256": hashlib.sha256(small).hexdigest()},
    )
    assert accepted.status_code == 201, accepted.text
