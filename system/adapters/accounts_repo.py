"""Accounts, session tokens and device tokens in the database.

The unit of work builds it on its connection (``uow.accounts``), so its writes
share that unit's transaction. Only token hashes are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from system.adapters import driver_sql
from system.adapters.tables import cameras
from system.adapters.tables_accounts import accounts, device_tokens, session_revocations, tokens
from system.domain.accounts import AccountRole


@dataclass(frozen=True)
class AccountRecord:
    id: int
    username: str
    password_hash: str
    role: AccountRole
    subject_id: int | None
    totp_secret: str | None  # sealed; open it with ContentStores.secrets (SEC-02)
    totp_last_step: int | None
    failed_logins: int
    locked_until: datetime | None
    active: bool


@dataclass(frozen=True)
class TokenRecord:
    id: int
    account_id: int
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class SessionRecord:
    """A session token with the account it opens: what authenticating a request needs."""

    token_id: int
    account_id: int
    username: str
    role: AccountRole
    subject_id: int | None
    active: bool
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


# Built once: every authenticated request that misses the session cache runs it.
_SESSION_BY_HASH = (
    select(
        tokens.c.id,
        tokens.c.account_id,
        accounts.c.username,
        accounts.c.role,
        accounts.c.subject_id,
        accounts.c.active,
        tokens.c.last_used_at,
        tokens.c.expires_at,
        tokens.c.revoked_at,
    )
    .join(accounts, accounts.c.id == tokens.c.account_id)
    .where(tokens.c.token_hash == bindparam("token_hash"))
)


class AccountRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # --- accounts ---------------------------------------------------------------

    def add(
        self,
        *,
        username: str,
        password_hash: str,
        role: AccountRole,
        subject_id: int | None,
        totp_secret: str | None,
        now: datetime,
    ) -> int:
        result = self.connection.execute(
            insert(accounts).returning(accounts.c.id),
            {
                "username": username,
                "password_hash": password_hash,
                "role": role.value,
                "subject_id": subject_id,
                "totp_secret_sealed": totp_secret,  # sealed by the caller (SEC-02)
                "failed_logins": 0,
                "active": True,
                "created_at": now,
            },
        )
        return int(result.scalar_one())

    def username_taken(self, username: str) -> bool:
        query = select(accounts.c.id).where(accounts.c.username == username)
        return self.connection.execute(query).first() is not None

    def subject_taken(self, role: AccountRole, subject_id: int) -> bool:
        query = select(accounts.c.id).where(
            accounts.c.role == role.value, accounts.c.subject_id == subject_id
        )
        return self.connection.execute(query).first() is not None

    def by_username(self, username: str) -> AccountRecord | None:
        row = self.connection.execute(
            select(accounts).where(accounts.c.username == username)
        ).first()
        return None if row is None else _account(row)

    def get(self, account_id: int, *, for_update: bool = False) -> AccountRecord | None:
        query = select(accounts).where(accounts.c.id == account_id)
        row = self.connection.execute(query.with_for_update() if for_update else query).first()
        return None if row is None else _account(row)

    def record_failure(
        self, account_id: int, *, failed_logins: int, locked_until: datetime | None
    ) -> None:
        self.connection.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(failed_logins=failed_logins, locked_until=locked_until)
        )

    def record_success(
        self, account_id: int, *, totp_step: int | None, password_hash: str | None = None
    ) -> None:
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if totp_step is not None:
            values["totp_last_step"] = totp_step
        if password_hash is not None:
            values["password_hash"] = password_hash  # rehashed with current parameters
        self.connection.execute(update(accounts).where(accounts.c.id == account_id).values(values))

    # --- session tokens -----------------------------------------------------------

    def add_token(
        self, *, account_id: int, token_hash: str, now: datetime, expires_at: datetime
    ) -> int:
        result = self.connection.execute(
            insert(tokens).returning(tokens.c.id),
            {
                "token_hash": token_hash,
                "account_id": account_id,
                "created_at": now,
                "last_used_at": now,
                "expires_at": expires_at,
            },
        )
        return int(result.scalar_one())

    def token(self, token_hash: str) -> TokenRecord | None:
        row = self.connection.execute(
            select(tokens).where(tokens.c.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        return TokenRecord(
            row.id, row.account_id, row.created_at, row.last_used_at, row.expires_at, row.revoked_at
        )

    def session(self, token_hash: str) -> SessionRecord | None:
        """The token with this hash and its account, in one statement."""
        row = driver_sql.first_row(self.connection, _SESSION_BY_HASH, {"token_hash": token_hash})
        if row is None:
            return None
        return SessionRecord(
            token_id=row[0],
            account_id=row[1],
            username=row[2],
            role=AccountRole(row[3]),
            subject_id=row[4],
            active=row[5],
            last_used_at=row[6],
            expires_at=row[7],
            revoked_at=row[8],
        )

    def touch_token(self, token_id: int, *, now: datetime) -> None:
        self.connection.execute(
            update(tokens).where(tokens.c.id == token_id).values(last_used_at=now)
        )

    def revoke_token(self, token_id: int, *, now: datetime) -> None:
        self.connection.execute(
            update(tokens)
            .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def revoke_all_tokens(self, account_id: int, *, now: datetime) -> int:
        result = self.connection.execute(
            update(tokens)
            .where(tokens.c.account_id == account_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(result.rowcount)

    def count_revocation(self) -> None:
        """Move the revocation epoch on, in the transaction that revokes (commits with it)."""
        r = session_revocations.c
        result = self.connection.execute(
            update(session_revocations).where(r.id == 1).values(epoch=r.epoch + 1)
        )
        if result.rowcount != 1:
            raise RuntimeError("session_revocations has no row 1: run `canvass db upgrade`")

    def revocation_epoch(self) -> int:
        """How many revocations have committed (the number API processes poll)."""
        r = session_revocations.c
        return int(self.connection.execute(select(r.epoch).where(r.id == 1)).scalar_one())

    # --- device tokens ------------------------------------------------------------

    def add_device_token(self, *, camera_id: int, token_hash: str, now: datetime) -> int:
        result = self.connection.execute(
            insert(device_tokens).returning(device_tokens.c.id),
            {"token_hash": token_hash, "camera_id": camera_id, "created_at": now},
        )
        return int(result.scalar_one())

    def camera_exists(self, camera_id: int) -> bool:
        query = select(cameras.c.id).where(cameras.c.id == camera_id, cameras.c.active.is_(True))
        return self.connection.execute(query).first() is not None

    def device_camera(self, token_hash: str) -> int | None:
        """The camera a live device token belongs to (``None`` if unknown or revoked)."""
        d = device_tokens.c
        query = select(d.camera_id).where(d.token_hash == token_hash, d.revoked_at.is_(None))
        found = self.connection.execute(query).scalar()
        return None if found is None else int(found)


def _account(row: object) -> AccountRecord:
    r = row._mapping  # type: ignore[attr-defined]
    return AccountRecord(
        id=r["id"],
        username=r["username"],
        password_hash=r["password_hash"],
        role=AccountRole(r["role"]),
        subject_id=r["subject_id"],
        totp_secret=r["totp_secret_sealed"],
        totp_last_step=r["totp_last_step"],
        failed_logins=r["failed_logins"],
        locked_until=r["locked_until"],
        active=r["active"],
    )
