"""A resident: reads notifications, opens the consent screen, shares chosen clips or declines.

Now and then a resident withdraws a share it has just made (the system then
refuses with 409 if the transfer has started: CON-07, expected), and opts out
of the agency and straight back in. Each resident user logs in as its own
seeded resident (no TOTP for residents) and answers each notification once.
"""

from __future__ import annotations

from typing import Any

from locust import task

from loadtests.users.base import API, CanvassUser, has, is_list

SHARE_RATE = 0.8
"""Answers that share clips (when the consent screen offers any); the rest decline."""
MAX_CLIPS_SHARED = 3
LOOKS_BEFORE_DECLINING = 3
"""A resident whose cameras hold no clip for the window yet looks again later, this often."""


class Resident(CanvassUser):
    weight = 3
    tasks_per_s = 0.5
    max_tasks_per_s = 1.0  # 2 calls a task at most: under 120 a minute per account

    def on_start(self) -> None:
        super().on_start()
        account = self.canvass.claim_resident()
        self.username, self.password = account.username, account.password
        self.pending: list[int] = []
        self.looks: dict[int, int] = {}
        self.answered: set[int] = set()
        self.shared: list[int] = []
        self.seen: set[int] = set()

    @task(4)
    def check_notifications(self) -> None:
        if not self.permit("notifications"):
            return
        notes = self.call("GET", "/me/notifications", params={"limit": 20}, check=is_list)
        for note in notes or []:
            nid = note["notification_id"]
            if nid not in self.seen:
                self.seen.add(nid)
                self.canvass.timings.notification_seen(note["request_id"], self.environment.events)
            if (
                note.get("answered") is None
                and nid not in self.answered
                and nid not in self.pending
            ):
                self.pending.append(nid)

    @task(4)
    def answer_a_request(self) -> None:
        if not self.pending:
            return
        if not self.permit("answers"):
            return
        nid = self.pending.pop(0)
        screen = self.call(
            "GET",
            f"/me/notifications/{nid}",
            name=f"{API}/me/notifications/[id]",
            check=has("eligible_clips", "open_for_responses", "request_id"),
        )
        if screen is None or not screen["open_for_responses"] or screen["answered"]:
            self.unused("answers")
            return
        clips = [c["clip_id"] for c in screen["eligible_clips"]]
        self.looks[nid] = self.looks.get(nid, 0) + 1
        if not clips and self.looks[nid] < LOOKS_BEFORE_DECLINING:
            self.pending.append(nid)  # nothing recorded yet: look again later
            self.unused("answers")
            return
        self.answered.add(nid)
        share = bool(clips) and self.rng.random() < SHARE_RATE
        chosen = sorted(self.rng.sample(clips, min(len(clips), MAX_CLIPS_SHARED))) if share else []

        def receipt_matches(body: Any) -> str | None:
            # The receipt names the decision and the clips shared, as the resident chose them.
            decision = "share" if chosen else "decline"
            if not isinstance(body, dict) or body.get("decision") != decision:
                return f"receipt {body!r} for a {decision} of {chosen}"
            if sorted(body.get("shared_clip_ids", [])) != chosen:
                return f"receipt {body!r} for clips {chosen}"
            return None

        receipt = self.call(
            "POST",
            f"/me/notifications/{nid}/response",
            name=f"{API}/me/notifications/[id]/response",
            json={"clip_ids": chosen, "share_identity": False, "include_audio": False},
            expect=201,
            check=receipt_matches,
        )
        if receipt is not None:
            ledger = self.canvass.ledger
            ledger.count("answers")
            ledger.count("shares" if chosen else "declines")
            ledger.count("clips_shared", len(chosen))
            self.canvass.journeys.answered(screen["request_id"])
            self.canvass.timings.shared(screen["request_id"], chosen)  # PERF-02 starts here
            if chosen:
                self.shared.append(nid)

    @task(1)
    def withdraw_a_share(self) -> None:
        if not self.shared or self.rng.random() > 0.2:
            return
        nid = self.shared.pop()
        self.call(
            "POST",
            f"/me/notifications/{nid}/withdraw",
            name=f"{API}/me/notifications/[id]/withdraw",
            expect=(200, 409),  # 409: already on its way to the agency (CON-07)
        )

    @task(1)
    def opt_out_and_back_in(self) -> None:
        agency = {"agency_id": self.canvass.credentials.agency_id}
        if self.call("POST", "/me/opt-out", json=agency, expect=204) is not None:
            self.call("POST", "/me/opt-in", json=agency, expect=204)
