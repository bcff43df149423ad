"""Victims, cases and requests: from a report to the detective's requests for video.

A victim finds the parcel gone when it would have been taken in, and reports
with ``report_prob`` after a lognormal delay from then (:func:`victim`); the
report is screened (``follow_up_prob``): one not followed up settles at once with
the baseline clearance chance (clearance is per reported offence), and a
followed-up case waits for a detective (:func:`detective_case`), who opens it in
the system, takes the clip of the victim's own camera if it saw the porch
(``victim_handover_prob``, outside the platform: path ``victim``), works it
(exponential), then per policy and propensity (:func:`posts_request`) drafts a
platform request (:func:`draft_request`: the incident location, a radius, and a
window placed on the parcel's time on the porch, which is all the victim knows:
the fixed length centred on it, or fitted to it, ending no later than now; the
theft may fall outside a window shorter than that time) and/or canvasses door
to door (:mod:`sim.core.canvassing`).

A published request goes to moderation (:mod:`sim.core.moderation`); approval
fans out to residents (:mod:`sim.core.residents`). When a request's response
period ends without usable video, its thief is still free and its window left
part of the porch time out, a detective may post a follow-up
(``followup_request_prob``, up to ``max_requests_per_case``) asking for that part.
"""

from __future__ import annotations

from sim.core import records as rec
from sim.core.canvassing import canvass
from sim.core.cases import Case, Request
from sim.core.evidence import clips_within_cap, judge, record_handed_over, settle_if_done
from sim.core.moderation import moderator_review
from sim.core.parcels import Parcel, followup_window, request_window
from sim.core.residents import notify_all
from sim.core.streams import Source
from sim.core.world import Process, World


def victim(world: World, theft: rec.TheftRecord, delay_min: float) -> Process:
    """The victim reports ``delay_min`` after the theft (the report delay counts from
    finding the parcel gone); the report is screened for follow-up."""
    yield world.env.timeout(delay_min)
    case = Case(theft.theft_id, theft, world.now)
    case_id, now = case.case_id, case.reported_at_min
    world.log.reports.append(
        rec.ReportRecord(
            report_id=case_id,
            theft_id=theft.theft_id,
            theft_at_min=theft.at_min,
            reported_at_min=now,
            in_slice=theft.in_slice,
        )
    )
    follow_up = case.stream(world.streams, Source.DETECTIVES).random() < world.params.follow_up_prob
    if follow_up and world.detectives.capacity > 0:
        world.env.process(detective_case(world, case))
    else:  # settled at once: it keeps the baseline chance of clearance (per report)
        case.with_detective = False
        settle_if_done(world, case)


def detective_case(world: World, case: Case) -> Process:
    """A detective opens the case, works it, and requests video and/or canvasses."""
    p = world.params
    rng = case.stream(world.streams, Source.DETECTIVES)
    work = rng.exponential(p.case_work_mean_min) if p.case_work_mean_min else 0.0
    world.detectives.case_work_minutes += work
    with world.detectives.request() as turn:
        yield turn
        with world.detectives.on_duty(for_slice=case.theft.in_slice) as detective:
            now = world.now
            case.detective = detective
            case.system_case_id = world.port.open_case(
                at_min=now,
                detective=detective,
                case_number=f"{world.population.county}-{case.case_id:07d}",
            )
            world.log.cases.append(
                rec.CaseRecord(
                    case_id=case.case_id,
                    reported_at_min=case.reported_at_min,
                    started_at_min=now,
                    detective_wait_min=now - case.reported_at_min,
                    followed_up=True,
                    system_case_id=case.system_case_id,
                    detective=detective,
                    policy=p.policy,
                )
            )
            yield from victim_footage(world, case)
            yield world.env.timeout(work)
            if posts_request(world, case):
                yield from draft_request(world, case)
            if p.policy != "platform_request":
                yield from canvass(world, case)
    case.with_detective = False
    settle_if_done(world, case)


def posts_request(world: World, case: Case) -> bool:
    """Whether the detective posts a first request: the policy allows one, the victim's
    own camera has not already given usable video, and the propensity, lower the more
    cases wait for a detective (``ModelParams.request_chance``), says so."""
    p = world.params
    if p.policy == "canvass" or p.max_requests_per_case == 0 or case.usable:
        return False
    chance = p.request_chance(world.detectives.queue_length)
    return bool(case.stream(world.streams, Source.REQUEST_POSTING).random() < chance)


