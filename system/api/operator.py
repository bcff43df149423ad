"""Who may read ``/metrics``: an admin's session, or an operator's metrics scrape token.

Kept apart from :mod:`system.api.security` because a scrape token opens this
one route only; every other route refuses it (its hash is no session's).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from system.api.security import BearerToken, ServicesDep, current_account
from system.domain.accounts import AccountRole, AuthenticationFailed
from system.domain.errors import PermissionDenied
from system.service_layer import operator_tokens


async def metrics_reader(svc: ServicesDep, token: BearerToken) -> str:
    """The reader's actor (``metrics-token:<id>`` or the admin's account) or 401/403."""
    if token is None:
        raise AuthenticationFailed("missing bearer token: an admin session or a metrics token")
    if operator_tokens.is_metrics_token(token):
        token_id = await svc(operator_tokens.authenticate_metrics_token, token=token)
        return f"metrics-token:{token_id}"
    me = await current_account(svc, token)
    if me.role is not AccountRole.ADMIN or me.subject_id is None:
        # Agencies must not watch one request's responses through the counters (CON-03).
        raise PermissionDenied(
            "this endpoint is for operators: admin or a metrics token", rule="SEC-01"
        )
    return me.actor


MetricsReader = Annotated[str, Depends(metrics_reader)]
