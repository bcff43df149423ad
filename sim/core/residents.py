"""Residents: notified camera owners answer, share clips, and perhaps opt out.

Each owner the fan-out reached, but the victim's own household
(:func:`owners_notified`), is notified (:func:`notify_all`) and decides in
:func:`resident_decides`: with their behaviour profile's probability they answer
within the response period (silence otherwise: they renege), after a lognormal
delay conditioned on falling inside the period (:func:`answer_delay_min`), and
share with its probability. A sharer attaches 1 + Poisson(``clips_per_share_mean``
− 1) clips, at most those that still exist (retention), chosen by nearness to the
middle of the window among the clips of their cameras inside the area: the clip of
the theft from a camera that saw the porch and bystander motion clips alike, since
the resident does not know which shows the theft (:func:`clips_to_share`). After
each request a resident may opt out of future ones, with a hazard that grows
with the requests received. Every choice comes from draws keyed by (resident,
request), taken for a whole fan-out at once, so a resident answers the same
request the same way whatever else a policy changed.
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np

from sim.core import records as rec
from sim.core.cases import Request
from sim.core.evidence import transfer
from sim.core.ports import AnswerVerdict
from sim.core.streams import Source, poisson_quantile
from sim.core.world import Process, World

DRAWS_PER_ANSWER = 6
"""Uniforms per (resident, request): answer, share, identity, opt-out, delay, clips.
Each is keyed by its index, so adding one leaves the others' values as they were."""

_STANDARD_NORMAL = NormalDist()


def owners_notified(world: World, fanned_out: tuple[int, ...], request: Request) -> tuple[int, ...]:
    """The residents the model treats as notified of ``request``: everyone the system's
    fan-out reached (CON-01: the whole area) but the victim's household, who gave their
    footage to the detective in person and do not answer a request about their own case."""
    if not fanned_out:
        return ()
    residents = np.asarray(fanned_out, dtype=np.int64)
    homes = world.county.resident_homes(residents)
    return tuple(residents[homes != request.case.theft.home].tolist())


def notify_all(world: World, fanned_out: tuple[int, ...], request: Request) -> None:
    """The fan-out reached ``fanned_out``: the owners it notified (:func:`owners_notified`)
    are recorded and take their draws for this request in one block, and those who will
    answer or opt out start deciding (:func:`resident_decides`), in the fan-out's order."""
    residents = owners_notified(world, fanned_out, request)
    if not residents:
        return
    index = np.asarray(residents, dtype=np.int64)
    if np.unique(index).size != index.size:
        raise ValueError(
            f"request {request.request_id}: the fan-out names a resident twice; the system "
            "notifies each camera owner in the area once (CON-01)"
        )
    theft = request.case.theft
    draws = world.streams.uniforms(
        Source.RESIDENTS,
        index[:, None],
        theft.thief_id,
        theft.ordinal,
        request.attempt,
        np.arange(DRAWS_PER_ANSWER)[None, :],
    ).tolist()
    book, county, now = world.residents, world.county, world.now
    book.requests_received[index] += 1
    received = book.requests_received[index].tolist()
    homes = county.resident_homes(index)
    lost_by_resident = relevant_clips_lost_by_resident(world, request, now)
    lost = [lost_by_resident.get(resident, 0) for resident in residents]
    world.log.notifications.append_columns(
        len(residents),
        request_id=request.request_id,
        case_id=request.case.case_id,
        resident=residents,
        home=homes.tolist(),
        notified_at_min=now,
        requests_received=received,
        relevant_clips_lost=lost,
        home_in_slice=world.population.home_in_slice[homes].tolist(),
    )
    profiles = world.params.resident_profiles
    rows = zip(
        residents,
        draws,
        received,
        lost,
        county.resident_profile[index].tolist(),
        book.opted_out[index].tolist(),
        strict=True,
    )
    for resident, u, n, lost_now, profile_index, opted_out in rows:
        profile = profiles[profile_index]
        if u[0] >= profile.response_prob and (opted_out or u[3] >= profile.opt_out_prob(n)):
            # Silent and not opting out (nor can they by the time their process would
            # run: an opt-out is never undone): no process, as it would do nothing. Most
            # notified residents are these; the draws, and so every outcome, are unchanged.
            continue
        world.env.process(resident_decides(world, resident, request, n, lost_now, u))


