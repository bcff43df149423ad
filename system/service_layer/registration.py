"""Registering agencies, officers, platform staff, residents and cameras; opening cases."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace

from system.domain import geo
from system.domain.audit import AuditEvent
from system.domain.errors import InvalidInput, NotFound, PermissionDenied, Problem, RuleViolation
from system.domain.model import (
    AGENCY_ROLES,
    PLATFORM_ROLES,
    Agency,
    Camera,
    Case,
    CaseStatus,
    IncidentType,
    Officer,
    Resident,
    Role,
    Staff,
)
from system.domain.rules import check_text
from system.service_layer.attempts import AuditedAttempt
from system.service_layer.context import ServiceContext
from system.service_layer.reads import reads_only
from system.service_layer.unit_of_work import UnitOfWork

RETENTION_DAY_OPTIONS = frozenset({1, 3, 7, 14, 21, 30, 60, 90, 120, 180})
"""Ring's cloud-retention options in days (calibration#retention)."""

CAMERA_KINDS = frozenset({"doorbell", "outdoor", "indoor"})

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_name_email(name: object, email: object) -> list[Problem]:
    found = check_text(name, field="name", rule="SEC-06", max_chars=200, single_line=True)
    if not isinstance(email, str) or len(email) > 254 or not _EMAIL.match(email):
        found.append(Problem("email", "SEC-06", "must be an email address like name@example.org"))
    return found


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise InvalidInput(problems)


def register_agency(
    ctx: ServiceContext,
    *,
    name: str,
    county: str,
    verified: bool,
    registered_by: str | None = None,
    source_ip: str | None = None,
) -> Agency:
    """Register a local agency; only a verified one may use the request system (REQ-05).

    With ``registered_by`` (an admin's actor), the registration and any refusal
    are audited (SEC-04: permission changes).
    """
    problems = check_text(name, field="name", rule="REQ-05", max_chars=200, single_line=True)
    problems += check_text(county, field="county", rule="REQ-05", max_chars=100, single_line=True)
    if not isinstance(verified, bool):
        problems.append(Problem("verified", "REQ-05", "must be true or false"))
    now = ctx.clock.now()
    with ctx.uow() as uow:
        attempt = AuditedAttempt(
            uow, now, registered_by or "system", "admin", "agency:new", "agency.register", source_ip
        )
        # Seeding and tests register agencies without an actor: nothing to audit then.
        with attempt.checks() if registered_by is not None else nullcontext():
            _raise(problems)
            if uow.agencies.by_name(name) is not None:
                raise InvalidInput([Problem("name", "REQ-05", f"an agency named {name!r} exists")])
        agency = uow.agencies.add(name=name, county=county, verified=verified, now=now)
        if registered_by is not None:
            attempt.record(agency_id=agency.id, verified=verified)
        uow.commit()
    return agency


@reads_only
def list_agencies(ctx: ServiceContext) -> list[Agency]:
    with ctx.uow(read_only=True) as uow:
        return uow.agency_admin.all()


def set_agency_verified(
    ctx: ServiceContext,
    *,
    agency_id: int,
    verified: bool,
    changed_by: str,
    source_ip: str | None = None,
) -> Agency:
    """Verify or unverify an agency; an unverified agency's officers are refused at once (REQ-05).

    Audited, refusals included (SEC-04: permission changes).
    """
    now = ctx.clock.now()
    with ctx.uow() as uow:
        attempt = AuditedAttempt(
            uow, now, changed_by, "admin", f"agency:{agency_id}", "agency.verify", source_ip
        )
        with attempt.checks():
            agency = uow.agencies.get(agency_id)
            if agency is None:
                raise NotFound(f"no agency {agency_id}", field="agency_id")
        if agency.verified != verified:
            uow.agency_admin.set_verified(agency_id, verified)
        attempt.record(verified=verified, previous=agency.verified)
        uow.commit()
    return replace(agency, verified=verified)


