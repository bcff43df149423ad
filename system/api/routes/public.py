"""Public pages, no account needed: the request log, the transparency report, the policy.

TRN-01: every request an agency ever submitted, with a coarsened area; the
agency has no way to delete an entry. TRN-02: counts per complete month or
quarter, every count below 5 shown as ``"<5"``. TRN-03: what the system does,
never does, and the limits it enforces, built from the running policy and the
domain's constants, so the page cannot drift from the code.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from system.api.schemas import (
    Id,
    PolicyPublic,
    PublicLogEntryPublic,
    ReportPeriodPublic,
    TransparencyReportPublic,
)
from system.api.security import ServicesDep
from system.domain import transparency as trn
from system.domain.emergency import DEFAULT_EMERGENCY_POLICY, OWNER_NOTICE_LIMIT
from system.domain.evidence import DEFAULT_RETENTION, SHARE_DEFAULT_EXPIRY, SHARE_MAX_EXPIRY
from system.domain.moderation import CHECKLIST_ITEMS
from system.domain.rules import RequestPolicy
from system.service_layer import transparency

router = APIRouter(prefix="/public", tags=["public"])

CAPABILITIES = (
    "A verified local police agency asks for video of one incident under one of its open "
    "cases: a time window and an area, with a message to residents.",
    "A platform moderator reviews every request before any resident is notified.",
    "Camera owners inside the area who have not opted out are notified once; each chooses "
    "which of their own clips, if any, to share. Declining and not answering look the same "
    "to the agency.",
    "Shared clips are verified by SHA-256, encrypted, and delivered once to the agency's "
    "evidence store, where only the case's detectives, their supervisors and explicit "
    "grantees can see them.",
    "In an imminent danger to life, an emergency path releases specific cameras' footage "
    "after an officer's attestation, a supervisor's approval and a platform review; the "
    "owner is told afterwards.",
)
NEVER_DOES = (
    "facial recognition, face matching, voice recognition or person re-identification",
    "tell the agency who was notified, who declined, who ignored a request, or how many "
    "devices are in an area",
    "give the agency device inventories or device locations",
    "send reminders to residents who did not answer",
    "include audio unless the resident ticks 'include audio'",
    "let platform staff view residents' clips outside audited, ticketed break-glass access",
)
PROHIBITED_USES = (
    "protests and demonstrations",
    "religious gatherings",
    "political gatherings",
    "general announcements",
    "describing a person by race or ethnicity alone",
    "victims' personal information in a request",
    "pressuring residents to share",
)
CONSENT = (
    "Consent is per clip; nothing moves without an explicit share.",
    "Sharing your name and contact is a separate choice, off by default.",
    "A share can be withdrawn until its transfer starts; delivered clips cannot be recalled.",
    "Opting out (from one agency or all) applies to every request approved after it.",
)
ACCESS = (
    "Evidence is visible to the detectives assigned to its case and their supervisors.",
    f"Onward shares expire after {SHARE_DEFAULT_EXPIRY.days} days by default "
    f"(at most {SHARE_MAX_EXPIRY.days}), can be revoked at once, and need a justification "
    "outside the agency.",
    "Every view, download, share and deletion is recorded in a hash-chained audit log.",
    "Deletion needs a reason and leaves a tombstone; evidence of an open case or on legal "
    "hold cannot be deleted.",
)


def policy_document(policy: RequestPolicy) -> PolicyPublic:
    emg = DEFAULT_EMERGENCY_POLICY
    return PolicyPublic(
        capabilities=list(CAPABILITIES),
        never_does=list(NEVER_DOES),
        prohibited_uses=list(PROHIBITED_USES),
        moderation_checklist=dict(CHECKLIST_ITEMS),
        request_limits={
            "min_window_minutes": policy.min_window.total_seconds() / 60,
            "max_window_hours": policy.max_window.total_seconds() / 3600,
            "max_lookback_days": policy.max_lookback.days,
            "min_area_sq_mi": policy.min_area_sq_mi,
            "max_area_sq_mi": policy.max_area_sq_mi,
            "max_requests_per_case": policy.max_requests_per_case,
            "agency_daily_quota": policy.agency_daily_quota,
            "response_period_days": policy.response_period.total_seconds() / 86400,
        },
        consent=list(CONSENT),
        retention_days={
            category.value: None if period is None else period.days
            for category, period in DEFAULT_RETENTION.items()
        },
        access=list(ACCESS),
        emergency_disclosure={
            "purpose": "imminent danger of death or serious physical injury",
            "max_window_minutes": emg.max_window.total_seconds() / 60,
            "max_locations": emg.max_locations,
            "max_cameras": emg.max_cameras,
            "max_camera_distance_m": emg.max_camera_distance_m,
            "owner_notice_delay_days": emg.owner_notice_delay.total_seconds() / 86400,
            "owner_notice_limit_days": OWNER_NOTICE_LIMIT.days,
        },
        transparency={
            "smallest_count_shown": trn.MIN_COUNT,
            "smaller_counts_shown_as": trn.SUPPRESSED,
            "fewest_requests_per_period": trn.MIN_COUNT,
        },
    )


@router.get("/agencies/{agency_id}/requests")
async def request_log(agency_id: Id, svc: ServicesDep) -> list[PublicLogEntryPublic]:
    entries = await svc.in_thread(transparency.public_request_log, agency_id=agency_id)
    return [PublicLogEntryPublic.model_validate(e) for e in entries]


@router.get("/agencies/{agency_id}/transparency")
async def transparency_report(
    agency_id: Id,
    svc: ServicesDep,
    start: Annotated[date, Query(description="first day of the range (UTC)")],
    end: Annotated[date, Query(description="last day of the range (UTC)")],
    period: Annotated[Literal["month", "quarter"], Query()] = "quarter",
) -> TransparencyReportPublic:
    report = await svc.in_thread(
        transparency.transparency_report, agency_id=agency_id, start=start, end=end, period=period
    )
    return TransparencyReportPublic(
        agency_name=report.agency_name,
        period=report.period.value,
        start=report.start,
        end=report.end,
        periods=[ReportPeriodPublic.model_validate(p) for p in report.periods],
    )


@router.get("/policy")
async def policy(svc: ServicesDep) -> PolicyPublic:
    """TRN-03: capabilities, prohibited uses, retention and access policy."""
    return policy_document(svc.ctx.policy)
