"""The emergency disclosure path (EMG-01..03) and the owner's view of it (PRV-04).

An officer attests, a supervisor of the same agency approves, a platform
reviewer (moderator or admin) picks specific cameras. The agency-facing
status carries decisions only; camera identities stay on the platform side.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, status

from system.api.schemas import (
    CandidateCameraPublic,
    DisclosurePublic,
    EmergencyCreate,
    EmergencyCreatedPublic,
    EmergencyDecisionCreate,
    EmergencyReviewCreate,
    EmergencyStatusPublic,
    Id,
)
from system.api.security import AgencyAccount, ResidentAccount, ServicesDep, require_role, subject
from system.domain.accounts import AccountRole, Principal
from system.service_layer import emergency

router = APIRouter(tags=["emergency"])

DetectiveAccount = Annotated[Principal, Depends(require_role(AccountRole.DETECTIVE))]
SupervisorAccount = Annotated[Principal, Depends(require_role(AccountRole.SUPERVISOR))]
ReviewerAccount = Annotated[
    Principal, Depends(require_role(AccountRole.MODERATOR, AccountRole.ADMIN))
]


@router.post("/emergencies", status_code=status.HTTP_201_CREATED)
async def submit_emergency(
    body: EmergencyCreate, me: DetectiveAccount, svc: ServicesDep
) -> EmergencyCreatedPublic:
    emergency_id = await svc(
        emergency.submit_emergency,
        officer_id=subject(me),
        case_id=body.case_id,
        attestation=body.attestation,
        narrative=body.narrative,
        locations=[(p.lat, p.lon) for p in body.locations],
        window_start=body.window.start,
        window_end=body.window.end,
    )
    return EmergencyCreatedPublic(emergency_id=emergency_id)


@router.post("/emergencies/{emergency_id}/supervisor-decision", status_code=204)
async def supervisor_decision(
    emergency_id: Id, body: EmergencyDecisionCreate, me: SupervisorAccount, svc: ServicesDep
) -> None:
    await svc(
        emergency.supervisor_decide,
        supervisor_id=subject(me),
        emergency_id=emergency_id,
        approve=body.approve,
        reason=body.reason,
    )


@router.get("/emergencies/{emergency_id}")
async def emergency_status(
    emergency_id: Id, me: AgencyAccount, svc: ServicesDep
) -> EmergencyStatusPublic:
    view = await svc(emergency.emergency_status, officer_id=subject(me), emergency_id=emergency_id)
    fields = asdict(view)
    fields["status"] = view.status.value
    return EmergencyStatusPublic.model_validate(fields)


@router.get("/moderation/emergencies/{emergency_id}/candidates", tags=["moderation"])
async def candidate_cameras(
    emergency_id: Id, me: ReviewerAccount, svc: ServicesDep
) -> list[CandidateCameraPublic]:
    found = await svc(
        emergency.candidate_cameras, reviewer_id=subject(me), emergency_id=emergency_id
    )
    return [CandidateCameraPublic(**asdict(c)) for c in found]


@router.post(
    "/moderation/emergencies/{emergency_id}/decision", status_code=204, tags=["moderation"]
)
async def platform_decision(
    emergency_id: Id, body: EmergencyReviewCreate, me: ReviewerAccount, svc: ServicesDep
) -> None:
    await svc(
        emergency.platform_review,
        reviewer_id=subject(me),
        emergency_id=emergency_id,
        approve=body.approve,
        reason=body.reason,
        camera_ids=body.camera_ids,
    )


@router.get("/me/disclosures", tags=["resident"])
async def my_disclosures(me: ResidentAccount, svc: ServicesDep) -> list[DisclosurePublic]:
    """Every emergency disclosure of this resident's footage, once its notice is due (PRV-04)."""
    found = await svc(emergency.resident_disclosures, resident_id=subject(me))
    return [DisclosurePublic(**asdict(d)) for d in found]
