"""Logging in over HTTP: TOTP, lockout, idle sessions, revocation, rate limits, audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher

from system.api.ratelimit import Rate, RateLimits
from system.service_layer import accounts
from tests.system.api.conftest import PASSWORD, Api, make_api

TOKEN_URL = "/api/v1/auth/token"


def form(api: Api, role: str, **changes: str) -> dict[str, str]:
    api.clock.advance(timedelta(seconds=31))
    values = {"username": api.logins[role].username, "password": PASSWORD}
    if api.logins[role].totp_secret is not None:
        values["totp"] = api.code(role)
    values.update(changes)
    return values


def test_sec02_detective_logs_in_with_password_and_totp_and_gets_a_bearer_token(api: Api) -> None:
    response = api.client.post(TOKEN_URL, data=form(api, "detective"))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert len(body["access_token"]) >= 40
    me = {"Authorization": f"Bearer {body['access_token']}"}
    assert api.client.get("/api/v1/requests/999", headers=me).status_code == 404


def test_sec02_the_totp_code_may_come_in_client_secret_for_generic_oauth2_clients(api: Api) -> None:
    values = form(api, "moderator")
    values["client_secret"] = values.pop("totp")
    assert api.client.post(TOKEN_URL, data=values).status_code == 200


@pytest.mark.parametrize("role", ["detective", "moderator", "admin"])
def test_sec02_staff_cannot_log_in_without_a_valid_totp_code(api: Api, role: str) -> None:
    wrong = form(api, role, totp="000000" if api.code(role) != "000000" else "111111")
    missing = form(api, role)
    del missing["totp"]
    for values in (wrong, missing):
        response = api.client.post(TOKEN_URL, data=values)
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_sec02_a_totp_code_cannot_be_replayed_for_a_second_session(api: Api) -> None:
    values = form(api, "detective")
    assert api.client.post(TOKEN_URL, data=values).status_code == 200
    assert api.client.post(TOKEN_URL, data=values).status_code == 401


def test_sec03_five_failures_lock_the_account_for_ten_minutes(api: Api) -> None:
    for _ in range(5):
        assert (
            api.client.post(TOKEN_URL, data=form(api, "detective", password="x" * 12)).status_code
            == 401
        )
    locked = api.client.post(TOKEN_URL, data=form(api, "detective"))
    assert locked.status_code == 401  # right credentials, but locked
    # Each form() also moves the clock 31 s (a fresh TOTP step): 9 min 2 s after locking.
    api.clock.advance(timedelta(minutes=8))
    assert api.client.post(TOKEN_URL, data=form(api, "detective")).status_code == 401
    api.clock.advance(timedelta(minutes=1))  # 10 min 33 s after locking
    assert api.client.post(TOKEN_URL, data=form(api, "detective")).status_code == 200


def test_sec03_unknown_and_wrong_password_answers_look_the_same(api: Api) -> None:
    unknown = api.client.post(
        TOKEN_URL, data={"username": "nobody@x.example", "password": "p" * 12}
    )
    wrong = api.client.post(TOKEN_URL, data=form(api, "resident", password="p" * 12))
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["message"] == wrong.json()["message"]


def test_sec03_a_session_ends_after_30_idle_minutes(api: Api) -> None:
    me = api.auth("resident")
    api.clock.advance(timedelta(minutes=29))
    assert api.client.get("/api/v1/me/notifications", headers=me).status_code == 200
    api.clock.advance(timedelta(minutes=29))  # still active: the last use was 29 minutes ago
    assert api.client.get("/api/v1/me/notifications", headers=me).status_code == 200
    api.clock.advance(timedelta(minutes=30))
    response = api.client.get("/api/v1/me/notifications", headers=me)
    assert response.status_code == 401
    assert "idle" in response.json()["message"]


def test_sec03_logout_revokes_the_token(api: Api) -> None:
    me = api.auth("resident")
    assert api.client.post("/api/v1/auth/logout", headers=me).status_code == 204
    assert api.client.get("/api/v1/me/notifications", headers=me).status_code == 401


def test_sec03_an_admin_revokes_every_session_of_an_account(api: Api) -> None:
    first, second = api.login("detective"), api.login("detective")
    account_id = api.logins["detective"].account_id
    response = api.client.post(
        f"/api/v1/admin/accounts/{account_id}/revoke-tokens", headers=api.auth("admin")
    )
    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    for token in (first, second):
        headers = {"Authorization": f"Bearer {token}"}
        assert api.client.get("/api/v1/requests/1", headers=headers).status_code == 401


def test_sec03_garbage_bearer_tokens_are_401_not_500(api: Api) -> None:
    for token in [b"x", b"' OR 1=1 --", b"a" * 5000, "ü".encode()]:
        headers = {"Authorization": b"Bearer " + token}
        assert api.client.get("/api/v1/me/notifications", headers=headers).status_code == 401


def test_sec04_sec07_logins_are_audited_without_passwords_codes_or_tokens(api: Api) -> None:
    good = form(api, "detective")
    token = api.client.post(TOKEN_URL, data=good).json()["access_token"]
    api.client.post(TOKEN_URL, data=form(api, "detective", password="wrong password!"))
    api.client.post(TOKEN_URL, data={"username": "typed-my-password-here", "password": "p" * 12})
    with api.ctx.uow(read_only=True) as uow:
        entries = [e for e in uow.audit.entries() if e.action == "auth.login"]
    outcomes = [e.outcome for e in entries[-3:]]
    assert outcomes == ["ok", "failure", "failure"]
    text = repr(entries)
    for secret in (PASSWORD, "wrong password!", good["totp"], token, "typed-my-password-here"):
        assert secret not in text


@pytest.fixture
def strict_api(tmp_path: Path, sqlite_template: Path) -> Iterator[Api]:
    limits = RateLimits(
        login_per_account=Rate(burst=3, per_minute=0),
        login_per_address=Rate(burst=100, per_minute=0),
        resident_per_account=Rate(burst=8, per_minute=0),
    )
    yield from make_api(tmp_path, sqlite_template, limits=limits)


def test_sec06_login_attempts_per_account_are_rate_limited(strict_api: Api) -> None:
    api = strict_api
    statuses = [
        api.client.post(TOKEN_URL, data=form(api, "auditor", password="n" * 12)).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    limited = api.client.post(TOKEN_URL, data=form(api, "auditor"))
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1


def test_sec06_resident_endpoints_are_rate_limited_per_account(strict_api: Api) -> None:
    api = strict_api
    me = api.auth("resident")
    statuses = [
        api.client.get("/api/v1/me/notifications", headers=me).status_code for _ in range(9)
    ]
    assert statuses[:8] == [200] * 8
    assert statuses[8] == 429


def test_sec06_login_attempts_per_source_address_are_rate_limited_across_accounts(
    tmp_path: Path, sqlite_template: Path
) -> None:
    limits = RateLimits(
        login_per_account=Rate(burst=100, per_minute=0),
        login_per_address=Rate(burst=3, per_minute=0),
    )
    for api in make_api(tmp_path, sqlite_template, limits=limits):
        statuses = [  # one address guessing at several accounts, a try each
            api.client.post(TOKEN_URL, data=form(api, role, password="n" * 12)).status_code
            for role in ("auditor", "admin", "moderator", "detective")
        ]
        assert statuses == [401, 401, 401, 429]
        limited = api.client.post(TOKEN_URL, data=form(api, "resident"))  # even a right one
        assert limited.status_code == 429
        assert limited.json()["rule"] == "SEC-06"


class CountingHasher(PasswordHasher):
    """Argon2 (cheap parameters) that counts its verifications."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verifications += 1
        return super().verify(hash, password)


