"""Canvassing: the door-to-door baseline the platform request is compared with.

The case's detective knocks at the doors nearest the victim's home (up to
``canvass_max_doors``, ``canvass_min_per_door`` each); a door is answered with
``canvass_answer_prob``; a camera behind an answered door that saw the porch
still holds its clip of the theft unless retention deleted it, and its owner
hands it over with ``canvass_handover_prob`` (``canvass_export_min`` to export it
on site). The detective watches the clips obtained within what is left of the
case's review cap (:func:`sim.core.evidence.clips_within_cap`), and those go to
:func:`sim.core.evidence.judge` (path ``canvass``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.core import records as rec
from sim.core.cases import Case
from sim.core.evidence import clips_within_cap, judge, record_handed_over
from sim.core.streams import Source
from sim.core.world import Process, World


def canvass(world: World, case: Case) -> Process:
    """Door to door around the victim's home: knock, ask, export footage on site."""
    p, rng = world.params, case.stream(world.streams, Source.CANVASS)
    started = world.now
    doors = nearest_homes(world, case.theft.home, p.canvass_max_doors)
    answered = doors[rng.random(doors.size) < p.canvass_answer_prob]
    viewing = world.county.cameras_viewing_porch(case.theft.home)
    witnesses = viewing[np.isin(world.population.camera_home[viewing], answered)]
    minutes = doors.size * p.canvass_min_per_door
    obtained, lost = [], 0
    for camera in witnesses.tolist():
        if world.clips.expired(camera, case.theft.at_min, started + minutes):
            lost += 1
        elif rng.random() < p.canvass_handover_prob:
            obtained.append(camera)
            minutes += p.canvass_export_min
    within = clips_within_cap(world, case, len(obtained))
    yield world.env.timeout(minutes + within * p.review_min_per_clip)
    record_handed_over(world, case, obtained, path="canvass", within=within)
    world.log.canvasses.append(
        rec.CanvassRecord(
            case_id=case.case_id,
            started_at_min=started,
            minutes=minutes,
            doors_knocked=doors.size,
            doors_answered=answered.size,
            clips_obtained=len(obtained),
            relevant_clips_lost=lost,
        )
    )
    judge(world, case, [(camera, True) for camera in obtained[:within]], path="canvass")


def nearest_homes(world: World, home: int, count: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Up to ``count`` homes nearest ``home`` (itself first), within 3 km."""
    radius = 100.0
    while True:
        homes = world.county.homes_near(home, radius)
        if homes.size >= count or radius > 3000:
            return homes[:count]
        radius *= 2
