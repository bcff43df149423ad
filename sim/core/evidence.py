"""Transfers, evidence review and identification.

A share travels at the resident's upload bandwidth (bytes × 8 / bandwidth of
simulated time, :func:`transfer`); the platform's job worker
(:func:`platform_worker`, every ``worker_poll_min``) then delivers it to the
agency's evidence store, and a detective reviews the new evidence
(:func:`detective_review`: minutes per clip, first delivered first and then
nearest the centre of the window asked for, :func:`review_order`). The review
cap is per case and every path's clips count against it (:func:`clips_within_cap`:
the victim's own clip and canvass clips take review minutes too). A clip of the
theft shows a usable view with ``usable_view_prob``; the first usable view gives
an identification with clearance × uplift (:func:`judge`); a case that ends
without one, followed up or not, is cleared with the baseline clearance
(:func:`settle_if_done`): ``clearance_prob`` is a clearance rate per reported
offence, so every report gets it.
With ``face_recognition`` a usable view is first searched 1:N: a true-mate hit,
or a false match on a person of some group (per-group multipliers), which leads
to a wrongful arrest unless corroboration catches it. A correct arrest ends the
thief's spree.
"""

from __future__ import annotations

import math

import numpy as np

from sim.core import records as rec
from sim.core.cases import Case, Request
from sim.core.ports import AnswerVerdict
from sim.core.streams import Source
from sim.core.world import Process, World


def transfer(
    world: World,
    request: Request,
    resident: int,
    clip_ids: tuple[int, ...],
    shared_at: float,
    verdict: AnswerVerdict,
) -> Process:
    """The clips travel at the resident's upload bandwidth, then the system's
    transfer job delivers them and the detective reviews. A share the system
    refused (its verdict is settled once ``run_jobs`` returns) travels nowhere."""
    size = len(clip_ids) * world.params.clip_size_bytes
    mbps = float(world.county.resident_upload_mbps[resident])
    yield world.env.timeout(size * 8 / (mbps * 1e6) / 60)
    world.worker.uploads_waiting += 1
    yield world.worker.ran
    now = world.now
    case = request.case
    for key in clip_ids:
        case.arrived_at.setdefault(key, now)
    if not verdict.accepted:
        case.pending_transfers -= 1
        settle_if_done(world, case)
        return
    world.log.transfers.append(
        rec.TransferRecord(
            request_id=request.request_id,
            case_id=case.case_id,
            resident=resident,
            clips=len(clip_ids),
            size_bytes=size,
            upload_mbps=mbps,
            shared_at_min=shared_at,
            delivered_at_min=now,
        )
    )
    if case.next_review is None:
        case.next_review = world.env.process(detective_review(world, case))
    yield case.next_review
    case.pending_transfers -= 1
    settle_if_done(world, case)


def platform_worker(world: World) -> Process:
    """The platform's job worker: every ``worker_poll_min``, if uploads have finished,
    it runs the system's queued work (the transfers); those shares then go on."""
    worker = world.worker
    while True:
        yield world.env.timeout(world.params.worker_poll_min)
        if worker.uploads_waiting:
            world.port.run_jobs(at_min=world.now)
            worker.uploads_waiting = 0
            ran, worker.ran = worker.ran, world.env.event()
            ran.succeed()


def detective_review(world: World, case: Case) -> Process:
    """New evidence items are collected and reviewed in an order the detective can know
    (:func:`review_order`), up to what is left of the case's review cap, in one sitting
    for everything delivered while it waited. The time comes from any free detective
    (one FIFO pool); the port is called as the case's detective, who alone may read it."""
    p = world.params
    with world.detectives.request() as turn:
        yield turn
        case.next_review = None  # evidence arriving from now on needs another sitting
        with world.detectives.on_duty(for_slice=case.theft.in_slice):
            now = world.now
            items = world.port.evidence(
                at_min=now, detective=case.detective, case_id=case.system_case_id
            )
            new = [item for item in items if item.evidence_id not in case.evidence_seen]
            world.log.listings.append(
                rec.EvidenceListingRecord(
                    case_id=case.case_id, at_min=now, items=len(items), new_items=len(new)
                )
            )
            if not new:
                return
            centre = case.window_centre_min
            new.sort(
                key=lambda i: review_order(
                    case.arrived_at.get(i.clip_key, now),
                    world.clips.recorded_at_min(i.clip_key),
                    centre,
                )
            )
            within = clips_within_cap(world, case, len(new))
            reviewed = []
            for index, item in enumerate(new):
                case.evidence_seen.add(item.evidence_id)
                camera = world.clips.camera(item.clip_key)
                saw = world.clips.theft_id(item.clip_key) == case.theft.theft_id
                world.log.evidence.append(
                    rec.EvidenceRecord(
                        evidence_id=item.evidence_id,
                        case_id=case.case_id,
                        clip_id=item.clip_key,
                        camera=camera,
                        path="platform",
                        saw_theft=saw,
                        size_bytes=p.clip_size_bytes,
                        seen_at_min=now,
                        shared_at_min=world.clips.shared_at.get((case.case_id, item.clip_key), now),
                        reviewed=index < within,
                    )
                )
                if index < within:
                    reviewed.append((camera, saw))
            yield world.env.timeout(within * p.review_min_per_clip)
            judge(world, case, reviewed, path="platform")


