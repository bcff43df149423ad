"""Where service calls run: on the loop while SQLite's write lock is free, else in a thread."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import anyio

from system.adapters.unit_of_work import sqlite_write_lock
from system.api.runner import ServiceRunner
from tests.system.api.conftest import Api


def loop_and_call_threads(runner: ServiceRunner) -> tuple[int, int]:
    async def main() -> tuple[int, int]:
        return threading.get_ident(), await runner(threading.get_ident)

    return anyio.run(main)


def test_on_sqlite_a_call_runs_on_the_event_loop_while_the_write_lock_is_free() -> None:
    runner = ServiceRunner(mode="auto", sqlite_write_lock=threading.RLock())
    loop, call = loop_and_call_threads(runner)
    assert call == loop


def test_while_another_thread_writes_a_call_goes_to_a_thread_instead_of_blocking_the_loop() -> None:
    lock = threading.RLock()
    runner = ServiceRunner(mode="auto", sqlite_write_lock=lock)
    held, done = threading.Event(), threading.Event()

    def job() -> None:
        with lock:
            held.set()
            done.wait(10)

    holder = threading.Thread(target=job)
    holder.start()
    held.wait(10)
    try:
        loop, call = loop_and_call_threads(runner)
    finally:
        done.set()
        holder.join()
    assert call != loop


def test_on_postgresql_calls_run_in_threads() -> None:
    loop, call = loop_and_call_threads(ServiceRunner(mode="auto", sqlite_write_lock=None))
    assert call != loop


def test_the_api_keeps_answering_while_a_job_holds_the_sqlite_write_lock(api: Api) -> None:
    me = api.auth("resident")
    lock = sqlite_write_lock(api.ctx.engine)
    held, done = threading.Event(), threading.Event()

    def job() -> None:  # stands in for the embedded worker's transaction
        with lock:
            held.set()
            done.wait(10)

    with ThreadPoolExecutor(max_workers=2) as pool:
        holder = pool.submit(job)
        held.wait(10)
        writer = pool.submit(
            api.client.post, "/api/v1/me/opt-out", json={"agency_id": None}, headers=me
        )
        try:
            time.sleep(0.2)  # the opt-out now waits for the lock, in a thread
            started = time.perf_counter()
            assert api.client.get("/healthz").status_code == 200
            assert api.client.get("/api/v1/me/notifications", headers=me).status_code == 200
            waited_s = time.perf_counter() - started
            writer_waited = not writer.done()
        finally:
            done.set()
        holder.result(10)
        assert writer.result(10).status_code == 204
    assert waited_s < 1.0  # inline, both would have waited for the job (here 10 s)
    assert writer_waited
