"""Real server processes over a seeded database, and HTTP users that log in with TOTP.

``canvass serve`` (and ``canvass worker``) run as subprocesses on a free port
of 127.0.0.1, each with its own data folder; fixtures wait for ``/readyz``
with a deadline and always stop what they started. The database is seeded
in-process with :func:`sim.drivers.seed.seed_database` (a 2,000-home slice of
Nassau), then one resident with a device-token camera and a close neighbour
are given logins, so a request around them notifies both.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from sim.core.counties import nassau
from sim.drivers.processes import stop_process_groups
from sim.drivers.seed import seed_database
from system.adapters import tables as t
from system.adapters.clock import make_clock
from system.bootstrap import build_context
from system.config import load_settings
from system.domain import geo
from system.domain.accounts import decode_totp_secret, totp
from system.domain.clock import Clock
from system.domain.moderation import CHECKLIST_ITEMS
from system.service_layer import accounts

REPO = Path(__file__).resolve().parents[2]
HOMES = 2000
RESIDENT_PASSWORD = "e2e resident password 1"
READY_TIMEOUT_S = 40.0
HTTP_TIMEOUT_S = 30.0

# --- the seeded population --------------------------------------------------------


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    totp_secret: str | None = None


@dataclass(frozen=True)
class Seeded:
    """A seeded database and what the tests need from it (secrets from the credentials file)."""

    database_url: str
    data_dir: Path
    agency_id: int
    staff: dict[str, Account]  # detective1, detective2, supervisor1, moderator, admin, ...
    resident: Account  # owns ``camera_id``, which has a device token
    neighbour: Account  # owns a camera close to it
    camera_id: int
    device_token: str
    centre: tuple[float, float]  # the resident's camera
    radius_m: float  # a circle around ``centre`` that holds the neighbour's camera too


def seed(database_url: str, data_dir: Path, *, scratch: Path) -> Seeded:
    """Seed ``database_url`` (migrating it) and pick the resident pair; about 6 s."""
    settings = load_settings(database_url=database_url, data_dir=str(data_dir))
    county = nassau()
    creds_path = scratch / "credentials.json"
    seed_database(
        settings,
        county=county,
        scale=min(1.0, HOMES / county.households),
        seed=1,
        out=creds_path,
        resident_accounts=0,  # Argon2 costs 0.2 s a hash: only the two residents below
        device_tokens=50,
        echo=lambda _line: None,
    )
    creds = json.loads(creds_path.read_text())
    ctx = build_context(settings)
    try:
        with ctx.uow(read_only=True) as uow:
            cameras = uow.connection.execute(
                select(t.cameras.c.id, t.cameras.c.resident_id, t.cameras.c.lat, t.cameras.c.lon)
            ).all()
            agency_id = uow.connection.execute(select(t.agencies.c.id)).scalar_one()
        tokens = {d["camera_id"]: d["token"] for d in creds["devices"]}
        distance, camera, other = min(
            (geo.distance_m(c.lat, c.lon, o.lat, o.lon), c, o)
            for c in cameras
            if c.id in tokens
            for o in cameras
            if o.resident_id != c.resident_id
        )
        residents = []
        for resident_id in (camera.resident_id, other.resident_id):
            username = f"e2e-resident{resident_id}"
            accounts.create_account(
                ctx,
                username=username,
                password=RESIDENT_PASSWORD,
                role="resident",
                subject_id=resident_id,
                created_by="operator:e2e",
            )
            residents.append(Account(username, RESIDENT_PASSWORD))
    finally:
        ctx.engine.dispose()
    staff = {
        s["username"]: Account(s["username"], s["password"], s["totp_secret"])
        for s in creds["staff"]
    }
    return Seeded(
        database_url=database_url,
        data_dir=data_dir,
        agency_id=agency_id,
        staff=staff,
        resident=residents[0],
        neighbour=residents[1],
        camera_id=camera.id,
        device_token=tokens[camera.id],
        centre=(camera.lat, camera.lon),
        radius_m=max(250.0, distance + 60.0),
    )


def copy_sqlite(source_url: str, target: Path) -> str:
    """A consistent copy of a SQLite database (the backup API, WAL included)."""
    source = sqlite3.connect(source_url.removeprefix("sqlite:///"))
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return f"sqlite:///{target}"


# --- server processes -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """Running ``canvass`` processes; ``clock`` is the server's timeline as seen here."""

    base_url: str
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]
    clock: Clock

    def log_tail(self, lines: int = 30) -> str:
        text = []
        for log in self.logs:
            content = log.read_text(errors="replace").splitlines()[-lines:]
            text.append(f"--- {log.name}\n" + "\n".join(content))
        return "\n".join(text)


