"""Cases, video requests, moderation decisions and notifications.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from system.adapters.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agency_id", sa.Integer, sa.ForeignKey("agencies.id"), nullable=False),
        sa.Column("case_number", sa.String(64), nullable=False),
        sa.Column("incident_type", sa.String(40), nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("opened_by", sa.Integer, sa.ForeignKey("officers.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.UniqueConstraint("agency_id", "case_number", name="uq_cases_agency_number"),
    )
    op.create_table(
        "case_assignments",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("officer_id", sa.Integer, sa.ForeignKey("officers.id"), primary_key=True),
        sa.Column("assigned_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "video_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agency_id", sa.Integer, sa.ForeignKey("agencies.id"), nullable=False),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("officer_id", sa.Integer, sa.ForeignKey("officers.id"), nullable=False),
        sa.Column("incident_type", sa.String(40), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("investigator_contact", sa.String(200), nullable=False),
        sa.Column("incident_lat", sa.Float, nullable=False),
        sa.Column("incident_lon", sa.Float, nullable=False),
        sa.Column("window_start", UTCDateTime, nullable=False),
        sa.Column("window_end", UTCDateTime, nullable=False),
        sa.Column("area_kind", sa.String(10), nullable=False),
        sa.Column("center_lat", sa.Float, nullable=True),
        sa.Column("center_lon", sa.Float, nullable=True),
        sa.Column("radius_m", sa.Float, nullable=True),
        sa.Column("polygon_json", sa.Text, nullable=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("lint_flags_json", sa.Text, nullable=False),
        sa.Column("submitted_at", UTCDateTime, nullable=False),
        sa.Column("reviewed_at", UTCDateTime, nullable=True),
        sa.Column("decided_at", UTCDateTime, nullable=True),
        sa.Column("activated_at", UTCDateTime, nullable=True),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.Column("notified_count", sa.Integer, nullable=True),
    )
    op.create_index("ix_video_requests_case_id", "video_requests", ["case_id"])
    op.create_index("ix_video_requests_status", "video_requests", ["status"])
    op.create_index(
        "ix_video_requests_agency_submitted", "video_requests", ["agency_id", "submitted_at"]
    )
    op.create_table(
        "moderation_decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("video_requests.id"), nullable=False),
        sa.Column("moderator_id", sa.Integer, sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("checklist_json", sa.Text, nullable=False),
        sa.Column("lint_flags_json", sa.Text, nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_moderation_decisions_request_id", "moderation_decisions", ["request_id"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("video_requests.id"), nullable=False),
        sa.Column("resident_id", sa.Integer, sa.ForeignKey("residents.id"), nullable=False),
        sa.Column("notified_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("request_id", "resident_id", name="uq_notifications_request_resident"),
    )
    op.create_index("ix_notifications_resident_id", "notifications", ["resident_id"])


def downgrade() -> None:
    for table in (
        "notifications",
        "moderation_decisions",
        "video_requests",
        "case_assignments",
        "cases",
    ):
        op.drop_table(table)
