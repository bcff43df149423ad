"""What the repositories of the core entities share: their connection, a one-row insert,
the e-mail check.

Each repository works on the connection of the unit of work that made it and
never commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, exists, func, insert, select


class Repository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _insert(self, table: Any, **values: Any) -> int:
        result = self.connection.execute(insert(table).returning(table.c.id), values)
        return int(result.scalar_one())


def email_taken(connection: Connection, table: Any, email: str) -> bool:
    """Whether a row of ``table`` has ``email``, compared case-insensitively."""
    query = select(exists().where(func.lower(table.c.email) == email.lower()))
    return bool(connection.execute(query).scalar())
