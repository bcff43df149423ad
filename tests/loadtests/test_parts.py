"""The locustfile's parts that need no server: TOTP codes, paced budgets, the credentials file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loadtests import totp
from loadtests.credentials import CredentialsError, read_credentials
from loadtests.pacing import Budget
from system.domain.accounts import decode_totp_secret
from system.domain.accounts import totp as system_totp

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # b"12345678901234567890", RFC 6238's


def test_totp_codes_are_rfc_6238s_and_the_servers() -> None:
    assert totp.totp(RFC_SECRET, 59) == "287082"  # the RFC's 94287082, six digits
    assert totp.totp(RFC_SECRET, 1111111109) == "081804"
    at = datetime(2026, 5, 1, 12, 0, 7, tzinfo=UTC)
    assert totp.totp(RFC_SECRET, at.timestamp()) == system_totp(
        decode_totp_secret(RFC_SECRET), at=at
    )


def test_a_budget_grants_the_profiles_counts_replayed_faster() -> None:
    budget = Budget({"answers": [6, 0, 3]}, scale=2.0, speedup=60.0)
    budget.start(at=100.0)
    assert budget.allowed("answers", at=100.5) == pytest.approx(6.0)  # half a replayed minute
    assert budget.allowed("answers", at=103.0) == pytest.approx(18.0)  # all three minutes
    assert budget.allowed("answers", at=200.0) == pytest.approx(18.0)  # and no more
    assert budget.allowed("notifications", at=200.0) == 0.0


def test_a_credentials_file_without_homes_names_what_is_missing(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"agency_id": 1, "staff": [], "residents": [{"username": "r"}]}))
    with pytest.raises(CredentialsError, match=r"old\.json: .* lacks"):
        read_credentials(old)
