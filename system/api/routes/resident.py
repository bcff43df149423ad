"""Residents: their notifications, the consent screen, answers, withdrawal, opt-out.

Rate-limited per account (SEC-06). A resident only ever sees their own
notifications: another resident's id answers 404, as does a missing one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import TypeAdapter

from system.api.batching import GroupCommit
from system.api.schemas import (
    ConsentScreenPublic,
    Id,
    NotificationPublic,
    OptOutCreate,
    ReceiptPublic,
    ResponseCreate,
    WithdrawnPublic,
)
from system.api.security import ResidentAccount, Services, ServicesDep, subject
from system.service_layer import consent, residents
from system.service_layer.consent import Answer, Receipt

router = APIRouter(prefix="/me", tags=["resident"])


NOTIFICATION_PAGE = 50
"""Notifications per page unless the resident asks for another size (at most 200)."""


_NOTIFICATION_PAGE = TypeAdapter(list[NotificationPublic])


@router.get("/notifications", response_model=list[NotificationPublic])
async def my_notifications(
    me: ResidentAccount,
    svc: ServicesDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200, description="notifications per page")] = (
        NOTIFICATION_PAGE
    ),
    before: Annotated[
        Id | None, Query(description="the last notification of the previous page")
    ] = None,
) -> Response:
    """My notifications, newest first. A full page carries a ``Link`` header to the next."""
    found = await svc(consent.my_notifications, resident_id=subject(me), limit=limit, before=before)
    # The page is checked and written by pydantic's core in two calls, not one model per
    # notification and then FastAPI's check of the list again: the same bytes, and at
    # pages of 50 about a sixth of the route's CPU (the resident's commonest request).
    body = _NOTIFICATION_PAGE.dump_json(
        _NOTIFICATION_PAGE.validate_python(found, from_attributes=True)
    )
    response = Response(body, media_type="application/json")
    if len(found) == limit:
        following = request.url.include_query_params(limit=limit, before=found[-1].notification_id)
        # A relative reference: the client's Host header is not ours to echo (a forged
        # one would otherwise point the next page at another server).
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return response


@router.get("/notifications/{notification_id}")
async def consent_screen(
    notification_id: Id, me: ResidentAccount, svc: ServicesDep
) -> ConsentScreenPublic:
    screen = await svc(
        consent.consent_screen, resident_id=subject(me), notification_id=notification_id
    )
    return ConsentScreenPublic.model_validate(screen)


@router.post("/notifications/{notification_id}/response", status_code=status.HTTP_201_CREATED)
async def respond(
    request: Request, notification_id: Id, body: ResponseCreate, me: ResidentAccount
) -> ReceiptPublic:
    # The hottest route reads the group commit and services off the app rather than
    # through two more dependencies: FastAPI's solver was a seventh of the API's CPU at
    # the answers' peak (py-spy --gil), and each dependency adds to it.
    if body.opt_out is None:
        answer = Answer(
            subject(me),
            notification_id,
            tuple(body.clip_ids),
            body.share_identity,
            body.include_audio,
        )
        answers: GroupCommit[Answer, Receipt] = request.app.state.answers
        return ReceiptPublic.model_validate(await answers.submit(answer))
    svc: Services = request.app.state.services
    receipt = await svc(  # an answer that also opts out: answered, then opted out
        consent.respond,
        resident_id=subject(me),
        notification_id=notification_id,
        clip_ids=body.clip_ids,
        share_identity=body.share_identity,
        include_audio=body.include_audio,
        opt_out_scope=body.opt_out,
    )
    return ReceiptPublic.model_validate(receipt)


@router.post("/notifications/{notification_id}/withdraw")
async def withdraw(notification_id: Id, me: ResidentAccount, svc: ServicesDep) -> WithdrawnPublic:
    withdrawn = await svc(
        consent.withdraw, resident_id=subject(me), notification_id=notification_id
    )
    return WithdrawnPublic(withdrawn=withdrawn)


@router.post("/opt-out", status_code=status.HTTP_204_NO_CONTENT)
async def opt_out(body: OptOutCreate, me: ResidentAccount, svc: ServicesDep) -> None:
    await svc(residents.opt_out, resident_id=subject(me), agency_id=body.agency_id)


@router.post("/opt-in", status_code=status.HTTP_204_NO_CONTENT)
async def opt_in(body: OptOutCreate, me: ResidentAccount, svc: ServicesDep) -> None:
    await svc(residents.opt_in, resident_id=subject(me), agency_id=body.agency_id)
