"""How routes run the synchronous service layer: the one place this is chosen.

Every route is ``async def`` and awaits :class:`ServiceRunner`, which runs the
service function either directly on the event loop (``inline``: no thread hop)
or in a worker thread (``threadpool``: the loop keeps serving while a call
waits). ``auto``, the default, picks per call:

* on SQLite, inline while the process's SQLite write lock is free. A call there
  is Python work on an in-process database: a thread adds a hop and makes the
  loop and the workers trade the GIL, which on this service's hot routes
  multiplied tail latency (p99 at a fixed 180 answers/s: about 75-200 ms in
  threads, 40-55 ms inline; see ``docs/operations.md``). While another thread
  (the embedded worker, or a call already sent to a thread) holds the write
  lock, the call goes to a thread instead, so the loop never blocks behind a
  job; the lock can still be taken in the instant between that check and the
  call's own transaction, and then the loop waits for one job.
* on PostgreSQL, in threads: a call that writes may wait on a row lock that
  another process holds, and on the loop that wait would stall every request
  of the process.
* on either backend, a use case marked
  :func:`~system.service_layer.reads.reads_only` runs inline: it waits on no
  lock (PostgreSQL's reads take no row locks, SQLite's WAL readers do not wait
  for the writer), only on its own statements. On PostgreSQL the thread hop
  and the GIL hand-offs between loop and threads at every round trip cost more
  than the short reads themselves: in ``bench api --quick`` (two API
  processes) request status peaked at 1,586-1,770/s inline against 852-978/s
  in threads (figures and their spread in ``docs/operations.md``).

Calls whose work grows with the data (reports, audit verification, streamed
uploads) use :meth:`ServiceRunner.in_thread` whatever the mode.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Literal, ParamSpec, TypeVar

import anyio
import anyio.to_thread

from system.service_layer.reads import is_reads_only

P = ParamSpec("P")
T = TypeVar("T")

RunMode = Literal["auto", "threadpool", "inline"]


class ServiceRunner:
    """``sqlite_write_lock`` is the in-process lock SQLite writers queue on (``None``
    for PostgreSQL); ``auto`` runs inline only while it is free."""

    def __init__(
        self,
        *,
        mode: RunMode = "auto",
        threads: int = 12,
        sqlite_write_lock: threading.RLock | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.mode = mode
        self.threads = threads
        self._write_lock = sqlite_write_lock
        self._limiter: anyio.CapacityLimiter | None = None

    def _capacity(self) -> anyio.CapacityLimiter:
        if self._limiter is None:  # created lazily: it needs a running event loop
            self._limiter = anyio.CapacityLimiter(self.threads)
        return self._limiter

    def runs_inline(self, fn: Callable[..., object] | None = None) -> bool:
        """Whether a call of ``fn`` made now would run on the event loop."""
        if self.mode != "auto":
            return self.mode == "inline"
        if fn is not None and is_reads_only(fn):
            return True  # waits on no lock, on either backend
        lock = self._write_lock
        if lock is None:
            return False
        if not lock.acquire(blocking=False):
            return False  # a job or a threaded call is writing: do not wait on the loop
        lock.release()
        return True

    async def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if self.runs_inline(fn):
            return fn(*args, **kwargs)
        return await self.in_thread(fn, *args, **kwargs)

    async def in_thread(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Always in a worker thread: streamed request bodies and work that grows with the data."""
        call = functools.partial(fn, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=self._capacity())
