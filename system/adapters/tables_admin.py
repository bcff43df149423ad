"""Platform administration on the shared ``metadata``: retention settings, metrics tokens.

Created by migration 0006 (which also seals the accounts' TOTP secrets).

* ``retention_settings``: one row per evidence retention category an admin has
  changed (EVD-03); a category without a row keeps its design default.
* ``metrics_tokens``: long-lived scrape credentials that open ``/metrics`` and
  nothing else (SEC-01). Only their SHA-256 is stored; they are revocable.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table

from system.adapters.table_types import UTCDateTime, metadata

retention_settings = Table(
    "retention_settings",
    metadata,
    Column("category", String(40), primary_key=True),
    Column("period_days", Integer, nullable=True),  # NULL: kept until a person decides
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(80), nullable=False),
)

metrics_tokens = Table(
    "metrics_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(100), nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_by", String(80), nullable=True),
)
