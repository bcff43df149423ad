"""Every metric of a run, one entry each, in the order of ``summary.json``: the counts
and rates a replication gives (``BASE``), then the calibration outputs
(``PUBLIC_FIGURE_OUTPUTS``); each count's county-total estimate is derived in
:mod:`results.metrics`."""

from __future__ import annotations

from results.metrics.metric import Feature, Kind, Metric


def _count(
    name: str, unit: str, definition: str, section: str, *needs: Feature, kind: Kind = "count"
) -> Metric:
    """A total: its numerator is what it counts, and it has no denominator."""
    return _ratio(name, unit, kind, definition, definition, "", section, *needs)


def _ratio(
    name: str,
    unit: str,
    kind: Kind,
    definition: str,
    numerator: str,
    denominator: str,
    section: str,
    *needs: Feature,
) -> Metric:
    return Metric(
        name=name,
        unit=unit,
        kind=kind,
        definition=definition,
        numerator=numerator,
        denominator=denominator,
        section=section,
        needs=needs,
    )


_SLICE = "in the slice a run counts"

BASE: tuple[Metric, ...] = (
    _count("thefts", "thefts", f"package thefts at homes {_SLICE}", "volume"),
    _count("reports", "reports", "thefts the victim reported to the police", "volume"),
    _count("packages_stolen", "packages", "packages taken in those thefts", "volume"),
    _count(
        "parcels_delivered",
        "parcels",
        "parcels the run's households were expected to receive over the horizon",
        "volume",
        kind="nonneg",
    ),
    _ratio(
        "packages_stolen_per_1000_parcels",
        "packages/1000 parcels",
        "nonneg",
        "packages stolen per thousand parcels delivered",
        "1000 × packages_stolen",
        "parcels_delivered",
        "volume",
    ),
    _count(
        "cases_with_request",
        "cases",
        "reported cases that got at least one published (approved) platform request",
        "outcomes",
        "platform",
    ),
    _count(
        "cases_with_share",
        "cases",
        "reported cases where at least one notified camera owner shared a clip",
        "outcomes",
        "platform",
    ),
    _count(
        "cases_with_evidence",
        "cases",
        "reported cases with at least one evidence item in the detective's store "
        "(any path: platform, the victim's own camera, a canvass)",
        "outcomes",
    ),
    _count(
        "requests",
        "requests",
        "platform requests published (approved by a moderator)",
        "volume",
        "platform",
    ),
    _count(
        "followup_requests",
        "requests",
        "published requests that were a case's second (follow-up) request",
        "volume",
        "platform",
    ),
    _count(
        "notifications",
        "notifications",
        "camera owners notified, one per owner per published request "
        "(the victim's own household is not notified)",
        "volume",
        "platform",
    ),
    _count(
        "notifications_censored",
        "notifications",
        "notifications whose response period had not ended when the run stopped "
        "(left out of the per-notification rates)",
        "volume",
        "platform",
    ),
    _ratio(
        "notifications_per_request",
        "notifications/request",
        "nonneg",
        "camera owners notified per published request",
        "notifications",
        "requests",
        "privacy",
        "platform",
    ),
    _ratio(
        "request_windows_holding_theft",
        "share",
        "share",
        "share of published requests whose time window holds the moment of the theft",
        "published requests whose window holds the theft",
        "requests",
        "outcomes",
        "platform",
    ),
    _count(
        "responses",
        "responses",
        "notifications answered (shared or declined)",
        "consent",
        "platform",
    ),
    _count("shares", "responses", "answers that shared at least one clip", "consent", "platform"),
    _count("clips_shared", "clips", "clips residents chose to share", "consent", "platform"),
    _count(
        "clips_transferred",
        "clips",
        "shared clips delivered to the agency's evidence store",
        "volume",
        "platform",
    ),
    _count(
        "evidence_items",
        "items",
        "evidence items the detectives received (every path)",
        "volume",
    ),
    _count(
        "cases_with_usable_video",
        "cases",
        "cases where a reviewed clip showed the theft (any path)",
        "outcomes",
    ),
    _count(
        "cases_with_usable_video_platform",
        "cases",
        "cases whose first usable video came through a platform request",
        "outcomes",
        "platform",
    ),
    _count(
        "cases_with_usable_video_victim",
        "cases",
        "cases whose first usable video came from the victim's own camera",
        "outcomes",
    ),
    _count(
        "cases_with_usable_video_canvass",
        "cases",
        "cases whose first usable video came from a door-to-door canvass",
        "outcomes",
        "canvass",
    ),
    _count(
        "identifications",
        "identifications",
        "cases where the right thief was identified, with or without video (the police "
        "clear some cases without any)",
        "outcomes",
    ),
    _count("sprees_stopped", "sprees", "theft sprees ended by an arrest", "outcomes"),
    _count(
        "thefts_prevented",
        "thefts",
        "thefts a spree had planned but did not commit because of an arrest",
        "outcomes",
    ),
    _ratio(
        "response_rate",
        "share",
        "share",
        "share of notified owners who answered, among notifications whose response "
        "period ended by the horizon",
        "answers to those notifications",
        "notifications whose response period ended by the horizon",
        "consent",
        "platform",
    ),
    _ratio(
        "share_rate",
        "share",
        "share",
        "share of notified owners who shared at least one clip, among notifications "
        "whose response period ended by the horizon",
        "answers sharing ≥ 1 clip to those notifications",
        "notifications whose response period ended by the horizon",
        "consent",
        "platform",
    ),
    _ratio(
        "opt_out_rate",
        "share",
        "share",
        "share of ALL the slice's platform camera owners (not only those notified) who "
        "had opted out of requests by the end of the run",
        "platform camera owners opted out at the end (the slice's)",
        "platform camera owners of the slice",
        "privacy",
        "platform",
    ),
    _ratio(
        "opt_outs_second_half_ratio",
        "ratio",
        "ratio",
        "opt-outs in the run's second half over those in its first; above 1, opt-outs "
        "were still climbing when the run ended",
        "opt-outs during the second half of the horizon",
        "opt-outs during the first half",
        "privacy",
        "platform",
    ),
    _ratio(
        "households_notified_share",
        "share",
        "share",
        "share of the slice's households notified at least once (by any request)",
        "the slice's households notified at least once",
        "the slice's households",
        "privacy",
        "platform",
    ),
    _ratio(
        "repeat_notifications_per_household",
        "notifications/household",
        "nonneg",
        "notifications per notified resident of the slice",
        "notifications the slice's residents received",
        "the slice's residents notified at least once",
        "privacy",
        "platform",
    ),
    _count(
        "footage_lost_to_retention",
        "clips",
        "clips of a theft deleted by the camera's retention before a request or canvass "
        "reached them",
        "outcomes",
    ),
    _ratio(
        "hours_report_to_detective",
        "h",
        "nonneg",
        "mean hours from a report until a detective picked the case up",
        "sum over cases of the wait",
        "cases",
        "latency",
    ),
    _ratio(
        "hours_report_to_request",
        "h",
        "nonneg",
        "mean hours from a report to the case's first platform request",
        "sum over cases with a request of the delay",
        "cases with a request",
        "latency",
        "platform",
    ),
    _ratio(
        "hours_request_to_approval",
        "h",
        "nonneg",
        "mean hours from a request's submission to its approval",
        "sum over published requests of the delay",
        "requests",
        "latency",
        "platform",
    ),
    _ratio(
        "hours_notification_to_response",
        "h",
        "nonneg",
        "mean hours from notification to answer, among answers to notifications whose "
        "response period ended by the horizon",
        "sum of those answers' delays",
        "those answers",
        "latency",
        "platform",
    ),
    _ratio(
        "minutes_share_to_evidence",
        "min",
        "nonneg",
        "mean minutes from a resident's share to the clip being seen in the evidence store",
        "sum over platform evidence items of the delay",
        "platform evidence items",
        "latency",
        "platform",
    ),
    _ratio(
        "hours_report_to_first_evidence",
        "h",
        "nonneg",
        "mean hours from a report to the case's first evidence item (any path)",
        "sum over cases with evidence of the delay",
        "cases with evidence",
        "latency",
    ),
    _ratio(
        "detective_utilisation",
        "share",
        "share",
        "time-weighted share of the detective pool busy over the run (the county's pool, "
        "busy with the whole county's cases)",
        "detective-minutes busy",
        "detectives × minutes of the horizon",
        "effort",
    ),
    _ratio(
        "moderator_utilisation",
        "share",
        "share",
        "time-weighted share of the moderator pool busy over the run",
        "moderator-minutes busy",
        "moderators × minutes of the horizon",
        "effort",
        "platform",
    ),
    _count(
        "detective_hours",
        "h",
        "detective hours spent on the slice's cases",
        "effort",
        kind="nonneg",
    ),
    _ratio(
        "cost_per_usable_case_usd",
        "USD/case",
        "nonneg",
        "detective cost per case with usable video",
        "detective_hours × the detective's hourly cost",
        "cases_with_usable_video",
        "effort",
    ),
    _count(
        "bystander_clips_transferred",
        "clips",
        "platform clips delivered to the police that did not show the theft",
        "privacy",
        "platform",
    ),
    _ratio(
        "notifications_per_usable_case",
        "notifications/case",
        "nonneg",
        "households notified per case with usable video (privacy cost of an outcome)",
        "notifications",
        "cases_with_usable_video",
        "privacy",
        "platform",
    ),
    _ratio(
        "bystander_clips_per_usable_case",
        "clips/case",
        "nonneg",
        "bystander clips transferred per case with usable video",
        "bystander_clips_transferred",
        "cases_with_usable_video",
        "privacy",
        "platform",
    ),
    _count(
        "misidentifications",
        "people",
        "cases where face recognition matched the wrong person",
        "privacy",
        "face_recognition",
    ),
)


PUBLIC_FIGURE_OUTPUTS: tuple[Metric, ...] = (
    _ratio(
        "requests_per_year_county",
        "requests/yr",
        "nonneg",
        "published requests a year, county estimate",
        "requests_county",
        "the horizon in years",
        "calibration",
        "platform",
    ),
    _ratio(
        "reports_per_year_county",
        "reports/yr",
        "nonneg",
        "theft reports a year, county estimate",
        "reports_county",
        "the horizon in years",
        "calibration",
    ),
    _ratio(
        "reports_share_of_property_crime",
        "share",
        "nonneg",
        "package-theft reports a year as a share of the county's reported property crime "
        "(can exceed 1 only if the model is badly off)",
        "reports_per_year_county",
        "the county's reported property crimes a year",
        "calibration",
    ),
    _ratio(
        "identifications_per_report",
        "share",
        "share",
        "share of reports that ended with the right thief identified",
        "identifications",
        "reports",
        "calibration",
    ),
)
