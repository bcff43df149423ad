"""``canvass serve --processes 2``: two API processes answer on one port and stop together.

On PostgreSQL (SQLite is served by one process, and says so in one line). Each
``/metrics`` scrape names the API process that answered it; fresh connections
reach both. SIGTERM to the process group, as a service manager sends it, stops
the supervisor and both API processes cleanly (exit status 0, none left).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx
import pytest

from canvass.cli import main
from tests import databases
from tests.e2e.conftest import (
    canvass_command,
    free_port,
    running,
    seed,
    server_env,
    system_clock,
)
from tests.e2e.test_worker_processes import _alive, _children, _wait_gone

SCRAPES = 40


def api_process_of(text: str) -> str:
    """The pid in ``canvass_api_process{pid="..."} 1``."""
    line = next(line for line in text.splitlines() if line.startswith("canvass_api_process{"))
    return line.split('"')[1]


@pytest.mark.postgres
def test_two_api_processes_answer_on_one_port_and_stop_on_sigterm(tmp_path: Path) -> None:
    databases.skip_or_fail_without_postgres()
    url = databases.create_postgres_database(prefix="canvass_e2e")
    try:
        seeded = seed(url, tmp_path / "data", scratch=tmp_path)
        token = json.loads((tmp_path / "credentials.json").read_text())["metrics_token"]
        port = free_port()
        command = canvass_command(
            "serve", "--port", str(port), "--database-url", url, "--processes", "2"
        )
        env = server_env(seeded.data_dir)
        with running(
            [command], env=env, port=port, log_dir=tmp_path / "logs", clock=system_clock()
        ) as server:
            supervisor = server.processes[0]
            answered = set()
            for _ in range(SCRAPES):  # a new connection each time: either process may take it
                response = httpx.get(
                    server.base_url + "/metrics",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10.0,
                )
                assert response.status_code == 200, response.text
                answered.add(int(api_process_of(response.text)))
            api = {p for p in _children(supervisor.pid) if p in answered}
            assert answered == api, (answered, server.log_tail())
            assert len(answered) == 2, server.log_tail()
            log = server.logs[0].read_text()
            assert log.count("with a worker") == 1, log  # the first embeds the job worker
            os.killpg(supervisor.pid, signal.SIGTERM)  # as a service manager stops a unit
            assert supervisor.wait(timeout=30) == 0, server.log_tail()
            assert _wait_gone(sorted(answered)) == []
            assert not any(_alive(p) for p in answered)
    finally:
        databases.drop_postgres_database(url)


def test_several_processes_on_sqlite_are_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'canvass.db'}"
    assert main(["serve", "--processes", "2", "--database-url", url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("canvass: --processes above 1 needs PostgreSQL"), err
    assert "\n" not in err
