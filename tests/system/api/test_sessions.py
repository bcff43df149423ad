"""Remembered sessions (SEC-03): busy clients skip the token lookup, never the session rules."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from system.adapters.tables_accounts import tokens
from system.domain.accounts import AccountRole, LoginPolicy, Principal
from system.service_layer.accounts import token_hash
from system.service_layer.sessions import LiveSession, RevocationWatcher, SessionCache
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


# --- the revocation counter, polled from other processes ------------------------------


def watched_cache(ticks: Ticks) -> SessionCache:
    return SessionCache(ttl_s=2.0, watched_ttl_s=30.0, spread=0.0, monotonic=ticks)


def test_sec03_a_watched_session_is_remembered_longer_only_while_polls_succeed() -> None:
    ticks = Ticks()
    cache = watched_cache(ticks)
    cache.confirm(0, polled_at=ticks.s)
    cache.put("h", session(), read_at_generation=cache.generation)
    for second in range(1, 30):  # polls keep coming: no revocation anywhere
        ticks.s = float(second)
        cache.confirm(0, polled_at=ticks.s)
        assert cache.get("h", now=T0, policy=POLICY) is not None, second
    ticks.s = 30.0
    cache.confirm(0, polled_at=ticks.s)
    assert cache.get("h", now=T0, policy=POLICY) is None  # its longer life is over too

    cache.put("h", session(), read_at_generation=cache.generation)
    ticks.s = 31.9  # the last poll that succeeded began 1.9 s ago
    assert cache.get("h", now=T0, policy=POLICY) is not None
    ticks.s = 32.1  # polls have failed for longer than the bound: back to the short life
    assert cache.get("h", now=T0, policy=POLICY) is None


def test_sec03_a_revocation_counted_elsewhere_forgets_every_remembered_session() -> None:
    ticks = Ticks()
    cache = watched_cache(ticks)
    cache.confirm(5, polled_at=0.0)
    for digest, account_id in (("a", 1), ("b", 2)):
        cache.put(digest, session(account_id), read_at_generation=cache.generation)
    began_at = cache.generation  # a lookup starts reading, then another process revokes
    ticks.s = 10.0
    cache.confirm(6, polled_at=ticks.s)
    cache.put("c", session(3), read_at_generation=began_at)  # the lookup ends: not stored
    assert [cache.get(d, now=T0, policy=POLICY) for d in ("a", "b", "c")] == [None] * 3
    cache.put("a", session(1), read_at_generation=cache.generation)
    cache.confirm(6, polled_at=ticks.s + 0.5)  # the counter stands: memory kept
    assert cache.get("a", now=T0, policy=POLICY) is not None


def test_sec03_the_first_poll_forgets_what_was_remembered_before_it() -> None:
    ticks = Ticks()
    cache = watched_cache(ticks)
    cache.put("h", session(), read_at_generation=cache.generation)  # before any poll
    cache.confirm(3, polled_at=0.5)  # a revocation may have come in between: unknowable
    assert cache.get("h", now=T0, policy=POLICY) is None


def test_the_watcher_polls_the_counter_and_survives_a_database_outage() -> None:
    ticks = Ticks()
    cache = watched_cache(ticks)
    readings: list[int | Exception] = [0, OSError("database away"), 1]

    def read_epoch() -> int:
        reading = readings.pop(0)
        if isinstance(reading, Exception):
            raise reading
        return reading

    watcher = RevocationWatcher(cache, read_epoch)
    assert watcher.poll() is True
    cache.put("h", session(), read_at_generation=cache.generation)
    ticks.s = 1.0
    assert watcher.poll() is False  # nothing confirmed: the entry keeps only the short life
    ticks.s = 2.5
    assert cache.get("h", now=T0, policy=POLICY) is None
    cache.put("h", session(), read_at_generation=cache.generation)
    assert watcher.poll() is True  # the counter moved while the database was away
    assert cache.get("h", now=T0, policy=POLICY) is None


def test_the_watcher_thread_polls_until_stopped() -> None:
    cache = SessionCache()
    polled = threading.Event()
    calls: list[int] = []

    def read_epoch() -> int:
        calls.append(1)
        if len(calls) >= 3:
            polled.set()
        return 0

    watcher = RevocationWatcher(cache, read_epoch, interval_s=0.01)
    watcher.start()
    try:
        assert polled.wait(timeout=5.0)
    finally:
        watcher.stop()
    count = len(calls)
    time.sleep(0.05)
    assert len(calls) == count  # stopped: no more reads
