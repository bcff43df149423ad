"""What an adversarial run against a live server found (issue 22), each pinned by a test.

Hostile input gets a clear 4xx and never a 500 (SEC-06); responses reveal
neither which ids exist elsewhere (REQ-01, REQ-05) nor the server software
(SEC-07); links are not built from the client's Host header.
"""

from __future__ import annotations

import hashlib
import logging

import pytest

from system.domain.clip import MAGIC
from system.service_layer import registration
from tests.system.api.conftest import Api
from tests.system.api.test_http_hardening import request_body
from tests.system.api.test_request_flow_http import publish


def test_sec06_a_clip_header_nested_2000_levels_deep_is_422_and_logs_no_traceback(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    clip = MAGIC + b"[" * 2000 + b"]" * 2000 + b"\n" + b"\x00" * 64
    headers = {
        **api.auth("device"),
        "Content-Type": "application/octet-stream",
        "X-Content-SHA256": hashlib.sha256(clip).hexdigest(),
    }
    with caplog.at_level(logging.ERROR):
        response = api.client.post("/api/v1/devices/clips", content=clip, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "clip"
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("route", ["/api/v1/requests", "/api/v1/cases"])
def test_sec06_a_json_body_nested_30000_levels_deep_is_4xx(api: Api, route: str) -> None:
    body = b'{"case_id":' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    headers = {**api.auth("detective"), "Content-Type": "application/json"}
    response = api.client.post(route, content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password1234", "common or breached"),
        ("a" * 12, "repetition"),
        ("newmod@canvass.example", "username"),
    ],
)
def test_sec02_an_admin_cannot_give_an_account_a_weak_password(
    api: Api, password: str, why: str
) -> None:
    staff = registration.register_staff(
        api.ctx, name="New Mod", email="n@p.example", role="moderator"
    )
    body = {
        "username": "newmod@canvass.example",
        "password": password,
        "role": "moderator",
        "subject_id": staff.id,
    }
    refused = api.client.post("/api/v1/admin/accounts", json=body, headers=api.auth("admin"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "password"
    assert why in refused.json()["message"]
    body["password"] = "a long enough password"
    created = api.client.post("/api/v1/admin/accounts", json=body, headers=api.auth("admin"))
    assert created.status_code == 201, created.text


def test_prv04_a_forged_host_header_is_not_echoed_into_the_next_page_link(api: Api) -> None:
    publish(api)
    publish(api)
    headers = {**api.auth("resident"), "Host": "attacker.example"}
    page = api.client.get("/api/v1/me/notifications", params={"limit": 1}, headers=headers)
    assert page.status_code == 200
    link = page.headers["link"]
    assert "attacker.example" not in link
    target = link[1 : link.index(">")]
    assert target.startswith("/api/v1/me/notifications?")
    following = api.client.get(target, headers=api.auth("resident"))
    assert following.status_code == 200
    assert len(following.json()) == 1


def test_req01_another_agencys_case_id_answers_like_a_missing_one_over_http(api: Api) -> None:
    theirs = registration.open_case(
        api.ctx,
        officer_id=api.cw.world.other_detective_id,
        case_number="2026-SC-0042",
        incident_type="package_theft",
    ).id
    detective = api.auth("detective")
    foreign = api.client.post(
        "/api/v1/requests", json=request_body(api, case_id=theirs), headers=detective
    )
    missing = api.client.post(
        "/api/v1/requests", json=request_body(api, case_id=theirs + 1), headers=detective
    )
    assert foreign.status_code == missing.status_code == 422
    assert (foreign.json()["field"], foreign.json()["rule"]) == ("case_id", "REQ-01")
    assert foreign.json()["message"].replace(str(theirs), "N") == (
        missing.json()["message"].replace(str(theirs + 1), "N")
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"case_id": True}, "case_id"),
        ({"case_id": 1.0}, "case_id"),
        ({"case_id": "1"}, "case_id"),
        ({"incident_location": {"lat": True, "lon": 0.0}}, "incident_location.lat"),
    ],
)
def test_sec06_ids_and_numbers_in_a_request_body_must_be_json_numbers_of_their_type(
    api: Api, changes: dict[str, object], field: str
) -> None:
    body = request_body(api, **changes)
    refused = api.client.post("/api/v1/requests", json=body, headers=api.auth("detective"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"clip_ids": [True]}, "clip_ids.0"),
        ({"share_identity": 1}, "share_identity"),
        ({"include_audio": "yes"}, "include_audio"),
    ],
)
def test_sec06_a_resident_answer_takes_strict_ids_and_booleans(
    api: Api, body: dict[str, object], field: str
) -> None:
    publish(api)
    resident = api.auth("resident")
    nid = api.client.get("/api/v1/me/notifications", headers=resident).json()[0]["notification_id"]
    url = f"/api/v1/me/notifications/{nid}/response"
    refused = api.client.post(url, json=body, headers=resident)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field
