"""The one settings object of the reference system.

Values come from arguments, then ``CANVASS_*`` environment variables, then
defaults. Build it with :func:`load_settings`; nothing reads the environment
at import time.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from system.adapters.db import DEFAULT_DATABASE_URL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CANVASS_", frozen=True, extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    clock: str = "system"
    # Wall time (Unix seconds) at which a scaled clock stood at its EPOCH. Give every
    # API and worker process the same value so they share one timeline.
    clock_anchor: float | None = None
    max_requests_per_case: int = Field(2, ge=1)
    agency_daily_request_quota: int = Field(50, ge=1)
    response_period_days: float = Field(7.0, gt=0)
    data_dir: str = "canvass-data"
    # How the content stores keep objects: "volumes" (append-only volume files with an
    # index, the default) or "files" (one encrypted file per object, the older layout;
    # `canvass store migrate` moves such a store into volumes).
    store: Literal["volumes", "files"] = "volumes"
    store_volume_mb: int = Field(1024, ge=1)  # a volume is sealed at this size
    # Key rings "ID:BASE64KEY,...;active=ID" (see system.adapters.stores); absent: a file
    # under data_dir/keys, generated on first use and rotated by ``canvass keys rotate``.
    platform_keys: str | None = None
    agency_keys: str | None = None
    account_keys: str | None = None  # seals TOTP secrets at rest (SEC-02)
    # Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto uvicorn believes. Empty: none, not even 127.0.0.1, so a local
    # proxy cannot make one client look like many to the per-address limits (SEC-06).
    trusted_proxies: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        for entry in _entries(value):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (CANVASS_TRUSTED_PROXIES)"
                ) from None
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _entries(self.trusted_proxies)


def _entries(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def load_settings(**overrides: Any) -> Settings:
    """Settings from ``overrides`` (None values ignored), the environment, then defaults."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
