"""Indexes for the schedulers' hourly questions: clips past their camera's retention,
evidence past its retention period. Without them both scan a table that only grows.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_clips_status_delete_after", "clips", ["status", "delete_after"])
    op.create_index(
        "ix_evidence_items_due",
        "evidence_items",
        ["status", "retention_category", "received_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_evidence_items_due", table_name="evidence_items")
    op.drop_index("ix_clips_status_delete_after", table_name="clips")
