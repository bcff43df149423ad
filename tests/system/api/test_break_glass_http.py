"""Break-glass over HTTP (SEC-05): ask, approve, read, expire, revoke; no other way in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from system.api.app import route_table
from system.service_layer import accounts, registration
from tests.system.api.conftest import PASSWORD, Api, Login

BASE = "/api/v1/admin/break-glass"
STAFF = ("moderator", "auditor", "admin")


@pytest.fixture
def second_admin(api: Api) -> str:
    """A second admin login (``admin2``): approvals need an admin other than the requester."""
    staff = registration.register_staff(
        api.ctx, name="Ad Two", email="adm2@p.example", role="admin"
    )
    new = accounts.create_account(
        api.ctx,
        username="admin2@canvass.example",
        password=PASSWORD,
        role="admin",
        subject_id=staff.id,
    )
    api.logins["admin2"] = Login(new.username, new.account_id, staff.id, new.totp_secret)
    return "admin2"


def clip_id(api: Api) -> int:
    return api.cw.clips_of["alice"][0]


def clip_bytes(api: Api) -> bytes:
    with api.ctx.uow(read_only=True) as uow:
        clip = uow.clips.get(clip_id(api))
    assert clip is not None
    return api.ctx.stores.clips.read_all(clip.sha256)


def ask(api: Api, role: str = "moderator") -> int:
    response = api.client.post(
        BASE,
        headers=api.auth(role),
        json={"clip_id": clip_id(api), "ticket": "INC-4711", "reason": "abuse report triage"},
    )
    assert response.status_code == 201, response.text
    grant_id: int = response.json()["grant_id"]
    return grant_id


def approve(api: Api, grant_id: int, role: str = "admin", minutes: int = 60) -> int:
    response = api.client.post(
        f"{BASE}/{grant_id}/approve", headers=api.auth(role), json={"minutes": minutes}
    )
    status: int = response.status_code
    return status


def test_sec05_http_request_approve_and_view_returns_the_clip(api: Api) -> None:
    grant_id = ask(api)

    approved = api.client.post(
        f"{BASE}/{grant_id}/approve", headers=api.auth("admin"), json={"minutes": 30}
    )
    response = api.client.get(f"{BASE}/{grant_id}/clip", headers=api.auth("moderator"))

    assert approved.status_code == 200, approved.text
    assert approved.json()["expires_at"] is not None
    assert response.status_code == 200, response.text
    assert response.content == clip_bytes(api)
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["cache-control"] == "no-store"
    with api.ctx.uow(read_only=True) as uow:
        views = [e for e in uow.audit.entries() if e.action == "breakglass.view"]
    assert [(v.outcome, "INC-4711" in v.details_json) for v in views] == [("ok", True)]
    assert views[0].source_ip is not None


def test_sec05_http_view_before_approval_is_forbidden(api: Api) -> None:
    grant_id = ask(api)

    response = api.client.get(f"{BASE}/{grant_id}/clip", headers=api.auth("moderator"))

    assert response.status_code == 403
    assert "SEC-05" in response.text


def test_sec05_http_expired_grant_is_forbidden(api: Api) -> None:
    grant_id = ask(api)
    assert approve(api, grant_id, minutes=5) == 200
    headers = api.auth("moderator")  # log in before the clock moves past expiry

    api.clock.advance(timedelta(minutes=5))
    response = api.client.get(f"{BASE}/{grant_id}/clip", headers=headers)

    assert response.status_code == 403
    assert "expired" in response.text


def test_sec05_http_self_approval_and_over_four_hours_are_refused(
    api: Api, second_admin: str
) -> None:
    grant_id = ask(api, "admin")

    assert approve(api, grant_id, "admin") == 403
    assert approve(api, grant_id, second_admin, minutes=241) == 422
    assert approve(api, grant_id, second_admin, minutes=240) == 200
    assert api.client.get(f"{BASE}/{grant_id}/clip", headers=api.auth("admin")).status_code == 200


def test_sec05_http_revoked_grant_is_forbidden(api: Api) -> None:
    grant_id = ask(api)
    assert approve(api, grant_id) == 200

    revoked = api.client.delete(f"{BASE}/{grant_id}", headers=api.auth("admin"))
    response = api.client.get(f"{BASE}/{grant_id}/clip", headers=api.auth("moderator"))

    assert revoked.status_code == 204
    assert response.status_code == 403


def test_sec05_http_another_staff_member_cannot_use_the_grant(api: Api) -> None:
    grant_id = ask(api)
    assert approve(api, grant_id) == 200

    for role in ("auditor", "admin"):
        response = api.client.get(f"{BASE}/{grant_id}/clip", headers=api.auth(role))
        assert response.status_code == 403


def test_sec05_no_other_route_returns_clip_bytes_to_staff(api: Api) -> None:
    """Every GET route, with every id set to the clip's id, as each staff role: no clip bytes.

    The role matrix (SEC-01) fixes which roles reach which route; this checks
    that none of the routes staff can reach hands them the content.
    """
    content = clip_bytes(api)
    probe = content[len(content) // 2 : len(content) // 2 + 64]
    ids = (
        {
            name: clip_id(api)
            for name in ("request_id", "notification_id", "account_id", "camera_id", "case_id")
        }
        | {
            name: clip_id(api)
            for name in ("evidence_id", "share_id", "emergency_id", "agency_id", "grant_id")
        }
        | {"token": "x"}
    )
    gets = sorted(
        entry.path
        for entry in route_table(api.client.app)  # type: ignore[arg-type]
        if entry.method == "GET"
    )
    assert f"{BASE}/{{grant_id}}/clip" in gets

    for role in STAFF:
        for path in gets:
            response = api.client.get(path.format_map(ids), headers=api.auth(role))
            assert probe not in response.content, (role, path)
