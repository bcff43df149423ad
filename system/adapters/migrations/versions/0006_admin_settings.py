"""Retention settings, metrics scrape tokens, and TOTP secrets sealed at rest (SEC-02).

Revision ID: 0006
Revises: 0005

The accounts' plain base32 ``totp_secret`` becomes ``totp_secret_sealed``
(AES-256-GCM under the accounts key ring). Existing secrets are sealed here, so
the upgrade needs the ring: ``canvass db upgrade`` passes it from the settings
(``CANVASS_ACCOUNT_KEYS`` or ``<data_dir>/keys/accounts.keyring``). A database
holding TOTP secrets refuses to upgrade without it rather than lose them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from system.adapters.stores import SecretBox
from system.adapters.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_accounts = sa.table(
    "accounts",
    sa.column("id", sa.Integer()),
    sa.column("username", sa.String()),
    sa.column("totp_secret", sa.String()),
    sa.column("totp_secret_sealed", sa.String()),
)


def _secret_box(rows: int) -> SecretBox:
    keys = context.config.attributes.get("account_keys")
    if keys is None:
        raise RuntimeError(
            f"migration 0006 seals {rows} TOTP secret(s) and needs the accounts key ring: "
            "run `canvass db upgrade` with the deployment's CANVASS_DATA_DIR "
            "(or CANVASS_ACCOUNT_KEYS)"
        )
    return SecretBox(keys)


def upgrade() -> None:
    op.create_table(
        "retention_settings",
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("period_days", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("category"),
    )
    op.create_table(
        "metrics_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.add_column("accounts", sa.Column("totp_secret_sealed", sa.String(length=255), nullable=True))
    connection = op.get_bind()
    a = _accounts.c
    rows = connection.execute(
        sa.select(a.id, a.username, a.totp_secret).where(a.totp_secret.is_not(None))
    ).all()
    if rows:
        box = _secret_box(len(rows))
        for row in rows:
            sealed = box.seal(row.totp_secret, context=row.username)
            connection.execute(
                sa.update(_accounts).where(a.id == row.id).values(totp_secret_sealed=sealed)
            )
    op.drop_column("accounts", "totp_secret")


def downgrade() -> None:
    op.add_column("accounts", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    a = _accounts.c
    rows = connection.execute(
        sa.select(a.id, a.username, a.totp_secret_sealed).where(a.totp_secret_sealed.is_not(None))
    ).all()
    if rows:
        box = _secret_box(len(rows))
        for row in rows:
            plain = box.open(row.totp_secret_sealed, context=row.username)
            connection.execute(sa.update(_accounts).where(a.id == row.id).values(totp_secret=plain))
    op.drop_column("accounts", "totp_secret_sealed")
    op.drop_table("metrics_tokens")
    op.drop_table("retention_settings")
