"""One replication's metrics, computed from its records (``summary.json``).

Every metric of the registry (:mod:`results.metrics`, which defines each one) is
computed here, with its unit in :data:`METRIC_UNITS`.
Counts are totals over the run; rates are ratios of totals; latencies are means
of per-item latencies (the record tables hold the distributions). A ratio or mean
with nothing to average is NaN (undefined, not zero); the results layer decides
how to summarise replications where it is undefined.

Answers are censored at the horizon: a notification whose response period
(``police.response_period_days``) had not ended when the run stopped may still be
answered. ``notifications_censored`` counts those notifications; the per-notification
ratios (``response_rate``, ``share_rate``, ``hours_notification_to_response``) count
only the others, whose response period ended by the horizon, and their answers, so a
run's length does not bias them. The counts (``notifications``, ``responses``,
``shares``, ``clips_shared``) are everything that happened in the run.

A scaled run counts its slice only (thefts at the slice's homes and everything that
follows from them; the slice's residents for per-household shares); its ring's
cases are simulated so that the slice's residents receive every request they
would, and are left out here. Each count also has a county-total estimate,
``<name>_county`` = the slice's count ÷ the slice's share of the county's
households (the count itself when the run is the whole county).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from results.metrics import COUNT_METRICS, METRICS
from sim.core.calibration import REPORTED_PROPERTY_CRIME_PER_YEAR
from sim.core.packed_records import column, kept
from sim.core.params import MIN_PER_YEAR
from sim.core.records import ModelResult, UtilisationRecord

METRIC_UNITS: dict[str, str] = {m.name: m.unit for m in METRICS}
"""Every metric's unit, in the registry's order (:mod:`results.metrics` defines each)."""


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else math.nan


def _columns(records: Sequence[Any], *names: str) -> dict[str, list[Any]]:
    return {name: column(records, name) for name in names}


def replication_metrics(result: ModelResult) -> dict[str, float]:
    """Every metric of :data:`METRIC_UNITS` for one replication (same keys, same order)."""
    r = slice_of(result)
    published = [m for m in r.moderations if m.approved]
    request_of = {q.request_id: q for q in r.requests if q.request_id >= 0}
    reported_at = {report.report_id: report.reported_at_min for report in r.reports}
    first_request: dict[int, float] = {}
    for q in r.requests:
        first_request.setdefault(q.case_id, q.submitted_at_min)
    first_evidence: dict[int, float] = {}
    # The large tables are read a column at a time (packed tables build no records).
    evidence = _columns(r.evidence, "case_id", "seen_at_min", "shared_at_min", "path", "saw_theft")
    for case, seen_at in zip(evidence["case_id"], evidence["seen_at_min"], strict=True):
        first_evidence[case] = min(seen_at, first_evidence.get(case, math.inf))
    notifications = len(r.notifications)
    packages_stolen = sum(theft.packages for theft in r.thefts)
    answers = _columns(
        r.responses,
        "request_id",
        "resident",
        "case_id",
        "clips_shared",
        "notified_at_min",
        "responded_at_min",
        "relevant_clips_lost",
    )
    clips_shared = answers["clips_shared"]
    shares = sum(1 for count in clips_shared if count > 0)
    # Per-notification ratios: notifications whose response period ended by the horizon.
    period_ended = r.horizon_min - r.response_period_min
    notified = _columns(r.notifications, "request_id", "resident", "notified_at_min")
    settled = {
        (request, resident)
        for request, resident, at in zip(*notified.values(), strict=True)
        if at <= period_ended
    }
    answered = [
        i
        for i, key in enumerate(zip(answers["request_id"], answers["resident"], strict=True))
        if key in settled
    ]
    del notified
    # Per-household shares: the slice's residents, notified by any request (ring too).
    received = 0
    residents_notified: set[int] = set()
    homes_notified: set[int] = set()
    everyone = _columns(result.notifications, "home_in_slice", "resident", "home")
    for in_slice, resident, home in zip(*everyone.values(), strict=True):
        if in_slice:
            received += 1
            residents_notified.add(resident)
            homes_notified.add(home)
    del everyone
    pools = {u.resource: u for u in r.utilisation}
    detective_minutes = sum(
        u.slice_busy_minutes for u in r.utilisation if u.resource == "detectives"
    )
    usable_cases = len({u.case_id for u in r.usable_videos})
    first_usable_path: dict[int, str] = {}  # by the path of the case's first usable video
    for u in sorted(r.usable_videos, key=lambda u: u.at_min):
        first_usable_path.setdefault(u.case_id, u.path)
    paths = list(first_usable_path.values())
    opted_out = len({o.resident for o in r.opt_outs})
    platform_evidence = [i for i, path in enumerate(evidence["path"]) if path == "platform"]
    bystanders = sum(1 for i in platform_evidence if not evidence["saw_theft"][i])
    metrics = {
        "thefts": float(len(r.thefts)),
        "reports": float(len(r.reports)),
        "packages_stolen": float(packages_stolen),
        "parcels_delivered": r.parcels_delivered,
        "packages_stolen_per_1000_parcels": 1000 * _ratio(packages_stolen, r.parcels_delivered),
        "cases_with_request": float(len({m.case_id for m in published})),
        "cases_with_share": float(
            len({case for case, n in zip(answers["case_id"], clips_shared, strict=True) if n > 0})
        ),
        "cases_with_evidence": float(len(first_evidence)),
        "requests": float(len(published)),
        "followup_requests": float(sum(request_of[m.request_id].attempt > 1 for m in published)),
        "notifications": float(notifications),
        "notifications_censored": float(notifications - len(settled)),
        "notifications_per_request": _ratio(notifications, len(published)),
        "request_windows_holding_theft": _ratio(
            sum(request_of[m.request_id].holds_theft for m in published), len(published)
        ),
        "responses": float(len(r.responses)),
        "shares": float(shares),
        "clips_shared": float(sum(clips_shared)),
        "clips_transferred": float(sum(column(r.transfers, "clips"))),
        "evidence_items": float(len(r.evidence)),
        "cases_with_usable_video": float(usable_cases),
        "cases_with_usable_video_platform": float(paths.count("platform")),
        "cases_with_usable_video_victim": float(paths.count("victim")),
        "cases_with_usable_video_canvass": float(paths.count("canvass")),
        "identifications": float(sum(1 for i in r.identifications if i.correct)),
        "sprees_stopped": float(sum(1 for s in r.sprees if s.ended_by == "arrest")),
        "thefts_prevented": float(sum(s.thefts_prevented for s in r.sprees)),
        "response_rate": _ratio(len(answered), len(settled)),
        "share_rate": _ratio(sum(clips_shared[i] > 0 for i in answered), len(settled)),
        "opt_out_rate": _ratio(opted_out, r.n_platform_users),
        # Above 1: opt-outs were still climbing when the run ended (no steady state).
        "opt_outs_second_half_ratio": _ratio(
            sum(o.at_min >= r.horizon_min / 2 for o in r.opt_outs if not o.before_run),
            sum(o.at_min < r.horizon_min / 2 for o in r.opt_outs if not o.before_run),
        ),
        "households_notified_share": _ratio(len(homes_notified), r.n_homes),
        "repeat_notifications_per_household": _ratio(received, len(residents_notified)),
        "footage_lost_to_retention": float(
            sum(column(r.notifications, "relevant_clips_lost"))
            + sum(answers["relevant_clips_lost"])
            + sum(c.relevant_clips_lost for c in r.canvasses)
        ),
        "hours_report_to_detective": _mean(c.detective_wait_min / 60 for c in r.cases),
        "hours_report_to_request": _mean(
            (at - reported_at[case]) / 60 for case, at in first_request.items()
        ),
        "hours_request_to_approval": _mean(
            (m.decided_at_min - request_of[m.request_id].submitted_at_min) / 60 for m in published
        ),
        "hours_notification_to_response": _mean(
            (answers["responded_at_min"][i] - answers["notified_at_min"][i]) / 60 for i in answered
        ),
        "minutes_share_to_evidence": _mean(
            evidence["seen_at_min"][i] - evidence["shared_at_min"][i] for i in platform_evidence
        ),
        "hours_report_to_first_evidence": _mean(
            (at - reported_at[case]) / 60 for case, at in first_evidence.items()
        ),
        "detective_utilisation": _utilisation(pools, "detectives"),
        "moderator_utilisation": _utilisation(pools, "moderators"),
        "detective_hours": detective_minutes / 60,
        "cost_per_usable_case_usd": _ratio(
            detective_minutes / 60 * r.detective_hourly_cost_usd, usable_cases
        ),
        "bystander_clips_transferred": float(bystanders),
        "notifications_per_usable_case": _ratio(notifications, usable_cases),
        "bystander_clips_per_usable_case": _ratio(bystanders, usable_cases),
        "misidentifications": float(sum(1 for i in r.identifications if not i.correct)),
    }
    for name in COUNT_METRICS:
        metrics[f"{name}_county"] = metrics[name] / result.slice_share
    years = result.horizon_min / MIN_PER_YEAR
    metrics["requests_per_year_county"] = metrics["requests_county"] / years
    metrics["reports_per_year_county"] = metrics["reports_county"] / years
    metrics["reports_share_of_property_crime"] = metrics["reports_per_year_county"] / (
        REPORTED_PROPERTY_CRIME_PER_YEAR.get(result.county, math.nan)
    )
    metrics["identifications_per_report"] = _ratio(metrics["identifications"], len(r.reports))
    return {name: metrics[name] for name in METRIC_UNITS}


def _utilisation(pools: dict[str, UtilisationRecord], name: str) -> float:
    pool = pools.get(name)
    return pool.utilisation if pool is not None and pool.capacity > 0 else math.nan


def slice_of(result: ModelResult) -> ModelResult:
    """The records of the slice a scaled run counts: its thefts, the cases they became
    and all that followed from them, its sprees and its residents' opt-outs (the
    result itself when every home is in the slice)."""
    thefts_in = column(result.thefts, "in_slice")
    opt_outs_in = column(result.opt_outs, "home_in_slice")
    if all(thefts_in) and all(opt_outs_in):
        return result
    cases = {report.report_id for report in result.reports if report.in_slice}
    requests = {q.request_id for q in result.requests if q.case_id in cases}

    def of_cases(records: Sequence[Any]) -> Sequence[Any]:
        return kept(records, [case in cases for case in column(records, "case_id")])

    return replace(
        result,
        thefts=kept(result.thefts, thefts_in),
        reports=tuple(report for report in result.reports if report.in_slice),
        cases=of_cases(result.cases),
        requests=of_cases(result.requests),
        moderations=of_cases(result.moderations),
        notifications=of_cases(result.notifications),
        responses=of_cases(result.responses),
        clip_shares=kept(
            result.clip_shares, [q in requests for q in column(result.clip_shares, "request_id")]
        ),
        transfers=of_cases(result.transfers),
        evidence=of_cases(result.evidence),
        listings=of_cases(result.listings),
        usable_videos=of_cases(result.usable_videos),
        identifications=of_cases(result.identifications),
        canvasses=of_cases(result.canvasses),
        sprees=kept(result.sprees, column(result.sprees, "in_slice")),
        opt_outs=kept(result.opt_outs, opt_outs_in),
    )
