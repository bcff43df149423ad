"""Request and response bodies: ``*Create`` (what clients send) and ``*Public`` (what they get).

Every inbound model forbids unknown fields (422 naming the field) and
non-finite numbers (NaN and infinities are 422). Business rules stay in the
domain; these models only give the input its shape.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from system.domain.area import Area, CircleArea, PolygonArea
from system.domain.evidence import SHARE_DEFAULT_EXPIRY, EvidenceView
from system.domain.geo import Point
from system.domain.model import IncidentType
from system.domain.rules import RequestDraft

Text = Annotated[str, Field(max_length=10_000)]
Id = Annotated[int, Field(ge=1, le=2**62)]


class Inbound(BaseModel):
    """Strict: an id, number or flag must be a JSON value of its own type, so ``true`` is
    not case 1, ``1.0`` or ``"1"`` is not an id and ``"yes"`` is not a tick (SEC-06).
    Integers are still accepted where a float is expected."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)


class Outbound(BaseModel):
    """Built from the service layer's frozen dataclasses with ``model_validate(obj)``.

    ``from_attributes`` reads the fields in pydantic's core; ``dataclasses.asdict``
    deep-copies every value first and cost more than the query behind a list.
    """

    model_config = ConfigDict(frozen=True, from_attributes=True)


# --- errors ----------------------------------------------------------------------------


class ProblemPublic(Outbound):
    field: str
    rule: str
    message: str


class ErrorPublic(Outbound):
    """Every error's body (built in system.api.errors); documented for each error status."""

    code: str
    message: str
    rule: str
    field: str
    problems: list[ProblemPublic]
    request_id: str


ERROR_STATUSES: dict[int, str] = {
    400: "The request could not be read",
    401: "No valid credentials (SEC-02, SEC-03)",
    403: "This role or account may not do this (SEC-01)",
    404: "No such object, or not yours to see",
    405: "Method not allowed",
    409: "A rule or the object's state forbids it now",
    413: "The body is larger than its limit (SEC-06, XFR-05)",
    422: "Invalid input; names the field and rule",
    429: "Rate limited (SEC-06); see Retry-After",
    503: "A key is unavailable",
}
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorPublic, "description": description}
    for status, description in ERROR_STATUSES.items()
}
"""Passed to every router: the OpenAPI document then describes the real error body,
instead of FastAPI's default 422 shape, which the API never sends."""


# --- auth and accounts -----------------------------------------------------------------


class TokenPublic(Outbound):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime


class AccountCreate(Inbound):
    username: Annotated[str, Field(min_length=1, max_length=254)]
    password: Annotated[str, Field(max_length=256)]
    role: Literal["detective", "supervisor", "moderator", "resident", "auditor", "admin"]
    subject_id: Id
    with_totp: bool = False


class AccountPublic(Outbound):
    account_id: int
    username: str
    role: str
    totp_secret: str | None = Field(description="Shown once, at creation; store it in an app.")
    totp_uri: str | None


class RevokedPublic(Outbound):
    revoked: int


class DeviceTokenPublic(Outbound):
    camera_id: int
    device_token: str


class AuditVerifyPublic(Outbound):
    ok: bool
    entries: int
    problem: str | None
    bad_entry_id: int | None


# --- agency ----------------------------------------------------------------------------


# The controlled vocabulary (REQ-01) as an enum in the OpenAPI document; JSON sends its value.
IncidentTypeIn = Annotated[IncidentType, Field(strict=False)]


class CaseCreate(Inbound):
    case_number: Annotated[str, Field(max_length=200)]
    incident_type: IncidentTypeIn


class CasePublic(Outbound):
    case_id: int
    case_number: str
    incident_type: str
    status: str
    opened_at: datetime


class PointIn(Inbound):
    lat: float
    lon: float


class CircleIn(Inbound):
    kind: Literal["circle"]
    center: PointIn
    radius_m: float


class PolygonIn(Inbound):
    kind: Literal["polygon"]
    vertices: Annotated[list[PointIn], Field(max_length=256)]


# JSON has no time type: a time comes as ISO 8601 text, which strict mode would refuse.
Instant = Annotated[AwareDatetime, Field(strict=False)]


class WindowIn(Inbound):
    start: Instant
    end: Instant