def verifications_per_attempt(
    api: Api, monkeypatch: pytest.MonkeyPatch, data: dict[str, str]
) -> tuple[int, int]:
    counting = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", lambda: counting)
    accounts._dummy_hash()  # built once per process: not part of any attempt
    status = api.client.post(TOKEN_URL, data=data).status_code
    return status, counting.verifications


def test_sec03_every_login_attempt_runs_exactly_one_argon2_verification(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the account's state, a login does the same hashing work, so its timing
    does not tell which usernames exist or which accounts are locked (issue 22)."""
    unknown = {"username": "nobody@x.example", "password": "p" * 12}
    assert verifications_per_attempt(api, monkeypatch, unknown) == (401, 1)
    wrong = form(api, "detective", password="x" * 12)
    assert verifications_per_attempt(api, monkeypatch, wrong) == (401, 1)
    bad_code = form(api, "detective", totp="000000")
    assert verifications_per_attempt(api, monkeypatch, bad_code) == (401, 1)
    for _ in range(4):
        api.client.post(TOKEN_URL, data=form(api, "detective", password="x" * 12))
    locked = form(api, "detective")
    assert verifications_per_attempt(api, monkeypatch, locked) == (401, 1)
    assert verifications_per_attempt(api, monkeypatch, form(api, "resident")) == (200, 1)
