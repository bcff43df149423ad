"""The repositories of the core entities, by the names the unit of work imports them under.

Each lives in the module of its area: ``agencies_repo`` (agencies, officers,
cases), ``moderation_repo`` (staff, moderation decisions), ``requests_repo``
(video requests), ``residents_repo`` (residents, cameras, opt-outs) and
``notifications_repo`` (notifications); their shared base is in ``repo_base``.
"""

from __future__ import annotations

from system.adapters.agencies_repo import AgencyRepository, CaseRepository, OfficerRepository
from system.adapters.bulk import lock_for_bulk_insert
from system.adapters.moderation_repo import ModerationRepository, StaffRepository
from system.adapters.notifications_repo import _MY_NOTIFICATIONS, NotificationRepository
from system.adapters.requests_repo import RequestRepository
from system.adapters.residents_repo import CameraRepository, OptOutRepository, ResidentRepository

__all__ = [
    "_MY_NOTIFICATIONS",
    "AgencyRepository",
    "CameraRepository",
    "CaseRepository",
    "ModerationRepository",
    "NotificationRepository",
    "OfficerRepository",
    "OptOutRepository",
    "RequestRepository",
    "ResidentRepository",
    "StaffRepository",
    "lock_for_bulk_insert",
]
