"""What every use case needs: a way to open units of work, a clock and the policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from system.adapters.clock import make_clock
from system.adapters.db import make_engine
from system.adapters.stores import ContentStores, make_stores
from system.config import Settings
from system.domain.clock import Clock
from system.domain.rules import RequestPolicy
from system.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ServiceContext:
    engine: Engine
    clock: Clock
    policy: RequestPolicy = field(default_factory=RequestPolicy)
    content: ContentStores | None = None

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, read_only=read_only)

    @property
    def stores(self) -> ContentStores:
        """The content stores; use cases that move clips need them configured."""
        if self.content is None:
            raise RuntimeError("this ServiceContext was built without content stores")
        return self.content


def policy_from(settings: Settings) -> RequestPolicy:
    return RequestPolicy(
        max_requests_per_case=settings.max_requests_per_case,
        agency_daily_quota=settings.agency_daily_request_quota,
        response_period=timedelta(days=settings.response_period_days),
    )


def build_context(
    settings: Settings, *, clock: Clock | None = None, with_stores: bool = True
) -> ServiceContext:
    """The one place that wires settings to an engine, a clock, a policy and the stores.

    ``with_stores=False`` is for tools that only touch the database (``audit verify``).
    """
    return ServiceContext(
        engine=make_engine(settings.database_url),
        clock=clock
        if clock is not None
        else make_clock(settings.clock, started_at_wall=settings.clock_anchor),
        policy=policy_from(settings),
        content=make_stores(
            Path(settings.data_dir),
            platform_keys=settings.platform_keys,
            agency_keys=settings.agency_keys,
            account_keys=settings.account_keys,
        )
        if with_stores
        else None,
    )
