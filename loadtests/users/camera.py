"""A camera: uploads clips with its device token, recorded inside the windows detectives ask for.

The body is a CVC1 clip (see :mod:`loadtests.payloads`) sent as
``application/octet-stream`` with ``X-Content-SHA256``; the answer names the
stored clip. Cameras of the residents this process logs in as upload first, so
those residents have clips to share.
"""

from __future__ import annotations

from locust import task

from loadtests.payloads import clip, now_utc
from loadtests.users.base import API, CanvassUser, has


class Camera(CanvassUser):
    weight = 2
    tasks_per_s = 1.0

    @task
    def upload_a_clip(self) -> None:
        if not self.permit("clip_uploads"):
            return
        device = self.canvass.next_device()
        made = clip(self.rng, now=now_utc())
        with self.client.post(
            f"{API}/devices/clips",
            data=made.content,  # type: ignore[arg-type]  # bytes go through as they are
            headers={
                "Authorization": f"Bearer {device.token}",
                "Content-Type": "application/octet-stream",
                "X-Content-SHA256": made.sha256,
            },
            name=f"{API}/devices/clips",
            catch_response=True,
        ) as response:
            check = has("clip_id")
            if response.status_code != 201:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
            elif problem := check(body := response.json()):
                response.failure(problem)
            else:
                response.success()
                self.canvass.ledger.count("clip_uploads")
                self.canvass.timings.uploaded(body["clip_id"], made.sha256)
