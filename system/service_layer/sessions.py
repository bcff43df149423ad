"""A short-lived, per-process memory of live session tokens, so most requests skip the database.

Authenticating a bearer token costs a read transaction (the token and its
account); a busy client presents the same token many times a second. An entry
remembers what that read found for some seconds of wall time (below), and is
used only while the session's own rules still let it through at the caller's
clock (SEC-03):

* a session past its lifetime or idle timeout is never answered from memory;
* an entry whose ``last_used_at`` is due for its coalesced write (once per
  ``touch_interval``) is not used either, so the database is read again and
  touched: the idle timeout keeps its stated precision;
* revoking (logout, an admin's revoke-all) forgets the entries at once in this
  process, after its commit; a read that began before a revocation and ends
  after it is not stored (the cache's ``generation`` moved on).

Other API processes sharing the database learn of a revocation from a counter
every revoking transaction moves on (``session_revocations.epoch``), which a
:class:`RevocationWatcher` thread in each API process polls every
:data:`REVOCATION_POLL_S` seconds; when it moves, the process forgets every
session it remembers. So a revoked token is accepted elsewhere for at most
:data:`SESSION_CACHE_S` seconds more (the bound ``docs/operations.md``
documents), while an entry lives up to :data:`WATCHED_SESSION_CACHE_S`: a
process whose last successful poll began within :data:`SESSION_CACHE_S`
seconds uses entries that old, and one without a watcher, or whose polls fail
(the database away), uses entries only for :data:`SESSION_CACHE_S` seconds.

Entries are keyed by the token's SHA-256, never the token. One cache per
database handle (an engine), like the SQLite write lock: contexts that share an
engine (the API and its tests with a fake clock) share their sessions' memory.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from system.domain.accounts import LoginPolicy, Principal, needs_touch, session_ended

SESSION_CACHE_S = 2.0
"""How long a revocation in another process can go unnoticed (wall-clock seconds); also
how long an entry answers when no revocation watcher has polled within that time."""
WATCHED_SESSION_CACHE_S = 30.0
"""How long an entry answers while a revocation watcher keeps polling (wall-clock seconds).
Sessions due for their coalesced ``last_used_at`` write (every minute) are read anyway."""
REVOCATION_POLL_S = 0.5
"""How often a :class:`RevocationWatcher` reads the revocation counter."""
SESSION_CACHE_SPREAD = 0.5
"""Entries live between ``(1 - spread) * ttl`` and ``ttl``, at random: sessions read
together (a service starting, a burst of clients) then expire spread out, not at
one instant, when all of them would be read again at once and the requests
behind those reads would wait (a latency spike every ``ttl`` seconds)."""
MAX_SESSIONS = 50_000

log = logging.getLogger("canvass.sessions")


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
        watched_ttl_s: float = WATCHED_SESSION_CACHE_S,
        max_entries: int = MAX_SESSIONS,
        spread: float = SESSION_CACHE_SPREAD,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if not 0.0 <= spread <= 1.0:
            raise ValueError("spread must be in [0, 1]")
        self.ttl_s = ttl_s
        self.watched_ttl_s = max(watched_ttl_s, ttl_s)
        self.spread = spread
        # Only spreads expiry times; nothing a caller sees depends on it. Seedable for tests.
        self._rng = rng if rng is not None else random.Random()
        self._max_entries = max_entries
        self._monotonic = monotonic
        # digest → (stored at, share of the lifetime this entry gets, session)
        self._entries: OrderedDict[str, tuple[float, float, LiveSession]] = OrderedDict()
        self._lock = threading.Lock()
        self.generation = 0
        """Bumped by every forget: a read that began at an older generation is not stored."""
        self._epoch: int | None = None  # the revocation counter as last polled
        self._confirmed_at = -float("inf")  # when the last poll that succeeded began

    def moment(self) -> float:
        """This cache's monotonic clock (seconds)."""
        return self._monotonic()

    def get(self, digest: str, *, now: datetime, policy: LoginPolicy) -> Principal | None:
        """The principal if a fresh entry still passes SEC-03 at ``now`` and needs no touch."""
        found = self._entries.get(digest)
        if found is None:
            return None
        stored_at, share, session = found
        moment = self._monotonic()
        watched = moment - self._confirmed_at <= self.ttl_s
        if moment - stored_at >= share * (self.watched_ttl_s if watched else self.ttl_s):
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
            share = 1.0 - self.spread * self._rng.random()
            self._entries[digest] = (self._monotonic(), share, session)
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
                k for k, (_, _, s) in self._entries.items() if s.principal.account_id == account_id
            ]
            for digest in gone:
                del self._entries[digest]

    def confirm(self, epoch: int, *, polled_at: float) -> None:
        """Record a poll of the revocation counter that began at ``polled_at`` (monotonic).

        Every revocation committed before ``polled_at`` is counted in ``epoch``; if
        the counter moved since the last poll (or this is the first), everything
        remembered is forgotten, and reads in flight are not stored.
        """
        with self._lock:
            if epoch != self._epoch:
                self.generation += 1
                self._entries.clear()
                self._epoch = epoch
            self._confirmed_at = max(self._confirmed_at, polled_at)


class RevocationWatcher:
    """A daemon thread that polls the revocation counter into one :class:`SessionCache`.

    ``read_epoch`` does the read (a database round trip); a failure is logged
    once per outage and the cache falls back to :data:`SESSION_CACHE_S` entries.
    """

    def __init__(
        self,
        cache: SessionCache,
        read_epoch: Callable[[], int],
        *,
        interval_s: float = REVOCATION_POLL_S,
    ) -> None:
        self._cache = cache
        self._read_epoch = read_epoch
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="revocation-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)

    def poll(self) -> bool:
        """Read the counter once into the cache; whether the read succeeded."""
        began = self._cache.moment()
        try:
            epoch = self._read_epoch()
        except Exception as error:  # the database away: entries fall back to the short life
            log.debug("revocation counter unreadable: %s", error)
            return False
        self._cache.confirm(epoch, polled_at=began)
        return True

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            ok = self.poll()
            if ok and failing:
                log.info("revocation counter readable again; remembered sessions last longer")
            elif not ok and not failing:
                log.warning(
                    "cannot read the revocation counter; remembered sessions last %.0f s",
                    self._cache.ttl_s,
                )
            failing = not ok
            self._stop.wait(self._interval_s)


_CACHES: weakref.WeakKeyDictionary[object, SessionCache] = weakref.WeakKeyDictionary()
_CACHES_GUARD = threading.Lock()


def session_cache(database: object) -> SessionCache:
    """The one cache of the sessions stored in ``database`` (the handle that identifies a
    database in this process: its engine), in this process."""
    found = _CACHES.get(database)
    if found is not None:
        return found
    with _CACHES_GUARD:
        found = _CACHES.get(database)
        if found is None:
            found = _CACHES[database] = SessionCache()
        return found
