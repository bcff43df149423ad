"""Group commit: concurrent answers share one transaction, each keeps its own outcome.

The unit tests use a recording batch function; the last ones run the real
``respond_many`` on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import pytest

from system.adapters import tables as t
from system.api.batching import GroupCommit
from system.api.runner import ServiceRunner
from system.domain.errors import Conflict, DomainError, NotFound
from system.service_layer import consent
from system.service_layer.audit import verify_audit_chain
from system.service_layer.context import ServiceContext
from tests.system.consent_world import ConsentWorld, count, published_world


class Recorder:
    """Doubles each item; refuses negatives; blows up on 13 (an unexpected failure)."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    def __call__(self, _ctx: object, items: Sequence[int]) -> list[int | DomainError]:
        self.calls.append(list(items))
        if 13 in items:
            raise RuntimeError("the database went away")
        return [NotFound(f"no item {i}") if i < 0 else 2 * i for i in items]


def submit_all(group: GroupCommit[int, int], items: list[int]) -> list[int | BaseException]:
    outcomes: list[int | BaseException] = [0] * len(items)

    async def one(position: int, item: int) -> None:
        try:
            outcomes[position] = await group.submit(item)
        except Exception as refused:
            outcomes[position] = refused

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for position, item in enumerate(items):
                tg.start_soon(one, position, item)

    anyio.run(main)
    return outcomes


def group_of(fn: Recorder, **kw: int) -> GroupCommit[int, int]:
    return GroupCommit(fn, ctx=None, runner=ServiceRunner(mode="inline"), **kw)  # type: ignore[arg-type]


def test_answers_arriving_together_are_written_in_one_call_each_with_its_outcome() -> None:
    fn = Recorder()
    group = group_of(fn)
    outcomes = submit_all(group, [1, 2, -3, 4])
    assert fn.calls == [[1, 2, -3, 4]]
    assert outcomes[:2] == [2, 4]
    assert outcomes[3] == 8
    assert isinstance(outcomes[2], NotFound)  # the refusal reaches only its own caller
    assert (group.batches, group.items) == (1, 4)


def test_a_lone_answer_is_written_alone_after_the_window() -> None:
    fn = Recorder()
    assert submit_all(group_of(fn), [5]) == [10]
    assert fn.calls == [[5]]


def test_answers_within_the_window_of_the_oldest_share_its_batch_and_later_ones_do_not() -> None:
    fn = Recorder()
    group = GroupCommit(fn, ctx=None, runner=ServiceRunner(mode="inline"), window_s=0.05)  # type: ignore[arg-type]
    got: list[int] = []

    async def later(delay_s: float, item: int) -> None:
        await anyio.sleep(delay_s)
        got.append(await group.submit(item))

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(later, 0.0, 1)
            tg.start_soon(later, 0.01, 2)  # inside the first answer's window
            tg.start_soon(later, 0.2, 3)  # long after that batch was written

    anyio.run(main)
    assert fn.calls == [[1, 2], [3]]
    assert sorted(got) == [2, 4, 6]


def test_batches_are_bounded_and_keep_the_arrival_order() -> None:
    fn = Recorder()
    outcomes = submit_all(group_of(fn, max_batch=3), list(range(1, 8)))
    assert fn.calls == [[1, 2, 3], [4, 5, 6], [7]]
    assert outcomes == [2, 4, 6, 8, 10, 12, 14]


def test_an_unexpected_failure_is_retried_item_by_item_so_only_its_item_fails() -> None:
    fn = Recorder()
    outcomes = submit_all(group_of(fn), [1, 13, 2])
    assert fn.calls == [[1, 13, 2], [1], [13], [2]]
    assert outcomes[0] == 2
    assert outcomes[2] == 4
    assert isinstance(outcomes[1], RuntimeError)


def test_a_caller_that_goes_away_does_not_stop_the_others() -> None:
    fn = Recorder()
    group = group_of(fn)
    got: list[int] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            with anyio.move_on_after(0):  # cancelled before its answer is written
                tg.start_soon(group.submit, 7)
                await anyio.sleep(0)

            async def keep(item: int) -> None:
                got.append(await group.submit(item))

            tg.start_soon(keep, 8)

    anyio.run(main)
    assert got == [16]
    assert [7] in fn.calls or [7, 8] in fn.calls  # 7 was written all the same


# --- the real respond_many --------------------------------------------------------------


@pytest.fixture
def cw(full_ctx: ServiceContext) -> ConsentWorld:
    return published_world(full_ctx)


def test_concurrent_answers_on_a_real_database_are_one_transaction_with_a_valid_chain(
    cw: ConsentWorld,
) -> None:
    ctx = cw.ctx
    residents, notes = cw.world.residents, cw.notification_of
    group: GroupCommit[consent.Answer, consent.Receipt] = GroupCommit(
        consent.respond_many, ctx=ctx, runner=ServiceRunner(mode="threadpool")
    )
    answers = [
        consent.Answer(residents["ann"], notes["ann"], tuple(cw.clips_of["ann"])),
        consent.Answer(residents["bob"], notes["bob"]),
        consent.Answer(residents["cy"], notes["cy"]),
        consent.Answer(residents["cy"], notes["cy"], tuple(cw.clips_of["cy"])),  # twice
        consent.Answer(residents["di"], notes["ann"]),  # not di's notification
    ]
    outcomes: list[consent.Receipt | BaseException | None] = [None] * len(answers)

    async def one(position: int) -> None:
        try:
            outcomes[position] = await group.submit(answers[position])
        except DomainError as refused:
            outcomes[position] = refused

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for position in range(len(answers)):
                tg.start_soon(one, position)

    anyio.run(main)

    assert (group.batches, group.items) == (1, 5)
    ann, bob, cy, cy_again, di = outcomes
    assert isinstance(ann, consent.Receipt)
    assert ann.decision == "share"
    assert len(ann.shared_clip_ids) == 2
    assert isinstance(bob, consent.Receipt)
    assert bob.decision == "decline"
    assert isinstance(cy, consent.Receipt)
    assert cy.decision == "decline"
    assert isinstance(cy_again, Conflict)
    assert cy_again.rule == "CON-09"
    assert isinstance(di, NotFound)
    assert count(ctx, t.responses) == 3
    assert count(ctx, t.transfers) == 2
    assert verify_audit_chain(ctx).ok