def victim_footage(world: World, case: Case) -> Process:
    """A victim whose own camera saw the porch hands its clip to the detective directly,
    outside the platform (with ``victim_handover_prob``), if retention kept it; the
    detective watches it first, within the case's review cap."""
    p = world.params
    home, now = case.theft.home, world.now
    viewing = world.county.cameras_viewing_porch(home)
    own = viewing[world.population.camera_home[viewing] == home]
    handed = [
        camera
        for camera in own.tolist()
        if not world.clips.expired(camera, case.theft.at_min, now)
        and case.stream(world.streams, Source.CANVASS).random() < p.victim_handover_prob
    ]
    within = clips_within_cap(world, case, len(handed))
    record_handed_over(world, case, handed, path="victim", within=within)
    yield world.env.timeout(within * p.review_min_per_clip)
    judge(world, case, [(camera, True) for camera in handed[:within]], path="victim")


def draft_request(world: World, case: Case, window: tuple[float, float] | None = None) -> Process:
    """Draft and submit a request: the first one's window comes from the parcel's time
    on the porch (``police.request_window_fit``), a follow-up's is given."""
    p = world.params
    yield world.env.timeout(p.request_drafting_min)
    now = world.now
    theft = case.theft
    lat = float(world.population.home_lat[theft.home])
    lon = float(world.population.home_lon[theft.home])
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
    submitted = world.port.submit_request(
        at_min=now,
        detective=case.detective,
        case_id=case.system_case_id,
        incident_lat=lat,
        incident_lon=lon,
        window_start_min=window_start,
        window_end_min=window_end,
        radius_m=p.request_radius_m,
    )
    world.log.requests.append(
        rec.RequestRecord(
            request_id=-1 if submitted.request_id is None else submitted.request_id,
            case_id=case.case_id,
            submitted_at_min=now,
            window_start_min=window_start,
            window_end_min=window_end,
            radius_m=p.request_radius_m,
            refused_rule=submitted.refused_rule or "",
            lint_flags=";".join(submitted.lint_flags),
            holds_theft=holds_theft,
            attempt=case.requests_drafted,
        )
    )
    if submitted.request_id is not None and world.moderators.capacity > 0:
        # Only a window that holds the theft can bring a clip of it.
        viewing = world.county.cameras_viewing_porch(theft.home)
        witnesses = (
            world.county.cameras_inside(viewing, lat, lon, p.request_radius_m)
            if holds_theft
            else viewing[:0]
        )
        request = Request(
            request_id=submitted.request_id,
            case=case,
            lat=lat,
            lon=lon,
            radius_m=p.request_radius_m,
            window_start_min=window_start,
            window_end_min=window_end,
            witnesses=frozenset(witnesses.tolist()),
            attempt=case.requests_drafted,
        )
        case.open_requests += 1
        world.env.process(published_request(world, request, submitted.lint_flags))


def published_request(world: World, request: Request, lint_flags: tuple[str, ...]) -> Process:
    """A request from moderation to the end of its response period: approved, it is
    fanned out to the residents it notifies, and expires after the period."""
    approved, notified = yield from moderator_review(world, request, lint_flags)
    if not approved:
        request.case.open_requests -= 1
        settle_if_done(world, request.case)
        return
    notify_all(world, notified, request)
    world.env.process(request_expiry(world, request))


def request_expiry(world: World, request: Request) -> Process:
    """The response period ends: the system expires the request, and the detective
    decides on a follow-up."""
    yield world.env.timeout(world.params.response_period_min)
    world.port.run_jobs(at_min=world.now)
    case = request.case
    window = followup_window_if_posted(world, request)
    if window is not None:
        case.open_requests += 1  # the case waits for the follow-up to be drafted
        world.env.process(followup_request(world, case, window))
    case.open_requests -= 1
    settle_if_done(world, case)


def followup_window_if_posted(world: World, request: Request) -> tuple[float, float] | None:
    """The window of a follow-up request, if the detective posts one: the period ended
    without usable video, the case may have another request (REQ-04), its thief has
    not been arrested meanwhile, the windows so far left part of the porch time out,
    and ``followup_request_prob`` says so."""
    p, case = world.params, request.case
    # (A case still holding this request is decided only if it has usable video.)
    if case.usable or case.requests_drafted >= p.max_requests_per_case:
        return None
    theft = case.theft
    if theft.thief_id in world.arrested:  # cleared with the spree (through another case)
        return None
    window = followup_window(
        Parcel(theft.delivered_at_min, theft.discovered_at_min),
        case.asked or (request.window_start_min, request.window_end_min),
        now_min=world.now,
        length_min=p.request_window_min,
    )
    rng = case.stream(world.streams, Source.FOLLOWUPS)
    if window is None or not rng.random() < p.followup_request_prob:
        return None
    return window


def followup_request(world: World, case: Case, window: tuple[float, float]) -> Process:
    """A detective (any free one; the port is called as the case's) drafts the
    follow-up request."""
    with world.detectives.request() as turn:
        yield turn
        with world.detectives.on_duty(for_slice=case.theft.in_slice):
            yield from draft_request(world, case, window)
    case.open_requests -= 1
    settle_if_done(world, case)
