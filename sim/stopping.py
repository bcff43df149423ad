"""Stopping replications cleanly: SIGTERM as Ctrl-C, once, at the next simulated week.

A termination request (a service manager, ``kill``, a CI timeout) must stop a run
the way Ctrl-C does, so each replication's scratch folder (which may be in RAM) is
removed on the way out. In a replication process the parent decides when to stop;
an interrupt that lands in a garbage-collector callback (where Python prints and
drops it) leaves a flag that :func:`stoppable` sees at the next simulated week.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any


def stop_when_terminated() -> None:
    """In a replication process: the parent decides when to stop (Ctrl-C reaches the
    whole process group, so SIGINT is ignored here); its SIGTERM ends the replication
    as an interrupt would, once, so the scratch folder is removed on the way out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    catch_termination()


def catch_termination() -> tuple[Any, Any]:
    """SIGTERM interrupts once and leaves the stop flag; an interrupt dropped in a
    garbage-collector callback is not printed. Returns the handler and hook replaced."""
    replaced = signal.signal(signal.SIGTERM, interrupt_once), sys.unraisablehook
    sys.unraisablehook = quiet_interrupts
    return replaced


def quiet_interrupts(unraisable: Any) -> None:
    """An interrupt swallowed in a garbage-collector callback is not an error to print:
    :func:`stoppable` ends the replication at the next week. Others print as usual."""
    if not isinstance(unraisable.exc_value, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)


_terminated = False  # in a replication process: its parent asked it to stop


def interrupt_once(_signum: int, _frame: object) -> None:
    global _terminated
    if _terminated:
        return  # one interrupt: a second must not cut the scratch folder's removal short
    _terminated = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminable_here() -> Iterator[None]:
    """Replications in this process stop on SIGTERM as a replication process does: the
    interrupt also leaves the flag :func:`stoppable` looks at, so one that lands in a
    garbage-collector callback (printed and dropped there) still ends the run."""
    global _terminated
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return
    _terminated = False
    previous, hook = catch_termination()
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = hook


def stoppable(report: Callable[[float], None] | None) -> Callable[[float], None]:
    """The model's weekly progress hook, which also ends a replication asked to stop.

    The interrupt raised by the SIGTERM handler can land inside a garbage-collector
    callback, where Python prints it and carries on; the flag it leaves is seen here
    at the next simulated week instead."""

    def tick(fraction: float) -> None:
        if _terminated:
            raise KeyboardInterrupt
        if report is not None:
            report(fraction)

    return tick
