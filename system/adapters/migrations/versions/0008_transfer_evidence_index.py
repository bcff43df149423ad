"""An index on ``transfers.evidence_id``: evidence is traced back to the clip and
share it came from through the transfer that delivered it, and without the index
every such lookup scanned all transfers (a county-year simulation's evidence
listings became quadratic in the transfers made).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_transfers_evidence_id", "transfers", ["evidence_id"])


def downgrade() -> None:
    op.drop_index("ix_transfers_evidence_id", table_name="transfers")
