"""A detective: opens a case, asks for video of a recent incident, follows it, collects evidence.

Incidents are placed at the homes of the residents this Locust process logs
in as, so they are notified. Every downloaded item's SHA-256 is checked
against the one the evidence listing gave and the ``X-Content-SHA256`` header.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from locust import task

from loadtests.payloads import (
    FLAGGED_EVERY,
    INCIDENT_TYPES,
    case_body,
    now_utc,
    request_body,
)
from loadtests.users.base import CanvassUser, has, is_list

FINISHED = {"rejected", "expired", "closed"}
CASES_PER_LOOK = 3
"""Cases a detective checks for evidence at one sitting."""


@dataclass
class Followed:
    request_id: int
    case_id: int
    status: str = "submitted"
    evidence: set[int] = field(default_factory=set)


class Detective(CanvassUser):
    weight = 1
    tasks_per_s = 1.0

    def on_start(self) -> None:
        super().on_start()
        account = self.canvass.claim_staff("detective")
        self.username, self.password = account.username, account.password
        self.totp_secret = account.totp_secret
        self.followed: list[Followed] = []
        self.cases = 0
        self.turn = 0

    @task(1)
    def ask_for_video_of_a_recent_incident(self) -> None:
        if not self.permit("requests_submitted"):
            return
        incident_type = self.rng.choice(INCIDENT_TYPES)
        self.cases += 1
        number = (
            f"LOAD-{self.canvass.run_stamp}-{self.canvass.process_index}-{self.number}-{self.cases}"
        )
        case = self.call(
            "POST",
            "/cases",
            json=case_body(number, incident_type),
            expect=201,
            check=has("case_id"),
        )
        if case is None:
            return
        body = request_body(
            self.fake,
            case_id=case["case_id"],
            incident_type=incident_type,
            at=self.canvass.incident_point(self.rng),
            now=now_utc(),
            flagged=self.cases % FLAGGED_EVERY == 5,
        )
        made = self.call("POST", "/requests", json=body, expect=201, check=has("request_id"))
        if made is not None:
            self.followed.append(Followed(made["request_id"], case["case_id"]))
            self.canvass.journeys.submitted(made["request_id"], case["case_id"])

    @task(2)
    def check_on_a_request(self) -> None:
        if not self.followed:
            return
        waiting = [f for f in self.followed if f.status not in ("active", *FINISHED)]
        followed = waiting[0] if waiting else self.rng.choice(self.followed)
        status = self.call(
            "GET",
            f"/requests/{followed.request_id}",
            name="/api/v1/requests/[id]",
            check=has("status", "request_id"),
        )
        if status is None:
            return
        followed.status = status["status"]
        if followed.status in ("approved", "active"):
            self.canvass.journeys.approved(followed.request_id)
        elif followed.status in FINISHED and not followed.evidence:
            self.canvass.journeys.dropped(followed.request_id)
            self.followed.remove(followed)

    @task(4)
    def collect_evidence(self) -> None:
        """List the evidence of a few cases: those still short of their first item first."""
        live = [f for f in self.followed if f.status not in FINISHED]
        # Active requests (residents notified) awaiting evidence, or shared from and not yet
        # seen as evidence, in turn; then any live one.
        shared = self.canvass.timings.awaited()
        awaiting = [
            f for f in live if (not f.evidence and f.status == "active") or f.request_id in shared
        ]
        awaiting = awaiting or [f for f in live if not f.evidence]
        self.turn += 1
        chosen = [awaiting[(self.turn + i) % len(awaiting)] for i in range(len(awaiting))]
        chosen = chosen[:CASES_PER_LOOK] or ([self.rng.choice(live)] if live else [])
        for followed in chosen:
            if not self.permit("evidence_listings"):
                return
            self.list_evidence(followed)
        for request_id in self.canvass.journeys.stale():
            self.canvass.journeys.dropped(request_id)
        if len(self.followed) > 20:  # keep following the newest requests only
            del self.followed[0]

    def list_evidence(self, followed: Followed) -> None:
        items = self.call(
            "GET",
            f"/cases/{followed.case_id}/evidence",
            name="/api/v1/cases/[id]/evidence",
            check=is_list,
        )
        for item in items or []:
            if item["evidence_id"] not in followed.evidence:
                followed.evidence.add(item["evidence_id"])
                self.canvass.timings.evidence_seen(item["sha256"], self.environment.events)
                self.canvass.journeys.evidence_seen(followed.request_id, self.environment.events)
                self.download(item["evidence_id"], item["sha256"])

    def download(self, evidence_id: int, listed_sha256: str) -> None:
        """Download an item and check its bytes against the listing's SHA-256."""
        with self.client.get(
            f"/api/v1/evidence/{evidence_id}/content",
            name="/api/v1/evidence/[id]/content",
            headers={"Authorization": f"Bearer {self.token()}"},
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
                return
            digest = hashlib.sha256(response.content or b"").hexdigest()
            header = response.headers.get("X-Content-SHA256")
            if digest != listed_sha256 or header != listed_sha256:
                self.canvass.ledger.count("hash_mismatches")
                response.failure(
                    f"SHA-256 {digest} of the bytes, {header} in the header, "
                    f"{listed_sha256} in the listing"
                )
            else:
                response.success()
                self.canvass.ledger.count("evidence_downloads")
