"""A short-lived, per-process memory of live session tokens, so most requests skip the database.

Authenticating a bearer token costs a read transaction (the token and its
account); a busy client presents the same token many times a second. An entry
remembers what that read found for at most :data:`SESSION_CACHE_S` seconds of
wall time, and is used only while the session's own rules still let it through
at the caller's clock (SEC-03):

* a session past its lifetime or idle timeout is never answered from memory;
* an entry whose ``last_used_at`` is due for its coalesced write (once per
  ``touch_interval``) is not used either, so the database is read again and
  touched: the idle timeout keeps its stated precision;
* revoking (logout, an admin's revoke-all) forgets the entries at once in this
  process, after its commit; a read that began before a revocation and ends
  after it is not stored (the cache's ``generation`` moved on). Another API
  process sharing the database can accept a revoked token for at most
  :data:`SESSION_CACHE_S` seconds more; that bound is documented in
  ``docs/operations.md``.

Entries are keyed by the token's SHA-256, never the token. One cache per
engine, like the SQLite write lock: contexts that share an engine (the API and
its tests with a fake clock) share their sessions' memory.
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from system.domain.accounts import LoginPolicy, Principal, needs_touch, session_ended

SESSION_CACHE_S = 2.0
"""How long a remembered session answers without the database (wall-clock seconds)."""
SESSION_CACHE_SPREAD = 0.5
"""Entries live between ``(1 - spread) * ttl`` and ``ttl``, at random: sessions read
together (a service starting, a burst of clients) then expire spread out, not at
one instant, when all of them would be read again at once and the requests
behind those reads would wait (a latency spike every ``ttl`` seconds)."""
MAX_SESSIONS = 50_000


@dataclass(frozen=True)
class LiveSession:
    """What one database read found for a live token."""

    principal: Principal
    token_id: int
    last_used_at: datetime
    expires_at: datetime


class SessionCache:
    """Token hash → :class:`LiveSession`, least recently stored evicted first."""

    def __init__(
        self,
        *,
        ttl_s: float = SESSION_CACHE_S,
        max_entries: int = MAX_SESSIONS,
        spread: float = SESSION_CACHE_SPREAD,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if not 0.0 <= spread <= 1.0:
            raise ValueError("spread must be in [0, 1]")
        self.ttl_s = ttl_s
        self.spread = spread
        # Only spreads expiry times; nothing a caller sees depends on it. Seedable for tests.
        self._rng = rng if rng is not None else random.Random()
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._entries: OrderedDict[str, tuple[float, LiveSession]] = OrderedDict()
        self._lock = threading.Lock()
        self.generation = 0
        """Bumped by every forget: a read that began at an older generation is not stored."""

    def get(self, digest: str, *, now: datetime, policy: LoginPolicy) -> Principal | None:
        """The principal if a fresh entry still passes SEC-03 at ``now`` and needs no touch."""
        found = self._entries.get(digest)
        if found is None:
            return None
        expires_at, session = found
        if self._monotonic() >= expires_at:
            return None
        if needs_touch(session.last_used_at, now=now, policy=policy):
            return None
        ended = session_ended(
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            revoked_at=None,
            now=now,
            policy=policy,
        )
        return session.principal if ended is None else None

    def put(self, digest: str, session: LiveSession, *, read_at_generation: int) -> None:
        with self._lock:
            if read_at_generation != self.generation:
                return  # a revocation committed while this session was being read
            self._entries.pop(digest, None)
            life = self.ttl_s * (1.0 - self.spread * self._rng.random())
            self._entries[digest] = (self._monotonic() + life, session)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def forget(self, digest: str) -> None:
        with self._lock:
            self.generation += 1
            self._entries.pop(digest, None)

    def forget_account(self, account_id: int) -> None:
        """Drop every session of one account (revoke-all, deactivation, role change)."""
        with self._lock:
            self.generation += 1
            gone = [
                k for k, (_, s) in self._entries.items() if s.principal.account_id == account_id
            ]
            for digest in gone:
                del self._entries[digest]


_CACHES: weakref.WeakKeyDictionary[Engine, SessionCache] = weakref.WeakKeyDictionary()
_CACHES_GUARD = threading.Lock()


def session_cache(engine: Engine) -> SessionCache:
    """The one cache of the sessions stored behind ``engine``, in this process."""
    found = _CACHES.get(engine)
    if found is not None:
        return found
    with _CACHES_GUARD:
        found = _CACHES.get(engine)
        if found is None:
            found = _CACHES[engine] = SessionCache()
        return found
