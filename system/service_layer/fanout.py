"""Fan-out: notify exactly the eligible residents of an approved request (CON-01, REQ-08).

Eligible: the owner of at least one active camera inside the request's area
who has not opted out, globally or of the requesting agency, at fan-out time
(CON-04). One notification per resident, however many cameras they have.
"""

from __future__ import annotations

from system.domain.area import Area
from system.domain.audit import AuditEvent
from system.domain.errors import InvalidTransition, NotFound
from system.domain.model import RequestStatus
from system.service_layer.context import ServiceContext
from system.service_layer.unit_of_work import UnitOfWork


def eligible_residents(uow: UnitOfWork, area: Area, *, agency_id: int) -> list[int]:
    """Residents to notify, ascending: the location index narrows, the sphere decides."""
    candidates = uow.cameras.candidates_in(area.bbox(), agency_id=agency_id)
    return sorted({resident for resident, lat, lon in candidates if area.contains(lat, lon)})


def fan_out(ctx: ServiceContext, *, request_id: int) -> int:
    """Notify the eligible residents of an approved request and make it active.

    Returns the number notified (platform-side only). Refuses any request that a
    moderator has not approved (REQ-08); running it twice notifies no one twice.
    """
    with ctx.uow() as uow:
        request = uow.requests.get_for_update(request_id)
        if request is None:
            raise NotFound(f"no request {request_id}", field="request_id")
        if request.status is not RequestStatus.APPROVED:
            raise InvalidTransition(
                f"request {request_id} is {request.status.value}; only approved requests "
                "are sent to residents",
                rule="REQ-08",
                field="status",
            )
        now = ctx.clock.now()
        residents = eligible_residents(uow, request.area, agency_id=request.agency_id)
        uow.notifications.add_many(request.id, residents, now=now)
        request.activate(
            now, notified_count=len(residents), response_period=ctx.policy.response_period
        )
        uow.requests.save(request)
        uow.audit.record(
            AuditEvent(
                actor="system:fan-out",
                role="system",
                object=f"request:{request.id}",
                action="notifications.sent",
                details={"notified": len(residents)},  # a count only (SEC-04)
            ),
            now=now,
        )
        uow.commit()
    return len(residents)
