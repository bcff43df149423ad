"""Queries behind platform administration: agencies, retention, metrics tokens, sealed secrets.

The unit of work builds each on its connection (``uow.agency_admin``,
``uow.retention``, ``uow.metrics_tokens``, ``uow.sealed_secrets``); none commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Select, and_, bindparam, delete, insert, or_, select, update

from system.adapters import driver_sql
from system.adapters import tables as t
from system.adapters.tables_accounts import accounts
from system.adapters.tables_admin import metrics_tokens, retention_settings
from system.domain.evidence import EvidenceStatus, RetentionCategory
from system.domain.model import Agency, CaseStatus

_DUE_FOR_PURGE: dict[tuple[RetentionCategory, ...], Select[tuple[int]]] = {}


class AgencyAdminRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def all(self) -> list[Agency]:
        a = t.agencies.c
        rows = self.connection.execute(select(a.id, a.name, a.county, a.verified).order_by(a.id))
        return [Agency(r.id, r.name, r.county, r.verified) for r in rows]

    def set_verified(self, agency_id: int, verified: bool) -> None:
        self.connection.execute(
            update(t.agencies).where(t.agencies.c.id == agency_id).values(verified=verified)
        )


@dataclass(frozen=True)
class RetentionRow:
    category: str
    period_days: int | None
    updated_at: datetime
    updated_by: str


_RETENTION_ROWS = select(retention_settings).order_by(retention_settings.c.category)


class RetentionRepository:
    """Admin-set retention periods, and the evidence queries that follow them (EVD-03)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def rows(self) -> list[RetentionRow]:
        # read by every acknowledgement
        found = driver_sql.select_rows(self.connection, _RETENTION_ROWS, {})
        return [RetentionRow(x.category, x.period_days, x.updated_at, x.updated_by) for x in found]

    def save(self, category: str, period_days: int | None, *, now: datetime, by: str) -> None:
        r = retention_settings.c
        self.connection.execute(delete(retention_settings).where(r.category == category))
        self.connection.execute(
            insert(retention_settings),
            {"category": category, "period_days": period_days, "updated_at": now, "updated_by": by},
        )

    def due_for_purge(self, cutoffs: Mapping[RetentionCategory, datetime]) -> list[int]:
        """Stored, unheld items of closed cases received at or before their category's cutoff.

        Categories without a cutoff (kept until a person decides) are never due.
        """
        if not cutoffs:
            return []
        categories = tuple(sorted(cutoffs, key=lambda c: c.value))
        query = _DUE_FOR_PURGE.get(categories)
        if query is None:  # built once per set of categories with a cutoff
            e = t.evidence_items.c
            received = [
                and_(e.retention_category == c.value, e.received_at <= bindparam(f"cut_{c.value}"))
                for c in categories
            ]
            query = _DUE_FOR_PURGE[categories] = (
                select(e.id)
                .join(t.cases, t.cases.c.id == e.case_id)
                .where(
                    e.status == EvidenceStatus.STORED.value,
                    e.legal_hold.is_(False),
                    t.cases.c.status == CaseStatus.CLOSED.value,
                    or_(*received),
                )
                .order_by(e.received_at, e.id)
            )
        cuts = {f"cut_{c.value}": cutoffs[c] for c in categories}
        return [int(i) for i in self.connection.execute(query, cuts).scalars()]

    def stored_received(self, category: RetentionCategory) -> list[tuple[int, datetime]]:
        """(id, received_at) of every stored item in ``category``."""
        e = t.evidence_items.c
        query = select(e.id, e.received_at).where(
            e.retention_category == category.value, e.status == EvidenceStatus.STORED.value
        )
        return [(int(r.id), r.received_at) for r in self.connection.execute(query)]

    def set_retain_until(self, until_by_id: Mapping[int, datetime | None]) -> None:
        if not until_by_id:
            return
        statement = (
            update(t.evidence_items)
            .where(t.evidence_items.c.id == bindparam("item_id"))
            .values(retain_until=bindparam("until"))
        )
        self.connection.execute(
            statement, [{"item_id": i, "until": u} for i, u in until_by_id.items()]
        )


@dataclass(frozen=True)
class MetricsToken:
    id: int
    label: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class MetricsTokenRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, *, token_hash: str, label: str, created_by: str, now: datetime) -> int:
        result = self.connection.execute(
            insert(metrics_tokens).returning(metrics_tokens.c.id),
            {"token_hash": token_hash, "label": label, "created_by": created_by, "created_at": now},
        )
        return int(result.scalar_one())

    def live(self, token_hash: str) -> int | None:
        m = metrics_tokens.c
        query = select(m.id).where(m.token_hash == token_hash, m.revoked_at.is_(None))
        found = self.connection.execute(query).scalar()
        return None if found is None else int(found)

    def all(self, *, token_id: int | None = None) -> list[MetricsToken]:
        m = metrics_tokens.c
        query = select(m.id, m.label, m.created_by, m.created_at, m.revoked_at).order_by(m.id)
        if token_id is not None:
            query = query.where(m.id == token_id)
        rows = self.connection.execute(query)
        return [MetricsToken(r.id, r.label, r.created_by, r.created_at, r.revoked_at) for r in rows]

    def get(self, token_id: int) -> MetricsToken | None:
        found = self.all(token_id=token_id)
        return found[0] if found else None

    def revoke(self, token_id: int, *, now: datetime, by: str) -> bool:
        m = metrics_tokens.c
        result = self.connection.execute(
            update(metrics_tokens)
            .where(m.id == token_id, m.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by=by)
        )
        return bool(result.rowcount)


class SealedSecretRepository:
    """The accounts' sealed TOTP secrets, for resealing under a new key (SEC-02)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def all(self) -> list[tuple[int, str, str]]:
        """(account id, username, sealed secret) of every account with a TOTP secret."""
        a = accounts.c
        query = (
            select(a.id, a.username, a.totp_secret_sealed)
            .where(a.totp_secret_sealed.is_not(None))
            .order_by(a.id)
        )
        return [
            (int(r.id), r.username, r.totp_secret_sealed) for r in self.connection.execute(query)
        ]

    def replace_if(self, account_id: int, old: str, new: str) -> bool:
        """Swap ``old`` for ``new`` unless the secret changed meanwhile; True if swapped."""
        a = accounts.c
        result = self.connection.execute(
            update(accounts)
            .where(a.id == account_id, a.totp_secret_sealed == old)
            .values(totp_secret_sealed=new)
        )
        return bool(result.rowcount)
