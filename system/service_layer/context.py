"""What every use case needs: a way to open units of work, a clock, the policy, the stores.

Use cases are written against :class:`ServiceContext`, a protocol; the one that
wires it to a database engine, the settings' clock and the content stores is
:class:`system.bootstrap.SqlServiceContext`, built by
:func:`system.bootstrap.build_context`.
"""

from __future__ import annotations

from typing import Protocol

from system.adapters.stores import ContentStores
from system.domain.clock import Clock
from system.domain.rules import RequestPolicy
from system.service_layer.sessions import SessionCache
from system.service_layer.unit_of_work import UnitOfWork


class ServiceContext(Protocol):
    @property
    def clock(self) -> Clock: ...

    @property
    def policy(self) -> RequestPolicy: ...

    @property
    def stores(self) -> ContentStores:
        """The content stores; use cases that move clips need them configured."""
        ...

    @property
    def sessions(self) -> SessionCache:
        """This process's memory of the live sessions stored in this context's database."""
        ...

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work; ``read_only`` ones take no write lock."""
        ...

    def schema_revision(self) -> str | None:
        """The database's migration revision (``None``: none applied); raises
        :class:`system.adapters.db.DatabaseUnavailable` when the database does not answer."""
        ...