class RequestCreate(Inbound):
    case_id: Id
    incident_type: IncidentTypeIn
    description: Text
    investigator_contact: Text
    incident_location: PointIn
    window: WindowIn
    area: Annotated[CircleIn | PolygonIn, Field(discriminator="kind")]
    message: Text

    def draft(self) -> RequestDraft:
        area: Area
        if isinstance(self.area, CircleIn):
            area = CircleArea(self.area.center.lat, self.area.center.lon, self.area.radius_m)
        else:
            area = PolygonArea(tuple(Point(v.lat, v.lon) for v in self.area.vertices))
        return RequestDraft(
            case_id=self.case_id,
            incident_type=self.incident_type,
            description=self.description,
            investigator_contact=self.investigator_contact,
            incident_lat=self.incident_location.lat,
            incident_lon=self.incident_location.lon,
            window_start=self.window.start,
            window_end=self.window.end,
            area=area,
            message=self.message,
        )


class RequestCreatedPublic(Outbound):
    request_id: int
    status: str = "submitted"


class RequestStatusPublic(Outbound):
    """Deliberately no notification or response counts (CON-03, PRV-02)."""

    request_id: int
    case_id: int
    status: str
    submitted_at: datetime
    decided_at: datetime | None
    expires_at: datetime | None
    ended_at: datetime | None
    rejection_reason: str | None


# --- moderation ------------------------------------------------------------------------


class ReviewItemPublic(Outbound):
    request_id: int
    agency_id: int
    status: str
    incident_type: str
    description: str
    message: str
    submitted_at: datetime
    lint_flags: list[str]


class DecisionCreate(Inbound):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, Field(max_length=2000)] = ""
    checklist: Annotated[dict[Annotated[str, Field(max_length=60)], bool], Field(max_length=32)]


# --- residents -------------------------------------------------------------------------


class NotificationPublic(Outbound):
    notification_id: int
    request_id: int
    agency_name: str
    incident_type: str
    notified_at: datetime
    answered: str | None
    status: str


class EligibleClipPublic(Outbound):
    clip_id: int
    camera_id: int
    recorded_at: datetime
    duration_s: float | None
    has_audio: bool


class ConsentScreenPublic(Outbound):
    notification_id: int
    request_id: int
    agency_name: str
    case_number: str
    incident_type: str
    message: str
    window_start: datetime
    window_end: datetime
    respond_by: datetime | None
    retention_statement: str
    recall_statement: str
    identity_statement: str
    eligible_clips: list[EligibleClipPublic]
    answered: str | None
    open_for_responses: bool


class ResponseCreate(Inbound):
    clip_ids: Annotated[list[Id], Field(max_length=64)] = []
    share_identity: bool = False
    include_audio: bool = False
    opt_out: Literal["agency", "all"] | None = None


class ReceiptPublic(Outbound):
    response_id: int
    decision: str
    shared_clip_ids: list[int]


class WithdrawnPublic(Outbound):
    withdrawn: int


class OptOutCreate(Inbound):
    agency_id: Id | None = None


# --- devices ---------------------------------------------------------------------------


class ClipPublic(Outbound):
    clip_id: int


# === evidence, emergency disclosure, transparency (EVD, EMG, TRN) ======================
# Added with routes/evidence.py, routes/emergency.py and routes/public.py.

Reason = Annotated[str, Field(max_length=2000)]


# --- evidence (EVD-01..04) ------------------------------------------------------------


class EvidencePublic(Outbound):
    """An evidence item's record: no resident, camera or transfer identity (CON-03)."""

    evidence_id: int
    case_id: int
    request_id: int | None
    sha256: str
    size_bytes: int
    recorded_at: datetime | None
    has_audio: bool
    received_at: datetime
    retention_category: str
    retain_until: datetime | None
    legal_hold: bool
    parent_id: int | None
    derivation: str | None
    contributor: dict[str, str] | None

    @classmethod
    def of(cls, view: EvidenceView) -> EvidencePublic:
        fields = asdict(view)
        fields["evidence_id"] = fields.pop("id")
        return cls.model_validate(fields)


