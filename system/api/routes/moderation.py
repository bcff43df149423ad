"""The platform's moderators: the review queue, taking a request, deciding (REQ-06..08)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from system.api.schemas import DecisionCreate, Id, ReviewItemPublic
from system.api.security import ModeratorAccount, ServicesDep, subject
from system.service_layer import requests

router = APIRouter(prefix="/moderation", tags=["moderation"])


@router.get("/queue")
async def review_queue(
    me: ModeratorAccount, svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[ReviewItemPublic]:
    items = await svc(requests.review_queue, moderator_id=subject(me), limit=limit)
    return [ReviewItemPublic.model_validate(item) for item in items]


@router.post("/requests/{request_id}/review", status_code=status.HTTP_204_NO_CONTENT)
async def start_review(request_id: Id, me: ModeratorAccount, svc: ServicesDep) -> None:
    await svc(requests.start_review, moderator_id=subject(me), request_id=request_id)


@router.post("/requests/{request_id}/decision", status_code=status.HTTP_204_NO_CONTENT)
async def decide(
    request_id: Id, body: DecisionCreate, me: ModeratorAccount, svc: ServicesDep
) -> None:
    await svc(
        requests.moderate,
        moderator_id=subject(me),
        request_id=request_id,
        decision=body.decision,
        reason=body.reason,
        checklist=body.checklist,
    )
