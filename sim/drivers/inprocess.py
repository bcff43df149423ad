"""The in-process driver: the county model calls the real service layer directly.

Each replication gets its own database (SQLite by default, in a scratch
folder) and its own encrypted content stores; the system's clock is a
:class:`ManualClock` set to the simulation time before every call, so a 12-hour
window and a 7-day response period mean the same on both sides, and the
system's request rules take the scenario's response period and per-case limit
(:func:`system_policy`). Clips are
materialised only when a resident is about to share them, with synthetic
content of the size the model asks for (the model scales nominal clip sizes by
the scenario's ``transfer.byte_scale`` and charges transfer time for the
nominal size).

Answers and opt-outs are deferred (as :mod:`sim.core.ports` allows): they
queue up and are applied in order, each at its own time, set-based and all in
one transaction (:func:`system.service_layer.activity.apply_activity`), at the
next call of any other kind or when ``BATCH`` are waiting. Transfers run in
batches of up to ``CLAIM_BATCH`` jobs; the jobs a ``run_jobs`` ran last are
marked done (at the time they finished) in the next call's first transaction.
Listed evidence is mapped back to the model's clips through the transfers
that carried it. This is what lets a county-year go through the real service
layer in minutes rather than hours.

The stores rotate volumes at ``VOLUME_BYTES`` (a deployment's default is 1 GiB)
and the driver compacts them every ``COMPACT_EVERY_MIN`` of simulated time, as
an operator's scheduled ``canvass store compact --min-garbage 0.3`` would: a
sealed volume whose every object was deleted (the outbox's transient copies)
goes at once, and a volume of the platform's clips is rewritten once at least
``COMPACT_MIN_GARBAGE`` of it was deleted at the end of its cameras' retention
(SeaweedFS's vacuum uses the same 0.3 by default), so the scratch folder holds
about what the system keeps, not all it ever wrote.
"""

from __future__ import annotations

import contextlib
import heapq
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from sim.core.params import ModelParams
from sim.core.population import Population, camera_rows, resident_rows
from sim.core.ports import AnswerVerdict, ClipSpec, EvidenceSeen, Notified, Staffing, Submitted
from sim.drivers.id_maps import IdMap
from system.adapters import driver_sql
from system.adapters import tables as t
from system.adapters.bulk import ids
from system.adapters.db import make_engine
from system.adapters.migrate import upgrade
from system.adapters.stores import make_stores
from system.adapters.volume_upkeep import compact
from system.adapters.volumes import VolumeContentStore
from system.bootstrap import SqlServiceContext
from system.domain.area import CircleArea
from system.domain.clip import encode_clip
from system.domain.clock import ManualClock
from system.domain.errors import DomainError
from system.domain.moderation import CHECKLIST_ITEMS
from system.domain.rules import RequestDraft, RequestPolicy
from system.service_layer import (
    activity,
    clips,
    consent,
    evidence,
    jobs,
    registration,
    requests,
)

APPROVE = dict.fromkeys(CHECKLIST_ITEMS, True)
SCHEDULE_EVERY_MIN = 60.0  # expiry is also checked by the rules at answer time (CON-08)
BATCH = 2000  # deferred answers and opt-outs applied together at most
CLAIM_BATCH = 500  # jobs claimed (and transfers run) together
VOLUME_BYTES = 32 << 20  # where the replication's stores rotate volumes
COMPACT_EVERY_MIN = 7 * 24 * 60.0  # simulated time between compactions of the stores
COMPACT_MIN_GARBAGE = 0.3  # a volume is compacted once deleted records are this share of it
DESCRIPTION = "A package was taken from a porch; looking for video of the street at that time."
MESSAGE = (
    "Police are investigating a package theft near you. If your camera recorded the street "
    "in this window you may choose to share it. Sharing is optional."
)

AGENCY_DAILY_QUOTA = 100_000  # the simulated agency is never held back by the day's quota


def system_policy(params: ModelParams) -> RequestPolicy:
    """The simulated system's request rules, agreeing with the model where the scenario
    sets them: the response period (CON-08) and the published requests a case may have
    (REQ-04, at least 1 for the system); the rest are the system's defaults."""
    return RequestPolicy(
        response_period=timedelta(minutes=params.response_period_min),
        max_requests_per_case=max(1, params.max_requests_per_case),
        agency_daily_quota=AGENCY_DAILY_QUOTA,
    )


_CLIPS_OF_EVIDENCE = select(t.transfers.c.evidence_id, t.transfers.c.clip_id).where(
    t.transfers.c.evidence_id.in_(ids())
)


