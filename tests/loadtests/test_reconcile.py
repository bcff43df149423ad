"""Reconciliation: the system's counts against Locust's ledger, in pure parts and for real.

The slow tests run Locust (a few users, 20 seconds) against a seeded server on
127.0.0.1, snapshot ``/metrics`` before and reconcile after, as an engineer would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests import reconcile
from loadtests.ledger import DROP_ONE_ENV, OPERATIONS, Ledger, read_ledgers, worker_file
from tests.loadtests.conftest import Target, run_locust

BEFORE = {
    "canvass_clips": 10.0,
    'canvass_responses{decision="share"}': 1.0,
    'canvass_responses{decision="decline"}': 2.0,
    'canvass_transfers{status="delivered"}': 1.0,
    "canvass_evidence_items": 1.0,
    'canvass_jobs{status="dead"}': 0.0,
}
AFTER = {
    "canvass_clips": 15.0,
    'canvass_responses{decision="share"}': 3.0,
    'canvass_responses{decision="decline"}': 3.0,
    'canvass_transfers{status="delivered"}': 4.0,
    'canvass_transfers{status="withdrawn"}': 1.0,
    "canvass_evidence_items": 4.0,
    'canvass_jobs{status="dead"}': 0.0,
}
SEEN = {
    "clip_uploads": 5,
    "answers": 3,
    "shares": 2,
    "declines": 1,
    "clips_shared": 4,
    "evidence_downloads": 2,
    "hash_mismatches": 0,
}


def broken(checks: list[reconcile.Check]) -> list[str]:
    return [c.operation for c in checks if not c.ok]


def test_counts_that_grew_by_what_locust_saw_reconcile() -> None:
    checks = reconcile.reconcile(BEFORE, AFTER, SEEN, audit_ok=True)
    assert broken(checks) == []
    lines, code = reconcile.report(checks)
    assert code == 0
    assert lines[0].startswith("reconciled")


def test_an_answer_locust_did_not_count_breaks_answers_and_exits_3() -> None:
    checks = reconcile.reconcile(BEFORE, AFTER, {**SEEN, "answers": 2}, audit_ok=True)
    assert broken(checks) == ["answers"]
    lines, code = reconcile.report(checks)
    assert code == 3
    assert lines[0] == "reconciliation broken: answers"


def test_a_lost_evidence_item_a_hash_mismatch_a_dead_job_and_a_bad_chain_are_named() -> None:
    after = {**AFTER, "canvass_evidence_items": 3.0, 'canvass_jobs{status="dead"}': 1.0}
    checks = reconcile.reconcile(
        BEFORE, after, {**SEEN, "hash_mismatches": 1}, audit_ok=False, audit_problem="hash"
    )
    assert broken(checks) == [
        "evidence_items",
        "evidence_hashes",
        "jobs_dead_lettered",
        "audit_chain",
    ]


def test_transfers_left_queued_are_unfinished() -> None:
    after = {**AFTER, 'canvass_transfers{status="queued"}': 2.0}
    assert "transfers_done" in broken(reconcile.reconcile(BEFORE, after, SEEN, audit_ok=True))


def test_transfers_in_flight_before_the_run_may_finish_during_it() -> None:
    # Three transfers queued before the run were delivered during it, with their items.
    before = {**BEFORE, 'canvass_transfers{status="queued"}': 3.0}
    after = {
        **AFTER,
        'canvass_transfers{status="delivered"}': 7.0,
        "canvass_evidence_items": 7.0,
    }
    checks = reconcile.reconcile(before, after, SEEN, audit_ok=True)
    assert broken(checks) == []
    left = {**after, 'canvass_transfers{status="queued"}': 4.0}  # one more than it found
    assert broken(reconcile.reconcile(before, left, SEEN, audit_ok=True)) == [
        "clips_shared",
        "transfers_done",
    ]


def test_metrics_text_parses_into_series_with_their_labels() -> None:
    text = '# HELP x\ncanvass_clips 12\ncanvass_transfers{status="queued"} 3\n'
    assert reconcile.parse_metrics(text) == {
        "canvass_clips": 12.0,
        'canvass_transfers{status="queued"}': 3.0,
    }


def test_the_drop_hook_leaves_one_success_uncounted_and_workers_add_up(tmp_path: Path) -> None:
    ledger = Ledger(drop_one="answers")
    for _ in range(3):
        ledger.count("answers")
    assert ledger.as_dict()["answers"] == 2
    path = tmp_path / "ledger.json"
    ledger.write(worker_file(path, 0))
    Ledger().write(worker_file(path, 1))
    (tmp_path / "ledger.worker1.json").write_text(json.dumps({"answers": 4}))
    assert read_ledgers(path)["answers"] == 6
    assert set(read_ledgers(path)) == set(OPERATIONS)


def reconciled_run(
    target: Target, folder: Path, monkeypatch: pytest.MonkeyPatch, drop: str | None
) -> tuple[int, str]:
    host, credentials = target.server.base_url, target.credentials
    before = folder / "before.json"
    common = ["--host", host, "--credentials", str(credentials)]
    assert reconcile.main(["snapshot", *common, "--out", str(before)]) == 0
    if drop:
        monkeypatch.setenv(DROP_ONE_ENV, drop)
    ledger = folder / "ledger.json"
    run = run_locust(target, folder, "--canvass-pace", "2", "--canvass-ledger", str(ledger))
    assert run.returncode == 0, run.output[-3000:]
    out = folder / "reconciliation.json"
    code = reconcile.main(
        ["check", *common, "--before", str(before), "--ledger", str(ledger), "--out", str(out)]
    )
    return code, out.read_text()


@pytest.mark.slow
def test_a_run_reconciles_exactly(
    target: Target,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, written = reconciled_run(target, tmp_path, monkeypatch, drop=None)
    printed = capsys.readouterr().out
    assert code == 0, printed
    result = json.loads(written)
    assert result["ok"]
    answers = next(c for c in result["checks"] if c["operation"] == "answers")
    assert answers["locust"] >= 1, printed  # the run answered something to reconcile


@pytest.mark.slow
def test_a_dropped_answer_breaks_reconciliation_naming_answers(
    target: Target,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _ = reconciled_run(target, tmp_path, monkeypatch, drop="answers")
    printed = capsys.readouterr().out
    assert code == 3, printed
    assert "reconciliation broken: answers" in printed
