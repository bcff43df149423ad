"""Bodies of the admin routes for agencies, retention, key rings and metrics tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt

from system.api.schemas import Inbound, Outbound

KeyDomain = Literal["platform", "agency", "accounts"]


class AgencyCreate(Inbound):
    name: Annotated[str, Field(max_length=200)]
    county: Annotated[str, Field(max_length=100)]
    verified: StrictBool = False


class AgencyPublic(Outbound):
    agency_id: int
    name: str
    county: str
    verified: bool


class RetentionUpdate(Inbound):
    periods_days: dict[
        Annotated[str, Field(max_length=40)],
        Annotated[StrictInt, Field(ge=-(2**31), le=2**31)] | None,
    ] = Field(
        description="Days from receipt to purge by category; null keeps items until a person "
        "decides. Categories left out are unchanged.",
        max_length=10,
    )


class RetentionPublic(Outbound):
    periods_days: dict[str, int | None]
    defaults_days: dict[str, int | None]
    updated_at: datetime | None
    updated_by: str | None
    items_redated: int | None = None


class KeyRotation(Inbound):
    new_key: StrictBool = Field(
        True, description="Add a fresh key and make it active first (file-backed rings only)."
    )


class KeyRingPublic(Outbound):
    domain: str
    managed_by: str
    key_ids: list[str]
    active: str


class RewrapPublic(Outbound):
    rewrapped: int
    unchanged: int
    failed: dict[str, str]


class KeyRotationPublic(Outbound):
    domain: str
    key_added: bool
    active: str
    previous_active: str
    stores: dict[str, RewrapPublic]


class MetricsTokenCreate(Inbound):
    label: Annotated[str, Field(max_length=100)]


class MetricsTokenPublic(Outbound):
    token_id: int
    label: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class MetricsTokenIssued(Outbound):
    token_id: int
    label: str
    token: str = Field(description="Shown once: put it in the scraper's bearer_token setting.")
