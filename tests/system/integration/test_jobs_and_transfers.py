"""The job queue and exactly-once transfer (XFR-01, XFR-02), with real worker processes."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from system.adapters import tables as t
from system.adapters.jobs_repo import JobStatus
from system.service_layer import consent, jobs, transfer
from system.service_layer.context import ServiceContext
from tests.system.consent_world import ConsentWorld, build_consent_world
from tests.system.store_faults import flip_a_content_byte

ROOT = Path(__file__).resolve().parents[3]


class Crash(Exception):
    """Stands for a worker process dying at a given step."""


@pytest.fixture
def shared(full_ctx: ServiceContext) -> ConsentWorld:
    """One resident has shared one clip; its transfer job is queued."""
    cw = build_consent_world(full_ctx, {"sharer": (50, 50)})
    cw.publish()
    consent.respond(
        full_ctx,
        resident_id=cw.world.residents["sharer"],
        notification_id=cw.notification_of["sharer"],
        clip_ids=cw.clips_of["sharer"],
        include_audio=True,
    )
    return cw


def evidence_count(ctx: ServiceContext) -> int:
    with ctx.uow(read_only=True) as uow:
        return int(
            uow.connection.execute(select(func.count()).select_from(t.evidence_items)).scalar_one()
        )


def transfer_id(ctx: ServiceContext) -> int:
    with ctx.uow(read_only=True) as uow:
        return int(uow.connection.execute(select(t.transfers.c.id)).scalar_one())


@pytest.mark.parametrize("step", ["after_read", "after_write", "before_ack"])
def test_xfr02_transfer_interrupted_at_each_step_ends_with_one_evidence_item(
    shared: ConsentWorld, step: str
) -> None:
    ctx = shared.ctx
    with ctx.uow() as uow:  # a worker claims the job ...
        [job] = uow.jobs.claim("doomed", now=ctx.clock.now(), lease=jobs.LEASE)
        uow.commit()

    def die(at: str) -> None:
        if at == step:
            raise Crash(at)

    with pytest.raises(Crash):  # ... and dies mid-transfer, never completing the job
        transfer.run_transfer(ctx, transfer_id=int(job.payload["transfer_id"]), fault=die)
    assert evidence_count(ctx) == 0  # nothing is acknowledged before the commit
    assert jobs.run_pending_jobs(ctx).ran == 0  # the lease still holds
    ctx.clock.advance(jobs.LEASE + timedelta(seconds=1))  # type: ignore[attr-defined]
    report = jobs.run_pending_jobs(ctx)
    assert report.done == 1
    assert evidence_count(ctx) == 1
    with ctx.uow(read_only=True) as uow:
        item = uow.evidence.by_source_ref(f"transfer:{job.payload['transfer_id']}")
        clip = uow.clips.get(shared.clips_of["sharer"][0])
    assert item is not None
    assert clip is not None
    assert item.sha256 == clip.sha256
    assert ctx.stores.evidence.exists(item.sha256)
    assert not ctx.stores.outbox.exists(item.sha256)  # XFR-03
    # Running the finished transfer again changes nothing.
    assert transfer.run_transfer(ctx, transfer_id=transfer_id(ctx)) == "delivered"
    assert evidence_count(ctx) == 1


def test_xfr01_corrupted_clip_is_quarantined_audited_and_never_evidence(
    shared: ConsentWorld,
) -> None:
    ctx = shared.ctx
    with ctx.uow(read_only=True) as uow:
        clip = uow.clips.get(shared.clips_of["sharer"][0])
    assert clip is not None
    flip_a_content_byte(ctx.stores.clips, clip.sha256)  # a byte inside the encrypted content
    report = jobs.run_pending_jobs(ctx)
    assert report.errors == []
    assert evidence_count(ctx) == 0
    with ctx.uow(read_only=True) as uow:
        status = uow.connection.execute(select(t.transfers.c.status)).scalar_one()
        audited = uow.audit.entries(obj=f"transfer:{transfer_id(ctx)}")
        clip_after = uow.clips.get(clip.id)
    assert status == "quarantined"
    assert clip_after is not None
    assert clip_after.status == "quarantined"
    assert [(e.action, e.outcome) for e in audited] == [
        ("transfer.integrity_failure", "quarantined")
    ]
    assert not ctx.stores.clips.exists(clip.sha256)


def test_xfr01_corrupted_transient_copy_is_quarantined_and_retried_from_the_source(
    shared: ConsentWorld,
) -> None:
    ctx = shared.ctx
    tid = transfer_id(ctx)
    with ctx.uow() as uow:
        [job] = uow.jobs.claim("w1", now=ctx.clock.now(), lease=jobs.LEASE)
        uow.commit()

    def corrupt_outbox(at: str) -> None:
        if at == "after_read":
            flip_a_content_byte(ctx.stores.outbox)

    with pytest.raises(transfer.TransferFailed):
        transfer.run_transfer(ctx, transfer_id=tid, fault=corrupt_outbox)
    with ctx.uow(read_only=True) as uow:
        actions = [e.action for e in uow.audit.entries(obj=f"transfer:{tid}")]
    assert actions == ["transfer.integrity_failure"]
    assert transfer.run_transfer(ctx, transfer_id=tid) == "delivered"
    assert evidence_count(ctx) == 1
    del job


def test_failing_jobs_back_off_then_dead_letter(full_ctx: ServiceContext) -> None:
    ctx = full_ctx
    with ctx.uow() as uow:
        uow.jobs.enqueue("boom", {"n": 1}, now=ctx.clock.now(), max_attempts=3)
        uow.commit()

    def boom(_ctx: ServiceContext, _payload: dict[str, object]) -> None:
        raise RuntimeError("always fails")

    seen = []
    for _ in range(3):
        report = jobs.run_pending_jobs(ctx, handlers={"boom": boom}, schedule=False)
        seen.append((report.retried, report.dead))
        ctx.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    assert seen == [(1, 0), (1, 0), (0, 1)]
    with ctx.uow(read_only=True) as uow:
        assert uow.jobs.counts() == {JobStatus.DEAD: 1}
        [dead] = uow.jobs.dead()
    assert "always fails" in dead["last_error"]
    assert jobs.backoff(1) == timedelta(seconds=30)
    assert jobs.backoff(20) == jobs.MAX_BACKOFF


def test_xfr02_two_worker_processes_never_run_a_job_twice(
    full_ctx: ServiceContext, database_url: str
) -> None:
    """On PostgreSQL the claim uses SKIP LOCKED; on SQLite the writer lock serialises claims."""
    ctx = full_ctx
    with ctx.uow() as uow:
        uow.connection.execute(
            text(
                "CREATE TABLE probe_runs (id SERIAL PRIMARY KEY, job_key INT, worker TEXT, at TEXT)"
            )
        )
        for key in range(120):
            uow.jobs.enqueue("probe", {"key": key}, now=ctx.clock.now())
        uow.commit()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.system.worker_probe", database_url, f"worker-{i}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    done = [int(out.strip()) for out, _ in outputs]
    with ctx.uow(read_only=True) as uow:
        runs = uow.connection.execute(text("SELECT job_key, worker FROM probe_runs")).all()
        uow.connection.execute(text("DROP TABLE probe_runs"))
        uow.commit()
    per_job = Counter(key for key, _ in runs)
    assert sorted(per_job) == list(range(120))
    assert set(per_job.values()) == {1}
    assert sum(done) == 120
    assert all(n > 0 for n in done), f"both workers should have taken jobs: {done}"


def test_a_run_completes_each_job_once_whether_or_not_it_looks_for_idle_first(
    full_ctx: ServiceContext,
) -> None:
    ctx = full_ctx
    with ctx.uow() as uow:
        for n in range(5):
            uow.jobs.enqueue("tick", {"n": n}, now=ctx.clock.now())
        uow.commit()
    ran: list[object] = []

    def tick(_ctx: ServiceContext, payload: dict[str, object]) -> None:
        ran.append(payload["n"])

    first = jobs.run_pending_jobs(
        ctx, handlers={"tick": tick}, schedule=False, claim_batch=2, work_queued=True
    )
    again = jobs.run_pending_jobs(ctx, handlers={"tick": tick}, schedule=False, work_queued=True)
    assert (first.done, again.ran) == (5, 0)
    assert sorted(ran) == [0, 1, 2, 3, 4]
    with ctx.uow(read_only=True) as uow:
        assert uow.jobs.counts() == {JobStatus.DONE: 5}


def test_done_jobs_leave_the_queue_a_week_after_they_came_due(full_ctx: ServiceContext) -> None:
    ctx = full_ctx
    ran: list[object] = []

    def tick(_ctx: ServiceContext, payload: dict[str, object]) -> None:
        ran.append(payload["n"])
        if payload["n"] == "fails":
            raise RuntimeError("this job always fails")

    with ctx.uow() as uow:
        for n in ("old-1", "old-2"):
            uow.jobs.enqueue("tick", {"n": n}, now=ctx.clock.now())
        uow.jobs.enqueue("tick", {"n": "fails"}, now=ctx.clock.now(), max_attempts=1)
        uow.commit()
    assert jobs.run_pending_jobs(ctx, handlers={"tick": tick}, schedule=False).ran == 3
    ctx.clock.advance(jobs.DONE_JOBS_KEPT - timedelta(hours=1))
    with ctx.uow() as uow:
        uow.jobs.enqueue("tick", {"n": "recent"}, now=ctx.clock.now())
        later = ctx.clock.now() + timedelta(days=30)
        uow.jobs.enqueue("tick", {"n": "waiting"}, now=ctx.clock.now(), run_after=later)
        uow.commit()
    jobs.run_pending_jobs(ctx, handlers={"tick": tick}, schedule=False)
    assert jobs.schedule_due_work(ctx) == 0  # a week not yet passed: nothing pruned
    with ctx.uow(read_only=True) as uow:
        assert uow.jobs.counts() == {JobStatus.DONE: 3, JobStatus.DEAD: 1, JobStatus.QUEUED: 1}

    ctx.clock.advance(timedelta(hours=2))
    assert jobs.schedule_due_work(ctx) == 0  # pruning queues nothing
    with ctx.uow(read_only=True) as uow:
        # The two old done jobs went; the recent one, the dead one and the waiting one stay.
        assert uow.jobs.counts() == {JobStatus.DONE: 1, JobStatus.DEAD: 1, JobStatus.QUEUED: 1}
        left = {r.status: r.payload_json for r in uow.connection.execute(select(t.jobs))}
    assert '"recent"' in left[JobStatus.DONE]
    assert ran == ["old-1", "old-2", "fails", "recent"]


def test_jobs_finished_later_are_marked_done_at_their_own_time_and_never_rerun(
    full_ctx: ServiceContext,
) -> None:
    ctx = full_ctx
    first_at = ctx.clock.now()
    with ctx.uow() as uow:
        for n in range(3):
            uow.jobs.enqueue("fan_out", {"request_id": 999_000 + n}, now=first_at)
        uow.commit()
    first = jobs.run_pending_jobs(ctx, schedule=False, work_queued=True, finish_later=True)
    assert first.done == 3
    assert first.finished is not None
    assert len(first.finished.job_ids) == 3
    with ctx.uow(read_only=True) as uow:
        assert uow.jobs.counts() == {JobStatus.RUNNING: 3}  # ran, not yet marked done

    ctx.clock.advance(timedelta(minutes=10))  # past the lease: still never claimed again
    again = jobs.run_pending_jobs(ctx, schedule=False, finished=[first.finished])
    assert again.ran == 0
    with ctx.uow(read_only=True) as uow:
        assert uow.jobs.counts() == {JobStatus.DONE: 3}
        finished = set(uow.connection.execute(select(t.jobs.c.finished_at)).scalars())
    assert {at.replace(tzinfo=None) for at in finished} == {first_at.replace(tzinfo=None)}
