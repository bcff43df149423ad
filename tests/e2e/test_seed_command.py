"""``canvass seed``: a database and a credentials file an engineer can load-test with at once.

The command runs as a real process; a real ``canvass serve`` on the seeded
database then accepts the written logins (staff with their TOTP secrets,
residents with passwords) and device tokens.
"""

from __future__ import annotations

import json
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx

from system.domain.accounts import decode_totp_secret, totp
from tests.e2e.conftest import (
    HTTP_TIMEOUT_S,
    canvass_command,
    free_port,
    running,
    server_env,
    system_clock,
)


def seed(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        canvass_command("seed", *args),
        env=server_env(tmp_path / "data"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_seed_writes_private_credentials_that_a_running_server_accepts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seeded.db'}"
    out = tmp_path / "creds.json"
    done = seed(
        tmp_path,
        *("--homes", "300", "--database-url", url, "--out", str(out)),
        *("--resident-accounts", "2", "--device-tokens", "3"),
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # passwords and TOTP secrets inside
    creds = json.loads(out.read_text())
    staff = {s["username"]: s for s in creds["staff"]}
    assert {"detective1", "supervisor1", "moderator", "auditor", "admin"} <= set(staff)
    assert all(s["totp_secret"] for s in creds["staff"])  # SEC-02: staff need a second factor
    assert len(creds["residents"]) == 2
    assert len(creds["devices"]) == 3
    assert creds["agency_id"] == 1
    # Where the load can reach: the logged-in residents' homes and cameras come first.
    owners = {r["subject_id"]: r for r in creds["residents"]}
    assert all({"lat", "lon"} <= set(r["home"]) and r["cameras"] for r in owners.values())
    first = next(d for d in creds["devices"] if d["resident_id"] in owners)
    assert {"camera_id": first["camera_id"], "lat": first["lat"], "lon": first["lon"]} in owners[
        first["resident_id"]
    ]["cameras"]

    port = free_port()
    command = canvass_command("serve", "--port", str(port), "--database-url", url)
    with (
        running(
            [command],
            env=server_env(tmp_path / "data"),
            port=port,
            log_dir=tmp_path / "logs",
            clock=system_clock(),
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT_S) as http,
    ):

        def log_in(account: dict[str, str]) -> dict[str, str]:
            form = {"username": account["username"], "password": account["password"]}
            if account.get("totp_secret"):
                secret = decode_totp_secret(account["totp_secret"])
                form["totp"] = totp(secret, at=datetime.now(UTC))
            response = http.post("/api/v1/auth/token", data=form)
            assert response.status_code == 200, response.text
            return {"Authorization": f"Bearer {response.json()['access_token']}"}

        detective = log_in(staff["detective1"])
        assert http.get("/api/v1/requests/1", headers=detective).status_code == 404
        resident = log_in(creds["residents"][0])
        assert http.get("/api/v1/me/notifications", headers=resident).json() == []
        device = {"Authorization": f"Bearer {creds['devices'][0]['token']}"}
        refused = http.post("/api/v1/devices/clips", headers=device, content=b"not a clip")
        assert refused.status_code not in (401, 403)  # the token is accepted; the body is not
        assert refused.status_code < 500


def test_seed_needs_exactly_one_source_of_homes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unused.db'}"
    both = seed(tmp_path, "--homes", "100", "--scenario", "tiny", "--database-url", url)
    neither = seed(tmp_path, "--database-url", url)
    for done in (both, neither):
        assert done.returncode == 2
        assert "give exactly one of --scenario SCENARIO or --homes N" in done.stderr
        assert "Traceback" not in done.stderr


def test_seed_takes_the_county_from_a_scenario(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tiny.db'}"
    out = tmp_path / "tiny-creds.json"
    done = seed(
        tmp_path,
        *("--scenario", "tiny", "--database-url", url, "--out", str(out)),
        *("--resident-accounts", "0", "--device-tokens", "1"),
    )
    assert done.returncode == 0, done.stderr
    assert "homes" in done.stdout  # e.g. "365 homes, 110 camera owners, 137 cameras"
    assert json.loads(out.read_text())["database_url"] == url
