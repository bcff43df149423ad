"""SEC-01: every route × every role answers as this table says; a new route must join it.

Requests carry an empty JSON object and ids that do not exist, so a permitted
call is judged on its input (422) or its object (404), never its side effects.
"""

from __future__ import annotations

from system.api.app import route_table
from tests.system.api.conftest import Api

ROLES = (
    "anonymous",
    "detective",
    "supervisor",
    "moderator",
    "resident",
    "auditor",
    "admin",
    "device",
)
ACCOUNT_ROLES = ROLES[1:-1]


def allow(status: int, *roles: str) -> dict[str, int]:
    """``status`` for ``roles``; 401 without an account token; 403 for every other account."""
    return {
        r: status if r in roles else 401 if r in ("anonymous", "device") else 403 for r in ROLES
    }


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


AGENCY = ("detective", "supervisor")
ABSENT_IDS = {
    **dict.fromkeys(
        (
            "request_id",
            "notification_id",
            "account_id",
            "camera_id",
            "case_id",
            "evidence_id",
            "share_id",
            "emergency_id",
            "agency_id",
            "grant_id",
            "token_id",
        ),
        999_999,
    ),
    "token": "no-such-share-token",
    "domain": "no-such-key-ring",
}
EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/openapi.json"): everyone(200),
    ("GET", "/docs"): everyone(200),
    ("GET", "/docs/oauth2-redirect"): everyone(200),
    ("GET", "/redoc"): everyone(200),
    ("GET", "/healthz"): everyone(200),
    ("GET", "/readyz"): everyone(200),
    # Operators only (CON-03); a metrics scrape token opens it too (test_admin_settings_http).
    ("GET", "/metrics"): allow(200, "admin"),
    ("POST", "/api/v1/auth/token"): everyone(422),  # a JSON body is not the login form
    ("POST", "/api/v1/auth/logout"): allow(204, *ACCOUNT_ROLES),
    ("POST", "/api/v1/cases"): allow(422, *AGENCY),
    ("POST", "/api/v1/requests"): allow(422, *AGENCY),
    ("GET", "/api/v1/requests/{request_id}"): allow(404, *AGENCY),
    ("POST", "/api/v1/requests/{request_id}/close"): allow(404, *AGENCY),
    ("GET", "/api/v1/moderation/queue"): allow(200, "moderator"),
    ("POST", "/api/v1/moderation/requests/{request_id}/review"): allow(404, "moderator"),
    ("POST", "/api/v1/moderation/requests/{request_id}/decision"): allow(422, "moderator"),
    ("GET", "/api/v1/me/notifications"): allow(200, "resident"),
    ("GET", "/api/v1/me/notifications/{notification_id}"): allow(404, "resident"),
    ("POST", "/api/v1/me/notifications/{notification_id}/response"): allow(404, "resident"),
    ("POST", "/api/v1/me/notifications/{notification_id}/withdraw"): allow(404, "resident"),
    ("POST", "/api/v1/me/opt-out"): allow(204, "resident"),
    ("POST", "/api/v1/me/opt-in"): allow(204, "resident"),
    # Only device tokens open this route; an account token is not one (401).
    ("POST", "/api/v1/devices/clips"): {**everyone(401), "device": 422},  # no X-Content-SHA256
    ("POST", "/api/v1/admin/accounts"): allow(422, "admin"),
    ("POST", "/api/v1/admin/accounts/{account_id}/revoke-tokens"): allow(404, "admin"),
    ("POST", "/api/v1/admin/cameras/{camera_id}/device-token"): allow(404, "admin"),
    ("GET", "/api/v1/admin/audit/verify"): allow(200, "admin", "auditor"),
    # Agencies (REQ-05), retention (EVD-03), key rings (EVD-05), metrics tokens: admins only.
    # PATCH carries no body here (422); the key-ring domain in the path does not exist (422).
    ("GET", "/api/v1/admin/agencies"): allow(200, "admin"),
    ("POST", "/api/v1/admin/agencies"): allow(422, "admin"),
    ("POST", "/api/v1/admin/agencies/{agency_id}/verify"): allow(404, "admin"),
    ("POST", "/api/v1/admin/agencies/{agency_id}/unverify"): allow(404, "admin"),
    ("GET", "/api/v1/admin/retention"): allow(200, "admin"),
    ("PATCH", "/api/v1/admin/retention"): allow(422, "admin"),
    ("GET", "/api/v1/admin/keys"): allow(200, "admin"),
    ("POST", "/api/v1/admin/keys/{domain}/rotate"): allow(422, "admin"),
    ("GET", "/api/v1/admin/metrics-tokens"): allow(200, "admin"),
    ("POST", "/api/v1/admin/metrics-tokens"): allow(422, "admin"),
    ("DELETE", "/api/v1/admin/metrics-tokens/{token_id}"): allow(404, "admin"),
    # Break-glass access to one clip (SEC-05): staff ask, another admin approves and revokes.
    ("POST", "/api/v1/admin/break-glass"): allow(422, "moderator", "auditor", "admin"),
    ("POST", "/api/v1/admin/break-glass/{grant_id}/approve"): allow(422, "admin"),
    ("GET", "/api/v1/admin/break-glass/{grant_id}/clip"): allow(
        404, "moderator", "auditor", "admin"
    ),
    ("DELETE", "/api/v1/admin/break-glass/{grant_id}"): allow(404, "admin"),
    # Evidence (EVD-01..04): DELETE carries a JSON body (the reason); none is sent here.
    ("GET", "/api/v1/cases/{case_id}/evidence"): allow(404, *AGENCY),
    ("GET", "/api/v1/evidence/{evidence_id}"): allow(404, *AGENCY),
    ("GET", "/api/v1/evidence/{evidence_id}/content"): allow(404, *AGENCY),
    ("POST", "/api/v1/evidence/{evidence_id}/shares"): allow(422, *AGENCY),
    ("DELETE", "/api/v1/shares/{share_id}"): allow(404, *AGENCY),
    ("POST", "/api/v1/evidence/{evidence_id}/retention"): allow(422, *AGENCY),
    ("POST", "/api/v1/evidence/{evidence_id}/legal-hold"): allow(422, "supervisor"),
    ("DELETE", "/api/v1/evidence/{evidence_id}"): allow(422, *AGENCY),
    ("POST", "/api/v1/cases/{case_id}/assignments"): allow(422, "supervisor"),
    # Grantees hold no account: the share token is the credential (EVD-02).
    ("GET", "/api/v1/shared/{token}"): everyone(403),
    ("GET", "/api/v1/shared/{token}/content"): everyone(403),
    # Emergency disclosure (EMG-01, PRV-04).
    ("POST", "/api/v1/emergencies"): allow(422, "detective"),
    ("POST", "/api/v1/emergencies/{emergency_id}/supervisor-decision"): allow(422, "supervisor"),
    ("GET", "/api/v1/emergencies/{emergency_id}"): allow(404, *AGENCY),
    ("GET", "/api/v1/moderation/emergencies/{emergency_id}/candidates"): allow(
        404, "moderator", "admin"
    ),
    ("POST", "/api/v1/moderation/emergencies/{emergency_id}/decision"): allow(
        422, "moderator", "admin"
    ),
    ("GET", "/api/v1/me/disclosures"): allow(200, "resident"),
    # Public transparency (TRN-01..03): no account; the report needs start and end.
    ("GET", "/api/v1/public/agencies/{agency_id}/requests"): everyone(404),
    ("GET", "/api/v1/public/agencies/{agency_id}/transparency"): everyone(422),
    ("GET", "/api/v1/public/policy"): everyone(200),
}


def test_sec01_every_route_is_in_the_matrix(api: Api) -> None:
    served = {(entry.method, entry.path) for entry in route_table(api.client.app)}  # type: ignore[arg-type]
    assert served - EXPECTED.keys() == set(), "add these routes to EXPECTED"
    assert EXPECTED.keys() - served == set(), "these routes no longer exist"


def test_sec01_every_route_answers_every_role_as_the_matrix_says(api: Api) -> None:
    got: dict[tuple[str, str], dict[str, int]] = {}
    for method, path in sorted(EXPECTED):
        url = path.format_map(ABSENT_IDS)
        for role in ROLES:
            headers = api.auth(role)
            if path == "/api/v1/auth/logout" and role in ACCOUNT_ROLES:
                headers = {"Authorization": f"Bearer {api.login(role)}"}  # keep the cached one
            response = api.client.request(
                method, url, headers=headers, json={} if method == "POST" else None
            )
            assert response.status_code != 500, (method, path, role, response.text)
            got.setdefault((method, path), {})[role] = response.status_code
    mismatches = {key: (got[key], EXPECTED[key]) for key in EXPECTED if got[key] != EXPECTED[key]}
    assert mismatches == {}
