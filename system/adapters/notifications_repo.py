"""Notifications: a request's fan-out to residents, and a resident's listing of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select

from system.adapters import driver_sql
from system.adapters import tables as t
from system.adapters.bulk import ids, rows_in
from system.adapters.repo_base import Repository


class NotificationRepository(Repository):
    def add_many(self, request_id: int, resident_ids: Sequence[int], *, now: datetime) -> None:
        if resident_ids:
            driver_sql.insert_many(
                self.connection,
                t.notifications,
                [
                    {"request_id": request_id, "resident_id": r, "notified_at": now}
                    for r in resident_ids
                ],
            )

    def get_many(
        self, notification_ids: Sequence[int], *, for_update: bool = False
    ) -> dict[int, Any]:
        """Notification rows by id; ``for_update`` locks them (answers lock what they answer)."""
        query = _NOTIFICATIONS_FOR_UPDATE if for_update else _NOTIFICATIONS
        return {r.id: r for r in rows_in(self.connection, query, notification_ids)}

    def get(self, notification_id: int, *, for_update: bool = False) -> Any:
        """The notification row, or ``None``; ``for_update`` locks it (an answer locks what
        it answers, so two concurrent answers cannot both pass CON-09)."""
        query = select(t.notifications).where(t.notifications.c.id == notification_id)
        return self.connection.execute(query.with_for_update() if for_update else query).first()

    def notified_at(self, notification_id: int, *, resident_id: int) -> datetime | None:
        """When the resident was sent this notification; ``None`` if it is not theirs."""
        n = t.notifications.c
        found: datetime | None = self.connection.execute(
            select(n.notified_at).where(n.id == notification_id, n.resident_id == resident_id)
        ).scalar_one_or_none()
        return found

    def for_resident(
        self,
        resident_id: int,
        *,
        limit: int | None = None,
        after: tuple[datetime, int] | None = None,
    ) -> list[Any]:
        """A page of a resident's notifications, newest first: rows of (id, request id,
        agency name, incident type, notified at, the resident's answer or ``None``,
        request status), one statement whatever the page's size.

        ``after`` is the (notified at, id) of the previous page's last notification: the
        page continues after it in the same order. The statements are built once (the
        listing is a resident's commonest request) and read the page in index order
        (migration 0010).
        """
        values: dict[str, Any] = {"resident_id": resident_id, "limit": limit}
        if after is not None:
            values["at"], values["last"] = after
        statement = _MY_NOTIFICATIONS[(limit is not None, after is not None)]
        return list(self.connection.execute(statement, values).all())

    def ids_for(self, request_id: int) -> dict[int, int]:
        """Resident id -> notification id, for one request."""
        n = t.notifications.c
        rows = self.connection.execute(
            select(n.resident_id, n.id).where(n.request_id == request_id)
        )
        return {int(r): int(i) for r, i in rows}

    def residents_for(self, request_id: int) -> list[int]:
        rows = self.connection.execute(
            select(t.notifications.c.resident_id)
            .where(t.notifications.c.request_id == request_id)
            .order_by(t.notifications.c.resident_id)
        )
        return [r.resident_id for r in rows]

    def count(self) -> int:
        return int(
            self.connection.execute(select(func.count()).select_from(t.notifications)).scalar_one()
        )


_NOTIFICATIONS = (
    select(t.notifications).where(t.notifications.c.id.in_(ids())).order_by(t.notifications.c.id)
)
_NOTIFICATIONS_FOR_UPDATE = _NOTIFICATIONS.with_for_update()


def _my_notifications(*, limited: bool, after: bool) -> Any:
    n, r, a, resp = t.notifications.c, t.video_requests.c, t.agencies.c, t.responses.c
    query = (
        select(n.id, n.request_id, a.name, r.incident_type, n.notified_at, resp.decision, r.status)
        .join(t.video_requests, r.id == n.request_id)
        .join(t.agencies, a.id == r.agency_id)
        .outerjoin(t.responses, resp.notification_id == n.id)
        .where(n.resident_id == bindparam("resident_id"))
        .order_by(n.notified_at.desc(), n.id.desc())
    )
    if after:
        at = bindparam("at", type_=n.notified_at.type)
        last = bindparam("last", type_=n.id.type)
        query = query.where(or_(n.notified_at < at, and_(n.notified_at == at, n.id < last)))
    return query.limit(bindparam("limit")) if limited else query


_MY_NOTIFICATIONS = {
    (limited, after): _my_notifications(limited=limited, after=after)
    for limited in (False, True)
    for after in (False, True)
}
"""A resident's listing by (page size given, continuing after a notification)."""
