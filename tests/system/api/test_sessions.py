"""Remembered sessions (SEC-03): busy clients skip the token lookup, never the session rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from system.adapters.tables_accounts import tokens
from system.domain.accounts import AccountRole, LoginPolicy, Principal
from system.service_layer.accounts import token_hash
from system.service_layer.sessions import LiveSession, SessionCache
from tests.system.api.conftest import Api

NOTIFICATIONS = "/api/v1/me/notifications"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
POLICY = LoginPolicy()


def test_sec03_a_token_in_use_is_refused_at_once_after_logout(api: Api) -> None:
    me = api.auth("resident")
    for _ in range(3):
        assert api.client.get(NOTIFICATIONS, headers=me).status_code == 200
    assert api.client.post("/api/v1/auth/logout", headers=me).status_code == 204
    assert api.client.get(NOTIFICATIONS, headers=me).status_code == 401


def test_sec03_an_admin_revoke_ends_sessions_in_use_at_once(api: Api) -> None:
    first, second = api.login("detective"), api.login("detective")
    headers = [{"Authorization": f"Bearer {token}"} for token in (first, second)]
    for h in headers:
        assert api.client.get("/api/v1/requests/1", headers=h).status_code != 401
    account_id = api.logins["detective"].account_id
    response = api.client.post(
        f"/api/v1/admin/accounts/{account_id}/revoke-tokens", headers=api.auth("admin")
    )
    assert response.json() == {"revoked": 2}
    for h in headers:
        assert api.client.get("/api/v1/requests/1", headers=h).status_code == 401


def test_sec03_a_session_in_constant_use_writes_its_last_use_once_a_minute(api: Api) -> None:
    me = api.auth("resident")
    digest = token_hash(me["Authorization"].removeprefix("Bearer "))

    def last_used() -> datetime:
        with api.ctx.uow(read_only=True) as uow:
            found: datetime = uow.connection.execute(
                select(tokens.c.last_used_at).where(tokens.c.token_hash == digest)
            ).scalar_one()
        return found

    api.clock.advance(timedelta(minutes=2))
    assert api.client.get(NOTIFICATIONS, headers=me).status_code == 200
    touched = last_used()
    assert touched == api.clock.now()
    api.clock.advance(timedelta(seconds=30))
    assert api.client.get(NOTIFICATIONS, headers=me).status_code == 200
    assert last_used() == touched  # coalesced: no write within the minute
    api.clock.advance(timedelta(seconds=31))
    assert api.client.get(NOTIFICATIONS, headers=me).status_code == 200
    assert last_used() == api.clock.now()


def test_sec03_a_remembered_session_still_ends_after_30_idle_minutes(api: Api) -> None:
    me = api.auth("resident")
    assert api.client.get(NOTIFICATIONS, headers=me).status_code == 200
    api.clock.advance(timedelta(minutes=30))
    response = api.client.get(NOTIFICATIONS, headers=me)
    assert response.status_code == 401
    assert "idle" in response.json()["message"]


# --- the cache itself, with a hand-driven monotonic clock -----------------------------


class Ticks:
    def __init__(self) -> None:
        self.s = 0.0

    def __call__(self) -> float:
        return self.s


def session(account_id: int = 7, *, last_used_at: datetime = T0) -> LiveSession:
    who = Principal(account_id, f"user{account_id}", AccountRole.RESIDENT, 3)
    return LiveSession(who, 1, last_used_at, T0 + POLICY.token_lifetime)


def test_sec03_a_remembered_session_answers_only_within_its_few_seconds() -> None:
    ticks = Ticks()
    cache = SessionCache(ttl_s=2.0, spread=0.0, monotonic=ticks)
    cache.put("h", session(), read_at_generation=cache.generation)
    assert cache.get("h", now=T0, policy=POLICY) is not None
    ticks.s = 1.9
    assert cache.get("h", now=T0, policy=POLICY) is not None
    ticks.s = 2.0  # another process's revocation is honoured from here on
    assert cache.get("h", now=T0, policy=POLICY) is None


def test_sessions_read_together_are_forgotten_spread_out_and_never_later_than_the_bound() -> None:
    ticks = Ticks()
    cache = SessionCache(ttl_s=2.0, spread=0.5, monotonic=ticks, rng=random.Random(3))
    for account_id in range(200):  # e.g. every client's first request after a restart
        cache.put(f"h{account_id}", session(account_id), read_at_generation=cache.generation)

    def remembered() -> int:
        return sum(cache.get(f"h{i}", now=T0, policy=POLICY) is not None for i in range(200))

    ticks.s = 0.99
    assert remembered() == 200  # none lives less than half the bound
    ticks.s = 1.5
    assert 50 < remembered() < 150  # about half have gone: their reads do not come at once
    ticks.s = 2.0
    assert remembered() == 0  # the 2 s bound on a revocation elsewhere still holds


def test_sec03_a_session_due_for_its_last_use_write_or_past_its_limits_is_not_remembered() -> None:
    cache = SessionCache(ttl_s=1e9)
    cache.put("h", session(), read_at_generation=cache.generation)
    assert cache.get("h", now=T0 + timedelta(seconds=59), policy=POLICY) is not None
    assert cache.get("h", now=T0 + POLICY.touch_interval, policy=POLICY) is None
    assert cache.get("h", now=T0 + POLICY.idle_timeout, policy=POLICY) is None
    late = session(last_used_at=T0 + POLICY.token_lifetime - timedelta(seconds=10))
    cache.put("late", late, read_at_generation=cache.generation)
    assert cache.get("late", now=T0 + POLICY.token_lifetime, policy=POLICY) is None


def test_sec03_a_lookup_that_overlaps_a_revocation_is_not_remembered() -> None:
    cache = SessionCache()
    began_at = cache.generation
    cache.forget("h")  # a logout commits while the lookup is reading the token row
    cache.put("h", session(), read_at_generation=began_at)
    assert cache.get("h", now=T0, policy=POLICY) is None


def test_sec03_forgetting_an_account_forgets_all_its_sessions_and_only_them() -> None:
    cache = SessionCache()
    for digest, account_id in (("a1", 1), ("a2", 1), ("b", 2)):
        cache.put(digest, session(account_id), read_at_generation=cache.generation)
    cache.forget_account(1)
    assert cache.get("a1", now=T0, policy=POLICY) is None
    assert cache.get("a2", now=T0, policy=POLICY) is None
    assert cache.get("b", now=T0, policy=POLICY) is not None
