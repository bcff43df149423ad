"""The agency side: agencies, their officers and their cases: rows in, domain objects out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, insert, select, update

from system.adapters import driver_sql
from system.adapters import tables as t
from system.adapters.repo_base import Repository, email_taken
from system.domain.model import Agency, Case, CaseStatus, IncidentType, Officer, Role


class AgencyRepository(Repository):
    def add(self, *, name: str, county: str, verified: bool, now: datetime) -> Agency:
        new_id = self._insert(
            t.agencies, name=name, county=county, verified=verified, created_at=now
        )
        return Agency(new_id, name, county, verified)

    def get(self, agency_id: int) -> Agency | None:
        row = driver_sql.first_row(self.connection, _AGENCY, {"id": agency_id})
        return None if row is None else Agency(row.id, row.name, row.county, row.verified)

    def by_name(self, name: str) -> Agency | None:
        row = self.connection.execute(select(t.agencies).where(t.agencies.c.name == name)).first()
        return None if row is None else Agency(row.id, row.name, row.county, row.verified)


class OfficerRepository(Repository):
    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._read: dict[int, Officer | None] = {}
        self._with_agency: dict[int, tuple[Officer | None, Agency | None]] = {}

    def add(self, *, agency_id: int, name: str, email: str, role: Role, now: datetime) -> Officer:
        new_id = self._insert(
            t.officers,
            agency_id=agency_id,
            name=name,
            email=email,
            role=role.value,
            active=True,
            created_at=now,
        )
        return Officer(new_id, agency_id, name, email, role)

    def get(self, officer_id: int) -> Officer | None:
        """The officer (read once per unit of work: an access check and its audit entry
        both ask; no unit of work changes an officer after reading it)."""
        if officer_id in self._read:
            return self._read[officer_id]
        row = driver_sql.first_row(self.connection, _OFFICER, {"id": officer_id})
        officer = None if row is None else _officer(row)
        self._read[officer_id] = officer
        return officer

    def with_agency(self, officer_id: int) -> tuple[Officer | None, Agency | None]:
        """The officer and their agency in one statement (every officer route checks both),
        read once per unit of work as :meth:`get` is (a route's audit entry and its access
        check both ask; no unit of work that acts as an officer changes their agency)."""
        known = self._with_agency.get(officer_id)
        if known is not None:
            return known
        row = driver_sql.first_row(self.connection, _OFFICER_WITH_AGENCY, {"id": officer_id})
        officer = None if row is None else _officer(row)
        self._read[officer_id] = officer
        agency = (
            None
            if row is None or row.agency_name is None
            else Agency(row.agency_id, row.agency_name, row.agency_county, row.agency_verified)
        )
        self._with_agency[officer_id] = (officer, agency)
        return officer, agency

    def email_taken(self, email: str) -> bool:
        return email_taken(self.connection, t.officers, email)


class CaseRepository(Repository):
    def add(
        self,
        *,
        agency_id: int,
        case_number: str,
        incident_type: IncidentType,
        opened_by: int,
        now: datetime,
    ) -> Case:
        new_id = self._insert(
            t.cases,
            agency_id=agency_id,
            case_number=case_number,
            incident_type=incident_type.value,
            opened_at=now,
            opened_by=opened_by,
            status=CaseStatus.OPEN.value,
        )
        self.assign(new_id, opened_by, now=now)
        return Case(new_id, agency_id, case_number, incident_type, now, opened_by)

    def get(self, case_id: int, *, for_update: bool = False) -> Case | None:
        query = _CASE_FOR_UPDATE if for_update else _CASE
        row = driver_sql.first_row(self.connection, query, {"id": case_id})
        if row is None:
            return None
        return Case(
            row.id,
            row.agency_id,
            row.case_number,
            IncidentType(row.incident_type),
            row.opened_at,
            row.opened_by,
            CaseStatus(row.status),
        )

    def number_taken(self, agency_id: int, case_number: str) -> bool:
        query = select(
            exists().where(t.cases.c.agency_id == agency_id, t.cases.c.case_number == case_number)
        )
        return bool(self.connection.execute(query).scalar())

    def assign(self, case_id: int, officer_id: int, *, now: datetime) -> None:
        self.connection.execute(
            insert(t.case_assignments),
            {"case_id": case_id, "officer_id": officer_id, "assigned_at": now},
        )

    def assigned_officers(self, case_id: int) -> list[int]:
        rows = driver_sql.select_rows(self.connection, _ASSIGNED, {"id": case_id})
        return [r.officer_id for r in rows]

    def set_status(self, case_id: int, status: CaseStatus) -> None:
        self.connection.execute(
            update(t.cases).where(t.cases.c.id == case_id).values(status=status.value)
        )


def _officer(row: Any) -> Officer:
    return Officer(row.id, row.agency_id, row.name, row.email, Role(row.role), row.active)


_AGENCY = select(t.agencies).where(t.agencies.c.id == bindparam("id"))
_OFFICER = select(t.officers).where(t.officers.c.id == bindparam("id"))
_OFFICER_WITH_AGENCY = (
    select(
        t.officers,
        t.agencies.c.name.label("agency_name"),
        t.agencies.c.county.label("agency_county"),
        t.agencies.c.verified.label("agency_verified"),
    )
    .select_from(t.officers.outerjoin(t.agencies, t.agencies.c.id == t.officers.c.agency_id))
    .where(t.officers.c.id == bindparam("id"))
)
_CASE = select(t.cases).where(t.cases.c.id == bindparam("id"))
_CASE_FOR_UPDATE = _CASE.with_for_update()
_ASSIGNED = (
    select(t.case_assignments.c.officer_id)
    .where(t.case_assignments.c.case_id == bindparam("id"))
    .order_by(t.case_assignments.c.officer_id)
)
