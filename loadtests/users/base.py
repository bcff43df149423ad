"""What every Canvass user shares: the process's context, its account's token, judged calls.

Each user acts as one account (or device) for its whole life. Calls go through
:meth:`CanvassUser.call`, which adds the bearer token, groups parametrised URLs
under ``name`` and judges status and body (``catch_response``); a 401 makes the
account log in again at its next call.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from locust import FastHttpUser, constant_throughput

from loadtests.client import bearer, judge
from loadtests.context import LoadContext
from loadtests.payloads import seeded_faker

API = "/api/v1"


class CanvassUser(FastHttpUser):
    abstract = True
    username: str = ""
    password: str = ""
    totp_secret: str | None = None
    last_status: int = 0
    tasks_per_s: float = 1.0
    """This user's pace (``constant_throughput``) before ``--canvass-pace`` scales it."""
    max_tasks_per_s: float | None = None

    def wait_time(self) -> float:
        rate = self.tasks_per_s * self.canvass.pace
        if self.max_tasks_per_s is not None:
            rate = min(rate, self.max_tasks_per_s)
        return float(constant_throughput(rate)(self))

    def on_start(self) -> None:
        self.number = number = self.canvass.user_number()
        seed = self.canvass.user_seed(number)
        self.rng = random.Random(seed)
        self.fake = seeded_faker(seed)

    @property
    def canvass(self) -> LoadContext:
        context: LoadContext = self.environment.canvass
        return context

    def token(self) -> str:
        return self.canvass.sessions.token(
            self.client,
            username=self.username,
            password=self.password,
            totp_secret=self.totp_secret,
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        name: str | None = None,
        expect: int | tuple[int, ...] = 200,
        check: Callable[[Any], str | None] | None = None,
        **kwargs: Any,
    ) -> Any:
        """``method API+path`` as this account; the judged JSON body, or None if it failed."""
        headers = {**kwargs.pop("headers", {}), **bearer(self.token())}
        with self.client.request(
            method,
            API + path,
            name=name or API + path,
            headers=headers,
            catch_response=True,
            **kwargs,
        ) as response:
            self.last_status = response.status_code
            if response.status_code == 401:
                self.canvass.sessions.forget(self.username)
            return judge(response, expect=expect, check=check)

    def permit(self, operation: str) -> bool:
        """May this user do ``operation`` now (always, unless a profile sets the rates)."""
        budget = self.canvass.budget
        return budget is None or budget.take(operation)

    def unused(self, operation: str) -> None:
        budget = self.canvass.budget
        if budget is not None:
            budget.give_back(operation)


def is_list(body: Any) -> str | None:
    return None if isinstance(body, list) else f"expected a JSON list, got {type(body).__name__}"


def has(*keys: str) -> Callable[[Any], str | None]:
    """A body check: a JSON object with these keys."""

    def check(body: Any) -> str | None:
        if not isinstance(body, dict):
            return f"expected a JSON object, got {type(body).__name__}"
        missing = [k for k in keys if k not in body]
        return f"missing {', '.join(missing)}" if missing else None

    return check
