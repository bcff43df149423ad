"""The reads a resident and a detective make most: how many statements each costs.

A resident opening the app lists their notifications; a detective watches a
request's status. Each is one read transaction whose statements do not grow
with the resident's history (no statement per notification), counted on the
real app's engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from system.adapters.repositories import _MY_NOTIFICATIONS
from tests.system.api.conftest import Api
from tests.system.api.test_request_flow_http import publish


@contextmanager
def statements(api: Api) -> Iterator[list[str]]:
    """The SQL statements the app sends while the block runs."""
    seen: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(api.ctx.engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(api.ctx.engine, "before_cursor_execute", remember)


def listing_statements(api: Api, **params: Any) -> tuple[int, list[dict[str, Any]]]:
    resident = api.auth("resident")
    url = "/api/v1/me/notifications"
    assert api.client.get(url, headers=resident).status_code == 200  # the session, remembered
    with statements(api) as seen:
        page = api.client.get(url, params=params, headers=resident)
    assert page.status_code == 200, page.text
    return len(seen), page.json()


def test_prv04_a_listing_costs_the_same_statements_for_one_notification_or_two(
    api: Api,
) -> None:
    publish(api)
    one, page = listing_statements(api)
    assert len(page) == 1
    publish(api)  # a case may have two requests (REQ-04)
    two, page = listing_statements(api)
    assert len(page) == 2
    assert two == one == 1  # the page, with its requests, agencies and answers, in one
    following, page = listing_statements(api, limit=1, before=page[0]["notification_id"])
    assert len(page) == 1
    assert following == 2  # the cursor's notification, then the page


def test_req_a_request_status_read_costs_a_fixed_few_statements(api: Api) -> None:
    request_id = publish(api)
    detective = api.auth("detective")
    url = f"/api/v1/requests/{request_id}"
    assert api.client.get(url, headers=detective).status_code == 200
    with statements(api) as seen:
        status = api.client.get(url, headers=detective)
    assert status.status_code == 200
    assert status.json()["status"] == "active"
    assert len(seen) == 2  # the officer with their agency, then the request
    assert all(s.lstrip().upper().startswith("SELECT") for s in seen)  # nothing written


def test_prv04_a_listing_page_is_read_in_index_order_on_sqlite(api: Api) -> None:
    """No sort of all the resident's notifications before the page (migration 0010)."""
    if api.ctx.engine.dialect.name != "sqlite":
        return
    values = {"resident_id": 1, "limit": 50, "at": "2026-01-01 00:00:00", "last": 1}
    for key, statement in _MY_NOTIFICATIONS.items():
        compiled = statement.compile(dialect=api.ctx.engine.dialect)
        given = compiled.construct_params(values)  # with the dialect's own (LIMIT's OFFSET)
        positional = tuple(given[name] for name in compiled.positiontup or ())
        with api.ctx.engine.connect() as conn:
            plan = [
                row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", positional)
            ]
        assert any("ix_notifications_resident_notified" in step for step in plan), (key, plan)
        assert not any("TEMP B-TREE" in step for step in plan), (key, plan)
