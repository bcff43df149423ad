"""Unit tests of the pure account rules: RFC 6238 TOTP, lockout, idle sessions, rate buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from system.api.ratelimit import Rate, RateLimited, TokenBucket
from system.domain.accounts import (
    LoginPolicy,
    after_failure,
    decode_totp_secret,
    encode_totp_secret,
    is_locked,
    provisioning_uri,
    session_ended,
    totp,
    verify_totp,
)

SHA1_KEY = b"12345678901234567890"
SHA256_KEY = b"12345678901234567890123456789012"
SHA512_KEY = b"1234567890123456789012345678901234567890123456789012345678901234"

# RFC 6238 Appendix B: (unix time, SHA1, SHA256, SHA512), 8 digits.
RFC6238_VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]
T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
POLICY = LoginPolicy()


@pytest.mark.parametrize(("unix", "sha1", "sha256", "sha512"), RFC6238_VECTORS)
def test_sec02_totp_matches_the_rfc6238_test_vectors(
    unix: int, sha1: str, sha256: str, sha512: str
) -> None:
    at = datetime.fromtimestamp(unix, UTC)
    assert totp(SHA1_KEY, at=at, digits=8, algorithm="sha1") == sha1
    assert totp(SHA256_KEY, at=at, digits=8, algorithm="sha256") == sha256
    assert totp(SHA512_KEY, at=at, digits=8, algorithm="sha512") == sha512


def test_sec02_a_code_from_the_neighbouring_step_is_accepted_but_not_two_steps_away() -> None:
    previous = totp(SHA1_KEY, at=T0 - timedelta(seconds=30))
    stale = totp(SHA1_KEY, at=T0 - timedelta(seconds=90))
    assert verify_totp(SHA1_KEY, previous, at=T0) is not None
    assert verify_totp(SHA1_KEY, stale, at=T0) is None


def test_sec02_a_code_once_used_cannot_be_replayed() -> None:
    code = totp(SHA1_KEY, at=T0)
    step = verify_totp(SHA1_KEY, code, at=T0)
    assert step is not None
    assert verify_totp(SHA1_KEY, code, at=T0, last_step=step) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "１２３４５６", "12 456"])
def test_sec02_malformed_codes_are_refused(code: str) -> None:
    assert verify_totp(SHA1_KEY, code, at=T0) is None


def test_totp_secrets_round_trip_through_base32_and_the_provisioning_uri() -> None:
    text = encode_totp_secret(SHA1_KEY)
    assert decode_totp_secret(text.lower()) == SHA1_KEY
    assert f"secret={text}" in provisioning_uri(text, username="ana@ncpd.example")
    with pytest.raises(ValueError, match="base32"):
        decode_totp_secret("not base32!")


def test_sec03_the_fifth_failure_locks_for_ten_minutes() -> None:
    failures, locked_until = 0, None
    for _ in range(4):
        outcome = after_failure(failures, now=T0, policy=POLICY)
        failures, locked_until = outcome.failed_logins, outcome.locked_until
        assert not outcome.locked
    outcome = after_failure(failures, now=T0, policy=POLICY)
    assert outcome.locked_until == T0 + timedelta(minutes=10)
    assert outcome.failed_logins == 0
    assert is_locked(outcome.locked_until, now=T0 + timedelta(minutes=9, seconds=59))
    assert not is_locked(outcome.locked_until, now=T0 + timedelta(minutes=10))
    assert not is_locked(locked_until, now=T0)


def test_sec03_a_session_ends_after_30_idle_minutes_its_lifetime_or_revocation() -> None:
    def ended(now: datetime, revoked: datetime | None = None) -> str | None:
        return session_ended(
            last_used_at=T0,
            expires_at=T0 + timedelta(hours=12),
            revoked_at=revoked,
            now=now,
            policy=POLICY,
        )

    assert ended(T0 + timedelta(minutes=29, seconds=59)) is None
    assert ended(T0 + timedelta(minutes=30)) == "idle"
    assert ended(T0 + timedelta(minutes=1), revoked=T0) == "revoked"
    assert ended(T0 + timedelta(hours=12)) == "expired"


def test_sec06_token_bucket_allows_a_burst_then_refuses_until_it_refills() -> None:
    now = [0.0]
    bucket = TokenBucket(Rate(burst=3, per_minute=60), monotonic=lambda: now[0])
    for _ in range(3):
        bucket.take("a")
    with pytest.raises(RateLimited) as refused:
        bucket.take("a")
    assert refused.value.retry_after_s == pytest.approx(1.0)
    bucket.take("b")  # buckets are per key
    now[0] = 1.0
    bucket.take("a")


def test_sec06_token_bucket_forgets_the_least_recently_used_keys_beyond_its_cap() -> None:
    bucket = TokenBucket(Rate(burst=1, per_minute=0), max_keys=2, monotonic=lambda: 0.0)
    bucket.take("a")
    bucket.take("b")
    bucket.take("c")  # evicts "a"
    bucket.take("a")  # a fresh bucket again
    with pytest.raises(RateLimited):
        bucket.take("c")
