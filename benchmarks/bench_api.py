"""``canvass bench api``: requests per second and latency of the HTTP API, measured with wrk.

For each backend the benchmark seeds a slice of Nassau, publishes many
requests over the densest allowed circle (in-process, through the service
layer), gives the camera owners inside it logins, then starts real server
processes on 127.0.0.1 (SQLite: one ``canvass serve`` with its embedded
worker; PostgreSQL: two ``canvass serve --no-worker`` and two ``canvass
worker``) and measures, each from a freshly started server so per-process
rate-limit buckets start full:

* the peak requests/s of ``/healthz`` (the trivial endpoint, the baseline);
* the peak of three hot routes: request status (a detective's GET), the
  notification list (a resident's GET) and the resident response (POST, a
  decline: every call answers a notification of its own, since an answer is
  accepted once and a repeat is a 409 that does none of the work);
* p50/p95/p99 of each of the three at a fixed rate of 80% of its own peak
  (the targets: ``*_p99_ms``, per backend), run right after that peak;
* each read's peak again, right after its paced run: how far it moved
  (``*_peak_drift``) says whether the paced rate was still 80% of what the
  servers could serve while it ran (this machine's speed drifts).

Peaks come from ``wrk`` with a Lua script that hands every connection its own
tokens and notifications; a peak counts 2xx answers only. The fixed-rate run
also uses ``wrk``: ``hey`` repeats one request, which for an answer-once route
would measure the 409 path. Its Lua ``delay()`` sends on an absolute schedule
(request k of a thread is due at start + k x interval, read from the monotonic
clock through LuaJIT's FFI), not a fixed pause after each answer, which would
lower the rate by the latency itself. Connections wait for their slot, and
there are enough of them (about one second's worth of requests) that a slow
answer does not hold back the next send; a send that still misses its slot is
counted as late, since wrk times a request from its send and would hide that
queueing, and the share of late sends is reported beside the percentiles.
Every run is bounded in time; non-2xx answers and socket errors (wrk's 5 s
timeouts among them) are counted and reported apart. Each run also reads the
CPU the servers and workers used (from ``/proc``, on Linux; the database
server's own is not counted): requests that arrive spread out can cost more CPU
each than the closed loop's bursts, and then the paced rate is nearer what the
servers can serve than its share of the peak says.

This module runs the benchmark and judges it: the routes, their runs in order,
the figures and the targets. The workload and its sizes are in
:mod:`benchmarks.api_workload`; the server processes and the wrk runs, in
:mod:`benchmarks.api_runs`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.api_runs import Topology, WrkResult, measure, servers, wrk_threads
from benchmarks.api_workload import (
    FULL,
    QUICK,
    Sizes,
    answer_capacity_per_s,
    answers_allowed,
    prepare_workload,
)
from benchmarks.bench_system import (
    Target,
    check_targets,
    format_bench,
    machine_info,
    write_bench,
)
from system.adapters.db import create_scratch_database, drop_scratch_database

__all__ = [
    "FULL",
    "QUICK",
    "TARGETS",
    "Sizes",
    "WrkResult",
    "answer_capacity_per_s",
    "answers_allowed",
    "bench_api_command",
    "measure",
    "paced_busy_share",
    "peak_drift",
    "summarise",
]

BENCHMARK = "api"
TARGETS = (
    Target("response_peak_ratio", ">=", 0.25),
    Target("response_p99_ms", "<", 100.0),
    Target("notification_list_p99_ms", "<", 100.0),
    Target("request_status_p99_ms", "<", 100.0),
)
"""Each ``*_p99_ms`` is the route's p99 at :data:`PACED_SHARE` of its own peak."""
PACED_ROUTES = ("request_status", "notification_list", "response")
"""Routes measured at their closed-loop peak, then paced at a share of it."""
PG_PREFIX = "canvass_bench_api"  # the PostgreSQL scratch database's name begins so
PACED_SHARE = 0.8  # the fixed rate, as a share of each paced route's own peak
RECHECKED_ROUTES = ("request_status", "notification_list")
"""Reads whose peak is measured again right after their paced run (``{route}_peak_after``)."""
DRIFT_WARNING = 0.1  # a peak that moved more than this across its paced run is warned of
LATE_SHARE_WARNING = 0.01  # above this, the paced percentiles understate queueing
BUSY_SHARE_WARNING = 0.9  # paced servers this busy (of their peak's CPU) are near saturation


# --- one backend ------------------------------------------------------------------------


def paced_rate(peak: WrkResult) -> float:
    """A paced route's fixed rate: :data:`PACED_SHARE` of its own peak (2xx per second)."""
    return PACED_SHARE * peak.per_s


