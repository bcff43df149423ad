"""Residents: their notifications, the consent screen, answers, withdrawal, opt-out.

Rate-limited per account (SEC-06). A resident only ever sees their own
notifications: another resident's id answers 404, as does a missing one.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from system.api.schemas import (
    ConsentScreenPublic,
    Id,
    NotificationPublic,
    OptOutCreate,
    ReceiptPublic,
    ResponseCreate,
    WithdrawnPublic,
)
from system.api.security import ResidentAccount, ServicesDep, subject
from system.service_layer import consent, residents

router = APIRouter(prefix="/me", tags=["resident"])


@router.get("/notifications")
async def my_notifications(me: ResidentAccount, svc: ServicesDep) -> list[NotificationPublic]:
    found = await svc(consent.my_notifications, resident_id=subject(me))
    return [NotificationPublic.model_validate(n) for n in found]


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
    notification_id: Id, body: ResponseCreate, me: ResidentAccount, svc: ServicesDep
) -> ReceiptPublic:
    receipt = await svc(
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
