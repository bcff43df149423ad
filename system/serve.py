"""``canvass serve``: the API on uvicorn, with a worker thread embedded by default.

One process by default. With ``processes`` above 1 (PostgreSQL only) this
process binds the address once and supervises that many API processes, each
accepting connections from the one listening socket: the kernel hands each
new connection to whichever process accepts first. Each API process is
started fresh (``spawn``), builds its own app and database pool, settles its
heap and serves; only the first embeds the job worker (run more workers as
``canvass worker`` processes). SIGTERM or SIGINT, to the supervisor or to the
whole process group, stops every API process gracefully; an API process
that dies stops the rest, and one whose supervisor is gone stops itself.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from system.api.app import create_app
from system.bootstrap import build_context
from system.config import Settings
from system.manage import upgrade_database
from system.worker import EmbeddedWorker

BACKLOG = 2048
"""Connections the kernel queues on the listening socket (uvicorn's default)."""
STOP_TIMEOUT_S = 30.0
"""How long the supervisor waits for its API processes to stop before killing them."""
ORPHAN_CHECK_S = 1.0


class Server(uvicorn.Server):
    """uvicorn's server that returns after a signal instead of re-raising it.

    uvicorn shuts down gracefully on SIGTERM and then raises the signal again,
    which, with the default handler, ends the process before ``serve`` can stop
    its embedded worker and close its database pool. Returning lets a job in
    flight finish and the process exit with status 0.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    worker: bool,
    migrate: bool,
    echo: Callable[[str], None],
    sock: socket.socket | None = None,
) -> int:
    """Run until interrupted; a job in flight finishes before the process exits.

    ``sock``: a listening socket to accept from (an API process of several);
    otherwise uvicorn binds ``host:port`` itself.
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if migrate:
        echo(f"database at migration {upgrade_database(settings)}")
    ctx = build_context(settings)
    app = create_app(settings, ctx=ctx)
    server = Server(server_config(app, settings, host=host, port=port))
    embedded = EmbeddedWorker(ctx) if worker else None
    settle_heap()
    if embedded is not None:
        embedded.start()
    with_worker = "with" if worker else "without"
    echo(f"serving on http://{host}:{port} (process {os.getpid()}, {with_worker} a worker)")
    try:
        server.run(sockets=None if sock is None else [sock])
    finally:
        if embedded is not None:
            embedded.stop()
        ctx.engine.dispose()
    return 0


def serve_processes(
    settings: Settings,
    *,
    host: str,
    port: int,
    processes: int,
    worker: bool,
    migrate: bool,
    echo: Callable[[str], None],
) -> int:
    """Supervise ``processes`` API processes on one listening socket until interrupted.

    Returns 0 after a clean stop, 1 if an API process exited on its own.
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if migrate:
        echo(f"database at migration {upgrade_database(settings)}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=BACKLOG)
    spawn = multiprocessing.get_context("spawn")
    data = settings.model_dump()
    children = [
        spawn.Process(
            target=_api_process,
            args=(data, host, port, listener, worker and i == 0, os.getpid()),
            name=f"canvass-api-{i}",
        )
        for i in range(processes)
    ]
    stopping = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        stopping.set()
        for child in children:  # they may have had it already (a group's signal): harmless
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    for child in children:
        child.start()
    listener.close()  # the API processes hold it now
    embedded = "an embedded worker in the first" if worker else "no embedded worker"
    echo(f"serving on http://{host}:{port} with {processes} API processes ({embedded})")
    failed: str | None = None
    while not stopping.is_set():
        ended = wait([c.sentinel for c in children], timeout=0.5)
        if ended and not stopping.is_set():
            gone = next(c for c in children if c.sentinel in ended)
            failed = f"{gone.name} exited with status {gone.exitcode}: stopping the others"
            echo(failed)
            _stop(signal.SIGTERM, None)
    for child in children:
        child.join(STOP_TIMEOUT_S)
        if child.is_alive():
            child.kill()
            child.join()
    return 1 if failed else 0


def _api_process(
    settings_data: dict[str, Any],
    host: str,
    port: int,
    listener: socket.socket,
    worker: bool,
    parent_pid: int,
) -> None:
    """One API process of several: serve on the supervisor's socket until told to stop."""

    def watch_parent() -> None:
        # Never left serving without the supervisor: stop as if it had said so.
        while os.getppid() == parent_pid:
            time.sleep(ORPHAN_CHECK_S)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_parent, name="canvass-orphan-check", daemon=True).start()
    code = serve(
        Settings(**settings_data),
        host=host,
        port=port,
        worker=worker,
        migrate=False,
        echo=print,
        sock=listener,
    )
    raise SystemExit(code)


SERVER_LOOP = "asyncio"
"""The event loop the API runs on: asyncio's, not uvloop (which ``uvicorn[standard]`` would
pick).

uvloop's libuv accepts one connection per turn of the loop (libuv 1.45 on: "unix: don't
accept() connections in a loop"). Routes that run inline on the loop (a resident's
notification list, a request's status) make a turn as long as the requests ready in it,
so under load a client that has just connected waited behind every turn: with 32
connections reading request status and 32 connecting, the newcomers' first answers took a
median 0.38 s and up to 0.7 s against 19 ms for the others; at 64 connections the last
newcomer waited 3 s, and a fresh wrk run's p99 was 1-2.5 s on routes whose server-side
time never passed 35 ms. asyncio's loop accepts every waiting connection at once (up
to the listen backlog): the newcomers' median was 51 ms. CPU per request was the same
within the noise (request status 0.66-0.75 ms on uvloop, 0.72-0.80 ms on asyncio;
``/healthz`` 0.32-0.36 and 0.32-0.34). A cost, measured late and not yet resolved: at
fixed paced rates on a quiet machine (1,200 status reads/s, 800 listings/s, one process,
3 s runs, two of each), p99 was 91-132 ms on asyncio against 64-87 ms on uvloop.
"""


def server_config(app: ASGIApp, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    """uvicorn's settings for the API.

    No ``Server`` header: it told every client the server software (SEC-07).
    Forwarded headers are believed only from ``settings.trusted_proxies``;
    uvicorn's own default believes 127.0.0.1, so behind a local proxy (or
    anything else on the host) a client could pick its address for the
    per-address login limits (SEC-06) and the audit log (SEC-04). The loop is
    :data:`SERVER_LOOP`.
    """
    trusted = settings.trusted_proxy_list
    options: dict[str, Any] = {"proxy_headers": bool(trusted), "loop": SERVER_LOOP}
    if trusted:
        options["forwarded_allow_ips"] = trusted
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        **options,
    )


GC_THRESHOLDS = (50_000, 20, 100)
"""Young objects before a collection, and collections before an older generation's."""


def settle_heap() -> None:
    """Move everything built at start-up out of the garbage collector's sight.

    A full (oldest-generation) collection scans every tracked object; with the
    app, the ORM and the schemas loaded, that is a pause of 60-130 ms on this
    machine, and every request waiting behind it sees it. Start-up objects live
    as long as the process, so they are collected once and frozen
    (:func:`gc.freeze`); later collections scan only what the service allocated
    since. Measured (resident answers at a fixed 500/s, SQLite, 3 s runs): p99
    165 and 365 ms before, 27 and 46 ms after. The collector then runs less often
    (:data:`GC_THRESHOLDS`): most of a request's objects are freed by reference
    counting, and at Python's default (700, 10, 10) a full collection of what the
    service holds (its caches, pools, sessions) still came every few seconds,
    30-100 ms each; with these, p99 in the same runs was 20-38 ms against 61-68.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
