"""The composition root: settings wired to an engine, a clock, the policy and the stores.

The service layer is written against :class:`system.service_layer.context.ServiceContext`
and :class:`system.service_layer.unit_of_work.UnitOfWork`, two protocols; this module
holds the one real context, :class:`SqlServiceContext`, whose units of work are
:class:`system.adapters.unit_of_work.SqlUnitOfWork` on a SQLAlchemy engine. It is the
one place that builds an engine from settings (:func:`build_context`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from system.adapters.clock import make_clock
from system.adapters.db import DatabaseUnavailable, make_engine
from system.adapters.migrate import current_revision
from system.adapters.stores import ContentStores, make_stores
from system.adapters.unit_of_work import SqlUnitOfWork
from system.config import Settings
from system.domain.clock import Clock
from system.domain.rules import RequestPolicy
from system.service_layer.reads import refuse_writes_while_reading
from system.service_layer.sessions import SessionCache, session_cache


@dataclass(frozen=True)
class SqlServiceContext:
    """A :class:`~system.service_layer.context.ServiceContext` on a SQLAlchemy engine.

    Whoever built the engine disposes of it (``ctx.engine.dispose()``).
    """

    engine: Engine
    clock: Clock
    policy: RequestPolicy = field(default_factory=RequestPolicy)
    content: ContentStores | None = None

    def uow(self, *, read_only: bool = False) -> SqlUnitOfWork:
        refuse_writes_while_reading(read_only)
        return SqlUnitOfWork(self.engine, read_only=read_only)

    @property
    def stores(self) -> ContentStores:
        """The content stores; use cases that move clips need them configured."""
        if self.content is None:
            raise RuntimeError("this ServiceContext was built without content stores")
        return self.content

    @property
    def sessions(self) -> SessionCache:
        """This process's memory of the live sessions stored behind this engine."""
        return session_cache(self.engine)

    def schema_revision(self) -> str | None:
        try:
            return current_revision(self.engine)
        except SQLAlchemyError as error:
            raise DatabaseUnavailable(str(error)) from error


def policy_from(settings: Settings) -> RequestPolicy:
    return RequestPolicy(
        max_requests_per_case=settings.max_requests_per_case,
        agency_daily_quota=settings.agency_daily_request_quota,
        response_period=timedelta(days=settings.response_period_days),
    )


def build_context(
    settings: Settings, *, clock: Clock | None = None, with_stores: bool = True
) -> SqlServiceContext:
    """The one place that wires settings to an engine, a clock, a policy and the stores.

    ``with_stores=False`` is for tools that only touch the database (``audit verify``).
    """
    return SqlServiceContext(
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
            kind=settings.store,
            volume_bytes=settings.store_volume_mb << 20,
        )
        if with_stores
        else None,
    )
