"""What the users of one Locust process share: accounts, sessions, claims, journeys, timings.

Built once per process by the locustfile's ``init`` listener (never at import)
and kept on the Locust environment as ``environment.canvass``. Residents are
claimed in the credentials file's order, striding by the number of Locust
processes so that processes log in as different residents; detectives place
incidents at the homes of residents claimed here, so the residents this
process logs in as are the ones notified; cameras upload for those residents'
devices first.
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass, field

from loadtests.client import Sessions
from loadtests.credentials import Credentials, Device, Point, ResidentAccount, StaffAccount
from loadtests.journey import Journeys
from loadtests.ledger import Ledger
from loadtests.pacing import Budget
from loadtests.perf import Timings


@dataclass
class LoadContext:
    credentials: Credentials
    seed: int
    process_index: int = 0
    run_stamp: str = field(default_factory=lambda: time.strftime("%Y%m%dT%H%M%S"))
    """Names this run's cases apart from earlier runs' against the same database."""
    processes: int = 1
    sessions: Sessions = field(default_factory=Sessions)
    journeys: Journeys = field(default_factory=Journeys)
    timings: Timings = field(default_factory=Timings)
    budget: Budget | None = None
    ledger: Ledger = field(default_factory=Ledger)
    pace: float = 1.0
    checklist: list[str] = field(default_factory=list)
    claimed_residents: list[ResidentAccount] = field(default_factory=list)
    taken_requests: set[int] = field(default_factory=set)
    _users: itertools.count[int] = field(default_factory=itertools.count)
    _staff_claims: dict[str, int] = field(default_factory=dict)
    _device_turn: itertools.count[int] = field(default_factory=itertools.count)

    def user_number(self) -> int:
        """A number per user of this process, for its own random stream."""
        return next(self._users)

    def user_seed(self, number: int) -> int:
        return self.seed * 1_000_003 + self.process_index * 10_007 + number

    def claim_staff(self, role: str) -> StaffAccount:
        """The next account of ``role``, round robin, starting at this process's index."""
        accounts = self.credentials.staff_with_role(role)
        if not accounts:
            raise LookupError(f"the credentials file has no {role} account")
        turn = self._staff_claims.get(role, 0)
        self._staff_claims[role] = turn + 1
        return accounts[(self.process_index + turn) % len(accounts)]

    def claim_resident(self) -> ResidentAccount:
        residents = self.credentials.residents
        if not residents:
            raise LookupError("the credentials file has no resident accounts")
        turn = len(self.claimed_residents)
        resident = residents[(self.process_index + turn * self.processes) % len(residents)]
        self.claimed_residents.append(resident)
        return resident

    def incident_point(self, rng: random.Random) -> Point:
        """A claimed resident's home (any resident's before one is claimed)."""
        pool = self.claimed_residents or list(self.credentials.residents)
        return rng.choice(pool).home

    def next_device(self) -> Device:
        """Devices of claimed residents in turn (every device before one is claimed)."""
        claimed = {r.resident_id for r in self.claimed_residents}
        pool = [d for d in self.credentials.devices if d.resident_id in claimed]
        pool = pool or list(self.credentials.devices)
        if not pool:
            raise LookupError("the credentials file has no device tokens")
        return pool[next(self._device_turn) % len(pool)]
