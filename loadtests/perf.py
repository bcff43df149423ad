"""PERF-01 and PERF-02 under load, timed from the residents' and detectives' side.

Two Locust entries, reported through ``events.request.fire`` like the journey
so they get Locust's percentiles, CSV rows and the SLO gate:

* ``perf-01 / approval to notification``: from a moderator's approval (the
  decision answered 204) to a resident's first sight of the notification it
  sent, in ``GET /me/notifications``; one entry per notified resident. It
  includes the resident's polling: a resident looks every few seconds, so
  the figure is the fan-out time plus up to one polling interval.
* ``perf-02 / share to evidence``: from a resident's answer sharing a clip
  (201 with its receipt) to the detective first listing the evidence item
  with that clip's SHA-256 (a clip's hash is known from its upload); one
  entry per shared clip.

Only what one Locust process sees is timed: an approval by another process's
moderator, or a clip uploaded by another process's camera, is not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

FAN_OUT_TYPE = "perf-01"
FAN_OUT_NAME = "approval to notification"
FAN_OUT_KEY = f"{FAN_OUT_TYPE} {FAN_OUT_NAME}"
SHARE_TYPE = "perf-02"
SHARE_NAME = "share to evidence"
SHARE_KEY = f"{SHARE_TYPE} {SHARE_NAME}"


@dataclass
class Timings:
    """Marks of this Locust process: approvals, uploaded clips' hashes, shares."""

    approved_at: dict[int, float] = field(default_factory=dict)  # request id -> monotonic
    clip_hashes: dict[int, str] = field(default_factory=dict)  # clip id -> SHA-256
    shared_at: dict[str, tuple[int, float]] = field(default_factory=dict)  # SHA-256 -> ...

    def approved(self, request_id: int) -> None:
        self.approved_at.setdefault(request_id, time.monotonic())

    def notification_seen(self, request_id: int, events: Any) -> None:
        """A resident saw a notification of ``request_id`` for the first time."""
        approved = self.approved_at.get(request_id)
        if approved is not None:
            _fire(events, FAN_OUT_TYPE, FAN_OUT_NAME, approved, request_id=request_id)

    def uploaded(self, clip_id: int, sha256: str) -> None:
        self.clip_hashes[clip_id] = sha256

    def shared(self, request_id: int, clip_ids: list[int]) -> None:
        now = time.monotonic()
        for clip_id in clip_ids:
            sha256 = self.clip_hashes.pop(clip_id, None)
            if sha256 is not None:
                self.shared_at[sha256] = (request_id, now)

    def awaited(self) -> set[int]:
        """Requests with a clip shared here that the detective has not yet seen as evidence."""
        return {request_id for request_id, _ in self.shared_at.values()}

    def evidence_seen(self, sha256: str, events: Any) -> None:
        """The detective listed an evidence item with this SHA-256 for the first time."""
        shared = self.shared_at.pop(sha256, None)
        if shared is not None:
            request_id, at = shared
            _fire(events, SHARE_TYPE, SHARE_NAME, at, request_id=request_id)


def _fire(events: Any, request_type: str, name: str, since: float, **context: Any) -> None:
    events.request.fire(
        request_type=request_type,
        name=name,
        response_time=(time.monotonic() - since) * 1000.0,
        response_length=0,
        exception=None,
        context=context,
    )
