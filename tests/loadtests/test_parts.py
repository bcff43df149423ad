"""The locustfile's parts that need no server: TOTP codes, paced budgets, the credentials file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loadtests import schedules, totp
from loadtests.credentials import CredentialsError, read_credentials
from loadtests.gate import county_hour_lines
from loadtests.pacing import Budget
from loadtests.profile import HourProfile
from loadtests.slo import (
    DEFAULT_FILE,
    Figures,
    Latency,
    SloFileError,
    Thresholds,
    judge,
    read_thresholds,
)
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


def test_a_budget_is_caught_up_once_every_permit_of_the_replay_is_used() -> None:
    budget = Budget({"answers": [2, 1], "notifications": [0, 1]}, scale=1.5, speedup=60.0)
    budget.start(at=0.0)
    assert (budget.total("answers"), budget.total("notifications")) == (4, 1)  # 4.5 -> 4
    budget.done = {"answers": 4}
    assert not budget.caught_up()  # the one notification read is still to come
    budget.done["notifications"] = 1
    assert budget.caught_up()


def test_a_replayed_hour_drains_until_caught_up_or_the_drain_runs_out() -> None:
    hour = {"users": 6, "spawn_rate": 6.0, "replay_s": 30.0, "drain_s": 30.0}
    assert schedules.replay(29.0, **hour, caught_up=True) == (6, 6.0)  # the hour comes first
    assert schedules.replay(31.0, **hour, caught_up=False) == (6, 6.0)  # lagging work drains
    assert schedules.replay(31.0, **hour, caught_up=True) is None
    assert schedules.replay(60.0, **hour, caught_up=False) is None  # and not forever


def test_a_replay_names_the_operations_short_of_the_profile_and_why_they_may_be() -> None:
    hour = HourProfile({"notifications": [10, 10], "moderation_decisions": [1, 0]}, 1.0)
    entries = {"GET /api/v1/me/notifications": Figures(19, 0, {5: 19})}
    lines = county_hour_lines(entries, hour, counties=2.0, speedup=60.0)
    assert lines[1:3] == [
        "  notifications: 19 achieved, 40 in the profile (48%)",
        "  moderation_decisions: 0 achieved, 2 in the profile (0%)",
    ]
    assert lines[3].startswith("  short of the profile: notifications, moderation_decisions: ")
    assert "raise --users or --canvass-pace" in lines[3]
    assert "a decision needs a request submitted in the replay" in lines[3]
    entries["POST /api/v1/moderation/requests/[id]/decision"] = Figures(2, 0, {5: 2})
    entries["GET /api/v1/me/notifications"] = Figures(37, 0, {5: 37})  # within 10%
    assert len(county_hour_lines(entries, hour, counties=2.0, speedup=60.0)) == 3  # none short


def test_a_credentials_file_without_homes_names_what_is_missing(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"agency_id": 1, "staff": [], "residents": [{"username": "r"}]}))
    with pytest.raises(CredentialsError, match=r"old\.json: .* lacks"):
        read_credentials(old)


def test_unknown_slo_keys_are_errors_naming_the_key_and_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "slo.toml"
    bad.write_text("[latency]\np95 = 100\n")
    with pytest.raises(SloFileError, match=r"slo\.toml: unknown key latency\.p95"):
        read_thresholds(bad)


def test_the_shipped_slo_files_hold_the_documented_defaults() -> None:
    default = read_thresholds(DEFAULT_FILE)
    assert default.max_error_rate == 0.001
    assert default.latency == Latency(250.0, 1000.0)
    assert default.journey_p95_s == 60.0
    assert default.fan_out_max_s == 60.0  # PERF-01: every resident within 60 s of approval
    assert default.share_to_evidence_p95_s == 300.0  # PERF-02: 5 minutes at p95
    ci = read_thresholds(DEFAULT_FILE.with_name("slo-ci.toml"))
    assert ci.latency.p95_ms > default.latency.p95_ms  # looser for CI's small machine
    assert ci.fan_out_max_s > default.fan_out_max_s
    assert ci.share_to_evidence_p95_s > default.share_to_evidence_p95_s


def test_the_gate_names_each_broken_threshold_with_measured_value_and_limit() -> None:
    entries = {
        "GET /api/v1/me/notifications": Figures(1000, 2, {10: 900, 400: 100}),
        "journey request to first evidence": Figures(10, 0, {20_000: 9, 90_000: 1}),
    }
    broken = [str(b) for b in judge(entries, Thresholds())]
    assert broken == [
        "SLO broken: error rate (all requests): measured 0.19802 %, limit 0.1 %",
        "SLO broken: p95 of GET /api/v1/me/notifications: measured 400 ms, limit 250 ms",
        "SLO broken: p95 of journey request to first evidence: measured 90 s, limit 60 s",
    ]


def test_perf_01_is_judged_on_its_slowest_resident_and_perf_02_on_its_p95() -> None:
    entries = {
        # 99 residents notified within 5 s, one after 70 s: PERF-01 wants every one in 60.
        "perf-01 approval to notification": Figures(100, 0, {5_000: 99, 70_000: 1}),
        "perf-02 share to evidence": Figures(20, 0, {30_000: 19, 400_000: 1}),
    }
    assert [str(b) for b in judge(entries, Thresholds())] == [
        "SLO broken: slowest of perf-01 approval to notification: measured 70 s, limit 60 s",
    ]
    entries["perf-02 share to evidence"] = Figures(20, 0, {30_000: 18, 400_000: 2})
    assert [str(b) for b in judge(entries, Thresholds())][1:] == [
        "SLO broken: p95 of perf-02 share to evidence: measured 400 s, limit 300 s",
    ]


def test_steady_holds_the_users_until_the_run_time_and_spike_multiplies_the_middle_fifth() -> None:
    level = {"users": 4, "spawn_rate": 4.0}
    assert schedules.steady(5, **level, run_time_s=10) == (4, 4.0)
    assert schedules.steady(10.5, **level, run_time_s=10) is None
    assert schedules.steady(1e6, **level, run_time_s=None) == (4, 4.0)  # until Ctrl-C
    spike = {**level, "run_time_s": 10.0, "factor": 4.0}
    ticks = [schedules.spike(t, **spike) for t in (3, 5, 7, 10)]
    assert ticks == [(4, 4.0), (16, 16.0), (4, 4.0), None]


def test_a_capacity_search_adds_users_each_step() -> None:
    assert [schedules.step_users(s, start=4, added=4) for s in range(3)] == [4, 8, 12]
