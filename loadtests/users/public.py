"""The public: the agency's request log and its transparency report, with no account."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from locust import task

from loadtests.payloads import now_utc
from loadtests.users.base import API, CanvassUser, has, is_list


class Public(CanvassUser):
    weight = 1
    tasks_per_s = 0.5

    def read(
        self,
        path: str,
        *,
        name: str,
        check: Callable[[Any], str | None],
        params: dict[str, str] | None = None,
    ) -> None:
        with self.client.get(API + path, name=name, params=params, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
            elif problem := check(response.json()):
                response.failure(problem)
            else:
                response.success()

    @task(2)
    def read_the_request_log(self) -> None:
        agency = self.canvass.credentials.agency_id
        self.read(
            f"/public/agencies/{agency}/requests",
            name=f"{API}/public/agencies/[id]/requests",
            check=is_list,
        )

    @task(1)
    def read_the_transparency_report(self) -> None:
        agency = self.canvass.credentials.agency_id
        today = now_utc().date()
        self.read(
            f"/public/agencies/{agency}/transparency",
            name=f"{API}/public/agencies/[id]/transparency",
            params={
                "start": (today - timedelta(days=365)).isoformat(),
                "end": today.isoformat(),
                "period": "month",
            },
            check=has("periods", "agency_name"),
        )
