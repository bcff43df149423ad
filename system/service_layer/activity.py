"""Residents' activity in bulk: the simulation's set-based path for a run of uploads,
answers and opt-outs, all in one transaction.

A simulated county hands the system a few answers and uploads every few simulated
minutes; each use case on its own (:func:`~system.service_layer.clips.upload_clips`,
:func:`~system.service_layer.consent.respond_many`,
:func:`~system.service_layer.residents.opt_out_many`) would take a transaction and
its fixed cost. :func:`apply_activity` applies the steps in the order given, each at
its own time with the same checks and records as those use cases, and commits once:
the rows and their ids come out as if each step had been its own transaction, and
each audit stream holds the same entries in the same order. The HTTP API never
uses it (one transaction per request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from system.domain.errors import DomainError
from system.service_layer.clips import ClipUpload, upload_clips_in
from system.service_layer.consent import Answer, Receipt, respond_many_in
from system.service_layer.context import ServiceContext
from system.service_layer.residents import opt_out_many_in


@dataclass(frozen=True)
class Answers:
    """A run of answers; ``uploads`` are recorded first (their clip ids fill the answers'
    placeholders: a negative clip id ``-k`` names the k-th upload of this run, from 1)."""

    uploads: Sequence[ClipUpload]
    answers: Sequence[Answer]


@dataclass(frozen=True)
class OptOuts:
    """A run of opt-outs: (resident id, when)."""

    opt_outs: Sequence[tuple[int, datetime | None]]


Step = Answers | OptOuts


@dataclass(frozen=True)
class Applied:
    """What a step of :func:`apply_activity` gave: the uploads' clip ids and the answers'
    outcomes (an :class:`Answers` step), or the count of new opt-outs."""

    clip_ids: list[int]
    outcomes: list[Receipt | DomainError]
    opt_outs: int = 0


def apply_activity(ctx: ServiceContext, steps: Sequence[Step]) -> list[Applied]:
    """Apply ``steps`` in order in one transaction; one :class:`Applied` per step."""
    now = ctx.clock.now()
    applied: list[Applied] = []
    with ctx.uow() as uow:
        for step in steps:
            if isinstance(step, OptOuts):
                applied.append(Applied([], [], opt_out_many_in(uow, step.opt_outs, now)))
                continue
            clip_ids = upload_clips_in(uow, ctx, step.uploads, now)
            answers = [
                _resolved(answer, clip_ids) if any(c < 0 for c in answer.clip_ids) else answer
                for answer in step.answers
            ]
            applied.append(Applied(clip_ids, respond_many_in(uow, answers, now)))
        uow.commit()
    return applied


def _resolved(answer: Answer, clip_ids: list[int]) -> Answer:
    return replace(
        answer, clip_ids=tuple(clip_ids[-c - 1] if c < 0 else c for c in answer.clip_ids)
    )
