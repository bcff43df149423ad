"""Flat records the county model appends as things happen.

One frozen dataclass per kind of event, built by keyword only (a record has up
to ten fields, and two swapped times would go unnoticed); ``COLUMNS`` names
its fields in order and ``to_row()`` gives a dict of plain values, so a list
of records loads straight into a CSV table or a DataFrame. Times are simulation minutes since
the scenario's start (``*_min``); durations say their unit. Identifiers:
``theft_id`` is ``thief_id × 1000 + ordinal`` and ``case_id`` = ``report_id`` =
the reported theft's id, the same under every policy; request,
clip and evidence ids are the system's; ``resident`` and ``camera`` are
population indices (see :mod:`sim.core.ports`). ``-1`` means "none".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, get_args, get_type_hints

Value = int | float | str | bool


class _Columns:
    """``Record.COLUMNS``: the dataclass's field names, read from the class."""

    def __get__(self, instance: object, owner: type[Any]) -> tuple[str, ...]:
        return tuple(f.name for f in fields(owner))


class Record:
    __slots__ = ()
    COLUMNS = _Columns()

    def to_row(self) -> dict[str, Value]:
        return {name: getattr(self, name) for name in self.COLUMNS}

    @classmethod
    def column_types(cls) -> dict[str, str]:
        """Each column's type by name: ``int``, ``float``, ``str`` or ``bool`` (the
        run folder's tables are typed by these)."""
        hints = get_type_hints(cls)
        return {name: hints[name].__name__ for name in cls.COLUMNS}


@dataclass(frozen=True, slots=True, kw_only=True)
class TheftRecord(Record):
    theft_id: int
    at_min: float
    home: int
    thief_id: int
    ordinal: int  # its place in the thief's spree: 0 for the first (the id is thief, ordinal)
    in_spree: bool
    cameras_viewing: int  # cameras whose view covers the porch
    packages: int  # packages taken (>= 1)
    delivered_at_min: float  # the stolen parcel came then (sim.core.parcels)
    discovered_at_min: float  # and would have been taken in then: the victim finds it gone
    in_slice: bool  # at a home of the slice a scaled run counts (not its ring)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRecord(Record):
    report_id: int  # = case_id
    theft_id: int
    theft_at_min: float
    reported_at_min: float
    in_slice: bool  # the theft was in the slice a scaled run counts


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseRecord(Record):
    """A report as a detective handled it (whether or not it was followed up)."""

    case_id: int
    reported_at_min: float
    started_at_min: float  # a detective picked it up
    detective_wait_min: float
    followed_up: bool
    system_case_id: int
    detective: int
    policy: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRecord(Record):
    """A platform request as submitted (refused ones have ``request_id`` -1)."""

    request_id: int
    case_id: int
    submitted_at_min: float
    window_start_min: float
    window_end_min: float
    radius_m: float
    refused_rule: str
    lint_flags: str  # ";"-joined
    holds_theft: bool  # the window holds the moment of the theft (the victim knows less)
    attempt: int  # 1 for the case's first request, 2 for a follow-up (REQ-04: at most 2)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModerationRecord(Record):
    request_id: int
    case_id: int
    queued_at_min: float
    started_at_min: float
    decided_at_min: float
    approved: bool
    moderator: int
    # The request's rows in the notifications table: the residents the fan-out reached
    # less the victim's household (sim.core.residents.owners_notified); 0 when rejected.
    notified: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationRecord(Record):
    request_id: int
    case_id: int
    resident: int
    home: int
    notified_at_min: float
    requests_received: int  # this resident's requests so far, this one included
    relevant_clips_lost: int  # clips of the theft already deleted by retention
    home_in_slice: bool  # the resident lives in the slice (not its ring)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseRecord(Record):
    """An answer (silence leaves no record: the resident reneged at the response period)."""

    request_id: int
    case_id: int
    resident: int
    profile: str
    notified_at_min: float
    responded_at_min: float
    clips_shared: int  # 0 = declined
    relevant_clips_shared: int  # of those, clips that saw the theft
    relevant_clips_lost: int  # clips of the theft deleted between notification and answer
    accepted: bool  # the system took the answer