def register_officer(
    ctx: ServiceContext, *, agency_id: int, name: str, email: str, role: Role | str
) -> Officer:
    problems = _check_name_email(name, email)
    if role not in {r.value for r in AGENCY_ROLES}:
        problems.append(Problem("role", "SEC-01", "an officer is a detective or a supervisor"))
    _raise(problems)
    with ctx.uow() as uow:
        if uow.agencies.get(agency_id) is None:
            raise NotFound(f"no agency {agency_id}", field="agency_id")
        if uow.officers.email_taken(email):
            raise InvalidInput([Problem("email", "SEC-06", f"{email} is already registered")])
        officer = uow.officers.add(
            agency_id=agency_id, name=name, email=email, role=Role(role), now=ctx.clock.now()
        )
        uow.commit()
    return officer


def register_staff(ctx: ServiceContext, *, name: str, email: str, role: Role | str) -> Staff:
    problems = _check_name_email(name, email)
    if role not in {r.value for r in PLATFORM_ROLES}:
        problems.append(
            Problem("role", "SEC-01", "platform staff are moderators, auditors or admins")
        )
    _raise(problems)
    with ctx.uow() as uow:
        if uow.staff.email_taken(email):
            raise InvalidInput([Problem("email", "SEC-06", f"{email} is already registered")])
        staff = uow.staff.add(name=name, email=email, role=Role(role), now=ctx.clock.now())
        uow.commit()
    return staff


def register_resident(
    ctx: ServiceContext, *, name: str, email: str, home_lat: float, home_lon: float
) -> Resident:
    problems = _check_name_email(name, email)
    if not geo.coordinates_ok(home_lat, home_lon):
        problems.append(Problem("home", "SEC-06", "home must be valid finite coordinates"))
    _raise(problems)
    with ctx.uow() as uow:
        if uow.residents.email_taken(email):
            raise InvalidInput([Problem("email", "SEC-06", f"{email} is already registered")])
        resident = uow.residents.add(
            name=name, email=email, home_lat=home_lat, home_lon=home_lon, now=ctx.clock.now()
        )
        uow.commit()
    return resident


def _camera_problems(
    lat: object, lon: object, retention_days: object, kind: object
) -> list[Problem]:
    found: list[Problem] = []
    if not geo.coordinates_ok(lat, lon):  # type: ignore[arg-type]
        found.append(Problem("location", "SEC-06", "camera location must be valid coordinates"))
    if retention_days not in RETENTION_DAY_OPTIONS:
        options = ", ".join(str(d) for d in sorted(RETENTION_DAY_OPTIONS))
        found.append(Problem("retention_days", "SEC-06", f"must be one of {options}"))
    if kind not in CAMERA_KINDS:
        found.append(Problem("kind", "SEC-06", f"must be one of {', '.join(sorted(CAMERA_KINDS))}"))
    return found


def register_camera(
    ctx: ServiceContext,
    *,
    resident_id: int,
    lat: float,
    lon: float,
    retention_days: int = 60,
    kind: str = "doorbell",
) -> Camera:
    _raise(_camera_problems(lat, lon, retention_days, kind))
    with ctx.uow() as uow:
        if uow.residents.get(resident_id) is None:
            raise NotFound(f"no resident {resident_id}", field="resident_id")
        camera = uow.cameras.add(
            resident_id=resident_id,
            lat=lat,
            lon=lon,
            retention_days=retention_days,
            kind=kind,
            now=ctx.clock.now(),
        )
        uow.commit()
    return camera


@dataclass(frozen=True)
class PopulationRows:
    """A synthetic population ready to store: residents and their cameras.

    ``camera_owner`` indexes into ``residents`` (0-based) for each camera.
    """

    residents: Sequence[dict[str, object]]  # name, email, home_lat, home_lon
    cameras: Sequence[dict[str, object]]  # owner (index), lat, lon, retention_days, kind


