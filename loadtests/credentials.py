"""The credentials file ``canvass seed`` writes, read as typed accounts, devices and homes.

The file is a secret (passwords, TOTP secrets, device tokens): it is read here
and never logged. Besides the secrets it says where load can reach: each
resident's home point and cameras, and each device token's camera, owner and
point, so detectives place incidents where the residents Locust logs in as
will be notified.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


@dataclass(frozen=True)
class StaffAccount:
    """A detective, supervisor, moderator, auditor or admin; staff always have TOTP."""

    username: str
    password: str
    role: str
    totp_secret: str | None


@dataclass(frozen=True)
class ResidentAccount:
    username: str
    password: str
    resident_id: int
    home: Point
    camera_ids: tuple[int, ...]


@dataclass(frozen=True)
class Device:
    """A camera's upload token, its owner and where it is."""

    camera_id: int
    resident_id: int
    point: Point
    token: str


@dataclass(frozen=True)
class Credentials:
    agency_id: int
    staff: tuple[StaffAccount, ...]
    residents: tuple[ResidentAccount, ...]
    devices: tuple[Device, ...]

    def staff_with_role(self, role: str) -> tuple[StaffAccount, ...]:
        return tuple(s for s in self.staff if s.role == role)


class CredentialsError(ValueError):
    """The credentials file is missing, unreadable or lacks what the load needs."""


def _point(raw: dict[str, Any]) -> Point:
    return Point(float(raw["lat"]), float(raw["lon"]))


def read_credentials(path: str | Path) -> Credentials:
    """Read ``canvass seed --out FILE``; errors name the file and what is missing."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise CredentialsError(f"{path}: cannot read the credentials file ({exc})") from None
    try:
        return Credentials(
            agency_id=int(raw["agency_id"]),
            staff=tuple(
                StaffAccount(s["username"], s["password"], s["role"], s.get("totp_secret"))
                for s in raw["staff"]
            ),
            residents=tuple(
                ResidentAccount(
                    r["username"],
                    r["password"],
                    int(r["subject_id"]),
                    _point(r["home"]),
                    tuple(int(c["camera_id"]) for c in r["cameras"]),
                )
                for r in raw["residents"]
            ),
            devices=tuple(
                Device(int(d["camera_id"]), int(d["resident_id"]), _point(d), d["token"])
                for d in raw["devices"]
            ),
        )
    except (KeyError, TypeError) as exc:
        raise CredentialsError(
            f"{path}: the credentials file lacks {exc}; write it with a current `canvass seed`"
        ) from None
