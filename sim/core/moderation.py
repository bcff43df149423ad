"""Moderation: a platform moderator reviews each request before anyone is notified.

Requests queue for the moderator pool (FIFO); a review takes a lognormal time
(``moderation_review_median_min``, ``moderation_review_sigma``). The moderator
approves unless the system's lint flagged the request; on approval the system's
fan-out job notifies the residents with a camera inside the area (the model leaves
the victim's own household out: :func:`sim.core.residents.owners_notified`).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

from sim.core import records as rec
from sim.core.cases import Request
from sim.core.residents import owners_notified
from sim.core.streams import Source
from sim.core.world import World


def moderator_review(
    world: World, request: Request, lint_flags: tuple[str, ...]
) -> Generator[Any, Any, tuple[bool, tuple[int, ...]]]:
    """A moderator reviews; approval fans out (the system's job). Returns whether the
    request was approved and the residents the fan-out reached (the victim's household
    among them: :func:`~sim.core.residents.notify_all` leaves it out)."""
    p = world.params
    queued = world.now
    theft = request.case.theft
    rng = world.streams.entity(Source.MODERATORS, theft.thief_id, theft.ordinal, request.attempt)
    review = rng.lognormal(math.log(p.moderation_review_median_min), p.moderation_review_sigma)
    with world.moderators.request() as turn:
        yield turn
        with world.moderators.on_duty(for_slice=request.case.theft.in_slice) as moderator:
            started = world.now
            yield world.env.timeout(review)
            approve = not lint_flags
            reason = "meets the checklist" if approve else "lint: " + ", ".join(lint_flags)
            now = world.now
            world.port.moderate(
                at_min=now,
                moderator=moderator,
                request_id=request.request_id,
                approve=approve,
                reason=reason,
            )
            world.port.run_jobs(at_min=now)
    fanned_out = tuple(
        world.port.notified(request_id=request.request_id).resident_indices if approve else ()
    )
    world.log.moderations.append(
        rec.ModerationRecord(
            request_id=request.request_id,
            case_id=request.case.case_id,
            queued_at_min=queued,
            started_at_min=started,
            decided_at_min=now,
            approved=approve,
            moderator=moderator,
            notified=len(owners_notified(world, fanned_out, request)),
        )
    )
    return approve, fanned_out