def canvass_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "canvass", *args]


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANVASS_")}
    env.update(CANVASS_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO), **extra)
    return env


@contextmanager
def running(
    commands: list[list[str]], *, env: dict[str, str], port: int, log_dir: Path, clock: Clock
) -> Iterator[Server]:
    """Start ``commands`` (the first serves ``port``), wait until ready, always stop them."""
    log_dir.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    server = Server(f"http://127.0.0.1:{port}", processes, logs, clock)
    try:
        for i, command in enumerate(commands):
            log = log_dir / f"{i}-{command[3]}.log"
            logs.append(log)
            with log.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        command,
                        env=env,
                        cwd=log_dir,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        wait_ready(server)
        yield server
    finally:
        stop_process_groups(processes)


def wait_ready(server: Server, timeout_s: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        dead = [p.args for p in server.processes if p.poll() is not None]
        if dead:
            raise RuntimeError(f"a server process exited early: {dead}\n{server.log_tail()}")
        try:
            if httpx.get(server.base_url + "/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready within {timeout_s} s\n{server.log_tail()}")


# --- HTTP users -----------------------------------------------------------------------


@dataclass
class User:
    """One account over HTTP. Logs in lazily; ``relogin`` renews a token that ran out."""

    http: httpx.Client
    account: Account
    clock: Clock
    relogin: bool = False
    token: str | None = None
    logins: int = 0

    def log_in(self, *, attempts: int = 4) -> None:
        for _ in range(attempts):
            form = {"username": self.account.username, "password": self.account.password}
            if self.account.totp_secret is not None:
                form["totp"] = totp(decode_totp_secret(self.account.totp_secret), at=self._soon())
            response = self.http.post("/api/v1/auth/token", data=form)
            self.logins += 1
            if response.status_code == 200:
                self.token = response.json()["access_token"]
                return
            if not self.relogin or response.status_code not in (401, 429):
                break
            time.sleep(0.05)  # a fast clock: the next TOTP step is milliseconds away
        raise AssertionError(f"login of {self.account.username} failed: {response.text}")

    def _soon(self) -> datetime:
        # Where the server's clock will be when it reads the code: a few ms ahead, which
        # matters only for a scaled clock (at 3600x a 30 s TOTP step lasts 8 ms).
        return self.clock.now() + (timedelta(seconds=10) if self.relogin else timedelta(0))

    def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        if self.token is None:
            self.log_in()

        def send() -> httpx.Response:
            auth = {**(headers or {}), "Authorization": f"Bearer {self.token}"}
            return self.http.request(method, path, headers=auth, **kwargs)

        response = send()
        if response.status_code == 401 and self.relogin:
            self.log_in()
            response = send()
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("POST", path, **kwargs)


@dataclass
class Deployment:
    """A running server over a seeded database, with one cached :class:`User` per account."""

    server: Server
    seeded: Seeded
    http: httpx.Client
    relogin: bool = False
    users: dict[str, User] = field(default_factory=dict)

    def user(self, name: str) -> User:
        """A seeded staff username (``detective1``, ``moderator``...) or ``resident``."""
        if name not in self.users:
            account = {"resident": self.seeded.resident, "neighbour": self.seeded.neighbour}.get(
                name
            ) or self.seeded.staff[name]
            self.users[name] = User(self.http, account, self.server.clock, relogin=self.relogin)
        return self.users[name]


@contextmanager
def deployment(server: Server, seeded: Seeded, *, relogin: bool = False) -> Iterator[Deployment]:
    with httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT_S) as http:
        yield Deployment(server, seeded, http, relogin=relogin)


def poll(
    fetch: Callable[[], httpx.Response],
    until: Callable[[httpx.Response], bool],
    *,
    timeout_s: float,
    every_s: float = 0.2,
) -> httpx.Response:
    """Call ``fetch`` until ``until(response)``; the last response is returned either way."""
    deadline = time.monotonic() + timeout_s
    response = fetch()
    while not until(response) and time.monotonic() < deadline:
        time.sleep(every_s)
        response = fetch()
    return response