def review_order(
    arrived_at_min: float, recorded_at_min: float, window_centre_min: float
) -> tuple[float, float]:
    """The key a detective sorts new evidence by, from what they know: first delivered
    first, then the clip recorded nearest the centre of the window asked for. Never the
    theft's true time, which nobody working the case knows."""
    return (arrived_at_min, abs(recorded_at_min - window_centre_min))


def clips_within_cap(world: World, case: Case, clips: int) -> int:
    """How many of ``clips`` new clips (in review order) the detective watches, and their
    minutes booked to the case: the review cap is per case (the Met's rule for low-level
    crime), and every path's clips count against it, in the order they arrive."""
    p = world.params
    if p.review_min_per_clip <= 0:
        return clips
    left = p.review_cap_min - case.review_min_used
    within = min(clips, max(0, math.floor(left / p.review_min_per_clip + 1e-9)))
    case.review_min_used += within * p.review_min_per_clip
    return within


def record_handed_over(
    world: World, case: Case, cameras: list[int], *, path: str, within: int
) -> None:
    """Clips of the theft handed to the detective outside the platform (``path`` "victim"
    or "canvass"), each recorded as evidence seen now; the first ``within`` (what the
    review cap allowed, :func:`clips_within_cap`) are marked reviewed."""
    p, now = world.params, world.now
    for index, camera in enumerate(cameras):
        world.log.evidence.append(
            rec.EvidenceRecord(
                evidence_id=-1,
                case_id=case.case_id,
                clip_id=-1,
                camera=camera,
                path=path,
                saw_theft=True,
                size_bytes=p.clip_size_bytes,
                seen_at_min=now,
                shared_at_min=now,
                reviewed=index < within,
            )
        )


def judge(world: World, case: Case, clips: list[tuple[int, bool]], *, path: str) -> None:
    """Reviewed clips: the first usable view of the theft leads to identification."""
    rng = case.stream(world.streams, Source.IDENTIFICATION)
    for camera, saw_theft in clips:
        if case.usable or not saw_theft:
            continue
        if rng.random() < world.params.usable_view_prob:
            case.usable = True
            world.log.usable_videos.append(
                rec.UsableVideoRecord(
                    case_id=case.case_id, camera=camera, path=path, at_min=world.now
                )
            )
            if not case.decided:
                identify(world, case, usable_video=True)


def settle_if_done(world: World, case: Case) -> None:
    """A case with nothing left to wait for (a report not followed up at once) gets the
    baseline clearance chance."""
    done = not case.with_detective and case.open_requests == 0
    if done and case.pending_transfers == 0 and not case.decided:
        identify(world, case, usable_video=False)


def identify(world: World, case: Case, *, usable_video: bool) -> None:
    """The identification attempt: face recognition first (if on), then clearance."""
    p, rng = world.params, case.stream(world.streams, Source.IDENTIFICATION)
    case.decided = True
    if usable_video and p.face_recognition and face_recognition(world, case):
        return
    clearance = p.clearance_prob * (p.usable_video_clearance_multiplier if usable_video else 1)
    if rng.random() < clearance:
        log_identification(world, case, "detective_review", correct=True, group="", arrest=True)


def face_recognition(world: World, case: Case) -> bool:
    """A 1:N search of the usable view; True if it settled the case (a hit, or a wrong
    lead that corroboration missed). A wrong lead that was caught falls through."""
    p, rng = world.params, case.stream(world.streams, Source.IDENTIFICATION)
    if rng.random() < rng.uniform(p.fr_hit_prob_low, p.fr_hit_prob_high):
        log_identification(world, case, "face_recognition", correct=True, group="", arrest=True)
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
    log_identification(
        world, case, "face_recognition", correct=False, group=group.name, arrest=not caught
    )
    return not caught


def log_identification(
    world: World, case: Case, method: str, *, correct: bool, group: str, arrest: bool
) -> None:
    """The identification's record; a correct arrest stops the thief."""
    thief = case.theft.thief_id
    world.log.identifications.append(
        rec.IdentificationRecord(
            case_id=case.case_id,
            thief_id=thief,
            at_min=world.now,
            method=method,
            correct=correct,
            group=group,
            arrest=arrest,
        )
    )
    if correct and arrest:
        world.arrest(thief)
