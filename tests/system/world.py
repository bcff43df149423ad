"""Builders for small, readable worlds of agencies, officers and residents.

Coordinates are around a point in Hempstead, NY; offsets are in metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from system.domain.area import CircleArea
from system.domain.geo import EARTH_RADIUS_M
from system.domain.moderation import CHECKLIST_ITEMS
from system.domain.rules import RequestDraft
from system.service_layer import registration, requests
from system.service_layer.context import ServiceContext

CENTRE = (40.7062, -73.6187)

APPROVE_ALL = dict.fromkeys(CHECKLIST_ITEMS, True)


def offset(
    metres_north: float, metres_east: float, origin: tuple[float, float] = CENTRE
) -> tuple[float, float]:
    """A point ``metres_north`` and ``metres_east`` of ``origin`` (exact enough below 1 km)."""
    lat = origin[0] + math.degrees(metres_north / EARTH_RADIUS_M)
    lon = origin[1] + math.degrees(
        metres_east / (EARTH_RADIUS_M * math.cos(math.radians(origin[0])))
    )
    return lat, lon


@dataclass
class World:
    ctx: ServiceContext
    agency_id: int = 0
    other_agency_id: int = 0
    detective_id: int = 0
    other_detective_id: int = 0
    moderator_id: int = 0
    case_id: int = 0
    residents: dict[str, int] = field(default_factory=dict)

    def add_resident(self, label: str, north_m: float, east_m: float, *, cameras: int = 1) -> int:
        lat, lon = offset(north_m, east_m)
        resident = registration.register_resident(
            self.ctx,
            name=label.title(),
            email=f"{label}@residents.example",
            home_lat=lat,
            home_lon=lon,
        )
        for _ in range(cameras):
            registration.register_camera(self.ctx, resident_id=resident.id, lat=lat, lon=lon)
        self.residents[label] = resident.id
        return resident.id

    def draft(self, **changes: Any) -> RequestDraft:
        now = self.ctx.clock.now()
        values: dict[str, Any] = {
            "case_id": self.case_id,
            "incident_type": "package_theft",
            "description": "Package taken from a porch on Front St; suspect wore a red hoodie.",
            "investigator_contact": "Det. Rivera, 516-555-0100",
            "incident_lat": CENTRE[0],
            "incident_lon": CENTRE[1],
            "window_start": now - timedelta(hours=5),
            "window_end": now - timedelta(hours=2),
            "area": CircleArea(CENTRE[0], CENTRE[1], 400.0),
            "message": (
                "Police are looking for video of a package theft nearby. Sharing is optional."
            ),
        }
        values.update(changes)
        return RequestDraft(**values)

    def submit(self, **changes: Any) -> int:
        return requests.submit_request(
            self.ctx, officer_id=self.detective_id, draft=self.draft(**changes)
        )

    def approve(self, request_id: int) -> None:
        requests.moderate(
            self.ctx,
            moderator_id=self.moderator_id,
            request_id=request_id,
            decision="approve",
            reason="",
            checklist=APPROVE_ALL,
        )


def build_world(ctx: ServiceContext) -> World:
    """Two verified agencies with a detective each, a moderator, and an open case."""
    world = World(ctx)
    agency = registration.register_agency(
        ctx, name="Nassau County PD", county="Nassau", verified=True
    )
    other = registration.register_agency(
        ctx, name="Suffolk County PD", county="Suffolk", verified=True
    )
    world.agency_id, world.other_agency_id = agency.id, other.id
    world.detective_id = registration.register_officer(
        ctx, agency_id=agency.id, name="Ana Rivera", email="rivera@ncpd.example", role="detective"
    ).id
    world.other_detective_id = registration.register_officer(
        ctx, agency_id=other.id, name="Sam Cole", email="cole@scpd.example", role="detective"
    ).id
    world.moderator_id = registration.register_staff(
        ctx, name="Mo Derator", email="mod@platform.example", role="moderator"
    ).id
    world.case_id = registration.open_case(
        ctx,
        officer_id=world.detective_id,
        case_number="2026-PT-0001",
        incident_type="package_theft",
    ).id
    return world
