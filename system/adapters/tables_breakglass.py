"""Break-glass grants (SEC-05) on the shared ``metadata``.

Created by migration 0005. One grant is one staff member's access to one clip;
it is never deleted, so the table is itself a record of every break-glass use
(the audit log holds each view).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text

from system.adapters.table_types import UTCDateTime, metadata

break_glass_grants = Table(
    "break_glass_grants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False, index=True),
    Column("clip_id", Integer, ForeignKey("clips.id"), nullable=False, index=True),
    Column("ticket", String(64), nullable=False),  # the incident's id in the tracker
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("approved_by", Integer, ForeignKey("staff.id"), nullable=True),  # never the requester
    Column("approved_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),  # at most 4 h after approval
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_by", Integer, ForeignKey("staff.id"), nullable=True),
)
