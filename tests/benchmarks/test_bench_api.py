"""bench api's wrk plumbing: rotating scripts, bounded runs, parsed results (no server needed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from benchmarks import bench_api
from benchmarks.api_runs import _free_port, _wrk_script
from benchmarks.bench_api import (
    FULL,
    QUICK,
    TARGETS,
    Sizes,
    WrkResult,
    answer_capacity_per_s,
    answers_allowed,
    measure,
    summarise,
)
from benchmarks.bench_system import check_targets

TINY = Sizes(duration_s=1, warmup_s=1, connections=4, threads=2, homes=0, requests=0, residents=0)


@pytest.fixture
def static_server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "healthz").write_text("ok")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_each_wrk_thread_takes_its_own_lines(tmp_path: Path) -> None:
    script = _wrk_script(
        tmp_path, "rot", lines=["tok 1", "tok 2"], path="/x", threads=2, interval_ms=5.0
    )
    text = script.read_text()
    assert "local step = 2" in text
    assert "local interval_ms = 5.0000" in text
    assert (tmp_path / "rot.txt").read_text() == "tok 1\ntok 2\n"


@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
)
def test_a_bounded_wrk_run_is_parsed_and_counts_failures(
    static_server: str, tmp_path: Path
) -> None:
    ok = measure([static_server], "ok", tmp_path, TINY, path="/healthz")
    assert ok.requests > 0
    assert ok.non2xx == 0
    assert 0 < ok.p50_ms <= ok.p99_ms
    missing = measure([static_server], "missing", tmp_path, TINY, path="/nope")
    assert missing.non2xx == missing.requests > 0
    assert QUICK.duration_s <= 5  # CI's variant stays a few seconds per run


SLOW_SERVER = """
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        time.sleep(0.1)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

class Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog of 5 drops wrk's simultaneous connects

Server(("127.0.0.1", int(sys.argv[1])), Slow).serve_forever()
"""


@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
)
def test_a_paced_run_keeps_its_rate_when_each_answer_takes_100_ms(tmp_path: Path) -> None:
    """An absolute schedule: a pause after each answer would lower the rate by the latency."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SERVER, str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        sizes = replace(TINY, duration_s=2)
        paced = measure([url], "paced", tmp_path, sizes, path="/", rate_per_s=30.0)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert paced.non2xx == 0
    assert 25 <= paced.per_s <= 33  # a fixed pause after each answer gave about 15/s here
    assert paced.p50_ms >= 100
    assert paced.late_share < 0.05


@pytest.mark.parametrize("sizes", [QUICK, FULL], ids=["quick", "full"])
def test_response_runs_have_answers_to_spare_and_the_rate_limit_lets_them_through(
    sizes: Sizes,
) -> None:
    # The answers' peak reached 4,000/s on SQLite on this 2-core machine: a run that
    # cannot send more than that would repeat answers (refused) and understate the peak.
    assert answer_capacity_per_s(sizes) >= 5_000
    per_resident_per_run = sizes.requests / 2  # a response run and its warm-up
    assert per_resident_per_run <= answers_allowed(sizes)


def _result(per_s: float, p99_ms: float, *, late: int = 0) -> WrkResult:
    return WrkResult(
        requests=int(per_s * 10),
        seconds=10.0,
        non2xx=0,
        socket_errors=0,
        p50_ms=p99_ms / 4,
        p95_ms=p99_ms / 2,
        p99_ms=p99_ms,
        late=late,
        paced=100 if late else 0,
    )


def test_each_read_is_paced_at_80_percent_of_its_own_peak_and_judged_on_its_p99() -> None:
    runs = {
        "healthz": _result(2000, 30),
        "request_status_peak": _result(1000, 900),
        "notification_list_peak": _result(500, 2000),
        "response_peak": _result(1600, 60),
        "request_status_paced": _result(800, 40),
        "notification_list_paced": _result(400, 120, late=3),
        "response_paced": _result(1280, 20),
    }
    measured = summarise("sqlite", runs, runs["healthz"])
    assert measured["request_status_paced_rate_per_s_sqlite"] == pytest.approx(800)
    assert measured["notification_list_paced_rate_per_s_sqlite"] == pytest.approx(400)
    assert measured["response_paced_rate_per_s_sqlite"] == pytest.approx(1280)
    assert measured["notification_list_paced_late_share_sqlite"] == pytest.approx(0.03)
    assert measured["response_peak_ratio_sqlite"] == pytest.approx(0.8)
    verdicts = {t["name"]: t["met"] for t in check_targets(measured, ["sqlite"], TARGETS)}
    assert verdicts == {
        "response_peak_ratio_sqlite": True,
        "response_p99_ms_sqlite": True,
        "request_status_p99_ms_sqlite": True,  # the paced 40 ms, not the peak's 900
        "notification_list_p99_ms_sqlite": False,  # 120 ms
    }
    assert {t.metric: (t.op, t.value) for t in TARGETS}["notification_list_p99_ms"] == ("<", 100)


@pytest.mark.parametrize("sizes", [QUICK, FULL], ids=["quick", "full"])
def test_listing_runs_stay_within_the_residents_rate_limit(sizes: Sizes) -> None:
    # A listing run (and its warm-up) spreads over every resident's token: at 3,000
    # listings/s (several times the fixed listing's peak) none meets its limit (SEC-06).
    residents = 242 if sizes is QUICK else sizes.residents  # QUICK's circle holds 242
    per_resident = 3_000 * (sizes.warmup_s + sizes.duration_s) / residents
    assert per_resident <= answers_allowed(sizes)


def test_an_unreachable_postgresql_fails_before_anything_is_measured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The SQLite half takes minutes; a wrong PostgreSQL URL must not throw them away.
    measured: list[str] = []
    monkeypatch.setattr(shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(
        bench_api, "bench_backend", lambda backend, *args, **kwargs: measured.append(backend)
    )
    nothing_listens = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/postgres"
    started = time.perf_counter()
    with pytest.raises(OperationalError, match="connection"):
        bench_api.run_bench_api(postgres_url=nothing_listens, quick=True, echo=lambda _l: None)
    assert measured == []
    assert time.perf_counter() - started < 30
