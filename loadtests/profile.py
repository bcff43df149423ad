"""A run folder's ``load_profile.json``, read here (no import of ``results``), for replay.

The file (``canvass-load-profile/1``) gives, for the busiest hour of a
simulated run, per-minute counts of each operation the system's users cause,
counted in the run's slice of the county; ``county_factor`` scales them to a
whole county. Each operation is paced in the load test by the task that is it,
and shows in Locust's statistics as the entry in :data:`OPERATION_ENTRIES`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "canvass-load-profile/1"
OPERATION_ENTRIES = {
    "requests_submitted": "POST /api/v1/requests",
    "moderation_decisions": "POST /api/v1/moderation/requests/[id]/decision",
    "notifications": "GET /api/v1/me/notifications",
    "answers": "POST /api/v1/me/notifications/[id]/response",
    "clip_uploads": "POST /api/v1/devices/clips",
    "evidence_listings": "GET /api/v1/cases/[id]/evidence",
}
"""Each operation of the profile and the Locust entry (``"METHOD name"``) that counts it.
Notifications are counted as residents reading them (the server sends them on approval)."""


class ProfileError(ValueError):
    """The load profile is unreadable or not in the format this locustfile knows."""


@dataclass(frozen=True)
class HourProfile:
    """The busiest hour: per-minute counts in the run's slice, and the county factor."""

    per_minute: dict[str, list[int]]
    county_factor: float

    @property
    def minutes(self) -> int:
        return max((len(v) for v in self.per_minute.values()), default=0)

    def expected(self, *, counties: float) -> dict[str, float]:
        """Each operation's total over the replayed hour for ``counties`` counties."""
        factor = self.county_factor * counties
        return {op: sum(counts) * factor for op, counts in self.per_minute.items()}


def read_hour(path: str | Path) -> HourProfile:
    """The busiest hour of ``path`` (a ``load_profile.json`` or the run folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / "load_profile.json"
    try:
        raw: Any = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ProfileError(f"{path}: cannot read the load profile ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ProfileError(f"{path}: not a {FORMAT} file")
    if raw.get("busiest_hour", {}) is None:
        raise ProfileError(
            f"{path}: the run recorded no operations, so it has no busiest hour to replay "
            "(run the scenario longer or at a larger --scale)"
        )
    try:
        hour = raw["busiest_hour"]["per_minute"]
        per_minute = {op: [int(n) for n in hour[op]] for op in raw["operations"] if op in hour}
        factor = float(raw.get("county_factor", 1.0))
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"{path}: the busiest hour is incomplete ({exc})") from None
    unknown = sorted(set(per_minute) - set(OPERATION_ENTRIES))
    if unknown:
        raise ProfileError(f"{path}: operations this locustfile cannot replay: {unknown}")
    return HourProfile(per_minute, factor)
