"""Break-glass grants: time-boxed, ticketed staff access to one clip (SEC-05).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from system.adapters.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "break_glass_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("clip_id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["clip_id"], ["clips.id"]),
        sa.ForeignKeyConstraint(["approved_by"], ["staff.id"]),
        sa.ForeignKeyConstraint(["revoked_by"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_break_glass_grants_staff_id", "break_glass_grants", ["staff_id"])
    op.create_index("ix_break_glass_grants_clip_id", "break_glass_grants", ["clip_id"])


def downgrade() -> None:
    op.drop_index("ix_break_glass_grants_clip_id", table_name="break_glass_grants")
    op.drop_index("ix_break_glass_grants_staff_id", table_name="break_glass_grants")
    op.drop_table("break_glass_grants")
