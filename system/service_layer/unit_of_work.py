"""The unit of work the use cases are written against: one transaction and its repositories.

``with ctx.uow() as uow: ...; uow.commit()``; leaving the block without a commit
rolls back. Use cases reach data only through these repositories, never through a
connection or the tables. The one implementation, on SQLAlchemy, is
:class:`system.adapters.unit_of_work.SqlUnitOfWork`.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

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


class UnitOfWork(Protocol):
    """One transaction; every repository below works inside it and none commits."""

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

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
