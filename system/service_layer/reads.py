"""Use cases that only read: marked, so the API may run them on its event loop.

A use case marked :func:`reads_only` opens read-only units of work and no
other. Such a call never waits on a lock: on PostgreSQL a plain ``SELECT``
reads a snapshot and takes no row lock, and on SQLite in WAL mode a reader does
not wait for the writer. :class:`system.api.runner.ServiceRunner` therefore
runs it directly on the event loop on both backends, where a call that may
write goes to a thread while it could wait behind another transaction.

The mark is checked, not trusted: while a marked use case runs, opening a
writing unit of work raises :class:`WritesInAReadOnlyUseCase`
(:func:`refuse_writes_while_reading`, called by every unit of work the real
context builds), so a marked use case that grows a write fails its tests on
its first call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

READS_ONLY_ATTRIBUTE = "canvass_reads_only"
_reading: ContextVar[str | None] = ContextVar("canvass_reading", default=None)


class WritesInAReadOnlyUseCase(RuntimeError):
    """A use case marked :func:`reads_only` opened a writing unit of work (a bug)."""


def reads_only(fn: Callable[P, T]) -> Callable[P, T]:
    """Mark ``fn`` as a use case that only reads (see the module's docstring)."""

    @functools.wraps(fn)
    def reading(*args: P.args, **kwargs: P.kwargs) -> T:
        token = _reading.set(fn.__qualname__)
        try:
            return fn(*args, **kwargs)
        finally:
            _reading.reset(token)

    setattr(reading, READS_ONLY_ATTRIBUTE, True)
    return reading


def is_reads_only(fn: Callable[..., object]) -> bool:
    """Whether ``fn`` was marked with :func:`reads_only`."""
    return getattr(fn, READS_ONLY_ATTRIBUTE, False) is True


def refuse_writes_while_reading(read_only: bool) -> None:
    """Raise if a writing unit of work is opened inside a :func:`reads_only` use case."""
    if read_only:
        return
    name = _reading.get()
    if name is not None:
        raise WritesInAReadOnlyUseCase(
            f"{name} is marked reads_only but opened a writing unit of work: remove the "
            "mark (the API then runs it in a thread) or make it read only"
        )
