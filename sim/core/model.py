"""The county model: porch thefts, sprees, victims, detectives, moderators and residents
driving the reference system through a :class:`~sim.core.ports.SystemPort`.

Processes are generator functions named after the actor: ``theft_source``,
``spree``, ``victim``, ``detective_case``, ``moderator_review``, ``resident``,
``transfer`` and ``detective_review``. :class:`CountyModel` owns the SimPy
environment, the two staff pools (detectives, moderators; FIFO queues, utilisation
time-weighted), the port and the records. Time is minutes since the scenario's
start; t = 0 is midnight.

**Thefts by thinning.** Thieves arrive as a non-homogeneous Poisson process over
the whole county with rate λ(t, home) = thieves_per_household × time-of-day(t) ×
holiday(t) × risk(home). ``theft_source`` draws candidates from a homogeneous
process at the bound λ* = homes × rate × max multiplier × max risk, picks a home
uniformly, and keeps the candidate with probability λ(t, home) / λ* (Lewis &
Shedler thinning). Deliveries are never simulated one by one: porch exposure
enters the rate through the time-of-day, holiday and prevention multipliers, and
each theft draws the one parcel it took (:mod:`sim.core.parcels`: when it came,
from the delivery hours, and when it would have been taken in, from the porch
dwell), so a county costs events per theft, not per delivery.

**Sprees.** A thief goes on a spree with ``spree_prob``: further thefts (mean
``spree_thefts_mean`` in all) at homes within ``spree_radius_m`` of the first,
spread uniformly over a lognormal duration, cut short by a natural end
(exponential) or by an arrest, which interrupts the ``spree`` process; thefts
planned but not committed at the arrest are ``thefts_prevented``.

**Investigations.** A victim finds the parcel gone when it would have been taken
in, and reports with ``report_prob`` after a lognormal delay from then; the
report is screened (``follow_up_prob``) and a followed-up case waits for a
detective, who opens it in the system, works it (exponential), then per policy
drafts a platform request (incident location, radius, and a window placed on
the parcel's time on the porch, which is all the victim knows: the fixed length
centred on it, or fitted to it, ending no later than now; the theft may fall
outside a window shorter than that time) and/or canvasses door to door (time
per door, answer probability, on-site export of footage from cameras that saw
the porch). A moderator (lognormal review) approves the request unless the
system's lint flagged it, then the system fans out. When a request's response
period ends without usable video, its thief is still free and its window left
part of the porch time out, a detective may post a follow-up
(``followup_request_prob``, up to ``max_requests_per_case``) asking for that part.
Each notified resident answers with their profile's probability after a lognormal
delay (silence if it exceeds the response period), shares with its probability,
and then only clips that still exist (retention) are uploaded and shared: the
theft clip of each of their cameras inside the area that saw the porch, and
bystander motion clips in the window.
The transfer takes bytes × 8 / upload bandwidth of simulated time; the detective
then reviews the new evidence (minutes per clip, capped per case). A clip of
the theft shows a usable view with ``usable_view_prob``; the first usable view
gives an identification with clearance × uplift; a case that ends without one
is cleared with the baseline clearance. With ``face_recognition`` a usable view
is first searched 1:N: a true-mate hit, or a false match on a person of some
group (per-group multipliers), which leads to a wrongful arrest unless
corroboration catches it.

A victim whose own camera saw the porch hands that clip to the detective when the
case is opened (``victim_handover_prob``), outside the platform; the evidence
path is recorded as ``victim``.

Not modelled (yet): package values, weekday effects,
the victim's and moderators' working hours.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from sim.core import records as rec
from sim.core.county import County, build_county
from sim.core.params import MIN_PER_DAY, MIN_PER_HOUR, ModelParams
from sim.core.parcels import Parcel, ParcelExposure, followup_window, request_window
from sim.core.population import Population
from sim.core.ports import AnswerVerdict, ClipSpec, Staffing, SystemPort
from sim.core.staff import Staff
from sim.core.streams import make_streams, motion_clip_times

Process = Generator[Any, Any, None]


@dataclass
class _Case:
    """A followed-up case as it develops (mutable; its records are immutable)."""

    case_id: int
    theft: rec.TheftRecord
    reported_at_min: float
    system_case_id: int = -1
    detective: int = -1
    with_detective: bool = True  # the opening hold is not over yet
    open_requests: int = 0  # published requests not yet expired (and follow-ups decided)
    requests_drafted: int = 0
    asked: tuple[float, float] | None = None  # the span every window so far asked for
    pending_transfers: int = 0  # shares on their way to evidence review
    evidence_seen: set[int] = field(default_factory=set)
    next_review: Any = None  # a review still waiting for a detective: new evidence joins it
    review_min_used: float = 0.0
    usable: bool = False
    decided: bool = False  # the identification attempt has been made


@dataclass(frozen=True)
class _Request:
    request_id: int
    case: _Case
    lat: float
    lon: float
    radius_m: float
    window_start_min: float
    window_end_min: float
    witnesses: frozenset[int]  # cameras inside the area whose view covers the porch


@dataclass(frozen=True)
class _Clip:
    spec: ClipSpec
    theft_id: int  # the theft it shows, -1 for a bystander motion clip

    @property
    def camera(self) -> int:
        return self.spec.camera

    @property
    def recorded_at_min(self) -> float:
        return self.spec.recorded_at_min


@dataclass
class _Spree:
    thief_id: int
    started_at_min: float
    planned: int
    committed: int = 1
    process: Any = None


@dataclass
class _Log:
    thefts: list[rec.TheftRecord] = field(default_factory=list)
    reports: list[rec.ReportRecord] = field(default_factory=list)
    cases: list[rec.CaseRecord] = field(default_factory=list)
    requests: list[rec.RequestRecord] = field(default_factory=list)
    moderations: list[rec.ModerationRecord] = field(default_factory=list)
    notifications: list[rec.NotificationRecord] = field(default_factory=list)
    responses: list[rec.ResponseRecord] = field(default_factory=list)
    clip_shares: list[rec.ClipShareRecord] = field(default_factory=list)
    transfers: list[rec.TransferRecord] = field(default_factory=list)
    evidence: list[rec.EvidenceRecord] = field(default_factory=list)
    usable_videos: list[rec.UsableVideoRecord] = field(default_factory=list)
    identifications: list[rec.IdentificationRecord] = field(default_factory=list)
    canvasses: list[rec.CanvassRecord] = field(default_factory=list)
    sprees: list[rec.SpreeRecord] = field(default_factory=list)
    opt_outs: list[rec.OptOutRecord] = field(default_factory=list)


class CountyModel:
    """One replication of the county, driving the system through ``port``."""

    def __init__(
        self, population: Population, params: ModelParams, port: SystemPort, *, seed: int
    ) -> None:
        self.env = simpy.Environment()
        self.population = population
        self.params = params
        self.port = port
        self.seed = seed
        self.streams = make_streams(seed)
        self.county: County = build_county(population, params, self.streams)
        self.parcels = ParcelExposure(
            params.delivery_hour_weights,
            dwell_median_min=params.porch_dwell_median_min,
            dwell_sigma=params.porch_dwell_sigma,
            prevention_dwell_factor=params.prevention_risk_multiplier,
        )
        self.detectives = Staff(self.env, "detectives", params.detectives)
        self.moderators = Staff(self.env, "moderators", params.moderators)
        self.log = _Log()
        self._theft_ids = itertools.count()
        self._thief_ids = itertools.count()
        self._case_ids = itertools.count()
        self._sprees: dict[int, _Spree] = {}
        self._arrested: set[int] = set()
        self._requests_received = np.zeros(self.county.n_residents, dtype=np.int64)
        self._opted_out = self.county.resident_opted_out_at_start.copy()
        self._resident_rngs: dict[int, np.random.Generator] = {}
        self._clip_keys: dict[tuple[int, float], int] = {}  # (camera, recorded at) -> key
        self._clips: dict[int, _Clip] = {}  # key -> clip
        self._answers: list[tuple[rec.ResponseRecord, AnswerVerdict]] = []
        self._worker_ran = self.env.event()  # succeeds at the platform worker's next run
        self._uploads_waiting = 0
        self._shared_at: dict[tuple[int, int], float] = {}  # (case, clip) -> minute
        self._ran = False

    # ----------------------------------------------------------------- running

    def run(
        self,
        until_min: float,
        *,
        progress: Callable[[float], None] | None = None,
        progress_every_min: float = 7 * 24 * 60,
    ) -> rec.ModelResult:
        """Set the system up, simulate ``[0, until_min)`` and return the records.

        ``progress`` is called with the fraction of the horizon done, every
        ``progress_every_min`` of simulated time (a week by default).
        """
        if self._ran:
            raise RuntimeError("a CountyModel runs once; build a new one per replication")
        self._ran = True
        p = self.params
        staffing = Staffing(p.detectives, p.supervisors, p.moderators)
        self.port.setup(self.population, staffing=staffing, seed=self.seed)
        for resident in np.flatnonzero(self._opted_out).tolist():
            self.port.opt_out(at_min=0.0, resident=resident)
            self.log.opt_outs.append(rec.OptOutRecord(resident, 0.0, 0, True))
        self.env.process(self.theft_source())
        self.env.process(self.platform_worker())
        step = progress_every_min if progress is not None else until_min
        reached = 0.0
        while reached < until_min:
            reached = min(until_min, reached + step)
            self.env.run(until=reached)
            if progress is not None:
                progress(reached / until_min)
        self.port.flush()
        return self._result(until_min)

    def _result(self, until_min: float) -> rec.ModelResult:
        for spree in self._sprees.values():  # still going at the horizon
            self.log.sprees.append(
                rec.SpreeRecord(
                    spree.thief_id,
                    spree.started_at_min,
                    until_min,
                    spree.planned,
                    spree.committed,
                    "horizon",
                    0,
                )
            )
        log = self.log
        # Answers a driver deferred are settled now: the records carry the system's verdict.
        log.responses.extend(
            dataclasses.replace(record, accepted=verdict.accepted)
            for record, verdict in self._answers
        )
        return rec.ModelResult(
            seed=self.seed,
            horizon_min=until_min,
            n_homes=self.population.n_homes,
            n_camera_owners=self.county.n_residents,
            parcels_delivered=self.population.n_homes
            * self.params.parcels_per_household(until_min),
            detective_hourly_cost_usd=self.params.detective_hourly_cost_usd,
            face_recognition=self.params.face_recognition,
            utilisation=(
                self.detectives.utilisation(until_min),
                self.moderators.utilisation(until_min),
            ),
            **{name: tuple(getattr(log, name)) for name in vars(log)},
        )

    # ------------------------------------------------------- thefts and sprees

    def theft_source(self) -> Process:
        """Thieves over the whole county, by thinning a homogeneous Poisson process."""
        p, county, rng = self.params, self.county, self.streams.thefts
        if county.n_homes == 0:
            return
        max_risk = float(county.home_risk.max())
        bound_multiplier = p.max_theft_multiplier * max_risk
        bound = county.n_homes * p.thieves_per_household_per_min * bound_multiplier
        if bound <= 0:
            return
        while True:
            yield self.env.timeout(rng.exponential(1.0 / bound))
            home = int(rng.integers(county.n_homes))
            keep = p.theft_multiplier(self.env.now) * county.home_risk[home]
            if rng.random() * bound_multiplier < keep:
                self._thief_arrives(home)

    def _thief_arrives(self, home: int) -> None:
        p, rng = self.params, self.streams.sprees
        thief = next(self._thief_ids)
        offsets: list[float] = []
        if rng.random() < p.spree_prob and p.spree_thefts_mean > 1:
            extra = int(rng.geometric(1.0 / p.spree_thefts_mean)) - 1
            duration = rng.lognormal(math.log(p.spree_duration_median_min), p.spree_duration_sigma)
            times = np.sort(rng.uniform(0.0, duration, extra))
            hazard = p.spree_natural_end_hazard_per_min
            quits = rng.exponential(1.0 / hazard) if hazard > 0 else math.inf
            offsets = times[times < quits].tolist()
        self._commit_theft(home, thief, in_spree=bool(offsets))
        if offsets:
            spree = _Spree(thief, float(self.env.now), planned=1 + len(offsets))
            self._sprees[thief] = spree
            spree.process = self.env.process(self.spree(spree, home, offsets))

    def spree(self, spree: _Spree, first_home: int, offsets: list[float]) -> Process:
        """A thief's further thefts near the first; an arrest interrupts it."""
        rng = self.streams.sprees
        ended_by = "natural"
        try:
            elapsed = 0.0
            for offset in offsets:
                yield self.env.timeout(offset - elapsed)
                elapsed = offset
                nearby = self.county.homes_near(first_home, self.params.spree_radius_m)
                self._commit_theft(int(rng.choice(nearby)), spree.thief_id, in_spree=True)
                spree.committed += 1
        except simpy.Interrupt:
            ended_by = "arrest"
        del self._sprees[spree.thief_id]
        self.log.sprees.append(
            rec.SpreeRecord(
                spree.thief_id,
                spree.started_at_min,
                float(self.env.now),
                spree.planned,
                spree.committed,
                ended_by,
                spree.planned - spree.committed,
            )
        )

    def _commit_theft(self, home: int, thief: int, *, in_spree: bool) -> None:
        viewing = self.county.cameras_viewing_porch(home).size
        # 1 + Poisson(mean - 1) packages: at least one, the scenario's mean (own stream).
        packages = 1 + int(self.streams.packages.poisson(self.params.packages_per_theft_mean - 1))
        now = float(self.env.now)
        parcel = self.parcels.draw(
            self.streams.parcels, now, prevention=bool(self.county.home_prevention[home])
        )
        theft = rec.TheftRecord(
            next(self._theft_ids),
            now,
            home,
            thief,
            in_spree,
            int(viewing),
            packages,
            parcel.delivered_at_min,
            parcel.discovered_at_min,
        )
        self.log.thefts.append(theft)
        p, rng = self.params, self.streams.reports
        reports = rng.random() < p.report_prob
        delay = rng.lognormal(math.log(p.report_delay_median_min), p.report_delay_sigma)
        if reports:
            self.env.process(self.victim(theft, theft.discovered_at_min - theft.at_min + delay))

    # ------------------------------------------------------ victims and police

    def victim(self, theft: rec.TheftRecord, delay_min: float) -> Process:
        """The victim reports ``delay_min`` after the theft (the report delay counts from
        finding the parcel gone); the report is screened for follow-up."""
        yield self.env.timeout(delay_min)
        case_id = next(self._case_ids)
        now = float(self.env.now)
        self.log.reports.append(rec.ReportRecord(case_id, theft.theft_id, theft.at_min, now))
        follow_up = self.streams.detectives.random() < self.params.follow_up_prob
        if follow_up and self.detectives.capacity > 0:
            self.env.process(self.detective_case(_Case(case_id, theft, now)))

    def detective_case(self, case: _Case) -> Process:
        """A detective opens the case, works it, and requests video and/or canvasses."""
        p = self.params
        work = (
            self.streams.detectives.exponential(p.case_work_mean_min)
            if p.case_work_mean_min
            else 0.0
        )
        with self.detectives.request() as turn:
            yield turn
            with self.detectives.on_duty() as detective:
                now = float(self.env.now)
                case.detective = detective
                case.system_case_id = self.port.open_case(
                    at_min=now,
                    detective=detective,
                    case_number=f"{self.population.county}-{case.case_id:07d}",
                )
                self.log.cases.append(
                    rec.CaseRecord(
                        case.case_id,
                        case.reported_at_min,
                        now,
                        now - case.reported_at_min,
                        True,
                        case.system_case_id,
                        detective,
                        p.policy,
                    )
                )
                self._victim_footage(case)
                yield self.env.timeout(work)
                if p.policy != "canvass" and p.max_requests_per_case > 0:
                    yield from self._draft_request(case)
                if p.policy != "platform_request":
                    yield from self._canvass(case)
        case.with_detective = False
        self._settle_if_done(case)

    def _draft_request(self, case: _Case, window: tuple[float, float] | None = None) -> Process:
        """Draft and submit a request: the first one's window comes from the parcel's time
        on the porch (``police.request_window_fit``), a follow-up's is given."""
        p = self.params
        yield self.env.timeout(p.request_drafting_min)
        now = float(self.env.now)
        home = case.theft.home
        lat = float(self.population.home_lat[home])
        lon = float(self.population.home_lon[home])
        theft = case.theft
        case.requests_drafted += 1
        window_start, window_end = window or request_window(
            Parcel(theft.delivered_at_min, theft.discovered_at_min),
            now_min=now,
            length_min=p.request_window_min,
            fit=p.request_window_fit,
        )
        holds_theft = window_start <= theft.at_min <= window_end
        case.asked = (
            (window_start, window_end)
            if case.asked is None
            else (min(case.asked[0], window_start), max(case.asked[1], window_end))
        )
        submitted = self.port.submit_request(
            at_min=now,
            detective=case.detective,
            case_id=case.system_case_id,
            incident_lat=lat,
            incident_lon=lon,
            window_start_min=window_start,
            window_end_min=window_end,
            radius_m=p.request_radius_m,
        )
        request_id = -1 if submitted.request_id is None else submitted.request_id
        self.log.requests.append(
            rec.RequestRecord(
                request_id,
                case.case_id,
                now,
                window_start,
                window_end,
                p.request_radius_m,
                submitted.refused_rule or "",
                ";".join(submitted.lint_flags),
                holds_theft,
                case.requests_drafted,
            )
        )
        if submitted.request_id is not None and self.moderators.capacity > 0:
            # Only a window that holds the theft can bring a clip of it.
            viewing = self.county.cameras_viewing_porch(home)
            witnesses = (
                self.county.cameras_inside(viewing, lat, lon, p.request_radius_m)
                if holds_theft
                else viewing[:0]
            )
            request = _Request(
                submitted.request_id,
                case,
                lat,
                lon,
                p.request_radius_m,
                window_start,
                window_end,
                frozenset(witnesses.tolist()),
            )
            case.open_requests += 1
            self.env.process(self.moderator_review(request, submitted.lint_flags))

    def _canvass(self, case: _Case) -> Process:
        """Door to door around the victim's home: knock, ask, export footage on site."""
        p, rng = self.params, self.streams.canvass
        started = float(self.env.now)
        doors = self._nearest_homes(case.theft.home, p.canvass_max_doors)
        answered = doors[rng.random(doors.size) < p.canvass_answer_prob]
        viewing = self.county.cameras_viewing_porch(case.theft.home)
        witnesses = viewing[np.isin(self.population.camera_home[viewing], answered)]
        minutes = doors.size * p.canvass_min_per_door
        obtained, lost = [], 0
        for camera in witnesses.tolist():
            if self._expired(camera, case.theft.at_min, started + minutes):
                lost += 1
            elif rng.random() < p.canvass_handover_prob:
                obtained.append(camera)
                minutes += p.canvass_export_min
        yield self.env.timeout(minutes)
        now = float(self.env.now)
        for camera in obtained:
            self.log.evidence.append(
                rec.EvidenceRecord(
                    -1, case.case_id, -1, camera, "canvass", True, p.clip_size_bytes, now, now
                )
            )
        self.log.canvasses.append(
            rec.CanvassRecord(
                case.case_id, started, minutes, doors.size, answered.size, len(obtained), lost
            )
        )
        self._judge(case, [(camera, True) for camera in obtained], path="canvass")

    def _victim_footage(self, case: _Case) -> None:
        """A victim whose own camera saw the porch hands its clip to the detective directly,
        outside the platform (with ``victim_handover_prob``), if retention kept it."""
        p = self.params
        home, now = case.theft.home, float(self.env.now)
        viewing = self.county.cameras_viewing_porch(home)
        own = viewing[self.population.camera_home[viewing] == home]
        handed = [
            camera
            for camera in own.tolist()
            if not self._expired(camera, case.theft.at_min, now)
            and self.streams.canvass.random() < p.victim_handover_prob
        ]
        for camera in handed:
            self.log.evidence.append(
                rec.EvidenceRecord(
                    -1, case.case_id, -1, camera, "victim", True, p.clip_size_bytes, now, now
                )
            )
        self._judge(case, [(camera, True) for camera in handed], path="victim")

    def _nearest_homes(self, home: int, count: int) -> np.ndarray[Any, np.dtype[np.int64]]:
        radius = 100.0
        while True:
            homes = self.county.homes_near(home, radius)
            if homes.size >= count or radius > 3000:
                return homes[:count]
            radius *= 2

    # -------------------------------------------------------------- moderation

    def moderator_review(self, request: _Request, lint_flags: tuple[str, ...]) -> Process:
        """A moderator reviews; approval fans out to residents (the system's job)."""
        p = self.params
        queued = float(self.env.now)
        review = self.streams.moderators.lognormal(
            math.log(p.moderation_review_median_min), p.moderation_review_sigma
        )
        with self.moderators.request() as turn:
            yield turn
            with self.moderators.on_duty() as moderator:
                started = float(self.env.now)
                yield self.env.timeout(review)
                approve = not lint_flags
                reason = "meets the checklist" if approve else "lint: " + ", ".join(lint_flags)
                now = float(self.env.now)
                self.port.moderate(
                    at_min=now,
                    moderator=moderator,
                    request_id=request.request_id,
                    approve=approve,
                    reason=reason,
                )
                self.port.run_jobs(at_min=now)
        notified = (
            self.port.notified(request_id=request.request_id).resident_indices if approve else ()
        )
        case = request.case
        self.log.moderations.append(
            rec.ModerationRecord(
                request.request_id,
                case.case_id,
                queued,
                started,
                now,
                approve,
                moderator,
                len(notified),
            )
        )
        if not approve:
            case.open_requests -= 1
            self._settle_if_done(case)
            return
        for resident in notified:
            self._notify(resident, request)
        self.env.process(self.request_expiry(request))

    def request_expiry(self, request: _Request) -> Process:
        yield self.env.timeout(self.params.response_period_min)
        self.port.run_jobs(at_min=float(self.env.now))
        case = request.case
        window = self._followup(request)
        if window is not None:
            case.open_requests += 1  # the case waits for the follow-up to be drafted
            self.env.process(self.followup_request(case, window))
        case.open_requests -= 1
        self._settle_if_done(case)

    def _followup(self, request: _Request) -> tuple[float, float] | None:
        """The window of a follow-up request, if the detective posts one: the period ended
        without usable video, the case may have another request (REQ-04), its thief has
        not been arrested meanwhile, the windows so far left part of the porch time out,
        and ``followup_request_prob`` says so."""
        p, case = self.params, request.case
        # (A case still holding this request is decided only if it has usable video.)
        if case.usable or case.requests_drafted >= p.max_requests_per_case:
            return None
        theft = case.theft
        if theft.thief_id in self._arrested:  # cleared with the spree (through another case)
            return None
        window = followup_window(
            Parcel(theft.delivered_at_min, theft.discovered_at_min),
            case.asked or (request.window_start_min, request.window_end_min),
            now_min=float(self.env.now),
            length_min=p.request_window_min,
        )
        if window is None or not self.streams.followups.random() < p.followup_request_prob:
            return None
        return window

    def followup_request(self, case: _Case, window: tuple[float, float]) -> Process:
        """A detective (any free one; the port is called as the case's) drafts the
        follow-up request."""
        with self.detectives.request() as turn:
            yield turn
            with self.detectives.on_duty():
                yield from self._draft_request(case, window)
        case.open_requests -= 1
        self._settle_if_done(case)

    # --------------------------------------------------------------- residents

    def _notify(self, resident: int, request: _Request) -> None:
        now = float(self.env.now)
        self._requests_received[resident] += 1
        received = int(self._requests_received[resident])
        lost = self._relevant_clips_lost(resident, request, now)
        self.log.notifications.append(
            rec.NotificationRecord(
                request.request_id,
                request.case.case_id,
                resident,
                self.county.resident_home(resident),
                now,
                received,
                lost,
            )
        )
        self.env.process(self.resident(resident, request, received, lost))

    def _resident_rng(self, resident: int) -> np.random.Generator:
        rng = self._resident_rngs.get(resident)
        if rng is None:
            rng = self._resident_rngs[resident] = self.streams.resident(resident)
        return rng

    def resident(
        self, resident: int, request: _Request, received: int, lost_at_notification: int
    ) -> Process:
        """A notified resident: silence (reneging at the response period), decline or share;
        then, perhaps, opting out of future requests."""
        p = self.params
        rng = self._resident_rng(resident)
        profile = p.resident_profiles[int(self.county.resident_profile[resident])]
        u_answer, u_share, u_identity, u_opt_out = rng.random(4)
        delay = rng.lognormal(
            math.log(profile.response_delay_median_min), profile.response_delay_sigma
        )
        notified_at = float(self.env.now)
        if u_answer < profile.response_prob and delay < p.response_period_min:
            yield self.env.timeout(delay)
            now = float(self.env.now)
            clip_ids: tuple[int, ...] = ()
            if u_share < profile.share_given_response_prob:
                clip_ids = self._materialise_clips(resident, request, now)
            verdict = self.port.respond(
                at_min=now,
                resident=resident,
                request_id=request.request_id,
                clips=tuple(self._clips[key].spec for key in clip_ids),
                share_identity=bool(clip_ids) and u_identity < p.share_identity_prob,
                include_audio=p.include_audio,
            )
            lost_later = self._relevant_clips_lost(resident, request, now) - lost_at_notification
            self._record_response(
                resident, request, profile.name, notified_at, clip_ids, verdict, lost_later
            )
            if clip_ids:
                # Started at once; the transfer checks the verdict (settled by then).
                request.case.pending_transfers += 1
                self.env.process(self.transfer(request, resident, clip_ids, now, verdict))
        if not self._opted_out[resident] and u_opt_out < profile.opt_out_prob(received):
            self._opted_out[resident] = True
            now = float(self.env.now)
            self.port.opt_out(at_min=now, resident=resident)
            self.log.opt_outs.append(rec.OptOutRecord(resident, now, received, False))

    def _record_response(
        self,
        resident: int,
        request: _Request,
        profile: str,
        notified_at: float,
        clip_ids: tuple[int, ...],
        verdict: AnswerVerdict,
        lost_since_notification: int,
    ) -> None:
        now = float(self.env.now)
        case = request.case
        relevant = 0
        for clip_id in clip_ids:
            clip = self._clips[clip_id]
            saw = clip.theft_id == case.theft.theft_id
            relevant += saw
            self._shared_at.setdefault((case.case_id, clip_id), now)
            self.log.clip_shares.append(
                rec.ClipShareRecord(
                    clip_id,
                    request.request_id,
                    resident,
                    clip.camera,
                    clip.recorded_at_min,
                    now,
                    self.params.clip_size_bytes,
                    saw,
                )
            )
        record = rec.ResponseRecord(
            request.request_id,
            case.case_id,
            resident,
            profile,
            notified_at,
            now,
            len(clip_ids),
            relevant,
            lost_since_notification,
            False,  # replaced by the system's verdict when the run ends
        )
        self._answers.append((record, verdict))

    def _relevant_cameras(self, resident: int, request: _Request) -> list[int]:
        """The resident's cameras inside the area that saw the case's porch."""
        first, end = self.county.resident_camera_ptr[resident : resident + 2].tolist()
        return [camera for camera in range(first, end) if camera in request.witnesses]

    def _relevant_clips_lost(self, resident: int, request: _Request, at_min: float) -> int:
        theft_at = request.case.theft.at_min
        cameras = self._relevant_cameras(resident, request)
        return sum(self._expired(camera, theft_at, at_min) for camera in cameras)

    def _expired(self, camera: int, recorded_at_min: float, at_min: float) -> bool:
        retention = float(self.population.camera_retention_days[camera]) * MIN_PER_DAY
        return at_min - recorded_at_min > retention

    def _materialise_clips(self, resident: int, request: _Request, now: float) -> tuple[int, ...]:
        """Upload (once) and return the clips the resident shares: of those that still exist
        (the theft from each camera that saw the porch, if the window holds it, and motion
        clips in the window, inside the area), a clip of the theft first, then the ones
        nearest the middle of the window (the resident knows the window, not the theft)."""
        theft = request.case.theft
        middle = (request.window_start_min + request.window_end_min) / 2
        inside = self.county.cameras_inside(
            self.county.cameras_of(resident), request.lat, request.lon, request.radius_m
        )
        relevant = set(self._relevant_cameras(resident, request))
        existing: list[tuple[float, int, float, int]] = []  # (rank, camera, at, theft)
        for camera in inside.tolist():
            if camera in relevant and not self._expired(camera, theft.at_min, now):
                existing.append((-1.0, camera, theft.at_min, theft.theft_id))
            for recorded_at in self._motion_clips(camera, request):
                if not self._expired(camera, recorded_at, now):
                    existing.append((abs(recorded_at - middle), camera, recorded_at, -1))
        # A resident shares at most a handful (max_clips_per_share, ASSUMPTION).
        chosen = sorted(existing)[: self.params.max_clips_per_share]
        return tuple(
            self._upload(camera, recorded_at, theft_id, now)
            for _d, camera, recorded_at, theft_id in sorted(chosen, key=lambda c: (c[2], c[1]))
        )

    def _motion_clips(self, camera: int, request: _Request) -> list[float]:
        """Motion clips the camera recorded in the window, hour by hour from its own draws."""
        start, end = request.window_start_min, request.window_end_min
        times = motion_clip_times(
            self.seed,
            camera,
            math.floor(start / MIN_PER_HOUR),
            int(end // MIN_PER_HOUR),
            self.params.motion_clips_per_camera_per_min * MIN_PER_HOUR,
        )
        return [float(t) for t in times if start <= t <= end]

    def _upload(self, camera: int, recorded_at_min: float, theft_id: int, now: float) -> int:
        """The model's key for a recorded clip (the driver uploads it when first shared)."""
        key = self._clip_keys.get((camera, recorded_at_min))
        if key is None:
            p = self.params
            key = self._clip_keys[(camera, recorded_at_min)] = len(self._clip_keys) + 1
            spec = ClipSpec(
                key=key,
                camera=camera,
                recorded_at_min=recorded_at_min,
                duration_s=p.clip_duration_s,
                size_bytes=max(1, round(p.clip_size_bytes * p.byte_scale)),
                has_audio=p.clip_has_audio,
            )
            self._clips[key] = _Clip(spec, theft_id)
        return key

    # ------------------------------------------------- transfer and evidence

    def transfer(
        self,
        request: _Request,
        resident: int,
        clip_ids: tuple[int, ...],
        shared_at: float,
        verdict: AnswerVerdict,
    ) -> Process:
        """The clips travel at the resident's upload bandwidth, then the system's
        transfer job delivers them and the detective reviews. A share the system
        refused (its verdict is settled once ``run_jobs`` returns) travels nowhere."""
        size = len(clip_ids) * self.params.clip_size_bytes
        mbps = float(self.county.resident_upload_mbps[resident])
        yield self.env.timeout(size * 8 / (mbps * 1e6) / 60)
        self._uploads_waiting += 1
        yield self._worker_ran
        now = float(self.env.now)
        case = request.case
        if not verdict.accepted:
            case.pending_transfers -= 1
            self._settle_if_done(case)
            return
        self.log.transfers.append(
            rec.TransferRecord(
                request.request_id,
                case.case_id,
                resident,
                len(clip_ids),
                size,
                mbps,
                shared_at,
                now,
            )
        )
        if case.next_review is None:
            case.next_review = self.env.process(self.detective_review(case))
        yield case.next_review
        case.pending_transfers -= 1
        self._settle_if_done(case)

    def platform_worker(self) -> Process:
        """The platform's job worker: every ``worker_poll_min``, if uploads have finished,
        it runs the system's queued work (the transfers); those shares then go on."""
        while True:
            yield self.env.timeout(self.params.worker_poll_min)
            if self._uploads_waiting:
                self.port.run_jobs(at_min=float(self.env.now))
                self._uploads_waiting = 0
                ran, self._worker_ran = self._worker_ran, self.env.event()
                ran.succeed()

    def detective_review(self, case: _Case) -> Process:
        """New evidence items are collected and reviewed, nearest the theft time first,
        up to the per-case review cap, in one sitting for everything delivered while it
        waited. The time comes from any free detective (one FIFO pool); the port is
        called as the case's detective, who alone may read it."""
        p = self.params
        with self.detectives.request() as turn:
            yield turn
            case.next_review = None  # evidence arriving from now on needs another sitting
            with self.detectives.on_duty():
                now = float(self.env.now)
                items = self.port.evidence(
                    at_min=now, detective=case.detective, case_id=case.system_case_id
                )
                new = [item for item in items if item.evidence_id not in case.evidence_seen]
                if not new:
                    return
                # Clips nearest the theft time first: the capped review sees the best ones.
                theft_at = case.theft.at_min
                new.sort(key=lambda i: abs(self._clips[i.clip_key].recorded_at_min - theft_at))
                reviewed = []
                for item in new:
                    case.evidence_seen.add(item.evidence_id)
                    clip = self._clips[item.clip_key]
                    saw = clip.theft_id == case.theft.theft_id
                    shared = self._shared_at.get((case.case_id, item.clip_key), now)
                    self.log.evidence.append(
                        rec.EvidenceRecord(
                            item.evidence_id,
                            case.case_id,
                            item.clip_key,
                            clip.camera,
                            "platform",
                            saw,
                            p.clip_size_bytes,
                            now,
                            shared,
                        )
                    )
                    if case.review_min_used + p.review_min_per_clip <= p.review_cap_min:
                        case.review_min_used += p.review_min_per_clip
                        reviewed.append((clip.camera, saw))
                yield self.env.timeout(len(reviewed) * p.review_min_per_clip)
                self._judge(case, reviewed, path="platform")

    # ---------------------------------------------------------- identification

    def _judge(self, case: _Case, clips: list[tuple[int, bool]], *, path: str) -> None:
        """Reviewed clips: the first usable view of the theft leads to identification."""
        rng = self.streams.identification
        for camera, saw_theft in clips:
            if case.usable or not saw_theft:
                continue
            if rng.random() < self.params.usable_view_prob:
                case.usable = True
                now = float(self.env.now)
                self.log.usable_videos.append(
                    rec.UsableVideoRecord(case.case_id, camera, path, now)
                )
                if not case.decided:
                    self._identify(case, usable_video=True)

    def _settle_if_done(self, case: _Case) -> None:
        """A case with nothing left to wait for gets the baseline clearance chance."""
        done = not case.with_detective and case.open_requests == 0
        if done and case.pending_transfers == 0 and not case.decided:
            self._identify(case, usable_video=False)

    def _identify(self, case: _Case, *, usable_video: bool) -> None:
        p, rng = self.params, self.streams.identification
        case.decided = True
        if usable_video and p.face_recognition and self._face_recognition(case):
            return
        clearance = p.clearance_prob * (p.usable_video_clearance_multiplier if usable_video else 1)
        if rng.random() < clearance:
            self._log_identification(case, "detective_review", correct=True, group="", arrest=True)

    def _face_recognition(self, case: _Case) -> bool:
        """A 1:N search of the usable view; True if it settled the case (a hit, or a wrong
        lead that corroboration missed). A wrong lead that was caught falls through."""
        p, rng = self.params, self.streams.identification
        if rng.random() < rng.uniform(p.fr_hit_prob_low, p.fr_hit_prob_high):
            self._log_identification(case, "face_recognition", correct=True, group="", arrest=True)
            return True
        weights = np.array([g.weight for g in p.face_groups], dtype=np.float64)
        group = p.face_groups[int(rng.choice(weights.size, p=weights / weights.sum()))]
        low, high = group.false_match_multiplier_low, group.false_match_multiplier_high
        multiplier = math.exp(rng.uniform(math.log(low), math.log(high)))
        per_candidate = min(1.0, p.fr_baseline_false_match_prob * multiplier)
        false_lead = 1.0 - (1.0 - per_candidate) ** p.fr_candidate_list_size
        if rng.random() >= false_lead:
            return False
        caught = rng.random() < p.fr_corroboration_catch_prob
        self._log_identification(
            case, "face_recognition", correct=False, group=group.name, arrest=not caught
        )
        return not caught

    def _log_identification(
        self, case: _Case, method: str, *, correct: bool, group: str, arrest: bool
    ) -> None:
        thief = case.theft.thief_id
        self.log.identifications.append(
            rec.IdentificationRecord(
                case.case_id, thief, float(self.env.now), method, correct, group, arrest
            )
        )
        if correct and arrest and thief not in self._arrested:
            self._arrested.add(thief)
            spree = self._sprees.get(thief)
            if spree is not None and spree.process.is_alive:
                spree.process.interrupt("arrest")
