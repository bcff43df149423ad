"""A metric's definition: unit, kind (its natural range), what it counts and divides by,
and the features of a run it needs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["count", "nonneg", "share", "ratio"]
Feature = Literal["platform", "canvass", "face_recognition"]

FEATURES: dict[str, str] = {
    "platform": "the police use platform requests (police.policy platform_request or both)",
    "canvass": "the police canvass door to door (police.policy canvass or both)",
    "face_recognition": "the face-recognition what-if is on "
    "(identification.face_recognition.enabled)",
}

RANGES: dict[str, tuple[float, float]] = {
    "count": (0.0, math.inf),
    "nonneg": (0.0, math.inf),
    "share": (0.0, 1.0),
    "ratio": (0.0, math.inf),
}


@dataclass(frozen=True, kw_only=True)
class Metric:
    name: str
    unit: str
    kind: Kind
    definition: str  # one sentence a planner can read
    numerator: str  # what is counted (for a count, the count itself)
    denominator: str = ""  # what it is divided by; "" for a count
    section: str  # the report's group: volume, consent, outcomes, latency, effort, privacy
    needs: tuple[Feature, ...] = ()  # the metric applies only when the run has all of these
    county_estimate_of: str = ""  # for ``<name>_county``: the slice count it scales up

    @property
    def natural_range(self) -> tuple[float, float]:
        return RANGES[self.kind]

    def applies(self, features: Iterable[str]) -> bool:
        have = set(features)
        return all(need in have for need in self.needs)


def features_of(scenario: Mapping[str, Any]) -> frozenset[str]:
    """The features a run had, from its resolved scenario (``manifest.json``)."""
    police = scenario.get("police", {})
    policy = str(police.get("policy", "platform_request"))
    face = scenario.get("identification", {}).get("face_recognition", {})
    features = set()
    if policy in ("platform_request", "both"):
        features.add("platform")
    if policy in ("canvass", "both"):
        features.add("canvass")
    if bool(face.get("enabled", False)):
        features.add("face_recognition")
    return frozenset(features)
