"""A small Prometheus registry: request counts, a latency histogram, the job queue, totals.

Hand-written (text exposition format 0.0.4) to avoid a dependency. Counts are
per API process. ``/metrics`` is for operators only (SEC-01): per-route counts
of resident answers would let an agency watch one request's responses (CON-03).
"""

from __future__ import annotations

import bisect
import os
import threading
from collections import defaultdict
from collections.abc import Mapping

from system.service_layer.accounts import OperationsFigures

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Mapping[str, str]) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs.items()) + "}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._buckets: dict[str, list[int]] = {}
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, route, str(status))] += 1
            buckets = self._buckets.setdefault(route, [0] * (len(LATENCY_BUCKETS_S) + 1))
            buckets[bisect.bisect_left(LATENCY_BUCKETS_S, seconds)] += 1
            self._sums[route] += seconds
            self._counts[route] += 1

    def render(
        self,
        *,
        figures: OperationsFigures,
        batches: Mapping[str, tuple[int, int]] | None = None,
    ) -> str:
        """``figures``: the stored data's (read for this scrape); ``batches``: per
        group-committed use case, (transactions, items) written so far."""
        lines = [
            "# HELP canvass_api_process The API process that answered this scrape: the "
            "counters and histograms below are its own.",
            "# TYPE canvass_api_process gauge",
            f"canvass_api_process{_labels({'pid': str(os.getpid())})} 1",
            "# HELP canvass_http_requests_total HTTP requests by method, route and status.",
            "# TYPE canvass_http_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self._requests.items()):
                labels = _labels({"method": method, "route": route, "status": status})
                lines.append(f"canvass_http_requests_total{labels} {n}")
            lines += [
                "# HELP canvass_http_request_duration_seconds HTTP request latency by route.",
                "# TYPE canvass_http_request_duration_seconds histogram",
            ]
            for route, buckets in sorted(self._buckets.items()):
                cumulative = 0
                for bound, n in zip((*LATENCY_BUCKETS_S, float("inf")), buckets, strict=True):
                    cumulative += n
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    labels = _labels({"route": route, "le": le})
                    lines.append(
                        f"canvass_http_request_duration_seconds_bucket{labels} {cumulative}"
                    )
                labels = _labels({"route": route})
                lines.append(
                    f"canvass_http_request_duration_seconds_sum{labels} {self._sums[route]}"
                )
                lines.append(
                    f"canvass_http_request_duration_seconds_count{labels} {self._counts[route]}"
                )
        lines += [
            "# HELP canvass_jobs Jobs in the queue by status.",
            "# TYPE canvass_jobs gauge",
        ]
        jobs, totals = figures.jobs, figures.totals
        for status in sorted({"queued", "running", "dead", *jobs}):
            lines.append(f"canvass_jobs{_labels({'status': status})} {jobs.get(status, 0)}")
        lines += [
            "# HELP canvass_jobs_queue_lag_seconds How long the longest-waiting due job has "
            "waited (0 when none is waiting).",
            "# TYPE canvass_jobs_queue_lag_seconds gauge",
            f"canvass_jobs_queue_lag_seconds {figures.queue_lag_s:.3f}",
            "# HELP canvass_notifications Notifications sent to residents, all time.",
            "# TYPE canvass_notifications gauge",
            f"canvass_notifications {totals.notifications}",
            "# HELP canvass_responses Residents' answers by decision, all time.",
            "# TYPE canvass_responses gauge",
        ]
        for decision in sorted({"share", "decline", *totals.responses}):
            n = totals.responses.get(decision, 0)
            lines.append(f"canvass_responses{_labels({'decision': decision})} {n}")
        lines += [
            "# HELP canvass_transfers Clip transfers by status.",
            "# TYPE canvass_transfers gauge",
        ]
        for status in sorted({"queued", "delivered", *totals.transfers}):
            n = totals.transfers.get(status, 0)
            lines.append(f"canvass_transfers{_labels({'status': status})} {n}")
        lines += [
            "# HELP canvass_evidence_bytes Bytes delivered into evidence stores, all time.",
            "# TYPE canvass_evidence_bytes gauge",
            f"canvass_evidence_bytes {totals.evidence_bytes}",
            "# HELP canvass_evidence_items Evidence items delivered, all time.",
            "# TYPE canvass_evidence_items gauge",
            f"canvass_evidence_items {totals.evidence_items}",
            "# HELP canvass_clips Clips stored (uploaded and not yet purged).",
            "# TYPE canvass_clips gauge",
            f"canvass_clips {totals.clips}",
        ]
        if batches:
            lines += [
                "# HELP canvass_group_commit_batches_total Transactions written by group commit.",
                "# TYPE canvass_group_commit_batches_total counter",
            ]
            for use, (n, _) in sorted(batches.items()):
                lines.append(f"canvass_group_commit_batches_total{_labels({'use': use})} {n}")
            lines += [
                "# HELP canvass_group_commit_items_total Calls written by group commit "
                "(items / batches = the mean batch).",
                "# TYPE canvass_group_commit_items_total counter",
            ]
            for use, (_, n) in sorted(batches.items()):
                lines.append(f"canvass_group_commit_items_total{_labels({'use': use})} {n}")
        return "\n".join(lines) + "\n"
