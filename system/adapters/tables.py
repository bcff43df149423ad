"""The database schema, as SQLAlchemy Core tables.

Migrations under ``migrations/versions`` create exactly this schema; a test
compares the two. Times are stored as UTC (:class:`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime; pass an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


# --- migration 0001: who is who, and where the cameras are -----------------------

agencies = Table(
    "agencies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("county", String(100), nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

officers = Table(
    "officers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

staff = Table(
    "staff",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

residents = Table(
    "residents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False, unique=True),
    Column("home_lat", Float, nullable=False),
    Column("home_lon", Float, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

cameras = Table(
    "cameras",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", Integer, ForeignKey("residents.id"), nullable=False, index=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("grid_cell", Integer, nullable=False),
    Column("retention_days", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Covering index for the eligible-camera query: cell lookup, then lat/lon in the index.
    Index("ix_cameras_grid", "grid_cell", "lat", "lon"),
)

opt_outs = Table(
    "opt_outs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", Integer, ForeignKey("residents.id"), nullable=False),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=True),
    Column("opted_out_at", UTCDateTime, nullable=False),
    UniqueConstraint("resident_id", "agency_id", name="uq_opt_outs_resident_agency"),
    Index(
        "uq_opt_outs_global",
        "resident_id",
        unique=True,
        sqlite_where=Column("agency_id").is_(None),
        postgresql_where=Column("agency_id").is_(None),
    ),
)

# --- migration 0002: cases, requests, moderation, notifications -------------------

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("case_number", String(64), nullable=False),
    Column("incident_type", String(40), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("opened_by", Integer, ForeignKey("officers.id"), nullable=False),
    Column("status", String(20), nullable=False),
    UniqueConstraint("agency_id", "case_number", name="uq_cases_agency_number"),
)

case_assignments = Table(
    "case_assignments",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), primary_key=True),
    Column("officer_id", Integer, ForeignKey("officers.id"), primary_key=True),
    Column("assigned_at", UTCDateTime, nullable=False),
)

video_requests = Table(
    "video_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("officer_id", Integer, ForeignKey("officers.id"), nullable=False),
    Column("incident_type", String(40), nullable=False),
    Column("description", Text, nullable=False),
    Column("investigator_contact", String(200), nullable=False),
    Column("incident_lat", Float, nullable=False),
    Column("incident_lon", Float, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("area_kind", String(10), nullable=False),
    Column("center_lat", Float, nullable=True),
    Column("center_lon", Float, nullable=True),
    Column("radius_m", Float, nullable=True),
    Column("polygon_json", Text, nullable=True),
    Column("message", Text, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("lint_flags_json", Text, nullable=False),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("reviewed_at", UTCDateTime, nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("activated_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("notified_count", Integer, nullable=True),
    Index("ix_video_requests_agency_submitted", "agency_id", "submitted_at"),
)

moderation_decisions = Table(
    "moderation_decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("request_id", Integer, ForeignKey("video_requests.id"), nullable=False, index=True),
    Column("moderator_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("decision", String(10), nullable=False),
    Column("reason", Text, nullable=False),
    Column("checklist_json", Text, nullable=False),
    Column("lint_flags_json", Text, nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("request_id", Integer, ForeignKey("video_requests.id"), nullable=False),
    Column("resident_id", Integer, ForeignKey("residents.id"), nullable=False, index=True),
    Column("notified_at", UTCDateTime, nullable=False),
    UniqueConstraint("request_id", "resident_id", name="uq_notifications_request_resident"),
)
