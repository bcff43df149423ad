"""``canvass serve``: the API on uvicorn, with a worker thread embedded by default."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from system.api.app import create_app
from system.bootstrap import build_context
from system.config import Settings
from system.manage import upgrade_database
from system.worker import EmbeddedWorker


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    worker: bool,
    migrate: bool,
    echo: Callable[[str], None],
) -> int:
    """Run until interrupted; a job in flight finishes before the process exits."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if migrate:
        echo(f"database at migration {upgrade_database(settings)}")
    ctx = build_context(settings)
    app = create_app(settings, ctx=ctx)
    server = uvicorn.Server(server_config(app, settings, host=host, port=port))
    embedded = EmbeddedWorker(ctx) if worker else None
    settle_heap()
    if embedded is not None:
        embedded.start()
    echo(f"serving on http://{host}:{port} ({'with' if worker else 'without'} an embedded worker)")
    try:
        server.run()
    finally:
        if embedded is not None:
            embedded.stop()
        ctx.engine.dispose()
    return 0


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
