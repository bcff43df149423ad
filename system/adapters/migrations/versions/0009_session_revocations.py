"""A revocation counter for sessions remembered by API processes (SEC-03).

Each API process remembers live sessions for a few seconds so most requests
skip the database. Logout and revoke-all add one to ``session_revocations.epoch``
in the transaction that revokes; every process polls that one row and forgets
what it remembers when it moves, so a session revoked in one process ends in
all of them within the documented bound while the memory lasts much longer.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "session_revocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(table, [{"id": 1, "epoch": 0}])


def downgrade() -> None:
    op.drop_table("session_revocations")