def paced_rates(peaks: dict[str, WrkResult]) -> dict[str, float]:
    """Each paced route's fixed rate (:func:`paced_rate`)."""
    return {route: paced_rate(peaks[route]) for route in PACED_ROUTES}


def summarise(backend: str, runs: dict[str, WrkResult], trivial: WrkResult) -> dict[str, float]:
    """The figures of one backend's runs, suffixed with ``backend``.

    Every run gives its rate, percentiles, non-2xx answers and socket errors
    (connect, read and write errors and wrk's 5 s timeouts, which are no answer
    at all). Each route of :data:`PACED_ROUTES` also gives ``{route}_p99_ms``,
    the p99 of its paced run (the targets), the rate it was paced at and the
    share of late sends; the response's peak is also a share of ``trivial``'s.

    Where the servers' CPU was read (Linux), every run also gives the cores the
    servers and workers kept busy (``{name}_server_cores``) and their CPU per
    request (``{name}_server_cpu_ms_per_req``), and where a local PostgreSQL's was
    read, its cores (``{name}_database_cores``); each paced route gives the ratio of
    all that CPU to its peak's, per second and per request
    (``{route}_paced_busy_share``, ``{route}_paced_cpu_ratio``):
    a request that costs more CPU when requests arrive spread out than in the
    closed loop's bursts leaves the paced rate nearer saturation than 80%. A route
    whose peak was measured again after its paced run (``{route}_peak_after``) gives
    how far it moved, ``{route}_peak_drift`` (after / before - 1).
    """
    measured: dict[str, float] = {}
    for name, result in runs.items():
        measured[f"{name}_per_s_{backend}"] = result.per_s
        measured[f"{name}_p50_ms_{backend}"] = result.p50_ms
        measured[f"{name}_p95_ms_{backend}"] = result.p95_ms
        measured[f"{name}_p99_ms_{backend}"] = result.p99_ms
        measured[f"{name}_non2xx_{backend}"] = float(result.non2xx)
        measured[f"{name}_socket_errors_{backend}"] = float(result.socket_errors)
        if result.server_cores is not None and result.server_cpu_ms_per_request is not None:
            measured[f"{name}_server_cores_{backend}"] = result.server_cores
            measured[f"{name}_server_cpu_ms_per_req_{backend}"] = result.server_cpu_ms_per_request
        if result.database_cores is not None:
            measured[f"{name}_database_cores_{backend}"] = result.database_cores
    peaks = {route: runs[f"{route}_peak"] for route in PACED_ROUTES}
    measured[f"response_peak_ratio_{backend}"] = (
        peaks["response"].per_s / trivial.per_s if trivial.per_s > 0 else 0.0
    )
    for route, rate in paced_rates(peaks).items():
        paced = runs[f"{route}_paced"]
        measured[f"{route}_p99_ms_{backend}"] = paced.p99_ms
        measured[f"{route}_paced_rate_per_s_{backend}"] = rate
        measured[f"{route}_paced_late_share_{backend}"] = paced.late_share
        drift = peak_drift(runs, route)
        if drift is not None:
            measured[f"{route}_peak_drift_{backend}"] = drift
        busy = paced_busy_share(peaks[route], paced)
        if busy is not None:
            measured[f"{route}_paced_busy_share_{backend}"] = busy[0]
            measured[f"{route}_paced_cpu_ratio_{backend}"] = busy[1]
    return measured


def peak_drift(runs: dict[str, WrkResult], route: str) -> float | None:
    """How far ``route``'s peak moved across its paced run (after / before - 1), where it
    was measured again; ``None`` otherwise."""
    before, after = runs.get(f"{route}_peak"), runs.get(f"{route}_peak_after")
    if before is None or after is None or before.per_s <= 0:
        return None
    return after.per_s / before.per_s - 1