def resident_decides(
    world: World,
    resident: int,
    request: Request,
    received: int,
    lost_at_notification: int,
    draws: list[float],
) -> Process:
    """A notified resident: silence (reneging at the response period), decline or share;
    then, perhaps, opting out of future requests."""
    p = world.params
    profile = p.resident_profiles[int(world.county.resident_profile[resident])]
    u_answer, u_share, u_identity, u_opt_out, u_delay, u_clips = draws
    notified_at = world.now
    if u_answer < profile.response_prob:
        yield world.env.timeout(
            answer_delay_min(
                u_delay,
                median_min=profile.response_delay_median_min,
                sigma=profile.response_delay_sigma,
                period_min=p.response_period_min,
            )
        )
        now = world.now
        clip_ids: tuple[int, ...] = ()
        if u_share < profile.share_given_response_prob:
            wanted = 1 + poisson_quantile(u_clips, p.clips_per_share_mean - 1)
            clip_ids = clips_to_share(world, resident, request, now, wanted)
        verdict = world.port.respond(
            at_min=now,
            resident=resident,
            request_id=request.request_id,
            clips=tuple(world.clips.spec(key) for key in clip_ids),
            share_identity=bool(clip_ids) and u_identity < p.share_identity_prob,
            include_audio=p.include_audio,
        )
        lost_later = relevant_clips_lost(world, resident, request, now) - lost_at_notification
        record_answer(
            world,
            resident,
            request,
            profile=profile.name,
            notified_at=notified_at,
            clip_ids=clip_ids,
            verdict=verdict,
            lost_since_notification=lost_later,
        )
        if clip_ids:
            # Started at once; the transfer checks the verdict (settled by then).
            request.case.pending_transfers += 1
            world.env.process(transfer(world, request, resident, clip_ids, now, verdict))
    book = world.residents
    if not book.opted_out[resident] and u_opt_out < profile.opt_out_prob(received):
        book.opted_out[resident] = True
        now = world.now
        world.port.opt_out(at_min=now, resident=resident)
        world.log.opt_outs.append(
            rec.OptOutRecord(
                resident=resident,
                at_min=now,
                requests_received=received,
                before_run=False,
                home_in_slice=bool(
                    world.population.home_in_slice[world.county.resident_home(resident)]
                ),
            )
        )


def answer_delay_min(u: float, *, median_min: float, sigma: float, period_min: float) -> float:
    """Minutes from notification to an answer that comes within the response period: the
    lognormal (``median_min``, ``sigma``) conditioned on falling below ``period_min``, at
    quantile ``u`` (the inverse CDF of ``u × F(period)``). So ``response_prob`` is
    P(answering within the period) for any delay distribution. Where F(period) is 0 (a
    point mass at or past the period) the delay is the conditioned one's limit: the end of
    the period, a moment before the system expires the request."""
    last_moment = period_min * (1 - 1e-9)
    if sigma <= 0:
        return min(median_min, last_moment)
    below = _share_within(period_min, median_min, sigma)
    z = _STANDARD_NORMAL.inv_cdf(min(max(u * below, 1e-300), 1 - 1e-15))
    return min(median_min * math.exp(sigma * z), last_moment)


@functools.lru_cache(maxsize=64)
def _share_within(period_min: float, median_min: float, sigma: float) -> float:
    """F(period): the lognormal's probability of falling below ``period_min`` (a profile's
    constant, so computed once)."""
    return _STANDARD_NORMAL.cdf(math.log(period_min / median_min) / sigma)


