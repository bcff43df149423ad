"""OpenAPI links: which response's id feeds which next call (for clients and fuzzers).

The document FastAPI builds has no links. :func:`add_links` adds the ones in
:data:`LINKS` to the created-object responses, so a client (or schemathesis's
stateful tests) can follow a case into a request, a request into moderation,
a share into its revocation, and so on.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Link(NamedTuple):
    source: tuple[str, str]  # method, path template of the call whose answer holds the id
    pointer: str  # JSON pointer into that answer, e.g. "/case_id" or "/0/notification_id"
    target: tuple[str, str]  # the call that takes it
    parameter: str  # "path.case_id" or "body.case_id"


def _links() -> list[Link]:
    v1 = "/api/v1"
    table: list[Link] = []

    def feed(source: tuple[str, str], pointer: str, parameter: str, *targets: str) -> None:
        for target in targets:
            method, path = target.split(" ", 1)
            table.append(Link(source, pointer, (method, v1 + path), parameter))

    case = ("POST", f"{v1}/cases")
    feed(case, "/case_id", "body.case_id", "POST /requests", "POST /emergencies")
    feed(
        case,
        "/case_id",
        "path.case_id",
        "GET /cases/{case_id}/evidence",
        "POST /cases/{case_id}/assignments",
    )
    feed(
        ("POST", f"{v1}/requests"),
        "/request_id",
        "path.request_id",
        "GET /requests/{request_id}",
        "POST /requests/{request_id}/close",
        "POST /moderation/requests/{request_id}/review",
        "POST /moderation/requests/{request_id}/decision",
    )
    feed(
        ("GET", f"{v1}/moderation/queue"),
        "/0/request_id",
        "path.request_id",
        "POST /moderation/requests/{request_id}/review",
        "POST /moderation/requests/{request_id}/decision",
    )
    feed(
        ("GET", f"{v1}/me/notifications"),
        "/0/notification_id",
        "path.notification_id",
        "GET /me/notifications/{notification_id}",
        "POST /me/notifications/{notification_id}/response",
        "POST /me/notifications/{notification_id}/withdraw",
    )
    feed(
        ("POST", f"{v1}/emergencies"),
        "/emergency_id",
        "path.emergency_id",
        "GET /emergencies/{emergency_id}",
        "POST /emergencies/{emergency_id}/supervisor-decision",
        "GET /moderation/emergencies/{emergency_id}/candidates",
        "POST /moderation/emergencies/{emergency_id}/decision",
    )
    feed(
        ("GET", f"{v1}/cases/{{case_id}}/evidence"),
        "/0/evidence_id",
        "path.evidence_id",
        "GET /evidence/{evidence_id}",
        "GET /evidence/{evidence_id}/content",
        "POST /evidence/{evidence_id}/shares",
        "POST /evidence/{evidence_id}/retention",
        "POST /evidence/{evidence_id}/legal-hold",
        "DELETE /evidence/{evidence_id}",
    )
    shares = ("POST", f"{v1}/evidence/{{evidence_id}}/shares")
    feed(shares, "/share_id", "path.share_id", "DELETE /shares/{share_id}")
    feed(shares, "/token", "path.token", "GET /shared/{token}", "GET /shared/{token}/content")
    feed(("POST", f"{v1}/devices/clips"), "/clip_id", "body.clip_id", "POST /admin/break-glass")
    feed(
        ("POST", f"{v1}/admin/break-glass"),
        "/grant_id",
        "path.grant_id",
        "POST /admin/break-glass/{grant_id}/approve",
        "GET /admin/break-glass/{grant_id}/clip",
        "DELETE /admin/break-glass/{grant_id}",
    )
    feed(
        ("POST", f"{v1}/admin/agencies"),
        "/agency_id",
        "path.agency_id",
        "POST /admin/agencies/{agency_id}/verify",
        "POST /admin/agencies/{agency_id}/unverify",
        "GET /public/agencies/{agency_id}/requests",
        "GET /public/agencies/{agency_id}/transparency",
    )
    feed(
        ("POST", f"{v1}/admin/metrics-tokens"),
        "/token_id",
        "path.token_id",
        "DELETE /admin/metrics-tokens/{token_id}",
    )
    feed(
        ("POST", f"{v1}/admin/accounts"),
        "/account_id",
        "path.account_id",
        "POST /admin/accounts/{account_id}/revoke-tokens",
    )
    return table


LINKS = _links()


def add_links(document: dict[str, Any]) -> dict[str, Any]:
    """Add :data:`LINKS` to an OpenAPI document (in place; idempotent); returns it."""
    paths = document["paths"]
    for link in LINKS:
        (method, path), (target_method, target_path) = link.source, link.target
        operation = paths[path][method.lower()]
        target_id = paths[target_path][target_method.lower()]["operationId"]
        status = next(code for code in operation["responses"] if code.startswith("2"))
        location, name = link.parameter.split(".", 1)
        definition: dict[str, Any] = {"operationId": target_id}
        expression = f"$response.body#{link.pointer}"
        if location == "body":
            definition["requestBody"] = {name: expression}
        else:
            definition["parameters"] = {link.parameter: expression}
        links = operation["responses"][status].setdefault("links", {})
        links[f"{target_id}.{name}"] = definition
    return document
