"""Admin routes over HTTP: agencies, retention, key rotation, metrics scrape tokens.

Each change is audited; bad input is a 4xx JSON body naming the field and
changes nothing; a metrics token opens ``/metrics`` and no other route.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import select

from system.adapters.tables_accounts import accounts as accounts_table
from system.domain.audit import AuditEntry
from tests.system.api.conftest import Api

ADMIN = "/api/v1/admin"


def audit(api: Api, obj: str) -> list[AuditEntry]:
    with api.ctx.uow(read_only=True) as uow:
        return uow.audit.entries(obj=obj)


def problem(response: Any, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["field"] == field, body
    assert body["code"]
    assert field in body["message"]
    return body


# --- agencies (REQ-05) ---------------------------------------------------------------------


def test_req05_an_unverified_agency_is_refused_over_http_until_an_admin_verifies_it(
    api: Api,
) -> None:
    agency_id = api.cw.world.agency_id
    admin, detective = api.auth("admin"), api.auth("detective")
    case = {"case_number": "NC-77", "incident_type": "burglary"}

    off = api.client.post(f"{ADMIN}/agencies/{agency_id}/unverify", headers=admin)
    assert off.status_code == 200
    assert off.json()["verified"] is False
    refused = api.client.post("/api/v1/cases", json=case, headers=detective)
    assert refused.status_code == 403
    assert refused.json()["rule"] == "REQ-05"

    on = api.client.post(f"{ADMIN}/agencies/{agency_id}/verify", headers=admin)
    assert on.json()["verified"] is True
    assert api.client.post("/api/v1/cases", json=case, headers=detective).status_code == 201
    entries = audit(api, f"agency:{agency_id}")
    assert [(e.action, e.outcome) for e in entries] == [("agency.verify", "ok")] * 2
    assert {e.actor for e in entries} == {f"account:{api.logins['admin'].account_id}"}


def test_req05_an_admin_registers_and_lists_agencies(api: Api) -> None:
    admin = api.auth("admin")
    made = api.client.post(
        f"{ADMIN}/agencies", json={"name": "Freeport PD", "county": "Nassau"}, headers=admin
    )
    assert made.status_code == 201
    assert made.json()["verified"] is False  # verified only when an admin says so
    listed = api.client.get(f"{ADMIN}/agencies", headers=admin).json()
    assert {a["name"]: a["verified"] for a in listed}["Freeport PD"] is False
    assert [e.outcome for e in audit(api, "agency:new")] == ["ok"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "Freeport PD", "county": "Nassau", "verified": "yes"}, 422, "verified"),
        ({"name": "Freeport PD", "county": "Nassau", "chief": "x"}, 422, "chief"),
        ({"name": "   ", "county": "Nassau"}, 422, "name"),
        ({"name": "Freeport PD"}, 422, "county"),
        ({"name": "x" * 201, "county": "Nassau"}, 422, "name"),
        (
            {"name": "<script>alert(1)</script>'; DROP TABLE agencies;--", "county": 5},
            422,
            "county",
        ),
        # Names that would read as another agency's in the public log.
        ({"name": "Freeport \u202eDP", "county": "Nassau"}, 422, "name"),  # right-to-left override
        ({"name": "Free\u200bport PD", "county": "Nassau"}, 422, "name"),  # zero-width space
        ({"name": "Freeport PD\nVerified", "county": "Nassau"}, 422, "name"),
        ({"name": "Freeport PD", "county": "Nas\u2066sau"}, 422, "county"),
    ],
)
def test_req05_bad_agency_input_names_the_field_and_registers_nothing(
    api: Api, body: dict[str, Any], status: int, field: str
) -> None:
    admin = api.auth("admin")
    before = api.client.get(f"{ADMIN}/agencies", headers=admin).json()
    problem(api.client.post(f"{ADMIN}/agencies", json=body, headers=admin), status, field)
    assert api.client.get(f"{ADMIN}/agencies", headers=admin).json() == before


# --- retention (EVD-03) ----------------------------------------------------------------------


def test_evd03_an_admin_reads_and_changes_retention_and_the_change_is_audited(api: Api) -> None:
    admin = api.auth("admin")
    shown = api.client.get(f"{ADMIN}/retention", headers=admin).json()
    assert shown["periods_days"] == shown["defaults_days"]
    assert shown["periods_days"] == {
        "standard": 1095,
        "no_investigative_value": 30,
        "serious_crime": None,
    }

    changed = api.client.patch(
        f"{ADMIN}/retention", json={"periods_days": {"standard": 730}}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["periods_days"]["standard"] == 730
    assert changed.json()["items_redated"] == 0
    assert api.client.get(f"{ADMIN}/retention", headers=admin).json()["periods_days"] == {
        "standard": 730,
        "no_investigative_value": 30,
        "serious_crime": None,
    }
    assert [e.action for e in audit(api, "retention:evidence")] == ["retention.change"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"periods_days": {"standard": "30"}}, "periods_days.standard"),
        ({"periods_days": {"standard": 30.5}}, "periods_days.standard"),
        ({"periods_days": {"standard": 0}}, "periods_days.standard"),
        ({"periods_days": {"standard": -1}}, "periods_days.standard"),
        ({"periods_days": {"standard": 10**12}}, "periods_days.standard"),
        ({"periods_days": {"weekly": 7}}, "periods_days.weekly"),
        ({"periods_days": {"no_investigative_value": 4000}}, "periods_days.no_investigative_value"),
        ({"periods_days": {}}, "periods_days"),
        ({"periods_days": [30]}, "periods_days"),
        ({"standard": 30}, "periods_days"),
    ],
)
def test_evd03_bad_retention_input_is_a_4xx_naming_the_field_and_changes_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    admin = api.auth("admin")
    before = api.client.get(f"{ADMIN}/retention", headers=admin).json()
    response = api.client.patch(f"{ADMIN}/retention", json=body, headers=admin)
    assert response.status_code == 422, response.text
    found = response.json()
    assert field in {found["field"], *(p["field"] for p in found["problems"])}, found
    assert api.client.get(f"{ADMIN}/retention", headers=admin).json() == before


# --- key rings (EVD-05) ---------------------------------------------------------------------


def test_evd05_an_admin_rotates_the_platform_key_and_earlier_clips_still_decrypt(
    api: Api,
) -> None:
    admin = api.auth("admin")
    stores = api.ctx.stores
    sha256 = stores.clips.put(b"doorbell clip", max_bytes=1 << 20).sha256

    rings = {r["domain"]: r for r in api.client.get(f"{ADMIN}/keys", headers=admin).json()}
    assert set(rings) == {"platform", "agency", "accounts"}
    assert rings["platform"] == {
        "domain": "platform",
        "managed_by": "file",
        "key_ids": ["k1"],
        "active": "k1",
    }

    rotated = api.client.post(f"{ADMIN}/keys/platform/rotate", json={}, headers=admin)
    assert rotated.status_code == 200, rotated.text
    report = rotated.json()
    assert (report["key_added"], report["previous_active"], report["active"]) == (
        True,
        "k1",
        "k2",
    )
    assert report["stores"]["clips"]["rewrapped"] >= 1
    assert report["stores"]["clips"]["failed"] == {}
    assert stores.clips.read_all(sha256) == b"doorbell clip"
    ring = stores.key_sources["platform"].current()
    for key in ring.keys.values():  # ids only: no key material in the answer
        assert base64.b64encode(key).decode() not in rotated.text
    assert [e.action for e in audit(api, "keyring:platform")] == ["keys.rotate"]


def test_evd05_bad_rotation_input_names_the_field(api: Api) -> None:
    admin = api.auth("admin")
    problem(api.client.post(f"{ADMIN}/keys/kitchen/rotate", json={}, headers=admin), 422, "domain")
    problem(
        api.client.post(f"{ADMIN}/keys/agency/rotate", json={"new_key": "yes"}, headers=admin),
        422,
        "new_key",
    )
    rings = {r["domain"]: r for r in api.client.get(f"{ADMIN}/keys", headers=admin).json()}
    assert rings["agency"]["key_ids"] == ["k1"]


# --- TOTP secrets at rest (SEC-02) ------------------------------------------------------------


def test_sec02_no_totp_secret_is_stored_in_plain_text_and_staff_still_log_in(api: Api) -> None:
    with api.ctx.uow(read_only=True) as uow:
        stored = dict(
            uow.connection.execute(
                select(accounts_table.c.username, accounts_table.c.totp_secret_sealed)
            ).all()
        )
    for role, login in api.logins.items():
        if login.totp_secret is None:
            continue
        assert login.totp_secret not in stored[login.username], role
        assert stored[login.username].startswith("v1:")
        assert api.login(role)  # password + TOTP, through the sealed secret


# --- metrics scrape tokens (SEC-01, CON-03) ---------------------------------------------------


def test_sec01_a_metrics_token_opens_metrics_only_until_it_is_revoked(api: Api) -> None:
    admin = api.auth("admin")
    issued = api.client.post(f"{ADMIN}/metrics-tokens", json={"label": "prometheus"}, headers=admin)
    assert issued.status_code == 201, issued.text
    token, token_id = issued.json()["token"], issued.json()["token_id"]
    scrape = {"Authorization": f"Bearer {token}"}

    metrics = api.client.get("/metrics", headers=scrape)
    assert metrics.status_code == 200
    assert "canvass_http_requests_total" in metrics.text
    for method, path in [
        ("GET", f"{ADMIN}/agencies"),
        ("GET", f"{ADMIN}/metrics-tokens"),
        ("GET", "/api/v1/me/notifications"),
        ("GET", "/api/v1/moderation/queue"),
        ("POST", "/api/v1/auth/logout"),
    ]:
        assert api.client.request(method, path, headers=scrape).status_code == 401, path
    assert api.client.get("/metrics", headers=api.auth("detective")).status_code == 403
    assert api.client.get("/metrics", headers=api.auth("supervisor")).status_code == 403

    listed = api.client.get(f"{ADMIN}/metrics-tokens", headers=admin).json()
    assert [(t["token_id"], t["label"], t["revoked_at"]) for t in listed] == [
        (token_id, "prometheus", None)
    ]
    assert token not in api.client.get(f"{ADMIN}/metrics-tokens", headers=admin).text

    revoked = api.client.delete(f"{ADMIN}/metrics-tokens/{token_id}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert api.client.get("/metrics", headers=scrape).status_code == 401
    assert api.client.get("/metrics", headers=admin).status_code == 200

    entries = audit(api, f"metrics-token:{token_id}") + audit(api, "metrics-token:new")
    assert sorted(e.action for e in entries) == ["metrics_token.issue", "metrics_token.revoke"]
    assert all(token not in e.details_json for e in entries)


def test_sec01_forged_or_malformed_metrics_tokens_get_401(api: Api) -> None:
    for token in ["metrics.", "metrics.forged", "metrics." + "x" * 300]:
        response = api.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["code"]
    problem(
        api.client.post(f"{ADMIN}/metrics-tokens", json={}, headers=api.auth("admin")), 422, "label"
    )
    problem(
        api.client.post(f"{ADMIN}/metrics-tokens", json={"label": " "}, headers=api.auth("admin")),
        422,
        "label",
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/agencies", {"name": "Nul\u0000PD", "county": "Nassau"}),
        ("POST", "/agencies", {"name": ["Freeport"], "county": "Nassau"}),
        ("POST", "/agencies", {"name": "Freeport PD", "county": "Nassau", "verified": None}),
        ("PATCH", "/retention", {"periods_days": {"k" * 41: 30}}),
        ("PATCH", "/retention", {"periods_days": {f"c{i}": 1 for i in range(11)}}),
        ("PATCH", "/retention", {"periods_days": {"standard": 1e308}}),
        ("PATCH", "/retention", {"periods_days": {"standard": {"days": 30}}}),
        ("PATCH", "/retention", {"periods_days": None}),
        ("POST", "/keys/platform/rotate", {"new_key": 1}),
        ("POST", "/keys/%00/rotate", {}),
        ("POST", "/keys/" + "x" * 5000 + "/rotate", {}),
        ("POST", "/metrics-tokens", {"label": "x" * 101}),
        ("POST", "/metrics-tokens", {"label": "\u0000"}),
        ("POST", "/metrics-tokens", {"label": "prom", "expires": "never"}),
        ("DELETE", "/metrics-tokens/-1", None),
        ("DELETE", "/metrics-tokens/99999999999999999999999", None),
        ("POST", "/agencies/0/verify", None),
    ],
)
def test_sec06_odd_admin_input_is_a_4xx_with_a_field_never_a_500(
    api: Api, method: str, path: str, body: Any
) -> None:
    admin = api.auth("admin")
    before = {
        p: api.client.get(f"{ADMIN}{p}", headers=admin).json()
        for p in ("/agencies", "/retention", "/keys", "/metrics-tokens")
    }
    response = api.client.request(method, f"{ADMIN}{path}", json=body, headers=admin)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["code"]
    assert response.json()["message"]
    after = {
        p: api.client.get(f"{ADMIN}{p}", headers=admin).json()
        for p in ("/agencies", "/retention", "/keys", "/metrics-tokens")
    }
    assert after == before