class ShareCreate(Inbound):
    grantee_name: Annotated[str, Field(max_length=200)]
    grantee_email: Annotated[str, Field(max_length=254)]
    grantee_org: Annotated[str, Field(max_length=200)]
    access_level: Literal["view", "download"]
    outside_agency: bool
    justification: Reason | None = None
    expires_in_days: Annotated[float, Field(gt=0, le=365)] = SHARE_DEFAULT_EXPIRY.days

    def expires_in(self) -> timedelta:
        return timedelta(days=self.expires_in_days)


class SharePublic(Outbound):
    share_id: int
    token: str = Field(description="The grantee's credential; shown once, never again.")
    expires_at: datetime


class RetentionCreate(Inbound):
    category: Literal["standard", "no_investigative_value", "serious_crime"]


class LegalHoldCreate(Inbound):
    hold: bool
    reason: Reason


class EvidenceDeleteCreate(Inbound):
    reason: Reason


class AssignmentCreate(Inbound):
    officer_id: Id


# --- emergency disclosure (EMG-01..03, PRV-04) ------------------------------------------


class EmergencyCreate(Inbound):
    case_id: Id
    attestation: Text
    narrative: Text
    locations: Annotated[list[PointIn], Field(max_length=16)]  # the domain allows 1-3
    window: WindowIn


class EmergencyCreatedPublic(Outbound):
    emergency_id: int
    status: str = "submitted"


class EmergencyDecisionCreate(Inbound):
    approve: bool
    reason: Reason


class EmergencyReviewCreate(Inbound):
    approve: bool
    reason: Reason
    camera_ids: Annotated[list[Id], Field(max_length=16)] = []  # the domain allows 1-3


class EmergencyStatusPublic(Outbound):
    """Decisions only: never which cameras, or how many, were picked (PRV-02)."""

    emergency_id: int
    case_id: int
    status: str
    submitted_at: datetime
    supervisor_decided_at: datetime | None
    reviewer_decided_at: datetime | None
    decision_reason: str | None


class CandidateCameraPublic(Outbound):
    camera_id: int
    kind: str
    distance_m: float


class DisclosurePublic(Outbound):
    emergency_id: int
    agency_name: str
    camera_id: int
    window_start: datetime
    window_end: datetime
    approved_at: datetime
    clips_sent: int
    notified_at: datetime | None


# --- public transparency (TRN-01..03) ---------------------------------------------------


class PublicLogEntryPublic(Outbound):
    incident_type: str
    window_start: datetime
    window_end: datetime
    area_centre_lat: float
    area_centre_lon: float
    area_radius_m: float
    submitted_on: date
    decided_on: date | None
    ended_on: date | None
    status: str


class ReportPeriodPublic(Outbound):
    """Every count below 5 is ``"<5"`` (TRN-02)."""

    start: date
    end: date
    periods_merged: int
    requests_submitted: int | str
    requests_approved: int | str
    requests_rejected: int | str
    rejection_reasons: dict[str, int | str]
    notifications_sent: int | str
    residents_shared: int | str
    clips_transferred: int | str
    bytes_transferred: int | str
    emergency_disclosures: int | str
    onward_shares: int | str
    purges: int | str


class TransparencyReportPublic(Outbound):
    agency_name: str
    period: str
    start: date
    end: date
    periods: list[ReportPeriodPublic]


class PolicyPublic(Outbound):
    """TRN-03: what the system does and does not do, built from the domain's constants."""

    capabilities: list[str]
    never_does: list[str]
    prohibited_uses: list[str]
    moderation_checklist: dict[str, str]
    request_limits: dict[str, float]
    consent: list[str]
    retention_days: dict[str, int | None]
    access: list[str]
    emergency_disclosure: dict[str, float | str]
    transparency: dict[str, int | str]


# --- break-glass access (SEC-05) ----------------------------------------------------------


class BreakGlassCreate(Inbound):
    clip_id: Id
    ticket: Annotated[str, Field(min_length=1, max_length=64)]
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class BreakGlassApprove(Inbound):
    minutes: Annotated[int, Field(ge=1, le=240)]  # domain MAX_GRANT_MINUTES (4 h)


class BreakGlassPublic(Outbound):
    grant_id: int
    expires_at: datetime | None = None


# --- end break-glass access (SEC-05) --------------------------------------------------------
