"""Group commit: concurrent calls of one set-based use case share one transaction.

Under load, many residents answer at once. Each answer alone pays for a
transaction: a begin, the notification and request lookups, the audit chain's
head lock, a commit (on SQLite, the one write lock every writer queues on).
:class:`GroupCommit` collects the calls that arrive while the previous batch is
being written and hands them to the set-based form of the use case (for
answers, :func:`system.service_layer.consent.respond_many`) in one call, which
judges each item by the same rules as the single call and returns an outcome
per item.

* A batch is written once its oldest call has waited :data:`WINDOW_S` (at
  once if it already waited that long behind the previous batch). Answers
  arriving one by one at a steady rate otherwise make batches of two or three,
  each paying a transaction's fixed cost (about 1 ms on SQLite: the lookups,
  the audit chain's head, the commit); the window lets a few more join. At
  low load it is all an answer waits for company.
* One batch is written at a time per process; what arrives meanwhile forms
  the next one, so batches grow with the load and shrink with it.
* A refusal (a :class:`~system.domain.errors.DomainError` returned for one
  item) reaches only its caller. If the batch call itself fails unexpectedly,
  nothing of it was stored (the use case is one transaction) and each item is
  retried alone, so one bad item cannot fail its neighbours.
* A caller that goes away (client disconnect) does not stop its item: like a
  call already sent to a thread, it is written and its outcome dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from system.api.runner import ServiceRunner
from system.domain.errors import DomainError
from system.service_layer.context import ServiceContext

I = TypeVar("I")  # noqa: E741 - the item type
O = TypeVar("O")  # noqa: E741 - the outcome type

BatchFn = Callable[[ServiceContext, Sequence[I]], Sequence[O | DomainError]]

MAX_BATCH = 256  # items per transaction: bounds one write's lock hold and memory
WINDOW_S = 0.002  # how long a batch's oldest call waits for company, at most


class GroupCommit(Generic[I, O]):
    """``await group.submit(item)`` returns the item's outcome or raises its refusal."""

    def __init__(
        self,
        fn: BatchFn[I, O],
        *,
        ctx: ServiceContext,
        runner: ServiceRunner,
        max_batch: int = MAX_BATCH,
        window_s: float = WINDOW_S,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if not 0.0 <= window_s <= 1.0:
            raise ValueError("window_s must be between 0 and 1 second")
        self._fn = fn
        self._ctx = ctx
        self._runner = runner
        self.max_batch = max_batch
        self.window_s = window_s
        self._pending: list[tuple[I, asyncio.Future[O]]] = []
        self._oldest_at = 0.0  # loop time the oldest pending call arrived
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # written so far, and the items in them: for tests and metrics
        self.items = 0

    async def submit(self, item: I) -> O:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[O] = loop.create_future()
        if not self._pending:
            self._oldest_at = loop.time()
        self._pending.append((item, future))
        if self._writer is None:
            self._writer = loop.create_task(self._write_all())
        return await future

    async def _write_all(self) -> None:
        batch: list[tuple[I, asyncio.Future[O]]] = []
        try:
            while self._pending:
                await self._gather()
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                # Calls left over (more than a batch) keep the batch's oldest time:
                # they have waited their window already and go next, at once.
                await self._write(batch)
                batch = []
        finally:
            self._writer = None
            # Only when the writer itself is cancelled (the app shutting down): its
            # callers must not wait for ever. Their items may or may not be stored.
            for _, future in batch + self._pending:
                future.cancel()
            self._pending.clear()

    async def _gather(self) -> None:
        """Wait until the oldest pending call has waited the window (or the batch is full)."""
        wait = self._oldest_at + self.window_s - asyncio.get_running_loop().time()
        if wait > 0 and len(self._pending) < self.max_batch:
            await asyncio.sleep(wait)
        else:
            await asyncio.sleep(0)  # requests already parsed still get to join

    async def _write(self, batch: list[tuple[I, asyncio.Future[O]]]) -> None:
        items = [item for item, _ in batch]
        try:
            outcomes = await self._runner(self._fn, self._ctx, items)
        except Exception as failure:
            if len(batch) == 1:
                _settle(batch[0][1], failure)
                return
            for one in batch:  # nothing was stored: find the item that fails, alone
                await self._write([one])
            return
        self.batches += 1
        self.items += len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)


def _settle(future: asyncio.Future[O], outcome: O | BaseException) -> None:
    if future.done():  # its caller went away
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
