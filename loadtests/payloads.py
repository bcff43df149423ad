"""Request bodies and clips built from the API's documented formats, text from seeded Faker.

Times follow one rule so cameras and detectives meet: a request asks for the
window from ``WINDOW_START_H`` to ``WINDOW_END_H`` hours before it is sent, and
a camera's clip is recorded between ``RECORDED_FROM_H`` and ``RECORDED_TO_H``
hours before it is uploaded, inside any window asked for within the next hour
and a half. Clips are CVC1 containers, byte by byte: ``CVC1\\n``, one JSON line
(``recorded_at``, ``duration_s``, ``tracks``), ``\\n``, then each track's bytes.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from faker import Faker

from loadtests.credentials import Point

WINDOW_START_H = 5.0
WINDOW_END_H = 2.0
RECORDED_FROM_H = 4.5
RECORDED_TO_H = 2.5
AREA_RADIUS_M = 250.0
"""A circle of 0.076 sq mi, inside the policy's 0.025 to 0.5 sq mi."""
CLIP_MAGIC = b"CVC1\n"
INCIDENT_TYPES = ("package_theft", "burglary", "vehicle_break_in", "vandalism")
FLAGGED_EVERY = 10
"""One request in this many (the fifth of each ten a detective sends) is worded so the
linter flags it and a moderator rejects it; counted, not drawn, so early requests are
always clean."""


def seeded_faker(seed: int) -> Faker:
    """A Faker of its own with a seed: the same seed gives the same text."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return fake


def now_utc() -> datetime:
    return datetime.now(UTC)


def case_body(case_number: str, incident_type: str) -> dict[str, Any]:
    return {"case_number": case_number, "incident_type": incident_type}


def request_body(
    fake: Faker,
    *,
    case_id: int,
    incident_type: str,
    at: Point,
    now: datetime,
    flagged: bool = False,
) -> dict[str, Any]:
    """``POST /api/v1/requests``: a recent incident at ``at`` and a circle around it."""
    what = incident_type.replace("_", " ")
    description = (
        f"A {what} on {fake.street_name()} {fake.street_suffix()} reported by the owner; "
        f"{fake.sentence(nb_words=8)}"
    )
    if flagged:  # a prohibited use the moderation linter names (REQ-06)
        description += " Also looking for people at the protest nearby."
    point = {"lat": at.lat, "lon": at.lon}
    return {
        "case_id": case_id,
        "incident_type": incident_type,
        "description": description,
        "investigator_contact": f"Det. {fake.last_name()}, {fake.numerify('516-555-####')}",
        "incident_location": point,
        "window": {
            "start": (now - timedelta(hours=WINDOW_START_H)).isoformat(),
            "end": (now - timedelta(hours=WINDOW_END_H)).isoformat(),
        },
        "area": {"kind": "circle", "center": point, "radius_m": AREA_RADIUS_M},
        "message": f"Police are asking for video of a {what} nearby. Sharing is optional.",
    }


def decision_body(checklist_items: list[str], *, flags: list[str]) -> dict[str, Any]:
    """``POST .../decision``: approve a clean request, reject one the linter flagged."""
    if not flags:
        return {
            "decision": "approve",
            "reason": "",
            "checklist": dict.fromkeys(checklist_items, True),
        }
    checklist = dict.fromkeys(checklist_items, True)
    checklist["lawful_purpose"] = False
    return {"decision": "reject", "reason": f"flagged: {', '.join(flags)}", "checklist": checklist}


@dataclass(frozen=True)
class Clip:
    content: bytes
    sha256: str
    recorded_at: datetime


def clip(rng: random.Random, *, now: datetime, video_bytes: int = 20_000) -> Clip:
    """A CVC1 clip recorded inside the windows detectives ask for, with a video track."""
    ago_s = rng.uniform(RECORDED_TO_H * 3600, RECORDED_FROM_H * 3600)
    recorded_at = now - timedelta(seconds=ago_s)
    video = rng.randbytes(video_bytes)
    header = {
        "recorded_at": recorded_at.isoformat(),
        "duration_s": round(rng.uniform(10.0, 40.0), 1),
        "tracks": [{"kind": "video", "bytes": len(video)}],
    }
    content = CLIP_MAGIC + json.dumps(header).encode() + b"\n" + video
    return Clip(content, hashlib.sha256(content).hexdigest(), recorded_at)