def system_clock() -> Clock:
    return make_clock("system")


def scaled_clock_env(factor: float) -> tuple[dict[str, str], Clock]:
    """``CANVASS_CLOCK`` and ``CANVASS_CLOCK_ANCHOR`` for a timeline starting now, and its clock."""
    anchor = time.time()
    epoch = datetime.fromtimestamp(anchor, UTC).replace(microsecond=0).isoformat()
    spec = f"scaled:{epoch}:{factor:g}"
    env = {"CANVASS_CLOCK": spec, "CANVASS_CLOCK_ANCHOR": repr(anchor)}
    return env, make_clock(spec, started_at_wall=anchor)


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """The seeded template every SQLite server copies (seeded once per session)."""
    folder = tmp_path_factory.mktemp("e2e-seed")
    return seed(f"sqlite:///{folder / 'seeded.db'}", folder / "data", scratch=folder)


@contextmanager
def sqlite_deployment(
    seeded: Seeded, folder: Path, *, clock_env: dict[str, str], clock: Clock, relogin: bool
) -> Iterator[Deployment]:
    """One ``canvass serve`` (embedded worker) over a copy of the seeded SQLite database."""
    folder.mkdir(parents=True, exist_ok=True)
    url = copy_sqlite(seeded.database_url, folder / "canvass.db")
    copy = Seeded(**{**seeded.__dict__, "database_url": url, "data_dir": folder / "data"})
    # The key rings travel with the database: its TOTP secrets are sealed under them.
    shutil.copytree(seeded.data_dir / "keys", copy.data_dir / "keys")
    port = free_port()
    command = canvass_command("serve", "--port", str(port), "--database-url", url, "--no-migrate")
    env = server_env(copy.data_dir, **clock_env)
    with (
        running([command], env=env, port=port, log_dir=folder / "logs", clock=clock) as server,
        deployment(server, copy, relogin=relogin) as deployed,
    ):
        yield deployed