@dataclass(frozen=True, slots=True, kw_only=True)
class ClipShareRecord(Record):
    clip_id: int
    request_id: int
    resident: int
    camera: int
    recorded_at_min: float
    shared_at_min: float
    size_bytes: int
    saw_theft: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferRecord(Record):
    request_id: int
    case_id: int
    resident: int
    clips: int
    size_bytes: int
    upload_mbps: float
    shared_at_min: float
    delivered_at_min: float


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceRecord(Record):
    evidence_id: int  # the system's id; -1 for footage taken on a canvass
    case_id: int
    clip_id: int
    camera: int
    path: str  # "platform", "victim" (the victim's own camera) or "canvass"
    saw_theft: bool
    size_bytes: int
    seen_at_min: float
    shared_at_min: float  # when the resident shared it (canvass: handed over)
    reviewed: bool  # watched within the case's review cap (the rest are never looked at)


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceListingRecord(Record):
    """A detective listed a case's evidence in the system (one call of the API's
    evidence listing): the load the system serves, beside what it returned."""

    case_id: int
    at_min: float
    items: int  # evidence items the listing returned
    new_items: int  # of those, items the detective had not seen before


@dataclass(frozen=True, slots=True, kw_only=True)
class UsableVideoRecord(Record):
    case_id: int
    camera: int
    path: str
    at_min: float


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentificationRecord(Record):
    case_id: int
    thief_id: int
    at_min: float
    method: str  # "detective_review" or "face_recognition"
    correct: bool
    group: str  # face-recognition group of a wrongly matched person; "" otherwise
    arrest: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CanvassRecord(Record):
    case_id: int
    started_at_min: float
    minutes: float
    doors_knocked: int
    doors_answered: int
    clips_obtained: int
    relevant_clips_lost: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SpreeRecord(Record):
    thief_id: int
    started_at_min: float
    ended_at_min: float
    planned_thefts: int
    thefts: int
    ended_by: str  # "arrest", "natural" or "horizon" (still going when the run ended)
    thefts_prevented: int
    in_slice: bool  # the spree's first theft was in the slice


@dataclass(frozen=True, slots=True, kw_only=True)
class OptOutRecord(Record):
    resident: int
    at_min: float
    requests_received: int
    before_run: bool
    home_in_slice: bool  # the resident lives in the slice (not its ring)


@dataclass(frozen=True, slots=True, kw_only=True)
class UtilisationRecord(Record):
    """Time-weighted use of a staff pool over the run; ``utilisation`` is in [0, 1].

    A scaled run's pool is the county's, busy with the whole county's cases (the
    slice's, its ring's and the background's); ``slice_busy_minutes`` is the part
    spent on the slice's own cases."""

    resource: str
    capacity: int
    horizon_min: float
    busy_minutes: float
    utilisation: float
    slice_busy_minutes: float


@dataclass(frozen=True, eq=False, kw_only=True)
class ModelResult:
    """What one replication produced: its records by table, and the sizes metrics need."""

    seed: int
    county: str
    horizon_min: float
    response_period_min: float  # a notification's answer is censored if its period ends later
    n_homes: int  # homes of the slice (the whole county when the run is not scaled)
    n_camera_owners: int  # camera owners of the slice
    n_platform_users: int  # of those, the platform's users (a request can reach them)
    county_households: int
    slice_share: float  # the slice's share of the county's households
    parcels_delivered: float  # expected parcels to the run's households over the horizon
    detective_hourly_cost_usd: float
    face_recognition: bool
    thefts: Sequence[TheftRecord]
    reports: Sequence[ReportRecord]
    cases: Sequence[CaseRecord]
    requests: Sequence[RequestRecord]
    moderations: Sequence[ModerationRecord]
    notifications: Sequence[NotificationRecord]
    responses: Sequence[ResponseRecord]
    clip_shares: Sequence[ClipShareRecord]
    transfers: Sequence[TransferRecord]
    evidence: Sequence[EvidenceRecord]
    listings: Sequence[EvidenceListingRecord]
    usable_videos: Sequence[UsableVideoRecord]
    identifications: Sequence[IdentificationRecord]
    canvasses: Sequence[CanvassRecord]
    sprees: Sequence[SpreeRecord]
    opt_outs: Sequence[OptOutRecord]
    utilisation: Sequence[UtilisationRecord]

    TABLES = (
        "thefts",
        "reports",
        "cases",
        "requests",
        "moderations",
        "notifications",
        "responses",
        "clip_shares",
        "transfers",
        "evidence",
        "listings",
        "usable_videos",
        "identifications",
        "canvasses",
        "sprees",
        "opt_outs",
        "utilisation",
    )

    @classmethod
    def record_type(cls, table: str) -> type[Record]:
        """The record class a table holds: its columns, even when no row was recorded."""
        record_type: type[Record] = get_args(get_type_hints(cls)[table])[0]
        return record_type

    def tables(self) -> dict[str, Sequence[Record]]:
        """Every record table by name (one CSV each)."""
        return {name: getattr(self, name) for name in self.TABLES}
