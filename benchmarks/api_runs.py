"""The runs of ``bench api``: fresh server processes, and wrk's load against them, parsed.

Every measured run starts its own servers on 127.0.0.1 (:func:`servers`, which
waits for each API's ``/readyz`` and always stops them) so per-process
rate-limit buckets start full, then drives them with one ``wrk`` per API
process (:func:`measure`): closed loop for a peak, or paced on an absolute
schedule at a fixed rate. Each wrk script is assembled from the Lua pieces in
``benchmarks/wrk/``, and wrk's figures are read from the ``WRK_JSON`` line
its ``done()`` prints.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from benchmarks.api_workload import Sizes
from sim.drivers.processes import stop_process_groups

PACED_BACKLOG_S = 1.0  # paced connections: enough for this many seconds of sends in flight
PACED_SETTLE_S = 1
"""A paced run's first send waits this long after its first connection opens: every
connection opens at once, and a server accepting hundreds of them (about 0.2 ms each on
one asyncio process) serves nothing else meanwhile. Measured on 2026-12-06: without the
wait, each paced run on SQLite began with a 64-112 ms pause, which alone set the p99 of a
3 s run. wrk runs this much longer, and the rate and percentiles are of the sends after it
(wrk's ``--duration`` takes whole seconds)."""
MAX_PACED_CONNECTIONS = 512
READY_TIMEOUT_S = 60.0


# --- server processes -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Topology:
    """How many API and separate worker processes a backend runs."""

    api: int
    workers: int


@dataclass(frozen=True)
class Running:
    """The started processes: the APIs' base URLs and every process's id, and the local
    database server's main process (PostgreSQL on this machine; none for SQLite, which
    runs inside the servers, or for a database elsewhere)."""

    urls: list[str]
    pids: list[int]
    database_pids: list[int] = field(default_factory=list)

    def cpu_s(self) -> float | None:
        """CPU seconds (user and system, all threads) the processes and their children (a
        ``canvass worker`` runs its jobs in child processes) have used so far, or ``None``
        where the system has no ``/proc`` to read them from or a process is gone."""
        return _tree_cpu_s(self.pids)

    def database_cpu_s(self) -> float | None:
        """CPU seconds the database server (every backend, forked by its main process)
        has used so far; ``None`` where there is none to read (see the class)."""
        return _tree_cpu_s(self.database_pids) if self.database_pids else None


def _tree_cpu_s(roots: list[int]) -> float | None:
    """CPU seconds of ``roots`` and all their descendants; ``None`` if one is gone or
    there is no ``/proc``."""
    stats = _process_stats()
    if stats is None or any(pid not in stats for pid in roots):
        return None
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    ticks, pending, seen = 0, list(roots), set()
    while pending:
        pid = pending.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        ticks += stats[pid][1]
        pending.extend(children.get(pid, ()))
    return ticks / os.sysconf("SC_CLK_TCK")


def _process_stats() -> dict[int, tuple[int, int, str]] | None:
    """Every process's parent, CPU ticks (user and system) and command name, from
    ``/proc``; ``None`` where there is no ``/proc``."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    stats: dict[int, tuple[int, int, str]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended while being read
        # "pid (comm) state ppid ...": the command name may hold spaces and brackets.
        head, _, tail = stat.rpartition(")")
        fields = tail.split()
        name = head.split("(", 1)[1]
        stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]), name)
    return stats


def local_postgres_pids(database_url: str) -> list[int]:
    """The main process of each PostgreSQL server on this machine (a ``postgres`` process
    whose parent is not one, with ``postgres`` children: its checkpointer and the rest),
    if ``database_url`` points at this machine; else none."""
    if not database_url.startswith("postgresql"):
        return []
    host = make_url(database_url).host
    if host not in (None, "", "localhost", "127.0.0.1", "::1"):
        return []
    stats = _process_stats() or {}
    named = {pid for pid, (_, _, name) in stats.items() if name == "postgres"}
    parents = {stats[pid][0] for pid in named}
    return sorted(pid for pid in named if stats[pid][0] not in named and pid in parents)


@contextmanager
def servers(
    database_url: str, data_dir: Path, topology: Topology, log_dir: Path
) -> Iterator[Running]:
    """Start the processes, wait for every API's ``/readyz``, yield them running; always stop."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANVASS_")}
    env["CANVASS_DATA_DIR"] = str(data_dir)
    db = ["--database-url", database_url]
    ports = [_free_port() for _ in range(topology.api)]
    embedded = topology.workers == 0
    commands = [
        ["serve", "--host", "127.0.0.1", "--port", str(p), *db, "--no-migrate"]
        + ([] if embedded else ["--no-worker"])
        for p in ports
    ] + [["worker", *db, "--concurrency", "1"] for _ in range(topology.workers)]
    log_dir.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i, args in enumerate(commands):
            with (log_dir / f"{i}-{args[0]}.log").open("ab") as log:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "canvass", *args],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        _wait_ready(urls, procs)
        yield Running(urls, [p.pid for p in procs], local_postgres_pids(database_url))
    finally:
        stop_process_groups(procs)


