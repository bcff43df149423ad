"""A real app over a migrated SQLite database, with a manual clock and an account per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from system.adapters.db import make_engine
from system.adapters.stores import make_stores
from system.api.app import create_app
from system.api.ratelimit import RateLimits
from system.bootstrap import SqlServiceContext
from system.config import load_settings
from system.domain.accounts import decode_totp_secret, totp
from system.domain.clock import ManualClock
from system.service_layer import accounts, registration
from system.service_layer.context import ServiceContext
from tests import databases
from tests.conftest import T0
from tests.system.consent_world import ConsentWorld, build_consent_world

PASSWORD = "correct horse battery staple"
ROLES = ("detective", "supervisor", "moderator", "resident", "auditor", "admin")


@dataclass
class Login:
    username: str
    account_id: int
    subject_id: int
    totp_secret: str | None


@dataclass
class Api:
    client: TestClient
    ctx: ServiceContext
    clock: ManualClock
    cw: ConsentWorld
    logins: dict[str, Login] = field(default_factory=dict)
    device_token: str = ""
    _tokens: dict[str, str] = field(default_factory=dict)

    def code(self, role: str) -> str:
        secret = self.logins[role].totp_secret
        assert secret is not None
        return totp(decode_totp_secret(secret), at=self.clock.now())

    def login(self, role: str, **form: str) -> str:
        """Log in as ``role`` (a fresh TOTP step each time, so codes are never replayed)."""
        self.clock.advance(timedelta(seconds=31))
        data = {"username": self.logins[role].username, "password": PASSWORD}
        if self.logins[role].totp_secret is not None:
            data["totp"] = self.code(role)
        data.update(form)
        response = self.client.post("/api/v1/auth/token", data=data)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def auth(self, role: str) -> dict[str, str]:
        """Authorization headers for ``role`` (``device`` and ``anonymous`` included)."""
        if role == "anonymous":
            return {}
        if role == "device":
            return {"Authorization": f"Bearer {self.device_token}"}
        if role not in self._tokens:
            self._tokens[role] = self.login(role)
        return {"Authorization": f"Bearer {self._tokens[role]}"}


def make_api(
    tmp_path: Path,
    sqlite_template: Path,
    *,
    limits: RateLimits | None = None,
    **app_options: object,
) -> Iterator[Api]:
    url = databases.fresh_sqlite_copy(sqlite_template, tmp_path)
    engine: Engine = make_engine(url)
    clock = ManualClock(T0)
    ctx = SqlServiceContext(
        engine=engine, clock=clock, content=make_stores(tmp_path / "data", durable=False)
    )
    cw = build_consent_world(ctx, {"alice": (0.0, 0.0)})
    world = cw.world
    supervisor = registration.register_officer(
        ctx,
        agency_id=world.agency_id,
        name="Sue Pervisor",
        email="sup@ncpd.example",
        role="supervisor",
    )
    auditor = registration.register_staff(
        ctx, name="Au Ditor", email="aud@p.example", role="auditor"
    )
    admin = registration.register_staff(ctx, name="Ad Min", email="adm@p.example", role="admin")
    subjects = {
        "detective": world.detective_id,
        "supervisor": supervisor.id,
        "moderator": world.moderator_id,
        "resident": world.residents["alice"],
        "auditor": auditor.id,
        "admin": admin.id,
    }
    settings = load_settings(database_url=url, data_dir=str(tmp_path / "data"))
    app = create_app(settings, ctx=ctx, limits=limits, **app_options)  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as client:
        api = Api(client, ctx, clock, cw)
        for role, subject_id in subjects.items():
            new = accounts.create_account(
                ctx,
                username=f"{role}@canvass.example",
                password=PASSWORD,
                role=role,
                subject_id=subject_id,
            )
            api.logins[role] = Login(new.username, new.account_id, subject_id, new.totp_secret)
        api.device_token = accounts.issue_device_token(
            ctx, camera_id=cw.camera_of["alice"], issued_by="test"
        )
        yield api
    engine.dispose()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with tiny costs: these tests are about the flow, not the hash's strength."""
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", lambda: fast)


@pytest.fixture
def api(tmp_path: Path, sqlite_template: Path) -> Iterator[Api]:
    yield from make_api(tmp_path, sqlite_template)
