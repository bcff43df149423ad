"""A platform moderator: reads the review queue, approves or rejects with the checklist.

The checklist's items come from the published policy (``GET /api/v1/public/policy``,
``moderation_checklist``). A clean request is approved with every item ticked;
one the linter flagged is rejected with ``lawful_purpose`` unticked and the
flags as the reason. Moderators of one process never take the same request; a
409 from review or decision means another process's moderator took it first,
which is the system working, not a failure.
"""

from __future__ import annotations

from typing import Any

from locust import task

from loadtests.payloads import decision_body
from loadtests.users.base import API, CanvassUser, is_list


class Moderator(CanvassUser):
    weight = 1
    tasks_per_s = 0.5

    def on_start(self) -> None:
        super().on_start()
        account = self.canvass.claim_staff("moderator")
        self.username, self.password = account.username, account.password
        self.totp_secret = account.totp_secret
        if not self.canvass.checklist:
            self.canvass.checklist = self.read_checklist()

    def read_checklist(self) -> list[str]:
        with self.client.get(
            f"{API}/public/policy", name=f"{API}/public/policy", catch_response=True
        ) as response:
            items = (
                (response.json() or {}).get("moderation_checklist")
                if response.status_code == 200
                else None
            )
            if not items:
                response.failure(f"no moderation checklist: {response.text[:200]}")
                return []
            response.success()
            return sorted(items)

    @task(1)
    def read_the_queue(self) -> None:
        self.call("GET", "/moderation/queue", params={"limit": 20}, check=is_list)

    @task(3)
    def decide_the_oldest_request(self) -> None:
        if not self.permit("moderation_decisions"):
            return
        queue = self.call("GET", "/moderation/queue", params={"limit": 20}, check=is_list)
        item = self.untaken(queue or [])
        if item is None:
            self.unused("moderation_decisions")
            return
        request_id = item["request_id"]
        base = f"/moderation/requests/{request_id}"
        if item["status"] == "submitted":
            self.call(
                "POST",
                f"{base}/review",
                name=f"{API}/moderation/requests/[id]/review",
                expect=(204, 409),
            )
            if self.last_status != 204:  # failed, or another process's moderator has it
                return
        decision = decision_body(self.canvass.checklist, flags=list(item.get("lint_flags", [])))
        self.call(
            "POST",
            f"{base}/decision",
            name=f"{API}/moderation/requests/[id]/decision",
            json=decision,
            expect=(204, 409),
        )
        if self.last_status == 204 and decision["decision"] == "approve":
            self.canvass.timings.approved(request_id)  # PERF-01 starts here

    def untaken(self, queue: list[dict[str, Any]]) -> dict[str, Any] | None:
        taken = self.canvass.taken_requests
        for item in queue:
            if item["request_id"] not in taken:
                taken.add(item["request_id"])
                return item
        return None
