"""Accounts, session tokens and device tokens (SEC-02, SEC-03), on the shared ``metadata``.

Created by migration 0004. Tokens are stored only as SHA-256 hashes; the
plaintext bearer token is shown to its holder once and never stored or logged.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from system.adapters.table_types import UTCDateTime, metadata

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),  # Argon2id, PHC string
    Column("role", String(20), nullable=False),
    Column("subject_id", Integer, nullable=True),  # officer, staff or resident id, by role
    # AES-GCM sealed (migration 0006), never plain base32; required for staff (SEC-02)
    Column("totp_secret_sealed", String(255), nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),  # refuses a replayed code
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("role", "subject_id", name="uq_accounts_role_subject"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

session_revocations = Table(
    "session_revocations",
    metadata,
    # One row (id 1, created by migration 0009). Every revocation adds one to
    # ``epoch`` in its own transaction; API processes poll it to learn that a
    # session they remember may have ended (system.service_layer.sessions).
    Column("id", Integer, primary_key=True),
    Column("epoch", BigInteger, nullable=False),
)

device_tokens = Table(
    "device_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)