def _wait_ready(urls: list[str], procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a server process exited during start-up; see its log")
        try:
            if httpx.get(pending[0] + "/readyz", timeout=2.0).status_code == 200:
                pending.pop(0)
                continue
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    if pending:
        raise RuntimeError(f"servers not ready within {READY_TIMEOUT_S} s: {pending}")


# --- wrk -------------------------------------------------------------------------------

WRK_SCRIPTS = "wrk"
"""The folder of this package that holds the Lua pieces every wrk script is made of."""


def _lua(name: str) -> str:
    """One piece of a wrk script, from ``benchmarks/wrk/NAME.lua`` (package data)."""
    return (resources.files("benchmarks") / WRK_SCRIPTS / f"{name}.lua").read_text()


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    late: int = 0  # paced sends that missed their slot (all connections were busy)
    paced: int = 0  # paced sends in all
    repeats: int = 0  # sends after a thread ran out of data lines (answers sent twice)
    server_cpu_s: float | None = None
    """CPU the servers and workers used over the wrk run. A paced run's settling second
    is in it (accepting its connections: about 0.1 s of one process), so its cores and
    CPU per request read a few hundredths high."""

    database_cpu_s: float | None = None
    """CPU the local PostgreSQL server used over the wrk run; ``None`` for SQLite (inside
    the servers) or a database not on this machine."""

    @property
    def server_cores(self) -> float | None:
        """Cores the servers and workers kept busy on average over the run."""
        return _per(self.server_cpu_s, self.seconds)

    @property
    def server_cpu_ms_per_request(self) -> float | None:
        """The servers' and workers' CPU milliseconds per request sent (2xx or not)."""
        return _per(self.server_cpu_s, self.requests / 1000.0)

    @property
    def database_cores(self) -> float | None:
        """Cores the local database server kept busy on average over the run."""
        return _per(self.database_cpu_s, self.seconds)

    @property
    def busy_cpu_s(self) -> float | None:
        """All the CPU serving the run took: the servers' and workers', and the database
        server's where it was read."""
        if self.server_cpu_s is None:
            return None
        return self.server_cpu_s + (self.database_cpu_s or 0.0)

    @property
    def per_s(self) -> float:
        """Successful (2xx) answers per second: a refused request is not throughput."""
        ok = self.requests - self.non2xx
        return ok / self.seconds if self.seconds > 0 else 0.0

    @property
    def late_share(self) -> float:
        return self.late / self.paced if self.paced else 0.0


def _per(amount: float | None, per: float) -> float | None:
    return None if amount is None or per <= 0 else amount / per


def _wrk_script(
    folder: Path,
    name: str,
    *,
    lines: list[str] | None,
    path: str,
    threads: int,
    interval_ms: float | None,
) -> Path:
    """The Lua for one wrk run; ``interval_ms`` (per thread) paces it, else closed loop.
    A paced run's schedule starts :data:`PACED_SETTLE_S` after its first connection."""
    text = _lua("setup")
    if lines is not None:
        data = folder / f"{name}.txt"
        data.write_text("\n".join(lines) + "\n")
        text += (
            _lua("rotate")
            .replace("__DATA__", str(data))
            .replace("__THREADS__", str(threads))
            .replace("__PATH__", path)
        )
    if interval_ms is not None:
        text += (
            _lua("pace")
            .replace("__INTERVAL_MS__", f"{interval_ms:.4f}")
            .replace("__SETTLE_MS__", str(1000 * PACED_SETTLE_S))
        )
    script = folder / f"{name}.lua"
    script.write_text(text + _lua("done"))
    return script


def run_wrk(
    url: str,
    *,
    script: Path,
    sizes: Sizes,
    connections: int | None = None,
    settle_s: int = 0,
) -> subprocess.Popen[str]:
    """Start one wrk run, bounded by ``--duration`` and ``--timeout``; see :func:`wrk_result`.
    ``settle_s`` (a paced script's wait before its first send) lengthens the run."""
    conns = connections or sizes.connections
    command = [
        "wrk",
        "--threads",
        str(min(wrk_threads(sizes), conns)),
        "--connections",
        str(conns),
        "--duration",
        f"{sizes.duration_s + settle_s}s",
        "--timeout",
        "5s",
        "--latency",
        "--script",
        str(script),
        url,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_result(proc: subprocess.Popen[str], sizes: Sizes, settle_s: int = 0) -> WrkResult:
    """wrk's figures; its time less ``settle_s``, in which nothing was sent."""
    output, _ = proc.communicate(timeout=sizes.duration_s + settle_s + 30)
    found = re.search(r"^WRK_JSON (.*)$", output, re.MULTILINE)
    if proc.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed (exit {proc.returncode}): {output[-500:]}")
    raw = json.loads(found.group(1))
    return WrkResult(
        requests=raw["requests"],
        seconds=max(0.0, raw["duration_us"] / 1e6 - settle_s),
        non2xx=raw["non2xx"],
        socket_errors=raw["socket_errors"],
        p50_ms=raw["p50_us"] / 1000,
        p95_ms=raw["p95_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        late=raw["late"],
        paced=raw["paced"],
        repeats=raw["repeats"],
    )


def wrk_threads(sizes: Sizes) -> int:
    """wrk's threads: at most half the machine's CPUs, so the load generator does not
    take the CPU the servers are being measured on (one wrk thread drives far more
    requests per second than one Python process serves)."""
    return max(1, min(sizes.threads, (os.cpu_count() or 2) // 2))


def paced_connections(rate_per_s: float, sizes: Sizes) -> int:
    """Enough connections for :data:`PACED_BACKLOG_S` of sends in flight (bounded)."""
    wanted = math.ceil(rate_per_s * PACED_BACKLOG_S)
    return max(sizes.connections, min(MAX_PACED_CONNECTIONS, wanted))


def measure(
    urls: list[str],
    name: str,
    folder: Path,
    sizes: Sizes,
    *,
    path: str,
    lines: list[str] | None = None,
    rate_per_s: float | None = None,
) -> WrkResult:
    """One wrk per API process at once (connections, lines and rate split between them), summed.

    With several processes the percentiles are the worst of the processes' (conservative).
    """
    connections = sizes.connections if rate_per_s is None else paced_connections(rate_per_s, sizes)
    settle_s = 0 if rate_per_s is None else PACED_SETTLE_S
    share = max(1, connections // len(urls))
    threads = min(wrk_threads(sizes), share)
    procs = []
    for i, url in enumerate(urls):
        mine = None if lines is None else lines[i :: len(urls)]
        interval_ms = None if rate_per_s is None else 1000.0 * threads * len(urls) / rate_per_s
        script = _wrk_script(
            folder, f"{name}-{i}", lines=mine, path=path, threads=threads, interval_ms=interval_ms
        )
        procs.append(
            run_wrk(url + path, script=script, sizes=sizes, connections=share, settle_s=settle_s)
        )
    results = [wrk_result(p, sizes, settle_s) for p in procs]
    return WrkResult(
        requests=sum(r.requests for r in results),
        seconds=max(r.seconds for r in results),
        non2xx=sum(r.non2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        p50_ms=max(r.p50_ms for r in results),
        p95_ms=max(r.p95_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        late=sum(r.late for r in results),
        paced=sum(r.paced for r in results),
        repeats=sum(r.repeats for r in results),
    )
