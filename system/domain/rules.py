"""The rules a video request must satisfy before anyone may see it (REQ-01..05).

:func:`check_draft` returns every problem it finds, each naming its field and
rule, so one answer tells the detective everything to fix. Limits come from a
:class:`RequestPolicy`, whose defaults are the published policy values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from system.domain import geo
from system.domain.area import Area
from system.domain.errors import Problem
from system.domain.model import IncidentType


@dataclass(frozen=True)
class RequestPolicy:
    """Limits on requests. Defaults follow Ring's published RFA policy where one exists."""

    min_window: timedelta = timedelta(minutes=15)
    max_window: timedelta = timedelta(hours=12)
    max_lookback: timedelta = timedelta(days=180)  # longest camera retention option
    min_area_sq_mi: float = 0.025
    max_area_sq_mi: float = 0.5
    max_requests_per_case: int = 2
    agency_daily_quota: int = 50  # design choice: a setting, not a constant
    response_period: timedelta = timedelta(days=7)  # CON-08, design
    max_description_chars: int = 4000
    max_message_chars: int = 1000
    max_contact_chars: int = 200
    max_case_number_chars: int = 64


@dataclass(frozen=True)
class RequestDraft:
    """What a detective submits. Values are raw: :func:`check_draft` judges them."""

    case_id: int
    incident_type: str
    description: str
    investigator_contact: str
    incident_lat: float
    incident_lon: float
    window_start: datetime
    window_end: datetime
    area: Area
    message: str


# Characters no field accepts: C0 controls other than tab and line breaks, DEL and
# the C1 controls, and the bidirectional embeddings, overrides and isolates, which
# make text display in another order than it is stored ("Trojan Source" spoofing:
# a public log line or a request that reads unlike what it says).
_UNWANTED_IN_TEXT = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A one-line field (a name, a number, a label) also refuses line breaks and tabs,
# and the invisible characters that make two different names look the same.
_UNWANTED_IN_LINE = re.compile(
    "[\x01-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\u200b\u2060\ufeff\u180e]"
)


def check_text(
    value: object,
    *,
    field: str,
    rule: str,
    max_chars: int,
    required: bool = True,
    single_line: bool = False,
) -> list[Problem]:
    """Problems with a free-text field: type, emptiness, length, NUL, control characters.

    ``single_line`` for names, numbers and labels: line breaks, tabs and invisible
    characters are refused too. Zero-width joiners stay allowed everywhere: scripts
    and emoji sequences need them.
    """
    if not isinstance(value, str):
        return [Problem(field, rule, "must be text")]
    if required and not value.strip():
        return [Problem(field, rule, "must not be empty")]
    if len(value) > max_chars:
        return [Problem(field, rule, f"must be at most {max_chars} characters (got {len(value)})")]
    if "\x00" in value:
        return [Problem(field, rule, "must not contain NUL characters")]
    found = (_UNWANTED_IN_LINE if single_line else _UNWANTED_IN_TEXT).search(value)
    if found is not None:
        kinds = (
            "line breaks, tabs, control, bidirectional-override or invisible characters"
            if single_line
            else "control or bidirectional-override characters"
        )
        where = f"found U+{ord(found.group()):04X} at position {found.start()}"
        return [Problem(field, rule, f"must not contain {kinds} ({where})")]
    return []


def check_window(
    start: datetime, end: datetime, *, now: datetime, policy: RequestPolicy
) -> list[Problem]:
    """REQ-02: the window's length, that it ended, and that footage can still exist."""
    if start.tzinfo is None or end.tzinfo is None:
        return [Problem("window", "REQ-02", "window times must carry a timezone")]
    if end <= start:
        return [Problem("window_end", "REQ-02", "window must end after it starts")]
    found: list[Problem] = []
    length = end - start
    if length < policy.min_window:
        found.append(
            Problem(
                "window",
                "REQ-02",
                f"window must last at least {_fmt(policy.min_window)} (got {_fmt(length)})",
            )
        )
    if length > policy.max_window:
        found.append(
            Problem(
                "window",
                "REQ-02",
                f"window must last at most {_fmt(policy.max_window)} (got {_fmt(length)})",
            )
        )
    if end > now:
        found.append(Problem("window_end", "REQ-02", "window must end in the past"))
    if start < now - policy.max_lookback:
        found.append(
            Problem(
                "window_start",
                "REQ-02",
                f"window must start within the last {policy.max_lookback.days} days, "
                "the longest camera retention",
            )
        )
    return found


def check_area(
    area: Area, *, incident_lat: float, incident_lon: float, policy: RequestPolicy
) -> list[Problem]:
    """REQ-03: a well-formed area of allowed size that contains the incident."""
    found = area.problems()
    if not geo.coordinates_ok(incident_lat, incident_lon):
        found.append(
            Problem(
                "incident_location",
                "REQ-01",
                "incident location must be finite coordinates with latitude in [-90, 90] "
                "and longitude in [-180, 180]",
            )
        )
    if found:
        return found
    sq_mi = area.area_m2() / geo.SQ_M_PER_SQ_MI
    if not math.isfinite(sq_mi) or sq_mi < policy.min_area_sq_mi:
        found.append(
            Problem(
                "area",
                "REQ-03",
                f"area must be at least {policy.min_area_sq_mi} sq mi (got {sq_mi:.5f})",
            )
        )
    elif sq_mi > policy.max_area_sq_mi:
        found.append(
            Problem(
                "area",
                "REQ-03",
                f"area must be at most {policy.max_area_sq_mi} sq mi (got {sq_mi:.5f})",
            )
        )
    if not area.contains(incident_lat, incident_lon):
        found.append(
            Problem("incident_location", "REQ-03", "incident location must lie inside the area")
        )
    return found


def check_draft(draft: RequestDraft, *, now: datetime, policy: RequestPolicy) -> list[Problem]:
    """Every problem with a draft that can be judged without the database (REQ-01..03)."""
    found: list[Problem] = []
    if draft.incident_type not in IncidentType._value2member_map_:
        allowed = ", ".join(sorted(t.value for t in IncidentType))
        found.append(Problem("incident_type", "REQ-01", f"must be one of: {allowed}"))
    found += check_text(
        draft.description,
        field="description",
        rule="REQ-01",
        max_chars=policy.max_description_chars,
    )
    found += check_text(
        draft.investigator_contact,
        field="investigator_contact",
        rule="REQ-01",
        max_chars=policy.max_contact_chars,
    )
    found += check_text(
        draft.message, field="message", rule="REQ-01", max_chars=policy.max_message_chars
    )
    found += check_window(draft.window_start, draft.window_end, now=now, policy=policy)
    found += check_area(
        draft.area,
        incident_lat=draft.incident_lat,
        incident_lon=draft.incident_lon,
        policy=policy,
    )
    return found


def _fmt(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"
