"""Bad input against a real server: a 4xx naming the field, never a 500, nothing stored (SEC-06).

Each case sends one malformed or hostile input and checks the answer (status,
a JSON error body, the field it names) and that every stored thing the
deployment shows over HTTP (the public request log, the moderation queue,
the case's evidence, the residents' notifications) is exactly as before.

SQL and ``<script>`` in *free text* are not errors: they are stored verbatim
and come back as JSON strings (parameterised queries, no HTML anywhere).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Deployment, open_case, request_body

SQL = "1'; DROP TABLE video_requests; --"
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def case_id(sqlite_app: Deployment) -> int:
    return open_case(sqlite_app, "E2E-BAD-INPUT-1")


def stored_state(d: Deployment, case_id: int) -> dict[str, Any]:
    agency = d.seeded.agency_id
    pages = {
        "log": d.http.get(f"/api/v1/public/agencies/{agency}/requests"),
        "queue": d.user("moderator").get("/api/v1/moderation/queue"),
        "evidence": d.user("detective1").get(f"/api/v1/cases/{case_id}/evidence"),
    }
    assert all(r.status_code == 200 for r in pages.values()), pages
    return {name: r.json() for name, r in pages.items()}


def changed(body: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``body`` with ``dotted`` (``area.center.lat``) set to ``value``."""
    out = copy.deepcopy(body)
    *parents, last = dotted.split(".")
    node = out
    for key in parents:
        node = node[key]
    node[last] = value
    return out


def raw_json(body: dict[str, Any], old: str, new: str) -> bytes:
    """``body`` as JSON text with one literal substring replaced (for what json.dumps refuses)."""
    text = json.dumps(body)
    assert old in text
    return text.replace(old, new, 1).encode()


Send = Callable[[Deployment, int], httpx.Response]


def post_request(content: Callable[[Deployment, int], bytes | dict[str, Any]]) -> Send:
    def send(d: Deployment, case_id: int) -> httpx.Response:
        payload = content(d, case_id)
        if isinstance(payload, dict):
            payload = json.dumps(payload).encode()
        return d.user("detective1").post(
            "/api/v1/requests", content=payload, headers={"Content-Type": "application/json"}
        )

    return send


def body_with(dotted: str, value: Any) -> Send:
    return post_request(lambda d, c: changed(request_body(d, c), dotted, value))


def get(path: str, who: str = "detective1", **params: str) -> Send:
    def send(d: Deployment, case_id: int) -> httpx.Response:
        url = path.format(agency_id=d.seeded.agency_id, case_id=case_id)
        if who == "anonymous":
            return d.http.get(url, params=params)
        return d.user(who).get(url, params=params)

    return send


def future_window(d: Deployment, case_id: int) -> dict[str, Any]:
    now = d.server.clock.now()
    window = {
        "start": (now + timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(hours=3)).isoformat(),
    }
    return changed(request_body(d, case_id), "window", window)


def huge_body(d: Deployment, case_id: int) -> dict[str, Any]:
    return changed(request_body(d, case_id), "description", "x" * 200_000)


