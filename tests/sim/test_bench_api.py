"""bench api's wrk plumbing: rotating scripts, bounded runs, parsed results (no server needed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sim.drivers.bench_api import QUICK, Sizes, _free_port, _wrk_script, measure

TINY = Sizes(duration_s=1, connections=4, threads=2, homes=0, requests=0, residents=0)


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
        tmp_path, "rot", lines=["tok 1", "tok 2"], path="/x", threads=2, delay_ms=5.0
    )
    text = script.read_text()
    assert "local step = 2" in text
    assert "return 5.000" in text
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
