"""A world where residents have cameras with clips, for consent and transfer tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from system.domain.clip import encode_clip
from system.service_layer import clips, consent, jobs, registration
from system.service_layer.context import ServiceContext
from tests.system.world import World, build_world, offset


@dataclass
class ConsentWorld:
    world: World
    request_id: int = 0
    notification_of: dict[str, int] = field(default_factory=dict)
    clips_of: dict[str, list[int]] = field(default_factory=dict)
    camera_of: dict[str, int] = field(default_factory=dict)

    @property
    def ctx(self) -> ServiceContext:
        return self.world.ctx

    def add_camera_owner(self, label: str, north_m: float, east_m: float) -> int:
        lat, lon = offset(north_m, east_m)
        resident = registration.register_resident(
            self.ctx,
            name=label.title(),
            email=f"{label}@residents.example",
            home_lat=lat,
            home_lon=lon,
        )
        camera = registration.register_camera(self.ctx, resident_id=resident.id, lat=lat, lon=lon)
        self.world.residents[label] = resident.id
        self.camera_of[label] = camera.id
        return resident.id

    def upload(
        self, label: str, recorded_at: datetime | None, *, audio: bool = True, size: int = 4096
    ) -> int:
        # Deterministic content: two worlds built alike hold identical clips.
        serial = sum(len(v) for v in self.clips_of.values())
        seed = hashlib.sha256(f"{label}:{serial}".encode()).digest()
        video = (seed * (size // len(seed) + 1))[:size]
        clip = encode_clip(
            recorded_at=recorded_at,
            duration_s=30.0,
            video=video,
            audio=video[: size // 4] if audio else None,
        )
        clip_id = clips.upload_clip(self.ctx, camera_id=self.camera_of[label], content=clip)
        self.clips_of.setdefault(label, []).append(clip_id)
        return clip_id

    def publish(self) -> int:
        """Submit, approve and fan out (through the job queue) one request."""
        self.request_id = self.world.submit()
        self.world.approve(self.request_id)
        jobs.run_pending_jobs(self.ctx)
        for item in [n for label in self.world.residents for n in self._notifications(label)]:
            label, nid = item
            self.notification_of[label] = nid
        return self.request_id

    def _notifications(self, label: str) -> list[tuple[str, int]]:
        resident_id = self.world.residents[label]
        return [
            (label, n.notification_id)
            for n in consent.my_notifications(self.ctx, resident_id=resident_id)
            if n.request_id == self.request_id
        ]


def build_consent_world(
    ctx: ServiceContext, labels: dict[str, tuple[float, float]]
) -> ConsentWorld:
    """Residents with one camera each; each uploads one clip inside the default window."""
    cw = ConsentWorld(build_world(ctx))
    now = ctx.clock.now()
    for label, (north, east) in labels.items():
        cw.add_camera_owner(label, north, east)
        cw.upload(label, now - timedelta(hours=3))  # inside the window (-5 h .. -2 h)
    return cw


PEOPLE = {"ann": (100, 0), "bob": (-100, 50), "cy": (0, 150), "di": (50, -50), "ed": (-50, -90)}


def published_world(ctx: ServiceContext) -> ConsentWorld:
    """:data:`PEOPLE` with a clip each (ann two) and one published request."""
    cw = build_consent_world(ctx, PEOPLE)
    cw.upload("ann", ctx.clock.now() - timedelta(hours=4))
    cw.publish()
    return cw


def count(ctx: ServiceContext, table: object) -> int:
    """Rows in ``table`` now."""
    with ctx.uow(read_only=True) as uow:
        return int(uow.connection.execute(select(func.count()).select_from(table)).scalar_one())
