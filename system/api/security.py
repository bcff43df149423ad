"""Who is calling: bearer-token authentication, role checks and rate limits as dependencies.

Role checks here are the first gate (SEC-01); the service layer checks again
against the officer, staff or resident record the account stands for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Concatenate, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from system.api.ratelimit import RateLimiter
from system.api.runner import ServiceRunner
from system.domain.accounts import AccountRole, AuthenticationFailed, Principal
from system.domain.errors import PermissionDenied
from system.service_layer import accounts
from system.service_layer.context import ServiceContext

P = ParamSpec("P")
T = TypeVar("T")

TOKEN_URL = "/api/v1/auth/token"
bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


class Services:
    """The service context and the runner, for one request: ``await svc(fn, **kwargs)``."""

    def __init__(self, ctx: ServiceContext, runner: ServiceRunner) -> None:
        self.ctx = ctx
        self.runner = runner

    async def __call__(
        self, fn: Callable[Concatenate[ServiceContext, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return await self.runner(fn, self.ctx, *args, **kwargs)

    async def in_thread(
        self, fn: Callable[Concatenate[ServiceContext, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Always in a worker thread: calls that read a streamed request body, and calls
        whose work grows with the data (reports, audit verification), which must not
        hold the event loop."""
        return await self.runner.in_thread(fn, self.ctx, *args, **kwargs)


# Dependencies are ``async def``: FastAPI runs a plain ``def`` dependency in a worker
# thread, a hop that costs more than these lookups themselves.


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def client_address(request: Request) -> str:
    """The peer address; a proxy's X-Forwarded-For counts only from CANVASS_TRUSTED_PROXIES."""
    return request.client.host if request.client is not None else "unknown"


ServicesDep = Annotated[Services, Depends(get_services)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
BearerToken = Annotated[str | None, Depends(bearer)]
SourceIp = Annotated[str, Depends(client_address)]


async def current_account(svc: Services, token: str | None) -> Principal:
    """The account behind a bearer token, or :class:`AuthenticationFailed` (a 401)."""
    if token is None:
        raise AuthenticationFailed("missing bearer token: log in at " + TOKEN_URL)
    # A session read moments ago is answered from memory, without a trip to a thread.
    remembered = accounts.remembered_principal(svc.ctx, token=token)
    if remembered is not None:
        return remembered
    return await svc(accounts.authenticate, token=token)


# The role dependencies below are flat on purpose: each is one dependency over the
# bearer token (which also puts the scheme in the OpenAPI document) and reads the
# app's services and limiter from the request. They were nested (role check over
# account over services and token, plus the limiter): six dependencies for a
# resident's answer, and FastAPI's dependency solver took about a quarter of the
# answer's time under load (py-spy); now it is two.


def _check_role(me: Principal, allowed: frozenset[AccountRole], names: str) -> Principal:
    if me.role not in allowed or me.subject_id is None:
        raise PermissionDenied(f"this endpoint is for: {names}", rule="SEC-01")
    return me


def require_role(*roles: AccountRole) -> Callable[..., Awaitable[Principal]]:
    allowed = frozenset(roles)
    names = ", ".join(sorted(r.value for r in allowed))

    async def check(request: Request, token: BearerToken) -> Principal:
        me = await current_account(request.app.state.services, token)
        return _check_role(me, allowed, names)

    return check


_RESIDENT = frozenset({AccountRole.RESIDENT})


async def resident_account(request: Request, token: BearerToken) -> Principal:
    me = _check_role(
        await current_account(request.app.state.services, token), _RESIDENT, "resident"
    )
    limiter: RateLimiter = request.app.state.limiter
    limiter.resident.take(f"account:{me.account_id}")  # SEC-06, per account
    return me


AgencyAccount = Annotated[
    Principal, Depends(require_role(AccountRole.DETECTIVE, AccountRole.SUPERVISOR))
]
ModeratorAccount = Annotated[Principal, Depends(require_role(AccountRole.MODERATOR))]
ResidentAccount = Annotated[Principal, Depends(resident_account)]
AdminAccount = Annotated[Principal, Depends(require_role(AccountRole.ADMIN))]
AuditAccount = Annotated[Principal, Depends(require_role(AccountRole.ADMIN, AccountRole.AUDITOR))]


async def current_device(svc: ServicesDep, token: BearerToken) -> int:
    """The camera id behind a device token (``Authorization: Bearer <device token>``)."""
    if token is None:
        raise AuthenticationFailed("missing device token")
    return await svc(accounts.authenticate_device, token=token)


DeviceCamera = Annotated[int, Depends(current_device)]


def subject(me: Principal) -> int:
    """The officer, staff or resident id an authorised account stands for."""
    assert me.subject_id is not None  # require_role refuses accounts without one
    return me.subject_id
