"""The agency side: cases and video requests (REQ-01..05). Nothing here reveals residents."""

from __future__ import annotations

from fastapi import APIRouter, status

from system.api.schemas import (
    CaseCreate,
    CasePublic,
    Id,
    RequestCreate,
    RequestCreatedPublic,
    RequestStatusPublic,
)
from system.api.security import AgencyAccount, ServicesDep, subject
from system.service_layer import registration, requests

router = APIRouter(tags=["agency"])


@router.post("/cases", status_code=status.HTTP_201_CREATED)
async def open_case(body: CaseCreate, me: AgencyAccount, svc: ServicesDep) -> CasePublic:
    case = await svc(
        registration.open_case,
        officer_id=subject(me),
        case_number=body.case_number,
        incident_type=body.incident_type,
    )
    return CasePublic(
        case_id=case.id,
        case_number=case.case_number,
        incident_type=case.incident_type.value,
        status=case.status.value,
        opened_at=case.opened_at,
    )


@router.post("/requests", status_code=status.HTTP_201_CREATED)
async def submit_request(
    body: RequestCreate, me: AgencyAccount, svc: ServicesDep
) -> RequestCreatedPublic:
    request_id = await svc(requests.submit_request, officer_id=subject(me), draft=body.draft())
    return RequestCreatedPublic(request_id=request_id)


@router.get("/requests/{request_id}")
async def request_status(
    request_id: Id, me: AgencyAccount, svc: ServicesDep
) -> RequestStatusPublic:
    view = await svc(requests.request_status, officer_id=subject(me), request_id=request_id)
    return RequestStatusPublic.model_validate(view)


@router.post("/requests/{request_id}/close", status_code=status.HTTP_204_NO_CONTENT)
async def close_request(request_id: Id, me: AgencyAccount, svc: ServicesDep) -> None:
    await svc(requests.close_request, officer_id=subject(me), request_id=request_id)
