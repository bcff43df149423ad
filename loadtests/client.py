"""Logging in over HTTP, once per account and Locust process, and judging responses.

``POST /api/v1/auth/token`` takes a form (``username``, ``password`` and, for
staff, the six-digit TOTP code in ``totp``) and answers a bearer token. A TOTP
code is accepted once per account, so :class:`Sessions` logs each account in
once and hands the token to every Locust user of this process that acts as
that account; users waiting for the same account wait for that one login. A
code refused because another process just used it is retried at the next
30-second step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import gevent  # type: ignore[import-untyped]
from gevent.lock import Semaphore  # type: ignore[import-untyped]

from loadtests import totp

LOGIN = "/api/v1/auth/token"
FORM = "application/x-www-form-urlencoded"
LOGIN_ATTEMPTS = 3


class LoginFailed(RuntimeError):
    """An account from the credentials file could not log in."""


@dataclass
class Sessions:
    """Bearer tokens by username for this process: one login per account."""

    tokens: dict[str, str] = field(default_factory=dict)
    _locks: dict[str, Semaphore] = field(default_factory=dict)
    _last_step: dict[str, int] = field(default_factory=dict)

    def token(
        self, client: Any, *, username: str, password: str, totp_secret: str | None = None
    ) -> str:
        """The account's token, logging in through ``client`` (a Locust client) if needed."""
        lock = self._locks.setdefault(username, Semaphore())
        with lock:
            if username not in self.tokens:
                self.tokens[username] = self._log_in(client, username, password, totp_secret)
            return self.tokens[username]

    def forget(self, username: str) -> None:
        """Drop a token the server no longer accepts (it ran out or was revoked)."""
        self.tokens.pop(username, None)

    def _log_in(self, client: Any, username: str, password: str, secret: str | None) -> str:
        problem = ""
        for _ in range(LOGIN_ATTEMPTS):
            form = {"username": username, "password": password}
            if secret is not None:
                step = self._next_step(username)
                form["totp"] = totp.code_for_step(secret, step)
            with client.post(
                LOGIN,
                data=urlencode(form),
                headers={"Content-Type": FORM},
                name="auth: log in",
                catch_response=True,
            ) as response:
                if response.status_code == 200 and "access_token" in (body := response.json()):
                    response.success()
                    return str(body["access_token"])
                problem = f"{response.status_code} {response.text[:200]}"
                if secret is None or response.status_code != 401:
                    response.failure(f"login of {username} refused: {problem}")
                    break
                # Another process may have used this step's code: a refusal the server
                # owes us (single-use codes), not an error; try the next step's code.
                response.success()
        raise LoginFailed(f"login of {username} failed: {problem}")

    def _next_step(self, username: str) -> int:
        """A step this process has not used for the account, waiting for it if need be."""
        step = totp.step_at(time.time())
        last = self._last_step.get(username)
        if last is not None and step <= last:
            gevent.sleep((last + 1) * totp.STEP_S - time.time() + 0.05)
            step = last + 1
        self._last_step[username] = step
        return step


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def judge(
    response: Any,
    *,
    expect: int | tuple[int, ...],
    check: Callable[[Any], str | None] | None = None,
) -> Any:
    """Mark a ``catch_response`` response a success or a failure; its JSON, or None if failed.

    An empty body (204) that succeeded is ``{}``.

    ``expect`` is the status (or statuses) the route answers on success;
    ``check`` looks at the parsed body and returns what is wrong with it, or None.
    """
    wanted = expect if isinstance(expect, tuple) else (expect,)
    if response.status_code not in wanted:
        response.failure(f"status {response.status_code}, wanted {wanted}: {response.text[:300]}")
        return None
    body: Any = {}
    if response.status_code != 204 and response.text:
        try:
            body = response.json()
        except ValueError:
            response.failure(f"not JSON: {response.text[:200]}")
            return None
    problem = check(body) if check is not None else None
    if problem:
        response.failure(problem)
        return None
    response.success()
    return body