CASES: dict[str, tuple[Send, int, str]] = {
    # malformed JSON
    "truncated JSON": (post_request(lambda d, c: b'{"case_id": '), 422, "body"),
    "not JSON": (post_request(lambda d, c: b"case_id=1"), 422, "body"),
    "a JSON array": (post_request(lambda d, c: b"[]"), 422, "body"),
    "bytes that are not UTF-8": (post_request(lambda d, c: b"\xff\xfe{}"), 422, "body"),
    # wrong types
    "case_id as text": (body_with("case_id", "seven"), 422, "case_id"),
    "radius as text": (body_with("area.radius_m", "wide"), 422, "radius_m"),
    "window start as a number": (body_with("window.start", 12), 422, "window"),  # 1970
    "window start without a timezone": (
        body_with("window.start", "2026-01-01T10:00:00"),
        422,
        "window.start",
    ),
    "description as a list": (body_with("description", ["a"]), 422, "description"),
    "unknown area kind": (body_with("area.kind", "square"), 422, "area"),
    # sizes
    "a body over the 64 KiB limit": (post_request(huge_body), 413, "body"),
    "a description over its length limit": (
        body_with("description", "d" * 5000),
        422,
        "description",
    ),
    "an id past 64 bits": (body_with("case_id", 2**70), 422, "case_id"),
    # unknown fields
    "unknown top-level field": (body_with("priority", "urgent"), 422, "priority"),
    "unknown nested field": (body_with("area.center.alt", 30), 422, "center.alt"),
    # hostile strings where the vocabulary is closed
    "SQL in the incident type": (body_with("incident_type", SQL), 422, "incident_type"),
    "script in the incident type": (body_with("incident_type", SCRIPT), 422, "incident_type"),
    "SQL in a query parameter": (
        get("/api/v1/public/agencies/{agency_id}/transparency", "anonymous", start=SQL),
        422,
        "start",
    ),
    "SQL in the period": (
        get(
            "/api/v1/public/agencies/{agency_id}/transparency",
            "anonymous",
            start="2026-01-01",
            end="2026-03-31",
            period="month' OR '1'='1",
        ),
        422,
        "period",
    ),
    "SQL in a path id": (get("/api/v1/cases/1 OR 1=1/evidence"), 422, "case_id"),
    "SQL in a share token": (get("/api/v1/shared/x' OR '1'='1", "anonymous"), 422, "token"),
    # unicode
    "NUL in the description": (body_with("description", "a\x00b"), 422, "description"),
    "a right-to-left override in the description": (
        body_with("description", "Parcel taken \u202eyadnom no"),
        422,
        "description",
    ),
    "an escape sequence in the message": (body_with("message", "Hi \x1b[2J"), 422, "message"),
    "a lone surrogate escape": (
        post_request(lambda d, c: raw_json(request_body(d, c), '"A parcel', '"\\ud800 parcel')),
        422,
        "description",
    ),
    "a lone surrogate as raw bytes": (
        post_request(
            lambda d, c: raw_json(request_body(d, c), '"A parcel', '"A parcel').replace(
                b"A parcel", b"\xed\xa0\x80 parcel"
            )
        ),
        422,
        "description",
    ),
    # coordinates
    "latitude below -90": (body_with("incident_location.lat", -91.0), 422, "incident_location"),
    "longitude past 180": (body_with("area.center.lon", 181.0), 422, "area"),
    "a huge latitude": (body_with("incident_location.lat", 1e308), 422, "incident_location"),
    "NaN latitude": (
        post_request(lambda d, c: raw_json(request_body(d, c), '"lat": ', '"lat": NaN, "x": ')),
        422,
        "lat",
    ),
    "a latitude that overflows to infinity": (
        post_request(lambda d, c: raw_json(request_body(d, c), '"lat": ', '"lat": 1e999, "x": ')),
        422,
        "lat",
    ),
    "a negative radius": (body_with("area.radius_m", -400.0), 422, "area"),
    "a huge radius": (body_with("area.radius_m", 1e308), 422, "area"),
    # time
    "a window in the future": (post_request(future_window), 422, "window"),
    "a report range that ends before it starts": (
        get(
            "/api/v1/public/agencies/{agency_id}/transparency",
            "anonymous",
            start="2026-03-01",
            end="2026-01-01",
        ),
        422,
        "end",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_sec06_bad_input_is_a_4xx_naming_the_field_and_stores_nothing(
    sqlite_app: Deployment, case_id: int, case: str
) -> None:
    send, status, field = CASES[case]
    before = stored_state(sqlite_app, case_id)
    response = send(sqlite_app, case_id)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    named = [body["field"], *(p["field"] for p in body["problems"])]
    assert any(field in name for name in named), body
    assert stored_state(sqlite_app, case_id) == before


@pytest.mark.parametrize("number", ["E2E \u202eevil\u202c", "E2E\u200b1", "E2E\t1", "E2E 1\nE2E 2"])
def test_sec06_a_case_number_that_would_display_unlike_it_is_stored_is_refused(
    sqlite_app: Deployment, number: str
) -> None:
    detective = sqlite_app.user("detective1")
    refused = detective.post(
        "/api/v1/cases", json={"case_number": number, "incident_type": "burglary"}
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"][0]["field"] == "case_number"
    assert "U+" in refused.json()["problems"][0]["message"]  # names the character


def test_sec06_an_id_past_64_bits_in_a_path_is_a_4xx(sqlite_app: Deployment) -> None:
    response = sqlite_app.user("detective1").get(f"/api/v1/requests/{2**70}")
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "text",
    [SQL, SCRIPT, "שלום مرحبا", "emoji 📦 and ZWJ 👩‍👩‍👧"],
)
def test_sec06_hostile_free_text_is_stored_verbatim_as_inert_data(
    sqlite_app: Deployment, text: str
) -> None:
    detective = sqlite_app.user("detective1")
    created = detective.post(
        "/api/v1/cases", json={"case_number": f"E2E {text}", "incident_type": "burglary"}
    )
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == "application/json"
    assert created.headers["x-content-type-options"] == "nosniff"
    assert created.json()["case_number"] == f"E2E {text}"
    assert detective.get(f"/api/v1/cases/{created.json()['case_id']}/evidence").json() == []