def _used(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def paced_busy_share(peak: WrkResult, paced: WrkResult) -> tuple[float, float] | None:
    """How busy the servers were in the paced run, as a share of their peak's cores, and
    its CPU per request over the peak's; ``None`` where either run's CPU is unknown. The
    database server's CPU counts where both runs read it (PostgreSQL on this machine)."""
    with_database = peak.database_cpu_s is not None and paced.database_cpu_s is not None
    peak_cpu = peak.busy_cpu_s if with_database else peak.server_cpu_s
    paced_cpu = paced.busy_cpu_s if with_database else paced.server_cpu_s
    if not peak_cpu or paced_cpu is None:
        return None  # unknown, or a peak run that used no CPU (nothing to compare with)
    if min(peak.seconds, paced.seconds) <= 0 or min(peak.requests, paced.requests) <= 0:
        return None
    cores = (paced_cpu / paced.seconds) / (peak_cpu / peak.seconds)
    per_request = (paced_cpu / paced.requests) / (peak_cpu / peak.requests)
    return cores, per_request


def bench_backend(
    backend: str,
    database_url: str,
    topology: Topology,
    sizes: Sizes,
    say: Callable[[str], None],
    folder: Path,
) -> dict[str, float]:
    """Measure one backend; every run starts from freshly started servers.

    Each run is preceded, on the same servers, by a closed-loop warm-up of
    ``sizes.warmup_s`` on the same route (connections opened, sessions read,
    statements compiled), so the figures are of a running service, not of its
    first second. Response runs warm up on answers of their own: none is
    answered twice in a measured run.
    """
    data_dir = folder / "data"
    work = prepare_workload(database_url, data_dir, sizes, say)
    say(
        f"{backend}: {len(work.answers)} notifications to answer, {len(work.resident_tokens)} "
        "residents"
    )
    if len(work.resident_tokens) < sizes.residents:
        capacity = answer_capacity_per_s(sizes, len(work.resident_tokens))
        say(
            f"{backend}: warning: the circles hold {len(work.resident_tokens)} camera owners, "
            f"not {sizes.residents}: answers for {capacity:,.0f}/s before repeats"
        )
    lines = [f"{tok} {nid}" for tok, nid in work.answers]
    tenth = len(lines) // 10
    peak_warmup, peak_lines = lines[:tenth], lines[tenth : 5 * tenth]
    paced_warmup, paced_lines = lines[5 * tenth : 6 * tenth], lines[6 * tenth :]
    warmup = replace(sizes, duration_s=sizes.warmup_s)
    # A run that needs more per resident than the rate limit lets through would
    # measure 429s (SEC-06) instead of answers.
    per_resident = (len(peak_warmup) + len(peak_lines)) / max(1, len(work.resident_tokens))
    if per_resident > answers_allowed(sizes):
        raise RuntimeError(
            f"bench sizes give {per_resident:.0f} answers per resident in one run, more "
            f"than the resident rate limit lets through ({answers_allowed(sizes):.0f}): "
            "raise Sizes.residents or lower Sizes.requests"
        )
    runs: dict[str, WrkResult] = {}

    def run(name: str, *, warmup_lines: list[str] | None = None, **kwargs: Any) -> WrkResult:
        with servers(database_url, data_dir, topology, folder / "logs") as running:
            warm = {k: v for k, v in kwargs.items() if k != "rate_per_s"}
            if warmup_lines is not None:
                warm["lines"] = warmup_lines
            measure(running.urls, f"{name}-warmup", folder, warmup, **warm)
            before = running.cpu_s(), running.database_cpu_s()
            result = measure(running.urls, name, folder, sizes, **kwargs)
            after = running.cpu_s(), running.database_cpu_s()
        result = replace(
            result,
            server_cpu_s=_used(before[0], after[0]),
            database_cpu_s=_used(before[1], after[1]),
        )
        runs[name] = result
        late = f", late sends {result.late_share:.1%}" if result.paced else ""
        cpu = (
            f", servers {result.server_cores:.2f} cores, "
            f"{result.server_cpu_ms_per_request:.2f} ms CPU/request"
            if result.server_cores is not None and result.server_cpu_ms_per_request is not None
            else ""
        )
        if result.database_cores is not None:
            cpu += f", database {result.database_cores:.2f} cores"
        say(
            f"{backend}: {name}: {result.per_s:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
            f"p99 {result.p99_ms:.1f} ms, non-2xx {result.non2xx}, "
            f"socket errors {result.socket_errors}{late}{cpu}"
        )
        if result.repeats and name.startswith("response"):  # answers must not repeat
            say(
                f"{backend}: warning: {name} ran out of answers and sent {result.repeats} "
                "again (refused as repeats, so its rate is understated); the workload "
                "is too small for this machine (Sizes.requests)"
            )
        return result

    trivial = run("healthz", path="/healthz", lines=None)
    # A read sends the same lines at its peak and paced: the detective's token, and every
    # resident's token in turn (each listing is a resident opening the app).
    status_path = f"/api/v1/requests/{work.request_id}"
    status_lines = [work.detective_token] * max(1, sizes.connections)
    listing_path = "/api/v1/me/notifications"
    # Each route's paced run follows its own peak at once, and each read's peak is measured
    # again after it: this machine's speed can drift by a fifth within a minute, and a paced
    # rate set from a peak the servers no longer reach measures a queue (the drift is
    # reported, ``{route}_peak_drift``). The response has no answers to spare for a third run.
    peak_runs: dict[str, dict[str, Any]] = {
        "request_status": {"path": status_path, "lines": status_lines},
        "notification_list": {"path": listing_path, "lines": work.resident_tokens},
        "response": {"path": listing_path, "lines": peak_lines, "warmup_lines": peak_warmup},
    }
    # The answers paced are answers of their own: none is answered twice.
    paced_answers = {"lines": paced_lines, "warmup_lines": paced_warmup}
    peaks: dict[str, WrkResult] = {}
    for route, peak_run in peak_runs.items():
        peaks[route] = run(f"{route}_peak", **peak_run)
        paced_run = peak_run | paced_answers if route == "response" else peak_run
        run(f"{route}_paced", **paced_run, rate_per_s=paced_rate(peaks[route]))
        if route in RECHECKED_ROUTES:
            run(f"{route}_peak_after", **peak_run)
    measured = summarise(backend, runs, trivial)
    for route in PACED_ROUTES:
        late = measured[f"{route}_paced_late_share_{backend}"]
        if late > LATE_SHARE_WARNING:
            say(
                f"{backend}: warning: {late:.1%} of {route}'s paced sends "
                "missed their slot; wrk times from the send, so the paced percentiles "
                "understate queueing"
            )
        drift = measured.get(f"{route}_peak_drift_{backend}")
        if drift is not None and abs(drift) > DRIFT_WARNING:
            say(
                f"{backend}: warning: {route}'s peak moved by {drift:+.0%} across its paced "
                "run (each run on freshly started servers): the paced rate was not "
                f"{PACED_SHARE:.0%} of what they could serve meanwhile"
            )
        busy = measured.get(f"{route}_paced_busy_share_{backend}")
        if busy is not None and busy > BUSY_SHARE_WARNING:
            cpu_ratio = measured[f"{route}_paced_cpu_ratio_{backend}"]
            say(
                f"{backend}: warning: at {PACED_SHARE:.0%} of {route}'s peak rate the servers "
                f"were {busy:.0%} as busy as at the peak ({cpu_ratio:.2f}x its CPU per "
                "request): the paced rate was near what they could serve, so its "
                "percentiles measure a queue"
            )
    measured[f"api_processes_{backend}"] = float(topology.api)
    measured[f"wrk_threads_{backend}"] = float(min(wrk_threads(sizes), sizes.connections))
    measured[f"worker_processes_{backend}"] = float(topology.workers)
    return measured


def run_bench_api(
    *, postgres_url: str | None, quick: bool, echo: Callable[[str], None]
) -> dict[str, Any]:
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed: apt-get install -y {tool}")
    sizes = QUICK if quick else FULL
    measured: dict[str, float] = {"duration_s": float(sizes.duration_s)}
    backends = ["sqlite"]
    # The PostgreSQL server is reached before anything is measured: a wrong URL fails at
    # once, not after the SQLite half's minutes of work (which it would throw away).
    pg = None if postgres_url is None else create_scratch_database(postgres_url, prefix=PG_PREFIX)
    try:
        with tempfile.TemporaryDirectory(prefix="canvass-bench-api-") as scratch:
            folder = Path(scratch) / "sqlite"
            url = f"sqlite:///{folder / 'bench.db'}"
            folder.mkdir(parents=True)
            measured |= bench_backend(
                "sqlite", url, Topology(api=1, workers=0), sizes, echo, folder
            )
            if pg is not None:
                backends.append("postgres")
                folder = Path(scratch) / "postgres"
                folder.mkdir()
                measured |= bench_backend(
                    "postgres", pg, Topology(api=2, workers=2), sizes, echo, folder
                )
    finally:
        if pg is not None and postgres_url is not None:
            drop_scratch_database(pg, server_url=postgres_url)
    baseline = {k: v for k, v in measured.items() if k.startswith("healthz_")}
    measured = {k: v for k, v in measured.items() if not k.startswith("healthz_")}
    return {
        "benchmark": BENCHMARK,
        "machine": machine_info() | {"quick": quick},
        "measured": measured,
        "baseline": baseline,
        "targets": check_targets(measured, backends, TARGETS),
    }


def bench_api_command(
    *, postgres_url: str | None, out: Path, echo: Callable[[str], None], quick: bool = False
) -> int:
    """``canvass bench api [--quick]``: prints the figures, writes JSON; 3 if a target is missed."""
    result = run_bench_api(postgres_url=postgres_url, quick=quick, echo=echo)
    write_bench(result, out)
    echo(format_bench(result))
    echo(f"wrote {out}")
    return 0 if all(t["met"] for t in result["targets"]) else 3