@pytest.fixture(scope="session")
def sqlite_app(
    seeded_sqlite: Seeded, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """A real server on SQLite with its embedded worker, shared by the e2e tests."""
    folder = tmp_path_factory.mktemp("e2e-sqlite")
    with sqlite_deployment(
        seeded_sqlite, folder, clock_env={}, clock=system_clock(), relogin=False
    ) as deployed:
        yield deployed


# --- the request flow, step by step over HTTP -----------------------------------------

APPROVE_ALL = dict.fromkeys(CHECKLIST_ITEMS, True)
ACTIVATION_TIMEOUT_S = 30.0


def open_case(d: Deployment, case_number: str, detective: str = "detective1") -> int:
    response = d.user(detective).post(
        "/api/v1/cases", json={"case_number": case_number, "incident_type": "package_theft"}
    )
    assert response.status_code == 201, response.text
    case_id: int = response.json()["case_id"]
    return case_id


def request_body(d: Deployment, case_id: int, **changes: Any) -> dict[str, Any]:
    """A valid request around the seeded resident, its window 5 to 2 hours ago (server time)."""
    now = d.server.clock.now()
    lat, lon = d.seeded.centre
    body: dict[str, Any] = {
        "case_id": case_id,
        "incident_type": "package_theft",
        "description": "A parcel was taken from a porch on this street this afternoon.",
        "investigator_contact": "Det. Rivera, 516-555-0100",
        "incident_location": {"lat": lat, "lon": lon},
        "window": {
            "start": (now - timedelta(hours=5)).isoformat(),
            "end": (now - timedelta(hours=2)).isoformat(),
        },
        "area": {
            "kind": "circle",
            "center": {"lat": lat, "lon": lon},
            "radius_m": d.seeded.radius_m,
        },
        "message": "Police are looking for video of a package theft nearby. Sharing is optional.",
    }
    body.update(changes)
    return body


def publish(d: Deployment, case_id: int, detective: str = "detective1") -> int:
    """Submit, review and approve a request; wait until the worker's fan-out made it active."""
    submitted = d.user(detective).post("/api/v1/requests", json=request_body(d, case_id))
    assert submitted.status_code == 201, submitted.text
    request_id: int = submitted.json()["request_id"]
    moderator = d.user("moderator")
    base = f"/api/v1/moderation/requests/{request_id}"
    assert moderator.post(f"{base}/review").status_code == 204
    decision = {"decision": "approve", "reason": "", "checklist": APPROVE_ALL}
    approved = moderator.post(f"{base}/decision", json=decision)
    assert approved.status_code == 204, approved.text
    status = poll(
        lambda: d.user(detective).get(f"/api/v1/requests/{request_id}"),
        lambda r: r.json().get("status") != "approved",
        timeout_s=ACTIVATION_TIMEOUT_S,
    )
    assert status.json()["status"] == "active", (status.text, d.server.log_tail())
    return request_id


def notification_for(d: Deployment, resident: str, request_id: int) -> int:
    notes = d.user(resident).get("/api/v1/me/notifications")
    assert notes.status_code == 200, notes.text
    found = [n["notification_id"] for n in notes.json() if n["request_id"] == request_id]
    assert len(found) == 1, notes.json()
    notification_id: int = found[0]
    return notification_id


# --- the scaled-clock run, in the background while the other tests run --------------

EXPIRY_TEST = "test_con08_a_request_expires_after_its_response_period_on_a_scaled_clock"
CLOCK_FACTOR = 3600.0  # one wall second is one server hour: 7 days take 168 s
EXPIRY_TIMEOUT_S = 230.0


@dataclass
class ExpiryOutcome:
    statuses: list[str] = field(default_factory=list)  # distinct, in the order seen
    final: dict[str, Any] = field(default_factory=dict)
    server_now_at_expiry: datetime | None = None
    wall_s_approval_to_expiry: float | None = None
    logins: int = 0
    error: BaseException | None = None


def expire_on_scaled_clock(d: Deployment, outcome: ExpiryOutcome) -> None:
    """Publish a request on a 3600x clock and poll it until it expires (or time runs out)."""
    case_id = open_case(d, "E2E-SCALED-1")
    approved_wall = time.monotonic()
    request_id = publish(d, case_id)
    detective = d.user("detective1")
    outcome.statuses.append("active")

    def fetch() -> httpx.Response:
        response = detective.get(f"/api/v1/requests/{request_id}")
        status = response.json().get("status")
        if status is not None and status != outcome.statuses[-1]:
            outcome.statuses.append(status)
        return response

    last = poll(
        fetch,
        lambda r: r.json().get("status") == "expired",
        timeout_s=EXPIRY_TIMEOUT_S,
        every_s=0.25,  # faster than the 30-minute idle timeout (0.5 s of wall time)
    )
    outcome.wall_s_approval_to_expiry = time.monotonic() - approved_wall
    outcome.server_now_at_expiry = d.server.clock.now()
    outcome.final = last.json()
    outcome.logins = sum(u.logins for u in d.users.values())


class ExpiryRun:
    """The scaled-clock deployment and its flow on a thread of its own."""

    def __init__(self, seeded: Seeded, folder: Path) -> None:
        self.outcome = ExpiryOutcome()
        self._seeded = seeded
        self._folder = folder
        self._thread = threading.Thread(target=self._run, name="e2e-expiry", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            clock_env, clock = scaled_clock_env(CLOCK_FACTOR)
            with sqlite_deployment(
                self._seeded, self._folder, clock_env=clock_env, clock=clock, relogin=True
            ) as d:
                expire_on_scaled_clock(d, self.outcome)
        except BaseException as exc:  # reported by the test that waits for it
            self.outcome.error = exc

    def wait(self, timeout_s: float = EXPIRY_TIMEOUT_S + 60) -> ExpiryOutcome:
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise AssertionError(f"the scaled-clock run did not finish within {timeout_s} s")
        return self.outcome


@pytest.fixture(scope="session", autouse=True)
def expiry_run(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ExpiryRun | None]:
    """Started first when the expiry test is selected, so its 3 minutes overlap the rest."""
    if not any(item.name == EXPIRY_TEST for item in request.session.items):
        yield None
        return
    seeded: Seeded = request.getfixturevalue("seeded_sqlite")
    run = ExpiryRun(seeded, tmp_path_factory.mktemp("e2e-scaled"))
    run.start()
    yield run
    run.wait()
