"""Migration 0006 seals the TOTP secrets already stored, and logins keep working (SEC-02)."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from system.adapters.db import make_engine
from system.adapters.migrate import current_revision, downgrade, upgrade
from system.adapters.stores import KeyRingFile, make_stores
from system.bootstrap import SqlServiceContext
from system.domain.accounts import decode_totp_secret, encode_totp_secret, totp
from system.domain.clock import ManualClock
from system.service_layer import accounts
from tests import databases
from tests.conftest import T0
from tests.system.integration.test_migrations import empty_database

SECRET = encode_totp_secret(b"0123456789abcdefghij")
PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sec02_upgrade_seals_existing_totp_secrets_and_the_admin_still_logs_in(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", lambda: fast)
    url = empty_database(backend, tmp_path)
    engine = make_engine(url)
    try:
        upgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO accounts (id, username, password_hash, role, subject_id, "
                    "totp_secret, failed_logins, active, created_at) VALUES (1, 'root', :hash, "
                    "'admin', 1, :secret, 0, :yes, :at)"
                ),
                {"hash": fast.hash(PASSWORD), "secret": SECRET, "yes": True, "at": T0},
            )
        with pytest.raises(RuntimeError, match="accounts key ring"):
            upgrade(engine)  # refuses rather than lose the secret
        assert current_revision(engine) == "0005"

        data = tmp_path / "data"
        upgrade(engine, account_keys=KeyRingFile(data / "keys" / "accounts.keyring"))
        with engine.connect() as conn:
            raw = conn.execute(text("SELECT totp_secret_sealed FROM accounts")).scalar_one()
        assert SECRET not in raw
        assert raw.startswith("v1:k1:")

        ctx = SqlServiceContext(
            engine=engine, clock=ManualClock(T0), content=make_stores(data, durable=False)
        )
        code = totp(decode_totp_secret(SECRET), at=T0)
        issued = accounts.login(
            ctx, username="root", password=PASSWORD, totp_code=code, source_ip=None
        )
        assert issued.access_token

        downgrade(engine, "0005", account_keys=ctx.stores.key_sources["accounts"])
        with engine.connect() as conn:
            plain = conn.execute(text("SELECT totp_secret FROM accounts")).scalar_one()
        assert plain == SECRET
    finally:
        engine.dispose()
        if backend == "postgres":
            databases.drop_postgres_database(url)