@dataclass(frozen=True, slots=True)
class _Answer:
    at_min: float
    resident: int
    notification_id: int
    clips: tuple[ClipSpec, ...]
    share_identity: bool
    include_audio: bool
    verdict: AnswerVerdict


@dataclass(frozen=True, slots=True)
class _OptOut:
    at_min: float
    resident: int


_Deferred = _Answer | _OptOut


class InProcessDriver:
    """A :class:`~sim.core.ports.SystemPort` on the service layer of one database."""

    def __init__(
        self,
        workdir: Path,
        *,
        start: datetime,
        database_url: str | None = None,
        policy: RequestPolicy | None = None,
        batch: int = BATCH,
        claim_batch: int = CLAIM_BATCH,
    ) -> None:
        """``batch`` 1 applies every answer at once (no deferral); ``claim_batch`` 1 runs
        transfers one by one. Neither changes any outcome, only the cost."""
        if batch < 1 or claim_batch < 1:
            raise ValueError("batch and claim_batch must be at least 1")
        self.batch = batch
        self.claim_batch = claim_batch
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.start = start.astimezone(UTC)
        self.clock = ManualClock(self.start)
        self.database_url = database_url or f"sqlite:///{workdir / 'canvass.db'}"
        self.engine = make_engine(self.database_url)
        upgrade(self.engine)
        self.ctx = SqlServiceContext(
            engine=self.engine,
            clock=self.clock,
            policy=policy or RequestPolicy(agency_daily_quota=AGENCY_DAILY_QUOTA),
            content=make_stores(workdir / "data", durable=False, volume_bytes=VOLUME_BYTES),
        )
        self.detectives: list[int] = []
        self.moderators: list[int] = []
        self.resident_ids: list[int] = []
        self.resident_index: dict[int, int] = {}
        self.camera_ids: list[int] = []
        # Per request: its notified residents' indices (sorted) and their notification ids,
        # as arrays (a county-year notifies millions: a dict of pairs took hundreds of MB).
        self._notification_ids: dict[int, tuple[NDArray[np.int64], NDArray[np.int64]]] = {}
        self._clip_ids = IdMap()  # the model's clip key -> the system's clip id
        self._clip_keys = IdMap()  # and back
        self._deferred: list[_Deferred] = []
        self._evidence_listed: dict[int, int] = {}  # case -> newest evidence id listed
        self._last_schedule_min = -SCHEDULE_EVERY_MIN
        self._jobs_waiting = True  # something may be queued: claim at the next run_jobs
        # Expiry moments of approved requests not yet looked for: a run_jobs at or after
        # one schedules time-driven work whatever the hourly throttle says.
        self._expiries: list[float] = []
        self._period_min = self.ctx.policy.response_period.total_seconds() / 60
        self._finished: list[jobs.Finished] = []  # jobs done but not yet marked so
        self._last_compact_min = 0.0

    def close(self) -> None:
        self.engine.dispose()

    def _moment(self, at_min: float) -> datetime:
        return self.start + timedelta(minutes=at_min)

    def _at(self, at_min: float) -> None:
        """Apply what was deferred, then move the system's clock to ``at_min``."""
        self._apply_deferred()
        moment = self._moment(at_min)
        if moment > self.clock.now():
            self.clock.set(moment)

    # --- SystemPort ---------------------------------------------------------------

    def setup(
        self,
        population: Population,
        *,
        staffing: Staffing,
        seed: int,
        on_platform: NDArray[np.bool_] | None = None,
    ) -> None:
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
        # Only the platform's users are the system's residents (their cameras with them);
        # the ids of the others stay -1: the model never names them to the system.
        residents, cameras = resident_rows(population, seed=seed), camera_rows(population)
        users = np.ones(len(residents), dtype=np.bool_) if on_platform is None else on_platform
        user_index = (np.cumsum(users) - 1).tolist()  # a user's position among the users
        owner_of = [int(camera["owner"]) for camera in cameras]  # type: ignore[call-overload]
        kept_cameras = [i for i, owner in enumerate(owner_of) if users[owner]]
        stored = registration.import_population(
            ctx,
            registration.PopulationRows(
                [row for row, user in zip(residents, users.tolist(), strict=True) if user],
                [{**cameras[i], "owner": user_index[owner_of[i]]} for i in kept_cameras],
            ),
        )
        self.resident_ids = [-1] * len(residents)
        for index, system_id in zip(np.flatnonzero(users).tolist(), stored, strict=True):
            self.resident_ids[index] = system_id
        self.resident_index = {rid: i for i, rid in enumerate(self.resident_ids) if rid >= 0}
        with ctx.uow(read_only=True) as uow:
            stored_cameras = list(
                uow.connection.execute(select(t.cameras.c.id).order_by(t.cameras.c.id)).scalars()
            )
        self.camera_ids = [-1] * len(cameras)
        for index, system_id in zip(kept_cameras, stored_cameras, strict=True):
            self.camera_ids[index] = system_id

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
        self._jobs_waiting = True
        if approve:
            heapq.heappush(self._expiries, at_min + self._period_min)
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
        # Time-driven work (expiry, retention) is looked for at most every simulated hour
        # (answers are judged against the expiry time itself, CON-08); queued work
        # (fan-out, transfers) runs whenever this driver queued some.
        expiry_due = bool(self._expiries) and self._expiries[0] <= at_min
        while self._expiries and self._expiries[0] <= at_min:
            heapq.heappop(self._expiries)
        schedule = expiry_due or at_min - self._last_schedule_min >= SCHEDULE_EVERY_MIN
        if schedule:
            self._last_schedule_min = at_min
            if at_min - self._last_compact_min >= COMPACT_EVERY_MIN:
                self._last_compact_min = at_min
                self._compact_stores()
        elif not self._jobs_waiting:
            return
        report = jobs.run_pending_jobs(
            self.ctx,
            schedule=schedule,
            claim_batch=self.claim_batch,
            work_queued=self._jobs_waiting,
            finished=self._finished,
            finish_later=True,
        )
        # The jobs that ran last are marked done, at the time they finished, in the next
        # call's first transaction (or at the final flush): one transaction less a call.
        self._finished = [report.finished] if report.finished is not None else []
        if report.errors:
            raise RuntimeError(f"system jobs failed: {report.errors[:3]}")
        # A job that failed would be retried later; none did, so the queue is empty now
        # and stays so until this driver queues more (answers, approvals) or schedules.
        self._jobs_waiting = report.ran >= 1000

    def _compact_stores(self) -> None:
        """Reclaim the space of deleted objects (the stores are this process's alone)."""
        stores = self.ctx.stores
        for store in (stores.clips, stores.outbox, stores.evidence):
            if isinstance(store, VolumeContentStore):
                compact(store, min_garbage=COMPACT_MIN_GARBAGE)

    def notified(self, *, request_id: int) -> Notified:
        self._apply_deferred()
        with self.ctx.uow(read_only=True) as uow:
            notification_of = uow.notifications.ids_for(request_id)
        pairs = sorted((self.resident_index[r], n) for r, n in notification_of.items())
        indices = np.array([i for i, _n in pairs], dtype=np.int64)
        self._notification_ids[request_id] = (
            indices,
            np.array([n for _i, n in pairs], dtype=np.int64),
        )
        return Notified(request_id, tuple(i for i, _n in pairs))

    def _notification_id(self, request_id: int, resident: int) -> int | None:
        known = self._notification_ids.get(request_id)
        if known is None:
            return None
        indices, notification_ids = known
        at = int(np.searchsorted(indices, resident))
        if at < indices.size and indices[at] == resident:
            return int(notification_ids[at])
        return None

    def respond(
        self,
        *,
        at_min: float,
        resident: int,
        request_id: int,
        clips: tuple[ClipSpec, ...],
        share_identity: bool,
        include_audio: bool,
    ) -> AnswerVerdict:
        verdict = AnswerVerdict()
        notification_id = self._notification_id(request_id, resident)
        if notification_id is None:  # never notified: the system has nothing to answer
            verdict.settle(False)
            return verdict
        self._defer(
            _Answer(
                at_min, resident, notification_id, clips, share_identity, include_audio, verdict
            )
        )
        return verdict

    def opt_out(self, *, at_min: float, resident: int) -> None:
        self._defer(_OptOut(at_min, resident))

    def _defer(self, item: _Deferred) -> None:
        self._deferred.append(item)
        if len(self._deferred) >= self.batch:
            self._apply_deferred()

    def flush(self) -> None:
        """Apply what was deferred and mark done the jobs that ran last (the run's end)."""
        self._apply_deferred()
        jobs.complete_finished(self.ctx, self._finished)
        self._finished = []

    def _apply_deferred(self) -> None:
        """Apply deferred answers and opt-outs, in order, each run of a kind set-based and
        all of them in one transaction (:func:`~system.service_layer.activity.apply_activity`)."""
        pending, self._deferred = self._deferred, []
        if not pending:
            return
        moment = self._moment(pending[-1].at_min)
        if moment > self.clock.now():
            self.clock.set(moment)
        runs: list[list[_Deferred]] = []
        for item in pending:
            if runs and type(runs[-1][0]) is type(item):
                runs[-1].append(item)
            else:
                runs.append([item])
        steps: list[activity.Step] = []
        uploaded: list[list[int]] = []  # per run of answers: the model's keys of its uploads
        for run in runs:
            if isinstance(run[0], _OptOut):
                steps.append(
                    activity.OptOuts(
                        [(self.resident_ids[o.resident], self._moment(o.at_min)) for o in run]
                    )
                )
                continue
            step, keys = self._answers_step(cast("list[_Answer]", run))
            steps.append(step)
            uploaded.append(keys)
        applied = activity.apply_activity(self.ctx, steps)
        keys_of_runs = iter(uploaded)
        for run, outcome in zip(runs, applied, strict=True):
            if isinstance(run[0], _OptOut):
                continue
            for key, clip_id in zip(next(keys_of_runs), outcome.clip_ids, strict=True):
                self._clip_ids[key] = clip_id
                self._clip_keys[clip_id] = key
            for answer, result in zip(cast("list[_Answer]", run), outcome.outcomes, strict=True):
                accepted = not isinstance(result, DomainError)
                answer.verdict.settle(accepted)
                if accepted and answer.clips:
                    self._jobs_waiting = True

    def _answers_step(self, answers: list[_Answer]) -> tuple[activity.Answers, list[int]]:
        """A run of answers as one step: the clips shared for the first time are uploaded
        first (named in the answers by placeholders, -1 for the first); their keys."""
        placeholder: dict[int, int] = {}
        uploads: list[clips.ClipUpload] = []
        for answer in answers:
            for spec in answer.clips:
                if spec.key not in self._clip_ids and spec.key not in placeholder:
                    placeholder[spec.key] = -len(placeholder) - 1
                    content = self._content(spec)
                    uploads.append(
                        clips.ClipUpload(
                            self.camera_ids[spec.camera], content, self._moment(answer.at_min)
                        )
                    )
        step = activity.Answers(
            uploads,
            [
                consent.Answer(
                    self.resident_ids[a.resident],
                    a.notification_id,
                    tuple(
                        self._clip_ids[spec.key]
                        if spec.key in self._clip_ids
                        else placeholder[spec.key]
                        for spec in a.clips
                    ),
                    a.share_identity,
                    a.include_audio,
                    self._moment(a.at_min),
                )
                for a in answers
            ],
        )
        return step, list(placeholder)

    def _content(self, spec: ClipSpec) -> bytes:
        size = max(16, int(spec.size_bytes))
        video = spec.key.to_bytes(8, "big") + bytes(max(0, size - 8))
        return encode_clip(
            recorded_at=self._moment(spec.recorded_at_min),
            duration_s=spec.duration_s,
            video=video,
            audio=bytes(max(1, size // 8)) if spec.has_audio else None,
        )

    def evidence(self, *, at_min: float, detective: int, case_id: int) -> tuple[EvidenceSeen, ...]:
        self._at(at_min)
        items = evidence.list_evidence(
            self.ctx,
            officer_id=self.detectives[detective],
            case_id=case_id,
            after_id=self._evidence_listed.get(case_id, 0),
        )
        if not items:
            return ()
        self._evidence_listed[case_id] = max(i.id for i in items)
        # The simulation (not the agency) maps items back to clips to know which camera saw
        # what, from the system's own records of which clip each transfer carried (a map
        # by content hash cost ~100 bytes a clip, 44 MB in a county-year, to save this read).
        with self.ctx.uow(read_only=True) as uow:
            rows = driver_sql.select_rows(
                uow.connection, _CLIPS_OF_EVIDENCE, {"ids": [i.id for i in items]}
            )
            clip_of: dict[int, int] = {int(e): int(c) for e, c in rows}
        return tuple(
            EvidenceSeen(i.id, self._clip_keys[clip_of[i.id]], i.size_bytes) for i in items
        )

    def close_request(self, *, at_min: float, detective: int, request_id: int) -> None:
        self._at(at_min)
        with contextlib.suppress(DomainError):  # already expired: nothing to close
            requests.close_request(
                self.ctx, officer_id=self.detectives[detective], request_id=request_id
            )
