"""How routes run the synchronous service layer: the one place this is chosen.

Every route is ``async def`` and awaits :class:`ServiceRunner`, which runs the
service function either in a worker thread (``threadpool``, the default: the
event loop keeps serving while a call waits on the database) or directly on
the event loop (``inline``: no thread hop, but one slow call stalls every
request). The HTTP benchmark compares the two; switching is one argument to
:func:`system.api.app.create_app`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal, ParamSpec, TypeVar

import anyio
import anyio.to_thread

P = ParamSpec("P")
T = TypeVar("T")

RunMode = Literal["threadpool", "inline"]


class ServiceRunner:
    def __init__(self, *, mode: RunMode = "threadpool", threads: int = 12) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.mode = mode
        self.threads = threads
        self._limiter: anyio.CapacityLimiter | None = None

    def _capacity(self) -> anyio.CapacityLimiter:
        if self._limiter is None:  # created lazily: it needs a running event loop
            self._limiter = anyio.CapacityLimiter(self.threads)
        return self._limiter

    async def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if self.mode == "inline":
            return fn(*args, **kwargs)
        return await self.in_thread(fn, *args, **kwargs)

    async def in_thread(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Always in a worker thread: for calls that stream a request body (uploads)."""
        call = functools.partial(fn, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=self._capacity())
