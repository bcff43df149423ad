"""Key rotation on real files and a real database (EVD-05, SEC-02).

After a rotation, objects written before it still decrypt, now under the new
key only; objects written after it use the new key; another process sharing the
data directory sees the new ring without a restart; TOTP secrets are resealed
and logins keep working.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select

from canvass.cli import main
from system.adapters.stores import make_stores
from system.adapters.tables_accounts import accounts as accounts_table
from system.adapters.volumes import VolumeContentStore
from system.bootstrap import SqlServiceContext
from system.domain.accounts import AuthenticationFailed, decode_totp_secret, totp
from system.domain.clock import ManualClock
from system.domain.errors import RuleViolation
from system.domain.stores import KeyNotInRing, KeyRing, generate_key
from system.service_layer import accounts, keys, registration
from system.service_layer.context import ServiceContext
from tests import databases
from tests.conftest import T0

LIMIT = 1 << 20
ADMIN = "account:1"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", lambda: fast)


def only(ring: KeyRing, key_id: str) -> KeyRing:
    return KeyRing({key_id: ring.keys[key_id]}, active=key_id)


def test_evd05_rotation_rewraps_old_objects_and_new_objects_use_the_new_key(
    full_ctx: ServiceContext, tmp_path: Path
) -> None:
    stores = full_ctx.stores
    before = [stores.clips.put(f"clip {i}".encode(), max_bytes=LIMIT).sha256 for i in range(3)]
    staged = stores.outbox.put(b"in transit", max_bytes=LIMIT).sha256
    evidence = stores.evidence.put(b"agency item", max_bytes=LIMIT).sha256

    report = keys.rotate_keys(full_ctx, domain="platform", actor=ADMIN)

    assert (report.key_added, report.previous_active, report.active) == (True, "k1", "k2")
    assert {n: (s.rewrapped, s.unchanged, len(s.failed)) for n, s in report.stores.items()} == {
        "clips": (3, 0, 0),
        "outbox": (1, 0, 0),
    }
    ring = stores.key_sources["platform"].current()
    assert sorted(ring.keys) == ["k1", "k2"]  # the old key stays until it is retired
    after = stores.clips.put(b"clip after", max_bytes=LIMIT).sha256

    new_only = VolumeContentStore(tmp_path / "data" / "clips", only(ring, "k2"))
    old_only = VolumeContentStore(tmp_path / "data" / "clips", only(ring, "k1"))
    for i, sha256 in enumerate(before):
        assert stores.clips.read_all(sha256) == f"clip {i}".encode()
        assert new_only.read_all(sha256) == f"clip {i}".encode()
        with pytest.raises(KeyNotInRing):
            old_only.read_all(sha256)  # the old wrap was erased from the header
    assert new_only.read_all(after) == b"clip after"
    with pytest.raises(KeyNotInRing):
        old_only.read_all(after)
    assert stores.outbox.read_all(staged) == b"in transit"
    # The agency's ring and store are another trust domain: untouched.
    assert stores.key_sources["agency"].current().active == "k1"
    assert stores.evidence.read_all(evidence) == b"agency item"

    again = keys.rotate_keys(full_ctx, domain="platform", new_key=False, actor=ADMIN)
    assert (again.stores["clips"].rewrapped, again.stores["clips"].unchanged) == (0, 4)

    with full_ctx.uow(read_only=True) as uow:
        entries = uow.audit.entries(obj="keyring:platform")
        assert uow.audit.verify().ok
    assert [(e.action, e.outcome) for e in entries] == [("keys.rotate", "ok")] * 2
    details = json.loads(entries[0].details_json)
    assert details["clips"] == {"rewrapped": 3, "unchanged": 0, "failed": 0}
    assert ring.to_settings().split(",")[0].split(":")[1] not in entries[0].details_json


def test_evd05_another_process_on_the_same_data_dir_reads_rotated_objects_without_restart(
    full_ctx: ServiceContext, tmp_path: Path
) -> None:
    other = make_stores(tmp_path / "data", durable=False)  # e.g. a `canvass worker`
    sha256 = other.evidence.put(b"delivered", max_bytes=LIMIT).sha256
    assert other.evidence.read_all(sha256) == b"delivered"  # its ring is loaded now

    keys.rotate_keys(full_ctx, domain="agency", actor=ADMIN)

    assert other.evidence.read_all(sha256) == b"delivered"
    written = other.evidence.put(b"written after", max_bytes=LIMIT).sha256
    ring = full_ctx.stores.key_sources["agency"].current()
    new_only = VolumeContentStore(tmp_path / "data" / "evidence", only(ring, "k2"))
    assert new_only.read_all(written) == b"written after"


def test_evd05_a_ring_from_settings_is_not_changed_by_the_system_but_can_be_rewrapped(
    engine: Engine, tmp_path: Path
) -> None:
    old, new = KeyRing({"a": generate_key()}, active="a"), generate_key()
    ctx = SqlServiceContext(
        engine=engine,
        clock=ManualClock(T0),
        content=make_stores(tmp_path / "d", platform_keys=old.to_settings(), durable=False),
    )
    sha256 = ctx.stores.clips.put(b"clip", max_bytes=LIMIT).sha256
    with pytest.raises(RuleViolation) as refused:
        keys.rotate_keys(ctx, domain="platform", actor=ADMIN)
    assert refused.value.field == "new_key"
    assert "CANVASS_PLATFORM_KEYS" in refused.value.message
    with ctx.uow(read_only=True) as uow:
        assert [e.outcome for e in uow.audit.entries(obj="keyring:platform")] == ["denied"]

    # The operator's procedure: add the key to the setting, made active, restart, rewrap.
    both = KeyRing({**old.keys, "b": new}, active="b")
    ctx = SqlServiceContext(
        engine=engine,
        clock=ctx.clock,
        content=make_stores(tmp_path / "d", platform_keys=both.to_settings(), durable=False),
    )
    report = keys.rotate_keys(ctx, domain="platform", new_key=False, actor=ADMIN)
    assert report.stores["clips"].rewrapped == 1
    assert VolumeContentStore(tmp_path / "d" / "clips", only(both, "b")).read_all(sha256) == b"clip"


def staff_login(ctx: ServiceContext, username: str, secret: str) -> str:
    assert isinstance(ctx.clock, ManualClock)
    ctx.clock.advance(timedelta(seconds=31))  # a fresh TOTP step: codes are never replayed
    return accounts.login(
        ctx,
        username=username,
        password="correct horse battery staple",
        totp_code=totp(decode_totp_secret(secret), at=ctx.clock.now()),
        source_ip="127.0.0.1",
    ).access_token


def make_admin(ctx: ServiceContext, username: str = "root@p.example") -> tuple[int, str]:
    staff = registration.register_staff(ctx, name="Ad Min", email=username, role="admin")
    made = accounts.create_account(
        ctx,
        username=username,
        password="correct horse battery staple",
        role="admin",
        subject_id=staff.id,
    )
    assert made.totp_secret is not None
    return made.account_id, made.totp_secret


def raw_sealed(ctx: ServiceContext, account_id: int) -> str:
    with ctx.uow(read_only=True) as uow:
        value = uow.connection.execute(
            select(accounts_table.c.totp_secret_sealed).where(accounts_table.c.id == account_id)
        ).scalar_one()
    assert isinstance(value, str)
    return value


def test_sec02_totp_secrets_are_sealed_at_rest_and_login_still_works(
    full_ctx: ServiceContext,
) -> None:
    account_id, secret = make_admin(full_ctx)

    stored = raw_sealed(full_ctx, account_id)
    assert secret not in stored
    assert secret.lower() not in stored.lower()
    assert stored.startswith("v1:k1:")
    assert staff_login(full_ctx, "root@p.example", secret)


def test_sec02_rotating_the_accounts_ring_reseals_every_secret_and_logins_keep_working(
    full_ctx: ServiceContext,
) -> None:
    first, first_secret = make_admin(full_ctx)
    _, second_secret = make_admin(full_ctx, "ops@p.example")
    before = raw_sealed(full_ctx, first)

    report = keys.rotate_keys(full_ctx, domain="accounts", actor=ADMIN)

    summary = report.stores["totp_secrets"]
    assert (summary.rewrapped, summary.unchanged, dict(summary.failed)) == (2, 0, {})
    assert raw_sealed(full_ctx, first) != before
    assert raw_sealed(full_ctx, first).startswith("v1:k2:")
    assert staff_login(full_ctx, "root@p.example", first_secret)
    assert staff_login(full_ctx, "ops@p.example", second_secret)


def test_sec02_a_sealed_secret_copied_onto_another_account_does_not_open(
    full_ctx: ServiceContext,
) -> None:
    victim, _ = make_admin(full_ctx)
    attacker, attacker_secret = make_admin(full_ctx, "mallory@p.example")
    with full_ctx.uow() as uow:
        uow.connection.execute(
            accounts_table.update()
            .where(accounts_table.c.id == victim)
            .values(totp_secret_sealed=raw_sealed(full_ctx, attacker))
        )
        uow.commit()
    with pytest.raises(AuthenticationFailed):
        staff_login(full_ctx, "root@p.example", attacker_secret)
    with full_ctx.uow(read_only=True) as uow:
        failures = uow.audit.entries(obj=f"account:{victim}")
    assert json.loads(failures[-1].details_json)["reason"] == "totp"


def test_canvass_keys_rotate_and_list_on_the_command_line(
    tmp_path: Path,
    sqlite_template: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = databases.fresh_sqlite_copy(sqlite_template, tmp_path)
    data = tmp_path / "data"
    stores = make_stores(data, durable=False)
    sha256 = stores.evidence.put(b"evidence", max_bytes=LIMIT).sha256
    monkeypatch.delenv("CANVASS_AGENCY_KEYS", raising=False)

    status = main(["keys", "rotate", "agency", "--database-url", url, "--data-dir", str(data)])
    out = capsys.readouterr().out
    assert status == 0
    assert "agency: key k2 added and activated (was k1)" in out
    assert "evidence: 1 rewrapped, 0 already current, 0 failed" in out
    assert stores.evidence.read_all(sha256) == b"evidence"

    assert main(["keys", "list", "--database-url", url, "--data-dir", str(data)]) == 0
    listed = capsys.readouterr().out
    assert "agency: active k2; keys k1, k2 (from file)" in listed
    assert stores.key_sources["agency"].current().to_settings().split(":")[1] not in listed

    with pytest.raises(SystemExit) as bad:
        main(["keys", "rotate", "nowhere", "--data-dir", str(data)])
    assert bad.value.code == 2
