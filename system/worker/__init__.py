"""Background workers: the thread embedded in ``canvass serve`` and ``canvass worker`` processes.

Both call :func:`system.service_layer.jobs.run_pending_jobs`, the one entry to
background work. Shutdown is graceful: a worker stops between jobs (on its
parent's word or on SIGTERM), so a job in flight finishes; a worker that is
killed instead leaves its job's lease to run out, and another worker retries it.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from system.bootstrap import build_context
from system.config import Settings
from system.service_layer.context import ServiceContext
from system.service_layer.jobs import run_pending_jobs

log = logging.getLogger("canvass.worker")

POLL_S = 0.5
BATCH = 20
SCHEDULE_EVERY_S = 5.0
"""Time-driven work (expiry, purges, notices) is looked for this often; queued work
at every poll. Each look is a write transaction, on SQLite the database's lock."""


def work_until(ctx: ServiceContext, *, worker_id: str, stop: Callable[[], bool]) -> int:
    """Run jobs until ``stop()`` is true; returns how many jobs ran."""
    ran = 0
    last_schedule = -math.inf
    while not stop():
        schedule = time.monotonic() - last_schedule >= SCHEDULE_EVERY_S
        if schedule:
            last_schedule = time.monotonic()
        try:
            report = run_pending_jobs(ctx, worker_id=worker_id, limit=BATCH, schedule=schedule)
        except Exception:  # the database may be briefly unreachable: keep the worker alive
            log.exception("job runner failed; retrying")
            report = None
        if report is not None:
            ran += report.ran
            for error in report.errors:
                log.warning("job failed: %s", error)
        if report is None or report.ran == 0:
            # Nothing due: wait, but wake at once when asked to stop.
            waiter = threading.Event()
            for _ in range(int(POLL_S / 0.05)):
                if stop():
                    break
                waiter.wait(0.05)
    return ran


class EmbeddedWorker:
    """A worker thread inside the API process (the single-command default)."""

    def __init__(self, ctx: ServiceContext, *, worker_id: str = "embedded") -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=work_until,
            kwargs={"ctx": ctx, "worker_id": worker_id, "stop": self._stop.is_set},
            name="canvass-worker",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)


def _process_main(
    settings_data: dict[str, Any], worker_id: str, stop: Any, parent_pid: int
) -> None:
    """One ``canvass worker`` process: runs jobs until ``stop`` (an event) is set, SIGTERM
    arrives or its parent (``parent_pid``) is gone.

    SIGTERM stops it between jobs, like its parent's word: a service manager (or
    ``kill`` of the process group) signals every process of the group, and a
    worker that died of it mid-job would leave its job to wait out its lease.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    terminated = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: terminated.set())

    def should_stop() -> bool:
        orphaned = os.getppid() != parent_pid  # never left running without its parent
        return stop.is_set() or terminated.is_set() or orphaned

    ctx = build_context(Settings(**settings_data))
    try:
        work_until(ctx, worker_id=worker_id, stop=should_stop)
    finally:
        ctx.engine.dispose()


def run_worker_processes(
    settings: Settings, *, concurrency: int, echo: Callable[[str], None]
) -> int:
    """``canvass worker``: ``concurrency`` processes until SIGINT/SIGTERM, then a clean stop."""
    stop = multiprocessing.Event()
    data = settings.model_dump()
    procs = [
        multiprocessing.Process(
            target=_process_main,
            args=(data, f"worker-{i}", stop, os.getpid()),
            name=f"canvass-worker-{i}",
        )
        for i in range(concurrency)
    ]
    for proc in procs:
        proc.start()

    def _shutdown(signum: int, _frame: object) -> None:
        echo(f"received signal {signum}: finishing jobs in flight")
        stop.set()

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    echo(f"{concurrency} worker process(es) running; Ctrl-C or SIGTERM stops them cleanly")
    for proc in procs:
        proc.join()
    failed = [p.name for p in procs if p.exitcode not in (0, None)]
    if failed:
        echo(f"worker processes failed: {', '.join(failed)}")
        return 1
    return 0