def record_answer(
    world: World,
    resident: int,
    request: Request,
    *,
    profile: str,
    notified_at: float,
    clip_ids: tuple[int, ...],
    verdict: AnswerVerdict,
    lost_since_notification: int,
) -> None:
    """The answer's records: a share per clip now, the answer once the verdict settles."""
    now = world.now
    case = request.case
    relevant = 0
    clips = world.clips
    for clip_id in clip_ids:
        saw = clips.theft_id(clip_id) == case.theft.theft_id
        relevant += saw
        clips.shared_at.setdefault((case.case_id, clip_id), now)
        world.log.clip_shares.append(
            rec.ClipShareRecord(
                clip_id=clip_id,
                request_id=request.request_id,
                resident=resident,
                camera=clips.camera(clip_id),
                recorded_at_min=clips.recorded_at_min(clip_id),
                shared_at_min=now,
                size_bytes=world.params.clip_size_bytes,
                saw_theft=saw,
            )
        )
    record = rec.ResponseRecord(
        request_id=request.request_id,
        case_id=case.case_id,
        resident=resident,
        profile=profile,
        notified_at_min=notified_at,
        responded_at_min=now,
        clips_shared=len(clip_ids),
        relevant_clips_shared=relevant,
        relevant_clips_lost=lost_since_notification,
        accepted=False,  # replaced by the system's verdict when the run ends
    )
    world.residents.answer(record, verdict, world.log)


def relevant_cameras(world: World, resident: int, request: Request) -> list[int]:
    """The resident's cameras inside the area that saw the case's porch."""
    first, end = world.county.resident_camera_ptr[resident : resident + 2].tolist()
    return [camera for camera in range(first, end) if camera in request.witnesses]


def relevant_clips_lost_by_resident(
    world: World, request: Request, at_min: float
) -> dict[int, int]:
    """:func:`relevant_clips_lost` of every resident who has any (the owners of the
    cameras that saw the porch), computed once for a whole fan-out."""
    theft_at = request.case.theft.at_min
    lost: dict[int, int] = {}
    owner = world.county.camera_resident
    for camera in request.witnesses:
        if world.clips.expired(camera, theft_at, at_min):
            resident = int(owner[camera])
            lost[resident] = lost.get(resident, 0) + 1
    return lost


def relevant_clips_lost(world: World, resident: int, request: Request, at_min: float) -> int:
    """The resident's clips of the theft that retention has deleted by ``at_min``."""
    theft_at = request.case.theft.at_min
    cameras = relevant_cameras(world, resident, request)
    return sum(world.clips.expired(camera, theft_at, at_min) for camera in cameras)


def clips_to_share(
    world: World, resident: int, request: Request, now: float, wanted: int
) -> tuple[int, ...]:
    """Name (once) and return the clips the resident shares: ``wanted`` of those that still
    exist (the theft from each camera that saw the porch, if the window holds it, and
    motion clips in the window, inside the area), or all of them if fewer, the ones
    nearest the middle of the window. The resident knows the window, not the theft, so a
    clip of the theft ranks by its time like any other."""
    theft = request.case.theft
    clips = world.clips
    start, end = request.window_start_min, request.window_end_min
    middle = (start + end) / 2
    cameras = world.county.resident_cameras_inside(
        resident, request.lat, request.lon, request.radius_m
    )
    relevant = set(relevant_cameras(world, resident, request))
    existing: list[tuple[float, int, float, int]] = []  # (from the middle, camera, at, theft)
    for camera, motion in zip(cameras, clips.motion_clips_of(cameras, start, end), strict=True):
        if camera in relevant and not clips.expired(camera, theft.at_min, now):
            existing.append((abs(theft.at_min - middle), camera, theft.at_min, theft.theft_id))
        for recorded_at in motion:
            if not clips.expired(camera, recorded_at, now):
                existing.append((abs(recorded_at - middle), camera, recorded_at, -1))
    chosen = sorted(existing)[:wanted]
    return tuple(
        clips.name(camera, recorded_at, theft_id)
        for _d, camera, recorded_at, theft_id in sorted(chosen, key=lambda c: (c[2], c[1]))
    )
