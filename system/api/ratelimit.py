"""Token-bucket rate limits for login and resident-facing endpoints (SEC-06).

HTTP-layer policy, kept in memory in the API process: with several API
processes each keeps its own buckets, so a limit holds per process (N
processes allow up to N times the rate). The account lockout of SEC-03 is in
the database and holds across processes; these limits only blunt floods.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from system.domain.errors import DomainError


class RateLimited(DomainError):
    """Too many requests from one account or address; retry after ``retry_after_s``."""

    code = "rate_limited"

    def __init__(self, retry_after_s: float) -> None:
        super().__init__("too many requests; slow down and retry later", rule="SEC-06")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Rate:
    """``burst`` requests at once, refilled at ``per_minute`` requests per minute."""

    burst: int
    per_minute: float


@dataclass(frozen=True)
class RateLimits:
    login_per_account: Rate = Rate(burst=10, per_minute=10)
    login_per_address: Rate = Rate(burst=30, per_minute=30)
    resident_per_account: Rate = Rate(burst=60, per_minute=120)


class TokenBucket:
    """Buckets keyed by a string (an account or address), least recently used evicted."""

    def __init__(
        self,
        rate: Rate,
        *,
        max_keys: int = 100_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self._max_keys = max_keys
        self._monotonic = monotonic
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one token for ``key`` or raise :class:`RateLimited`."""
        refill_per_s = self.rate.per_minute / 60.0
        with self._lock:
            now = self._monotonic()
            tokens, last = self._buckets.pop(key, (float(self.rate.burst), now))
            tokens = min(float(self.rate.burst), tokens + (now - last) * refill_per_s)
            if tokens < 1.0:
                self._remember(key, tokens, now)
                wait = math.inf if refill_per_s <= 0 else (1.0 - tokens) / refill_per_s
                raise RateLimited(wait)
            self._remember(key, tokens - 1.0, now)

    def _remember(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)


class RateLimiter:
    """The app's buckets, one per limit of :class:`RateLimits`."""

    def __init__(self, limits: RateLimits) -> None:
        self.login_account = TokenBucket(limits.login_per_account)
        self.login_address = TokenBucket(limits.login_per_address)
        self.resident = TokenBucket(limits.resident_per_account)
