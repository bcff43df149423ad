"""Service-level thresholds from a TOML file, judged against Locust's statistics.

A threshold names what it limits, the measured value and the limit, so a
broken one can be printed as is. The file (``loadtests/slo.toml`` documents
the defaults) has three tables: ``[errors]`` (``max_error_rate``, failures ÷
requests over every entry), ``[latency]`` (``p95_ms`` and ``p99_ms`` for every
route group, i.e. every Locust entry but the journey) with per-group overrides
in ``[latency.groups."METHOD name"]``, ``[journey]`` (``p95_s`` of the
``journey / request to first evidence`` entry), ``[perf_01]`` (``max_s``, the
slowest ``perf-01 / approval to notification``: every resident notified in
time) and ``[perf_02]`` (``p95_s`` of ``perf-02 / share to evidence``).
Unknown keys are errors that name the key and the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.journey import NAME as JOURNEY_NAME
from loadtests.journey import REQUEST_TYPE as JOURNEY_TYPE
from loadtests.perf import FAN_OUT_KEY, SHARE_KEY

JOURNEY_KEY = f"{JOURNEY_TYPE} {JOURNEY_NAME}"
TIMED_KEYS = frozenset({JOURNEY_KEY, FAN_OUT_KEY, SHARE_KEY})
"""Entries the users time themselves (seconds long, not HTTP requests)."""
DEFAULT_FILE = Path(__file__).with_name("slo.toml")


class SloFileError(ValueError):
    """The thresholds file is unreadable or holds a key it should not."""


@dataclass(frozen=True)
class Latency:
    p95_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Thresholds:
    max_error_rate: float = 0.001
    latency: Latency = Latency(250.0, 1000.0)
    groups: Mapping[str, Latency] = field(default_factory=dict)
    journey_p95_s: float = 60.0
    fan_out_max_s: float = 60.0  # PERF-01
    share_to_evidence_p95_s: float = 300.0  # PERF-02

    def latency_for(self, group: str) -> Latency:
        return self.groups.get(group, self.latency)


@dataclass(frozen=True)
class Figures:
    """What a Locust entry measured: counts and the response-time histogram (ms -> count)."""

    requests: int
    failures: int
    response_times: Mapping[int, int]

    def percentile_ms(self, fraction: float) -> float:
        total = sum(self.response_times.values())
        if total == 0:
            return 0.0
        wanted = total * fraction
        seen = 0
        for value in sorted(self.response_times):
            seen += self.response_times[value]
            if seen >= wanted:
                return float(value)
        return float(max(self.response_times))


@dataclass(frozen=True)
class Breach:
    threshold: str
    measured: float
    limit: float
    unit: str

    def __str__(self) -> str:
        return (
            f"SLO broken: {self.threshold}: measured {self.measured:g} {self.unit}, "
            f"limit {self.limit:g} {self.unit}"
        )


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str, path: Path) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise SloFileError(f"{path}: unknown key {where}{unknown[0]} (known: {sorted(allowed)})")


def _latency(table: Mapping[str, Any], base: Latency, where: str, path: Path) -> Latency:
    _check_keys(table, {"p95_ms", "p99_ms", "groups"}, where, path)
    return Latency(float(table.get("p95_ms", base.p95_ms)), float(table.get("p99_ms", base.p99_ms)))


def read_thresholds(path: str | Path) -> Thresholds:
    """The thresholds in ``path``; what it leaves out keeps the documented default."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SloFileError(f"{path}: cannot read the SLO file ({exc})") from None
    _check_keys(raw, {"errors", "latency", "journey", "perf_01", "perf_02"}, "", path)
    default = Thresholds()
    errors = raw.get("errors", {})
    _check_keys(errors, {"max_error_rate"}, "errors.", path)
    latency_table = raw.get("latency", {})
    latency = _latency(latency_table, default.latency, "latency.", path)
    groups = {
        name: _latency(table, latency, f"latency.groups.{name}.", path)
        for name, table in latency_table.get("groups", {}).items()
    }
    journey = raw.get("journey", {})
    _check_keys(journey, {"p95_s"}, "journey.", path)
    fan_out = raw.get("perf_01", {})
    _check_keys(fan_out, {"max_s"}, "perf_01.", path)
    share = raw.get("perf_02", {})
    _check_keys(share, {"p95_s"}, "perf_02.", path)
    return Thresholds(
        max_error_rate=float(errors.get("max_error_rate", default.max_error_rate)),
        latency=latency,
        groups=groups,
        journey_p95_s=float(journey.get("p95_s", default.journey_p95_s)),
        fan_out_max_s=float(fan_out.get("max_s", default.fan_out_max_s)),
        share_to_evidence_p95_s=float(share.get("p95_s", default.share_to_evidence_p95_s)),
    )


def judge(entries: Mapping[str, Figures], thresholds: Thresholds) -> list[Breach]:
    """Every threshold ``entries`` (by ``"METHOD name"``) break; empty when all hold."""
    breaches: list[Breach] = []
    requests = sum(f.requests for f in entries.values())
    failures = sum(f.failures for f in entries.values())
    rate = failures / requests if requests else 0.0
    if rate > thresholds.max_error_rate:
        breaches.append(
            Breach("error rate (all requests)", rate * 100, thresholds.max_error_rate * 100, "%")
        )
    for group, figures in sorted(entries.items()):
        if figures.requests == 0:
            continue
        timed = {
            JOURNEY_KEY: ("p95", 0.95, thresholds.journey_p95_s),
            FAN_OUT_KEY: ("slowest", 1.0, thresholds.fan_out_max_s),
            SHARE_KEY: ("p95", 0.95, thresholds.share_to_evidence_p95_s),
        }
        if group in timed:  # the journey and PERF-01/02: seconds, not a route's milliseconds
            label, fraction, limit_s = timed[group]
            measured_s = figures.percentile_ms(fraction) / 1000.0
            if measured_s > limit_s:
                breaches.append(Breach(f"{label} of {group}", measured_s, limit_s, "s"))
            continue
        limits = thresholds.latency_for(group)
        for label, fraction, limit in (("p95", 0.95, limits.p95_ms), ("p99", 0.99, limits.p99_ms)):
            measured = figures.percentile_ms(fraction)
            if measured > limit:
                breaches.append(Breach(f"{label} of {group}", measured, limit, "ms"))
    return breaches


def figures_of(stats: Any) -> dict[str, Figures]:
    """Locust's ``RequestStats`` as :class:`Figures` by ``"METHOD name"`` (a snapshot)."""
    return {
        f"{entry.method} {entry.name}": Figures(
            entry.num_requests, entry.num_failures, dict(entry.response_times)
        )
        for entry in stats.entries.values()
    }


def since(now: Mapping[str, Figures], before: Mapping[str, Figures]) -> dict[str, Figures]:
    """What happened between two snapshots (a step's window)."""
    window = {}
    for key, figures in now.items():
        old = before.get(key, Figures(0, 0, {}))
        times = {
            ms: count - old.response_times.get(ms, 0)
            for ms, count in figures.response_times.items()
            if count > old.response_times.get(ms, 0)
        }
        window[key] = Figures(
            figures.requests - old.requests, figures.failures - old.failures, times
        )
    return window
