"""The uvicorn server ``canvass serve`` runs: what it says about itself and whom it trusts.

A real uvicorn server over the test app, on a free port of 127.0.0.1, built
with the same :func:`system.serve.server_config` as ``canvass serve``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from pydantic import ValidationError
from sqlalchemy import select

from system.adapters import tables as t
from system.api.app import create_app
from system.config import Settings, load_settings
from system.serve import server_config
from tests.system.api.conftest import Api

TOKEN_URL = "/api/v1/auth/token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def live_server(api: Api, settings: Settings) -> Iterator[str]:
    port = free_port()
    app = create_app(settings, ctx=api.ctx)
    server = uvicorn.Server(server_config(app, settings, host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def failed_login_source(api: Api, base: str) -> str | None:
    """Fail a login with a forged X-Forwarded-For; the source address the audit recorded."""
    with httpx.Client(base_url=base) as client:
        refused = client.post(
            TOKEN_URL,
            data={"username": "nobody@x.example", "password": "not the password"},
            headers={"X-Forwarded-For": "203.0.113.7"},
        )
    assert refused.status_code == 401
    with api.ctx.engine.connect() as conn:
        return conn.execute(
            select(t.audit_entries.c.source_ip)
            .where(t.audit_entries.c.action == "auth.login")
            .order_by(t.audit_entries.c.id.desc())
            .limit(1)
        ).scalar_one()


def test_sec07_responses_do_not_name_the_server_software(api: Api) -> None:
    with live_server(api, load_settings()) as base:
        response = httpx.get(f"{base}/api/v1/public/policy")
    assert response.status_code == 200
    assert "server" not in response.headers


def test_sec06_by_default_no_proxy_is_trusted_so_x_forwarded_for_is_ignored(api: Api) -> None:
    """Per-address login limits count the peer itself, even when a local proxy claims
    to forward for someone else (issue 22, item 8)."""
    with live_server(api, load_settings()) as base:
        assert failed_login_source(api, base) == "127.0.0.1"


def test_sec06_a_trusted_proxy_setting_makes_its_forwarded_address_count(api: Api) -> None:
    with live_server(api, load_settings(trusted_proxies="127.0.0.1")) as base:
        assert failed_login_source(api, base) == "203.0.113.7"


@pytest.mark.parametrize("value", ["*", "not-an-address", "10.0.0.0/33"])
def test_sec06_a_trusted_proxy_must_be_an_address_or_network(value: str) -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        load_settings(trusted_proxies=value)
