"""The SQLAlchemy unit of work: one database transaction and the repositories that share it.

The service layer is written against :class:`system.service_layer.unit_of_work.UnitOfWork`;
this is its one real implementation. The dialect-specific locking lives here too:
SQLite writers queue on an in-process lock before ``BEGIN IMMEDIATE``, and a
read-only unit of work runs ``DEFERRED`` on SQLite and in autocommit mode on PostgreSQL.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from system.adapters import repositories as repo
from system.adapters.accounts_repo import AccountRepository
from system.adapters.admin_repo import (
    AgencyAdminRepository,
    MetricsTokenRepository,
    RetentionRepository,
    SealedSecretRepository,
)
from system.adapters.agency_history_repo import AgencyHistoryRepository
from system.adapters.audit_log import AuditLog
from system.adapters.breakglass_repo import BreakGlassRepository
from system.adapters.consent_repo import ClipRepository, ResponseRepository, TransferRepository
from system.adapters.emergency_repo import EmergencyRepository
from system.adapters.evidence_repo import EvidenceRepository
from system.adapters.jobs_repo import JobQueue
from system.adapters.ops_repo import OperationsRepository

_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_WRITE_LOCKS_GUARD = threading.Lock()
WRITE_LOCK_TIMEOUT_S = 30.0


def sqlite_write_lock(engine: Engine) -> threading.RLock:
    """One lock per SQLite engine: writers in this process queue here, not in SQLite.

    SQLite allows one writer; threads that wait inside SQLite's busy handler sleep
    in growing steps (up to 100 ms), which is what makes tail latency explode under
    load. Queueing on a Python lock first hands the write lock over at once.
    """
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(engine)
        if lock is None:
            lock = _WRITE_LOCKS[engine] = threading.RLock()
        return lock


_READ_ONLY: dict[str, dict[str, str]] = {
    "sqlite": {"sqlite_begin": "DEFERRED"},
    # No BEGIN and ROLLBACK round trips around a read: at PostgreSQL's default READ
    # COMMITTED every statement sees its own snapshot inside a transaction too.
    "postgresql": {"isolation_level": "AUTOCOMMIT"},
}
"""Execution options of a read-only unit of work, by dialect."""


def write_lock_for(engine: Engine) -> threading.RLock | None:
    """The in-process lock writers on ``engine`` queue on: SQLite's, or ``None`` (PostgreSQL
    locks rows and tables itself)."""
    return sqlite_write_lock(engine) if engine.dialect.name == "sqlite" else None


_REPOSITORIES: dict[str, Callable[[Connection], object]] = {
    "agencies": repo.AgencyRepository,
    "officers": repo.OfficerRepository,
    "staff": repo.StaffRepository,
    "cases": repo.CaseRepository,
    "residents": repo.ResidentRepository,
    "cameras": repo.CameraRepository,
    "opt_outs": repo.OptOutRepository,
    "requests": repo.RequestRepository,
    "moderation": repo.ModerationRepository,
    "notifications": repo.NotificationRepository,
    "evidence": EvidenceRepository,
    "audit": AuditLog,
    "jobs": JobQueue,
    "clips": ClipRepository,
    "responses": ResponseRepository,
    "transfers": TransferRepository,
    "emergencies": EmergencyRepository,
    "accounts": AccountRepository,
    "agency_admin": AgencyAdminRepository,
    "agency_history": AgencyHistoryRepository,
    "break_glass": BreakGlassRepository,
    "metrics_tokens": MetricsTokenRepository,
    "operations": OperationsRepository,
    "retention": RetentionRepository,
    "sealed_secrets": SealedSecretRepository,
}
"""The repositories of a unit of work, by attribute: each is built on first use (most
units of work touch two or three of them)."""


class SqlUnitOfWork:
    """``with uow: ...; uow.commit()``. Leaving the block without commit rolls back.

    On SQLite every unit of work begins ``IMMEDIATE`` (it takes the write lock
    at once and waits its turn); ``read_only=True`` begins ``DEFERRED`` instead. On
    PostgreSQL a read-only unit of work runs its statements in autocommit mode.
    """

    connection: Connection
    agencies: repo.AgencyRepository
    officers: repo.OfficerRepository
    staff: repo.StaffRepository
    cases: repo.CaseRepository
    residents: repo.ResidentRepository
    cameras: repo.CameraRepository
    opt_outs: repo.OptOutRepository
    requests: repo.RequestRepository
    moderation: repo.ModerationRepository
    notifications: repo.NotificationRepository
    evidence: EvidenceRepository
    audit: AuditLog
    jobs: JobQueue
    clips: ClipRepository
    responses: ResponseRepository
    transfers: TransferRepository
    emergencies: EmergencyRepository
    accounts: AccountRepository
    agency_admin: AgencyAdminRepository
    agency_history: AgencyHistoryRepository
    break_glass: BreakGlassRepository
    metrics_tokens: MetricsTokenRepository
    operations: OperationsRepository
    retention: RetentionRepository
    sealed_secrets: SealedSecretRepository

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only

    def __enter__(self) -> Self:
        self._lock: threading.RLock | None = None
        if not self._read_only and self._engine.dialect.name == "sqlite":
            lock = sqlite_write_lock(self._engine)
            if not lock.acquire(timeout=WRITE_LOCK_TIMEOUT_S):
                raise TimeoutError("the database stayed busy for 30 s; try again")
            self._lock = lock
        try:
            connection = self._engine.connect()
            if self._read_only:
                connection = connection.execution_options(**_READ_ONLY[self._engine.dialect.name])
            self.connection = connection
            self._transaction = connection.begin()
        except BaseException:
            if hasattr(self, "connection"):
                self.connection.close()
            self._release()
            raise
        return self

    def __getattr__(self, name: str) -> object:
        """Build a repository on first use and keep it for the rest of the unit of work."""
        factory = _REPOSITORIES.get(name)
        if factory is None or "connection" not in self.__dict__:
            raise AttributeError(name)
        repository = factory(self.connection)
        setattr(self, name, repository)
        return repository

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self.connection.close()
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def commit(self) -> None:
        audit = self.__dict__.get("audit")
        if audit is not None:
            audit.flush()  # the entries recorded in this unit of work, appended together
        self._transaction.commit()

    def rollback(self) -> None:
        self._transaction.rollback()
