"""Graceful worker shutdown: a worker asked to stop finishes the job in flight first.

The embedded worker (``canvass serve``) and ``canvass worker`` processes both run
:func:`system.worker.work_until`, which looks at its stop signal only between
runs of the queue; a job it has claimed is run to its end and marked done, not
left to wait out its lease. (Processes stopped by SIGTERM: tests/e2e/test_worker_processes.py.)
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from system.service_layer import jobs
from system.service_layer.context import ServiceContext
from system.worker import EmbeddedWorker

WAIT_S = 10.0


def test_a_worker_asked_to_stop_finishes_the_job_in_flight_and_marks_it_done(
    full_ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    finished: list[int] = []

    def slow(_ctx: ServiceContext, payload: dict[str, Any]) -> None:
        started.set()
        assert release.wait(WAIT_S)
        finished.append(int(payload["n"]))

    standard = jobs.default_handlers
    monkeypatch.setattr(jobs, "default_handlers", lambda: {**standard(), "probe": slow})
    with full_ctx.uow() as uow:
        uow.jobs.enqueue("probe", {"n": 1}, now=full_ctx.clock.now())
        uow.commit()

    worker = EmbeddedWorker(full_ctx)
    worker.start()
    assert started.wait(WAIT_S)
    stopping = threading.Thread(target=worker.stop, kwargs={"timeout": WAIT_S})
    stopping.start()
    stopping.join(0.3)
    assert stopping.is_alive()  # the stop waits for the job in flight
    release.set()
    stopping.join(WAIT_S)
    assert not stopping.is_alive()
    assert finished == [1]
    with full_ctx.uow(read_only=True) as uow:
        counts = uow.jobs.counts()
    assert counts == {"done": 1}  # not left running under its lease
