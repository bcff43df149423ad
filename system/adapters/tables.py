"""The database schema, as SQLAlchemy Core tables.

Migrations under ``migrations/versions`` create exactly this schema; a test
compares the two. Times are stored as UTC (:class:`UTCDateTime`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Re-exported: callers read ``tables.metadata`` for the whole schema.
from system.adapters.table_types import UTCDateTime as UTCDateTime
from system.adapters.table_types import metadata as metadata

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
    Column("resident_id", Integer, ForeignKey("residents.id"), nullable=False),
    Column("notified_at", UTCDateTime, nullable=False),
    UniqueConstraint("request_id", "resident_id", name="uq_notifications_request_resident"),
    # A resident's listing, newest first (migration 0010).
    Index("ix_notifications_resident_notified", "resident_id", "notified_at", "id"),
)

# --- migration 0003: clips, consent, jobs, transfers, evidence, audit -----------------

clips = Table(
    "clips",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("resident_id", Integer, ForeignKey("residents.id"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=True),  # from the clip's metadata (XFR-06)
    Column("duration_s", Float, nullable=True),
    Column("has_audio", Boolean, nullable=False),
    Column("flags_json", Text, nullable=False),
    Column("uploaded_at", UTCDateTime, nullable=False),
    Column("delete_after", UTCDateTime, nullable=True),  # camera retention
    Column("status", String(20), nullable=False),  # stored | deleted | quarantined
    Index("ix_clips_resident_recorded", "resident_id", "recorded_at"),
    Index("ix_clips_status_delete_after", "status", "delete_after"),  # camera retention
)

responses = Table(
    "responses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("notification_id", Integer, ForeignKey("notifications.id"), nullable=False, unique=True),
    Column("request_id", Integer, ForeignKey("video_requests.id"), nullable=False, index=True),
    Column("resident_id", Integer, ForeignKey("residents.id"), nullable=False),
    Column("decision", String(10), nullable=False),  # share | decline
    Column("share_identity", Boolean, nullable=False),
    Column("include_audio", Boolean, nullable=False),
    Column("responded_at", UTCDateTime, nullable=False),
)

shared_clips = Table(
    "shared_clips",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("response_id", Integer, ForeignKey("responses.id"), nullable=False, index=True),
    Column("clip_id", Integer, ForeignKey("clips.id"), nullable=False),
    # pending → transferring → delivered, or withdrawn (before transfer) / quarantined / failed
    Column("status", String(20), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("response_id", "clip_id", name="uq_shared_clips_response_clip"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("dedupe_key", String(120), nullable=True, unique=True),
    Column("status", String(20), nullable=False),  # queued | running | done | dead
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("run_after", UTCDateTime, nullable=False),
    Column("locked_by", String(120), nullable=True),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Index("ix_jobs_claim", "status", "run_after"),
)

evidence_items = Table(
    "evidence_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("request_id", Integer, ForeignKey("video_requests.id"), nullable=True),
    # Exactly-once: one evidence item per delivered share (XFR-02).
    Column("source_ref", String(80), nullable=False, unique=True),
    Column("parent_id", Integer, ForeignKey("evidence_items.id"), nullable=True),  # XFR-04
    Column("derivation", String(120), nullable=True),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=True),
    Column("has_audio", Boolean, nullable=False),
    Column("contributor_json", Text, nullable=True),  # only when the resident chose (CON-05)
    Column("received_at", UTCDateTime, nullable=False),
    Column("retention_category", String(40), nullable=False),
    Column("retain_until", UTCDateTime, nullable=True),
    Column("legal_hold", Boolean, nullable=False),
    Column("status", String(20), nullable=False),  # stored | purged | deleted
    Index("ix_evidence_items_due", "status", "retention_category", "received_at"),
)

audit_streams = Table(
    "audit_streams",
    metadata,
    Column("stream", String(40), primary_key=True),
    Column("last_seq", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("stream", String(40), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("role", String(20), nullable=False),
    Column("source_ip", String(64), nullable=True),
    Column("object", String(120), nullable=False),
    Column("action", String(60), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("details_json", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    UniqueConstraint("stream", "seq", name="uq_audit_entries_stream_seq"),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),  # consent | emergency
    Column("shared_clip_id", Integer, ForeignKey("shared_clips.id"), nullable=True, unique=True),
    Column("emergency_id", Integer, ForeignKey("emergency_disclosures.id"), nullable=True),
    Column("clip_id", Integer, ForeignKey("clips.id"), nullable=False),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("request_id", Integer, ForeignKey("video_requests.id"), nullable=True),
    Column("include_audio", Boolean, nullable=False),
    Column("contributor_json", Text, nullable=True),
    # queued → started → delivered | quarantined | failed
    Column("status", String(20), nullable=False, index=True),
    # indexed: evidence is traced back to its clip through the transfer that delivered it
    Column("evidence_id", Integer, ForeignKey("evidence_items.id"), nullable=True, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("emergency_id", "clip_id", name="uq_transfers_emergency_clip"),
)

evidence_shares = Table(
    "evidence_shares",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("evidence_id", Integer, ForeignKey("evidence_items.id"), nullable=False, index=True),
    Column("granted_by", Integer, ForeignKey("officers.id"), nullable=False),
    Column("grantee_name", String(200), nullable=False),
    Column("grantee_email", String(254), nullable=False),
    Column("grantee_org", String(200), nullable=False),
    Column("outside_agency", Boolean, nullable=False),
    Column("justification", Text, nullable=True),
    Column("access_level", String(20), nullable=False),  # view | download
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_by", Integer, ForeignKey("officers.id"), nullable=True),
)

evidence_tombstones = Table(
    "evidence_tombstones",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("evidence_id", Integer, ForeignKey("evidence_items.id"), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("kind", String(20), nullable=False),  # deleted | purged
    Column("actor", String(120), nullable=False),
    Column("reason", Text, nullable=False),
    Column("removed_at", UTCDateTime, nullable=False),
)

emergency_disclosures = Table(
    "emergency_disclosures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id"), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("officer_id", Integer, ForeignKey("officers.id"), nullable=False),
    Column("attestation", Text, nullable=False),
    Column("narrative", Text, nullable=False),
    Column("locations_json", Text, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    # submitted → supervisor_approved → approved | rejected (at either step)
    Column("status", String(30), nullable=False),
    Column("supervisor_id", Integer, ForeignKey("officers.id"), nullable=True),
    Column("supervisor_decided_at", UTCDateTime, nullable=True),
    Column("reviewer_id", Integer, ForeignKey("staff.id"), nullable=True),
    Column("reviewer_decided_at", UTCDateTime, nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("camera_ids_json", Text, nullable=True),  # platform side only (PRV-02)
    Column("created_at", UTCDateTime, nullable=False),
    Column("owner_notice_due_at", UTCDateTime, nullable=True),
)

resident_messages = Table(
    "resident_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", Integer, ForeignKey("residents.id"), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("ref", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("resident_id", "kind", "ref", name="uq_resident_messages_once"),
)

# Accounts and tokens (migration 0004), break-glass grants (0005) and administration
# settings (0006) have their own modules. They import only table_types, never this
# module; importing them here, after this module's own tables (the order the schema
# grew in), puts the whole schema in ``metadata`` for migrations and tests.
from system.adapters import tables_accounts as _tables_accounts  # noqa: E402, F401
from system.adapters import tables_admin as _tables_admin  # noqa: E402, F401
from system.adapters import tables_breakglass as _tables_breakglass  # noqa: E402, F401
