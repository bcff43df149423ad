"""Where service calls run: on the loop while SQLite's write lock is free, else in a thread;
a use case that only reads (``reads_only``) on the loop on either backend."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest

from system.adapters.unit_of_work import sqlite_write_lock
from system.api.runner import ServiceRunner
from system.service_layer import consent, requests
from system.service_layer.context import ServiceContext
from system.service_layer.reads import WritesInAReadOnlyUseCase, is_reads_only, reads_only
from tests.system.api.conftest import Api


def loop_and_call_threads(
    runner: ServiceRunner, call: Callable[[], int] = threading.get_ident
) -> tuple[int, int]:
    async def main() -> tuple[int, int]:
        return threading.get_ident(), await runner(call)

    return anyio.run(main)


@reads_only
def reading_thread() -> int:
    return threading.get_ident()


def test_on_sqlite_a_call_runs_on_the_event_loop_while_the_write_lock_is_free() -> None:
    runner = ServiceRunner(mode="auto", sqlite_write_lock=threading.RLock())
    loop, call = loop_and_call_threads(runner)
    assert call == loop


def test_while_another_thread_writes_a_call_goes_to_a_thread_and_a_read_stays_on_the_loop() -> None:
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
        _, read = loop_and_call_threads(runner, reading_thread)
    finally:
        done.set()
        holder.join()
    assert call != loop  # it may write: waiting for the lock must not block the loop
    assert read == loop  # a WAL reader does not wait for the writer


def test_on_postgresql_calls_run_in_threads() -> None:
    loop, call = loop_and_call_threads(ServiceRunner(mode="auto", sqlite_write_lock=None))
    assert call != loop


def test_on_postgresql_a_use_case_that_only_reads_runs_on_the_event_loop() -> None:
    runner = ServiceRunner(mode="auto", sqlite_write_lock=None)
    loop, call = loop_and_call_threads(runner, reading_thread)
    assert call == loop


def test_the_threadpool_mode_sends_even_reads_to_a_thread() -> None:
    loop, call = loop_and_call_threads(ServiceRunner(mode="threadpool"), reading_thread)
    assert call != loop


def test_the_resident_list_and_the_request_status_are_marked_as_reads() -> None:
    # The commonest requests a platform serves: they run on the loop (docs/operations.md).
    assert is_reads_only(consent.my_notifications)
    assert is_reads_only(consent.consent_screen)
    assert is_reads_only(requests.request_status)
    assert not is_reads_only(consent.respond_many)


def test_a_use_case_marked_reads_only_that_opens_a_writing_unit_of_work_fails(api: Api) -> None:
    me = api.auth("resident")
    before = api.client.get("/api/v1/me/notifications", headers=me).json()

    @reads_only
    def sneaky_write(ctx: ServiceContext) -> None:
        with ctx.uow(read_only=True):
            pass  # reading is allowed
        with ctx.uow() as uow:
            uow.commit()

    with pytest.raises(WritesInAReadOnlyUseCase, match="sneaky_write is marked reads_only"):
        sneaky_write(api.ctx)
    # Outside the marked call a writing unit of work opens as ever, and the list still reads.
    with api.ctx.uow() as uow:
        uow.commit()
    assert api.client.get("/api/v1/me/notifications", headers=me).json() == before


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
