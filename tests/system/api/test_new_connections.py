"""A client that connects while the API is busy is answered about as soon as the busy ones.

``canvass serve`` runs as a subprocess (its own event loop, as deployed) over an
empty migrated SQLite database. Clients already connected ask ``/healthz`` in a
closed loop; then as many new clients connect and ask once. On uvloop, which
accepts one connection per turn of the loop, the newcomers' first answers came
a median 10-20 times later than the busy clients' answers (issue 21); the server
runs asyncio's loop, which accepts every waiting connection at once.
"""

from __future__ import annotations

import os
import selectors
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sim.drivers.processes import stop_process_groups

BUSY = 32
NEWCOMERS = 32
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: canvass\r\n\r\n"
READY_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANVASS_")}
    env["CANVASS_DATA_DIR"] = str(tmp_path / "data")
    command = [
        sys.executable,
        "-m",
        "canvass",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database-url",
        f"sqlite:///{tmp_path / 'canvass.db'}",
        "--no-worker",
    ]
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "canvass serve was not ready in time"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield port
    finally:
        stop_process_groups([process])


class Client:
    """One keep-alive connection that sends a request and times its answer."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.buffer = b""
        self.sent_at = 0.0

    def send(self) -> None:
        self.buffer = b""
        self.sent_at = time.perf_counter()
        self.sock.sendall(REQUEST)

    def answered(self) -> bool:
        """Read what arrived; whether a whole answer is in (``/healthz`` has a length)."""
        self.buffer += self.sock.recv(65536)
        head, found, body = self.buffer.partition(b"\r\n\r\n")
        if not found:
            return False
        assert head.startswith(b"HTTP/1.1 200"), head[:80]
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return len(body) >= length


def test_a_new_client_is_answered_while_busy_clients_keep_the_server_busy(server: int) -> None:
    selector = selectors.DefaultSelector()
    busy = [Client(server) for _ in range(BUSY)]
    busy_seconds: list[float] = []
    newcomer_seconds: list[float] = []
    for client in busy:
        selector.register(client.sock, selectors.EVENT_READ, (client, False))
        client.send()
    started = time.monotonic()
    newcomers: list[Client] = []
    while len(newcomer_seconds) < NEWCOMERS:
        assert time.monotonic() - started < 30, "newcomers not answered within 30 s"
        if not newcomers and time.monotonic() - started > 1.0:  # the server is busy by now
            newcomers = [Client(server) for _ in range(NEWCOMERS)]
            for client in newcomers:
                selector.register(client.sock, selectors.EVENT_READ, (client, True))
                client.send()
        for key, _ in selector.select(timeout=0.1):
            client, newcomer = key.data
            if not client.answered():
                continue
            seconds = time.perf_counter() - client.sent_at
            if newcomer:
                newcomer_seconds.append(seconds)
                selector.unregister(client.sock)
            else:
                if newcomers:
                    busy_seconds.append(seconds)
                client.send()
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    busy_median = statistics.median(busy_seconds)
    newcomer_median = statistics.median(newcomer_seconds)
    # Accepted at once, a newcomer waits about one turn of the loop, as a busy client does.
    assert newcomer_median < 3 * busy_median + 0.01, (newcomer_median, busy_median)
