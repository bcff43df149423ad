"""Logging in (OAuth2 password flow with a TOTP code) and out (SEC-02, SEC-03, SEC-06).

``POST /api/v1/auth/token`` takes an ``application/x-www-form-urlencoded``
body: ``username``, ``password`` and the six-digit TOTP code in ``totp``.
Clients that cannot add a field (Swagger UI's Authorize dialog, generic OAuth2
libraries) may put the code in ``client_secret`` instead; ``totp`` wins when
both are given. The form is parsed here (no multipart dependency needed).
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, status
from pydantic import Field, ValidationError

from system.api.schemas import Inbound, TokenPublic
from system.api.security import (
    BearerToken,
    LimiterDep,
    ServicesDep,
    SourceIp,
)
from system.domain.accounts import AuthenticationFailed
from system.domain.errors import InvalidInput, Problem
from system.service_layer import accounts

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginForm(Inbound):
    grant_type: Literal["password"] | None = None
    username: Annotated[str, Field(min_length=1, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=256)]
    totp: Annotated[str, Field(max_length=16)] | None = None
    client_secret: Annotated[str, Field(max_length=16)] | None = None
    client_id: Annotated[str, Field(max_length=100)] | None = None
    scope: Annotated[str, Field(max_length=200)] | None = None


_FORM = "application/x-www-form-urlencoded"
_FORM_DOC = {
    "requestBody": {
        "required": True,
        "content": {_FORM: {"schema": LoginForm.model_json_schema()}},
    }
}


async def _login_form(request: Request) -> LoginForm:
    if request.headers.get("content-type", "").split(";")[0].strip() != _FORM:
        raise InvalidInput([Problem("body", "SEC-06", f"send the login form as {_FORM}")])
    try:
        pairs = parse_qsl(
            (await request.body()).decode(), keep_blank_values=True, max_num_fields=10
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput([Problem("body", "SEC-06", "unreadable login form")]) from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InvalidInput([Problem("body", "SEC-06", "a login form field appears twice")])
    try:
        return LoginForm.model_validate(fields)
    except ValidationError as exc:
        problems = [
            Problem(".".join(str(p) for p in e["loc"]) or "body", "SEC-06", e["msg"])
            for e in exc.errors()
        ]
        raise InvalidInput(problems) from None


@router.post("/token", openapi_extra=_FORM_DOC)
async def log_in(
    request: Request, svc: ServicesDep, limiter: LimiterDep, source_ip: SourceIp
) -> TokenPublic:
    """Exchange username, password and TOTP code for a bearer token."""
    limiter.login_address.take(source_ip)
    form = await _login_form(request)
    limiter.login_account.take(form.username.casefold())
    issued = await svc(
        accounts.login,
        username=form.username,
        password=form.password,
        totp_code=form.totp if form.totp is not None else form.client_secret,
        source_ip=source_ip,
    )
    return TokenPublic(access_token=issued.access_token, expires_at=issued.expires_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def log_out(svc: ServicesDep, token: BearerToken, source_ip: SourceIp) -> None:
    """Revoke the bearer token used for this call."""
    if token is None:
        raise AuthenticationFailed("missing bearer token")
    await svc(accounts.logout, token=token, source_ip=source_ip)
