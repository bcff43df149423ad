"""The set-based service calls the simulation uses, on SQLite and PostgreSQL.

``respond_many``, ``upload_clips``, ``opt_out_many``, ``run_transfers`` and the
job runner's batched transfers must give the same outcome as the calls one at
a time: the same rules per item (a refused item changes nothing and does not
stop the others), each item recorded at its own time, a valid audit chain.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from system.adapters import tables as t
from system.domain.clip import encode_clip
from system.domain.errors import Conflict, InvalidInput, NotFound, RuleViolation
from system.service_layer import activity, clips, consent, jobs, residents, retention, transfer
from system.service_layer.audit import verify_audit_chain
from system.service_layer.context import ServiceContext
from tests.system.consent_world import PEOPLE, ConsentWorld, count, published_world


@pytest.fixture
def cw(full_ctx: ServiceContext) -> ConsentWorld:
    return published_world(full_ctx)


def answer(
    cw: ConsentWorld, who: str, clip_ids: tuple[int, ...] = (), **kw: object
) -> consent.Answer:
    return consent.Answer(
        cw.world.residents[who],
        cw.notification_of[who],
        clip_ids,
        **kw,  # type: ignore[arg-type]
    )


def test_respond_many_judges_each_answer_and_refusals_change_nothing(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    ann_clips = tuple(cw.clips_of["ann"])
    answers = [
        answer(cw, "ann", ann_clips, share_identity=True),
        answer(cw, "bob"),  # decline
        answer(cw, "cy"),
        answer(cw, "cy", tuple(cw.clips_of["cy"])),  # a second answer: the first stands
        answer(cw, "di", tuple(cw.clips_of["bob"])),  # someone else's clip
        consent.Answer(cw.world.residents["ed"], cw.notification_of["ann"]),  # not ed's
    ]
    outcomes = consent.respond_many(ctx, answers)

    assert [type(o) for o in outcomes[:3]] == [consent.Receipt] * 3
    ann, bob, cy = outcomes[:3]
    assert isinstance(ann, consent.Receipt)
    assert ann.decision == "share"
    assert len(ann.shared_clip_ids) == len(ann_clips) == 2
    assert isinstance(bob, consent.Receipt)
    assert bob.decision == "decline"
    assert isinstance(outcomes[3], Conflict)
    assert outcomes[3].rule == "CON-09"
    assert isinstance(outcomes[4], InvalidInput)
    assert "CON-02" in str(outcomes[4].problems)
    assert isinstance(outcomes[5], NotFound)
    assert isinstance(cy, consent.Receipt)
    assert cy.decision == "decline"

    assert count(ctx, t.responses) == 3
    assert count(ctx, t.shared_clips) == count(ctx, t.transfers) == 2
    with ctx.uow(read_only=True) as uow:
        contributors = uow.connection.execute(select(t.transfers.c.contributor_json)).scalars()
        assert all("Ann" in (c or "") for c in contributors)  # share_identity was ticked
    # The refused ones can still answer properly later: nothing was recorded for di or ed.
    again = consent.respond_many(ctx, [answer(cw, "di"), answer(cw, "ed")])
    assert all(isinstance(o, consent.Receipt) for o in again)
    assert verify_audit_chain(ctx).ok


def test_each_answer_is_judged_at_its_own_time(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    with ctx.uow(read_only=True) as uow:
        request = uow.requests.get(cw.request_id)
    assert request is not None
    assert request.expires_at is not None
    ctx.clock.set(request.expires_at + timedelta(minutes=5))  # applied after the period ended
    outcomes = consent.respond_many(
        ctx,
        [
            answer(cw, "ann", at=request.expires_at - timedelta(minutes=1)),
            answer(cw, "bob", at=request.expires_at + timedelta(seconds=1)),
        ],
    )
    assert isinstance(outcomes[0], consent.Receipt)
    assert isinstance(outcomes[1], RuleViolation)
    assert outcomes[1].rule == "CON-08"
    with ctx.uow(read_only=True) as uow:
        at = uow.connection.execute(select(t.responses.c.responded_at)).scalar_one()
    assert at.replace(tzinfo=None) == (request.expires_at - timedelta(minutes=1)).replace(
        tzinfo=None
    )
    with pytest.raises(ValueError, match="later than now"):
        consent.respond_many(ctx, [answer(cw, "cy", at=ctx.clock.now() + timedelta(seconds=1))])


def test_upload_clips_records_each_clip_or_none(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    now = ctx.clock.now()
    contents = [
        encode_clip(recorded_at=now - timedelta(hours=3), duration_s=20.0, video=bytes([i]) * 64)
        for i in range(3)
    ]
    before = count(ctx, t.clips)
    uploads = [
        clips.ClipUpload(cw.camera_of[who], content, now - timedelta(minutes=i))
        for i, (who, content) in enumerate(zip(("ann", "bob", "ann"), contents, strict=True))
    ]
    ids = clips.upload_clips(ctx, uploads)
    assert len(ids) == 3
    assert ids == sorted(ids)
    with ctx.uow(read_only=True) as uow:
        rows = {r.id: r for r in uow.clips.get_many(ids).values()}
    for clip_id, upload, content in zip(ids, uploads, contents, strict=True):
        assert rows[clip_id].sha256 == hashlib.sha256(content).hexdigest()
        assert rows[clip_id].camera_id == upload.camera_id
        assert ctx.stores.clips.read_all(rows[clip_id].sha256) == content
    with pytest.raises(NotFound, match="camera"):
        clips.upload_clips(ctx, [uploads[0], clips.ClipUpload(999_999, contents[0])])
    assert count(ctx, t.clips) == before + 3


def test_opt_out_many_is_idempotent_and_audited(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    ids = [cw.world.residents[w] for w in ("ann", "bob", "ann")]
    assert residents.opt_out_many(ctx, [(r, None) for r in ids]) == 2
    assert residents.opt_out_many(ctx, [(ids[0], None)]) == 0
    assert count(ctx, t.opt_outs) == 2
    with pytest.raises(NotFound):
        residents.opt_out_many(ctx, [(cw.world.residents["cy"], None), (999_999, None)])
    assert count(ctx, t.opt_outs) == 2  # the batch with an unknown resident stored nothing
    assert verify_audit_chain(ctx).ok


def test_apply_activity_runs_uploads_answers_and_opt_outs_in_order_in_one_commit(
    cw: ConsentWorld,
) -> None:
    ctx = cw.ctx
    now = ctx.clock.now()
    content = encode_clip(recorded_at=now - timedelta(hours=3), duration_s=20.0, video=b"v" * 64)
    upload = clips.ClipUpload(cw.camera_of["ann"], content, now - timedelta(minutes=5))
    steps: list[activity.Step] = [
        activity.OptOuts([(cw.world.residents["ed"], now - timedelta(minutes=9))]),
        activity.Answers(
            [upload],
            [
                answer(cw, "ann", (-1,), at=now - timedelta(minutes=4)),  # the new upload
                answer(cw, "bob", at=now - timedelta(minutes=3)),
                answer(cw, "bob", at=now - timedelta(minutes=2)),  # refused: answered
            ],
        ),
        activity.OptOuts([(cw.world.residents["bob"], now - timedelta(minutes=1))]),
    ]
    before = count(ctx, t.clips)
    entries_before = count(ctx, t.audit_entries)
    applied = activity.apply_activity(ctx, steps)

    assert [a.opt_outs for a in applied] == [1, 0, 1]
    (clip_id,) = applied[1].clip_ids
    ann, bob, again = applied[1].outcomes
    assert isinstance(ann, consent.Receipt)
    assert ann.shared_clip_ids == (clip_id,)  # the placeholder became the uploaded clip
    assert isinstance(bob, consent.Receipt)
    assert bob.decision == "decline"
    assert isinstance(again, Conflict)
    assert count(ctx, t.clips) == before + 1
    assert count(ctx, t.opt_outs) == 2
    with ctx.uow(read_only=True) as uow:
        actions = [
            (str(action), at)
            for action, at in uow.connection.execute(
                select(t.audit_entries.c.action, t.audit_entries.c.at)
                .order_by(t.audit_entries.c.id)
                .offset(entries_before)
            )
        ]
    actions.sort(key=lambda entry: entry[1])
    assert [a for a, _at in actions] == [
        "consent.opt_out",
        "clip.upload",
        "consent.share",
        "consent.decline",
        "consent.opt_out",
    ]
    # each step recorded at its own time, in order
    assert [at.replace(tzinfo=None) for _a, at in actions] == [
        (now - timedelta(minutes=m)).replace(tzinfo=None) for m in (9, 5, 4, 3, 1)
    ]
    assert verify_audit_chain(ctx).ok


def test_batched_transfers_deliver_each_share_once(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    shares = [answer(cw, w, tuple(cw.clips_of[w])) for w in ("ann", "bob", "cy", "di")]
    receipts = consent.respond_many(ctx, shares)
    assert all(isinstance(r, consent.Receipt) for r in receipts)
    consent.withdraw(
        ctx, resident_id=cw.world.residents["di"], notification_id=cw.notification_of["di"]
    )
    with ctx.uow(read_only=True) as uow:
        transfer_ids = list(uow.connection.execute(select(t.transfers.c.id)).scalars())
    assert len(transfer_ids) == 5

    outcomes = transfer.run_transfers(ctx, [*transfer_ids, transfer_ids[0]])
    assert sorted(outcomes[:-1], key=str) == ["delivered"] * 4 + ["withdrawn"]
    assert outcomes[-1] == "delivered"  # the same transfer twice in one batch: once
    assert count(ctx, t.evidence_items) == 4
    assert transfer.run_transfers(ctx, transfer_ids) == outcomes[:-1]  # a retry: no change
    assert count(ctx, t.evidence_items) == 4

    with ctx.uow(read_only=True) as uow:
        items = list(uow.connection.execute(select(t.evidence_items)))
    for item in items:
        assert hashlib.sha256(ctx.stores.evidence.read_all(item.sha256)).hexdigest() == item.sha256
        assert not ctx.stores.outbox.exists(item.sha256)  # transient copies are gone (XFR-03)
    assert verify_audit_chain(ctx).ok


def test_job_runner_runs_claimed_transfers_together(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    consent.respond_many(ctx, [answer(cw, w, tuple(cw.clips_of[w])) for w in PEOPLE])
    report = jobs.run_pending_jobs(ctx, claim_batch=100)
    assert report.errors == []
    assert report.done == 6
    assert count(ctx, t.evidence_items) == 6
    with ctx.uow(read_only=True) as uow:
        statuses = set(uow.connection.execute(select(t.jobs.c.status)).scalars())
    assert statuses == {"done"}


def test_retention_setting_reaches_the_consent_screen_and_new_evidence(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    retention.change_retention(ctx, changes={"standard": 90}, actor="admin:test")
    screen = consent.consent_screen(
        ctx, resident_id=cw.world.residents["ann"], notification_id=cw.notification_of["ann"]
    )
    assert "up to 90 days" in screen.retention_statement
    consent.respond_many(ctx, [answer(cw, "ann", tuple(cw.clips_of["ann"]))])
    jobs.run_pending_jobs(ctx)
    with ctx.uow(read_only=True) as uow:
        rows = list(uow.connection.execute(select(t.evidence_items)))
    assert len(rows) == 2
    for row in rows:
        assert row.retain_until - row.received_at == timedelta(days=90)


def test_clips_past_their_camera_retention_are_deleted_together(cw: ConsentWorld) -> None:
    ctx = cw.ctx
    with ctx.uow(read_only=True) as uow:
        stored = list(uow.connection.execute(select(t.clips.c.id, t.clips.c.sha256)))
        retention_days = uow.connection.execute(select(func.max(t.cameras.c.retention_days)))
        longest = int(retention_days.scalar_one())
    assert len(stored) == 6
    jobs.run_pending_jobs(ctx)
    assert all(ctx.stores.clips.exists(sha) for _id, sha in stored)  # not yet due
    ctx.clock.advance(timedelta(days=longest + 1))
    report = jobs.run_pending_jobs(ctx, claim_batch=100)
    assert report.errors == []
    with ctx.uow(read_only=True) as uow:
        statuses = set(uow.connection.execute(select(t.clips.c.status)).scalars())
    assert statuses == {"deleted"}
    assert not any(ctx.stores.clips.exists(sha) for _id, sha in stored)
    assert jobs.run_pending_jobs(ctx).ran == 0  # nothing left to schedule or run


def test_a_receipt_names_the_clips_shared_not_the_share_rows(cw: ConsentWorld) -> None:
    """The receipt's ``shared_clip_ids`` are the clips the resident chose. Ann shares
    one of her two clips first, so cy's share row is numbered apart from cy's clip and
    the two numberings cannot agree by chance."""
    ctx = cw.ctx
    consent.respond_many(ctx, [answer(cw, "ann", (cw.clips_of["ann"][1],))])
    chosen = tuple(cw.clips_of["cy"])
    (receipt,) = consent.respond_many(ctx, [answer(cw, "cy", chosen)])
    assert isinstance(receipt, consent.Receipt)
    assert receipt.shared_clip_ids == chosen
    with ctx.uow(read_only=True) as uow:
        share_rows = sorted(uow.connection.execute(select(t.shared_clips.c.id)).scalars())
    assert len(share_rows) == 2
    assert share_rows[1] not in chosen  # the share row's id is not the clip's
