"""The in-process driver: the county model calls the real service layer directly.

Each replication gets its own database (SQLite by default, in a scratch
folder) and its own encrypted content stores; the system's clock is a
:class:`ManualClock` set to the simulation time before every call, so a 12-hour
window and a 7-day response period mean the same on both sides. Clips are
materialised only when a resident is about to share them, with synthetic
content of the size the model asks for (the model scales nominal clip sizes by
the scenario's ``transfer.byte_scale`` and charges transfer time for the
nominal size).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from sim.core.population import Population, camera_rows, resident_rows
from sim.core.ports import EvidenceSeen, Notified, Staffing, Submitted
from system.adapters import tables as t
from system.adapters.db import make_engine
from system.adapters.migrate import upgrade
from system.adapters.stores import make_stores
from system.domain.area import CircleArea
from system.domain.clip import encode_clip
from system.domain.clock import ManualClock
from system.domain.errors import DomainError
from system.domain.moderation import CHECKLIST_ITEMS
from system.domain.rules import RequestDraft, RequestPolicy
from system.service_layer import consent, evidence, jobs, registration, requests, residents
from system.service_layer.context import ServiceContext

APPROVE = dict.fromkeys(CHECKLIST_ITEMS, True)
SCHEDULE_EVERY_MIN = 15.0
DESCRIPTION = "A package was taken from a porch; looking for video of the street at that time."
MESSAGE = (
    "Police are investigating a package theft near you. If your camera recorded the street "
    "in this window you may choose to share it. Sharing is optional."
)


class InProcessDriver:
    """A :class:`~sim.core.ports.SystemPort` on the service layer of one database."""

    def __init__(
        self,
        workdir: Path,
        *,
        start: datetime,
        database_url: str | None = None,
        policy: RequestPolicy | None = None,
    ) -> None:
        self.workdir = workdir
        self.start = start.astimezone(UTC)
        self.clock = ManualClock(self.start)
        self.database_url = database_url or f"sqlite:///{workdir / 'canvass.db'}"
        self.engine = make_engine(self.database_url)
        upgrade(self.engine)
        self.ctx = ServiceContext(
            engine=self.engine,
            clock=self.clock,
            policy=policy or RequestPolicy(agency_daily_quota=100_000),
            content=make_stores(workdir / "data", durable=False),
        )
        self.detectives: list[int] = []
        self.moderators: list[int] = []
        self.resident_ids: list[int] = []
        self.resident_index: dict[int, int] = {}
        self.camera_ids: list[int] = []
        self._clip_serial = 0
        self._last_schedule_min = -SCHEDULE_EVERY_MIN

    def close(self) -> None:
        self.engine.dispose()

    def _at(self, at_min: float) -> None:
        moment = self.start + timedelta(minutes=at_min)
        if moment > self.clock.now():
            self.clock.set(moment)

    # --- SystemPort ---------------------------------------------------------------

    def setup(self, population: Population, *, staffing: Staffing, seed: int) -> None:
        ctx = self.ctx
        agency = registration.register_agency(
            ctx,
            name=f"{population.county} Police Department",
            county=population.county,
            verified=True,
        )
        self.detectives = [
            registration.register_officer(
                ctx,
                agency_id=agency.id,
                name=f"Detective {i + 1}",
                email=f"detective{i + 1}@police.example",
                role="detective",
            ).id
            for i in range(staffing.detectives)
        ]
        for i in range(staffing.supervisors):
            registration.register_officer(
                ctx,
                agency_id=agency.id,
                name=f"Supervisor {i + 1}",
                email=f"supervisor{i + 1}@police.example",
                role="supervisor",
            )
        self.moderators = [
            registration.register_staff(
                ctx,
                name=f"Moderator {i + 1}",
                email=f"moderator{i + 1}@platform.example",
                role="moderator",
            ).id
            for i in range(staffing.moderators)
        ]
        self.resident_ids = registration.import_population(
            ctx,
            registration.PopulationRows(
                resident_rows(population, seed=seed), camera_rows(population)
            ),
        )
        self.resident_index = {rid: i for i, rid in enumerate(self.resident_ids)}
        with ctx.uow(read_only=True) as uow:
            self.camera_ids = list(
                uow.connection.execute(select(t.cameras.c.id).order_by(t.cameras.c.id)).scalars()
            )

    def open_case(self, *, at_min: float, detective: int, case_number: str) -> int:
        self._at(at_min)
        return registration.open_case(
            self.ctx,
            officer_id=self.detectives[detective],
            case_number=case_number,
            incident_type="package_theft",
        ).id

    def submit_request(
        self,
        *,
        at_min: float,
        detective: int,
        case_id: int,
        incident_lat: float,
        incident_lon: float,
        window_start_min: float,
        window_end_min: float,
        radius_m: float,
    ) -> Submitted:
        self._at(at_min)
        draft = RequestDraft(
            case_id=case_id,
            incident_type="package_theft",
            description=DESCRIPTION,
            investigator_contact=f"Detective {detective + 1}",
            incident_lat=incident_lat,
            incident_lon=incident_lon,
            window_start=self.start + timedelta(minutes=window_start_min),
            window_end=self.start + timedelta(minutes=window_end_min),
            area=CircleArea(incident_lat, incident_lon, radius_m),
            message=MESSAGE,
        )
        try:
            request_id = requests.submit_request(
                self.ctx, officer_id=self.detectives[detective], draft=draft
            )
        except DomainError as refused:
            return Submitted(None, refused.rule or refused.code)
        return Submitted(request_id)

    def moderate(
        self, *, at_min: float, moderator: int, request_id: int, approve: bool, reason: str
    ) -> None:
        self._at(at_min)
        checklist = APPROVE if approve else {**APPROVE, "proportionate_scope": False}
        requests.moderate(
            self.ctx,
            moderator_id=self.moderators[moderator],
            request_id=request_id,
            decision="approve" if approve else "reject",
            reason=reason or "not proportionate",
            checklist=checklist,
        )

    def run_jobs(self, *, at_min: float) -> None:
        self._at(at_min)
        # Time-driven work (expiry, retention) is looked for at most every few simulated
        # minutes; queued work (fan-out, transfers) runs at every call.
        schedule = at_min - self._last_schedule_min >= SCHEDULE_EVERY_MIN
        if schedule:
            self._last_schedule_min = at_min
        report = jobs.run_pending_jobs(self.ctx, schedule=schedule)
        if report.errors:
            raise RuntimeError(f"system jobs failed: {report.errors[:3]}")

    def notified(self, *, request_id: int) -> Notified:
        with self.ctx.uow(read_only=True) as uow:
            ids = uow.notifications.residents_for(request_id)
        return Notified(request_id, tuple(self.resident_index[r] for r in ids))

    def upload_clip(
        self,
        *,
        at_min: float,
        camera: int,
        recorded_at_min: float,
        duration_s: float,
        size_bytes: int,
        has_audio: bool,
    ) -> int:
        self._at(at_min)
        self._clip_serial += 1
        size = max(16, int(size_bytes))
        video = self._clip_serial.to_bytes(8, "big") + bytes(max(0, size - 8))
        clip = encode_clip(
            recorded_at=self.start + timedelta(minutes=recorded_at_min),
            duration_s=duration_s,
            video=video,
            audio=bytes(max(1, size // 8)) if has_audio else None,
        )
        return consent.upload_clip(self.ctx, camera_id=self.camera_ids[camera], content=clip)

    def respond(
        self,
        *,
        at_min: float,
        resident: int,
        request_id: int,
        clip_ids: tuple[int, ...],
        share_identity: bool,
        include_audio: bool,
    ) -> bool:
        self._at(at_min)
        resident_id = self.resident_ids[resident]
        with self.ctx.uow(read_only=True) as uow:
            notification_id = uow.connection.execute(
                select(t.notifications.c.id).where(
                    t.notifications.c.request_id == request_id,
                    t.notifications.c.resident_id == resident_id,
                )
            ).scalar()
        if notification_id is None:
            return False
        try:
            consent.respond(
                self.ctx,
                resident_id=resident_id,
                notification_id=int(notification_id),
                clip_ids=list(clip_ids),
                share_identity=share_identity,
                include_audio=include_audio,
            )
        except DomainError:
            return False
        return True

    def opt_out(self, *, at_min: float, resident: int) -> None:
        self._at(at_min)
        residents.opt_out(self.ctx, resident_id=self.resident_ids[resident])

    def evidence(self, *, at_min: float, detective: int, case_id: int) -> tuple[EvidenceSeen, ...]:
        self._at(at_min)
        items = evidence.list_evidence(
            self.ctx, officer_id=self.detectives[detective], case_id=case_id
        )
        if not items:
            return ()
        # The simulation (not the agency) maps items back to clips to know which camera saw what.
        with self.ctx.uow(read_only=True) as uow:
            rows = uow.connection.execute(
                select(t.transfers.c.evidence_id, t.transfers.c.clip_id).where(
                    t.transfers.c.evidence_id.in_([i.id for i in items])
                )
            ).all()
        clip_of: dict[int, int] = {int(e): int(c) for e, c in rows}
        return tuple(EvidenceSeen(i.id, clip_of[i.id], i.size_bytes) for i in items)

    def close_request(self, *, at_min: float, detective: int, request_id: int) -> None:
        self._at(at_min)
        with contextlib.suppress(DomainError):  # already expired: nothing to close
            requests.close_request(
                self.ctx, officer_id=self.detectives[detective], request_id=request_id
            )