def import_population(ctx: ServiceContext, population: PopulationRows) -> list[int]:
    """Store many residents and cameras in one transaction; returns the residents' ids.

    Set-based (bulk statements), for seeding, benchmarks and the simulation.
    Every row is validated first; nothing is stored if any row is bad.
    """
    problems: list[Problem] = []
    for i, row in enumerate(population.residents):
        if not geo.coordinates_ok(row["home_lat"], row["home_lon"]):  # type: ignore[arg-type]
            problems.append(Problem(f"residents[{i}].home", "SEC-06", "invalid coordinates"))
    for i, cam in enumerate(population.cameras):
        owner = cam["owner"]
        if not isinstance(owner, int) or not 0 <= owner < len(population.residents):
            problems.append(Problem(f"cameras[{i}].owner", "SEC-06", "no such resident row"))
        problems += [
            Problem(f"cameras[{i}].{p.field}", p.rule, p.message)
            for p in _camera_problems(cam["lat"], cam["lon"], cam["retention_days"], cam["kind"])
        ]
        if len(problems) > 20:
            break
    _raise(problems)
    with ctx.uow() as uow:
        now = ctx.clock.now()
        ids = uow.residents.add_many(list(population.residents), now=now)
        uow.cameras.add_many(
            [
                {
                    "resident_id": ids[int(cam["owner"])],  # type: ignore[call-overload]
                    "lat": cam["lat"],
                    "lon": cam["lon"],
                    "retention_days": cam["retention_days"],
                    "kind": cam["kind"],
                }
                for cam in population.cameras
            ],
            now=now,
        )
        uow.commit()
    return ids


def active_officer(uow: UnitOfWork, officer_id: int) -> tuple[Officer, Agency]:
    """The officer and their agency, if they may act for it (REQ-05)."""
    officer, agency = uow.officers.with_agency(officer_id)
    if officer is None or not officer.active:
        raise PermissionDenied(f"officer {officer_id} is not an active officer", rule="REQ-05")
    if officer.role not in AGENCY_ROLES:
        raise PermissionDenied("only detectives and supervisors act for an agency", rule="REQ-05")
    if agency is None or not agency.verified:
        raise PermissionDenied(
            "only verified local agencies may use the request system", rule="REQ-05"
        )
    return officer, agency


def active_supervisor(
    uow: UnitOfWork, supervisor_id: int, *, may: str, rule: str
) -> tuple[Officer, Agency]:
    """The supervisor and their agency; anyone else is refused (``may``: what they may do)."""
    officer, agency = active_officer(uow, supervisor_id)
    if officer.role is not Role.SUPERVISOR:
        raise PermissionDenied(f"only a supervisor {may}", rule=rule, field="supervisor_id")
    return officer, agency


def open_case(
    ctx: ServiceContext, *, officer_id: int, case_number: str, incident_type: str
) -> Case:
    """A detective opens a case of their agency and is assigned to it."""
    problems = check_text(
        case_number,
        field="case_number",
        rule="REQ-01",
        max_chars=ctx.policy.max_case_number_chars,
        single_line=True,
    )
    if incident_type not in IncidentType._value2member_map_:
        allowed = ", ".join(sorted(t.value for t in IncidentType))
        problems.append(Problem("incident_type", "REQ-01", f"must be one of: {allowed}"))
    _raise(problems)
    with ctx.uow() as uow:
        officer, agency = active_officer(uow, officer_id)
        if uow.cases.number_taken(agency.id, case_number.strip()):
            raise RuleViolation(
                f"case {case_number.strip()!r} already exists in this agency",
                rule="REQ-01",
                field="case_number",
            )
        case = uow.cases.add(
            agency_id=agency.id,
            case_number=case_number.strip(),
            incident_type=IncidentType(incident_type),
            opened_by=officer.id,
            now=ctx.clock.now(),
        )
        uow.audit.record(
            AuditEvent(
                actor=f"officer:{officer.id}",
                role=officer.role.value,
                object=f"case:{case.id}",
                action="case.open",
            ),
            now=ctx.clock.now(),
        )
        uow.commit()
    return case


def close_case(ctx: ServiceContext, *, officer_id: int, case_id: int) -> None:
    with ctx.uow() as uow:
        officer, _ = active_officer(uow, officer_id)
        case = uow.cases.get(case_id)
        if case is None or case.agency_id != officer.agency_id:
            raise NotFound(f"no case {case_id} in your agency", rule="REQ-05", field="case_id")
        uow.cases.set_status(case_id, CaseStatus.CLOSED)
        uow.commit()
