"""Video requests, each with its area and lifecycle: rows in, domain objects out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select

from system.adapters import driver_sql
from system.adapters import tables as t
from system.adapters.bulk import ids, rows_in, update_by_id
from system.adapters.repo_base import Repository
from system.domain import geo
from system.domain.area import Area, CircleArea, PolygonArea
from system.domain.model import IncidentType, RequestStatus, VideoRequest


class RequestRepository(Repository):
    def add(self, request: VideoRequest) -> int:
        request.id = self._insert(t.video_requests, **_request_row(request))
        return request.id

    def get(self, request_id: int) -> VideoRequest | None:
        row = driver_sql.first_row(self.connection, _REQUEST, {"id": request_id})
        return None if row is None else _request_from_row(row)

    def get_many(self, request_ids: Sequence[int]) -> dict[int, VideoRequest]:
        """Requests by id (missing ids are absent), in one statement per 500."""
        rows = rows_in(self.connection, _REQUESTS, request_ids)
        return {r.id: _request_from_row(r) for r in rows}

    def get_for_update(self, request_id: int) -> VideoRequest | None:
        """Read a request and lock its row until the transaction ends (PostgreSQL)."""
        row = driver_sql.first_row(self.connection, _REQUEST_FOR_UPDATE, {"id": request_id})
        return None if row is None else _request_from_row(row)

    def save(self, request: VideoRequest) -> None:
        row = _request_row(request)
        update_by_id(self.connection, t.video_requests, [{**row, "id": request.id}], list(row))

    def count_for_case(self, case_id: int, statuses: Iterable[RequestStatus]) -> int:
        c = t.video_requests.c
        query = select(func.count()).where(
            c.case_id == case_id, c.status.in_([s.value for s in statuses])
        )
        return int(self.connection.execute(query).scalar_one())

    def count_for_agency_since(self, agency_id: int, since: datetime) -> int:
        c = t.video_requests.c
        query = select(func.count()).where(c.agency_id == agency_id, c.submitted_at >= since)
        return int(self.connection.execute(query).scalar_one())

    def due_to_expire(self, now: datetime, *, limit: int = 1000) -> list[int]:
        """Ids of active requests whose response period has ended."""
        rows = driver_sql.select_rows(self.connection, _DUE_TO_EXPIRE, {"now": now, "limit": limit})
        return [r.id for r in rows]

    def with_status(self, status: RequestStatus, *, limit: int = 100) -> list[VideoRequest]:
        rows = self.connection.execute(
            select(t.video_requests)
            .where(t.video_requests.c.status == status.value)
            .order_by(t.video_requests.c.submitted_at, t.video_requests.c.id)
            .limit(limit)
        )
        return [_request_from_row(r) for r in rows]


_REQUEST = select(t.video_requests).where(t.video_requests.c.id == bindparam("id"))
_REQUEST_FOR_UPDATE = _REQUEST.with_for_update()
_REQUESTS = select(t.video_requests).where(t.video_requests.c.id.in_(ids()))
_DUE_TO_EXPIRE = (
    select(t.video_requests.c.id)
    .where(
        t.video_requests.c.status == RequestStatus.ACTIVE.value,
        t.video_requests.c.expires_at <= bindparam("now"),
    )
    .order_by(t.video_requests.c.expires_at, t.video_requests.c.id)
    .limit(bindparam("limit"))
)


def _area_columns(area: Area) -> dict[str, Any]:
    if isinstance(area, CircleArea):
        return {
            "area_kind": "circle",
            "center_lat": area.center_lat,
            "center_lon": area.center_lon,
            "radius_m": area.radius_m,
            "polygon_json": None,
        }
    return {
        "area_kind": "polygon",
        "center_lat": None,
        "center_lon": None,
        "radius_m": None,
        "polygon_json": json.dumps([[v.lat, v.lon] for v in area.vertices]),
    }


def _request_row(request: VideoRequest) -> dict[str, Any]:
    return {
        "agency_id": request.agency_id,
        "case_id": request.case_id,
        "officer_id": request.officer_id,
        "incident_type": request.incident_type.value,
        "description": request.description,
        "investigator_contact": request.investigator_contact,
        "incident_lat": request.incident_lat,
        "incident_lon": request.incident_lon,
        "window_start": request.window_start,
        "window_end": request.window_end,
        **_area_columns(request.area),
        "message": request.message,
        "status": request.status.value,
        "lint_flags_json": json.dumps(list(request.lint_flags)),
        "submitted_at": request.submitted_at,
        "reviewed_at": request.reviewed_at,
        "decided_at": request.decided_at,
        "activated_at": request.activated_at,
        "ended_at": request.ended_at,
        "expires_at": request.expires_at,
        "notified_count": request.notified_count,
    }


def _request_from_row(row: Any) -> VideoRequest:
    area: Area
    if row.area_kind == "circle":
        area = CircleArea(row.center_lat, row.center_lon, row.radius_m)
    else:
        area = PolygonArea(tuple(geo.Point(a, b) for a, b in json.loads(row.polygon_json)))
    return VideoRequest(
        id=row.id,
        agency_id=row.agency_id,
        case_id=row.case_id,
        officer_id=row.officer_id,
        incident_type=IncidentType(row.incident_type),
        description=row.description,
        investigator_contact=row.investigator_contact,
        incident_lat=row.incident_lat,
        incident_lon=row.incident_lon,
        window_start=row.window_start,
        window_end=row.window_end,
        area=area,
        message=row.message,
        submitted_at=row.submitted_at,
        status=RequestStatus(row.status),
        lint_flags=tuple(json.loads(row.lint_flags_json)),
        reviewed_at=row.reviewed_at,
        decided_at=row.decided_at,
        activated_at=row.activated_at,
        ended_at=row.ended_at,
        expires_at=row.expires_at,
        notified_count=row.notified_count,
    )
