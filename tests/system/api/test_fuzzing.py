"""SEC-01, SEC-06: schemathesis fuzzes every route with every role's token.

Cases are generated from the app's own OpenAPI document; each is sent with
the bearer token of one role (or a device token, or none) and must get no
5xx and a response that matches the schema the route declares. The stateful
test follows the document's links (a created case's id into a request, a
request's id into moderation, ...) with the token of a role that may call
each step.

CI runs ``FUZZ_CASES`` cases (default 1,200: a quarter spread over the roles on every
route, the rest with a permitted role); set
``CANVASS_FUZZ_CASES=10000`` for a long run. ``CANVASS_FUZZ_STATEFUL`` sets
the number of stateful scenarios (default 10).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from argon2 import PasswordHasher
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.specs.openapi.schemas import OpenApiSchema
from starlette.types import ASGIApp, Receive, Scope, Send

from system.adapters.db import make_engine
from system.adapters.stores import make_stores
from system.api.app import create_app
from system.api.ratelimit import Rate, RateLimits
from system.bootstrap import SqlServiceContext
from system.config import load_settings
from system.domain.accounts import decode_totp_secret, totp
from system.domain.clock import ManualClock
from system.service_layer import accounts, jobs, registration
from system.service_layer.context import ServiceContext
from tests import databases
from tests.conftest import T0
from tests.system.api.test_role_matrix import EXPECTED, ROLES
from tests.system.consent_world import build_consent_world
from tests.system.evidence_fixtures import add_evidence

FUZZ_CASES = int(os.environ.get("CANVASS_FUZZ_CASES", "1200"))
STATEFUL_SCENARIOS = int(os.environ.get("CANVASS_FUZZ_STATEFUL", "10"))
PASSWORD = "fuzzing is not a password"
CHECKS = [not_a_server_error, response_schema_conformance]
# Calls that end sessions: after one, every role logs in again.
SESSION_ENDERS = {"/api/v1/auth/logout", "/api/v1/admin/accounts/{account_id}/revoke-tokens"}
GENEROUS = RateLimits(
    login_per_account=Rate(burst=10_000, per_minute=10_000),
    login_per_address=Rate(burst=10_000, per_minute=10_000),
    resident_per_account=Rate(burst=10_000, per_minute=10_000),
)


@dataclass
class Fuzzed:
    """The app under test, its schema, and a live token for every role."""

    app: FastAPI
    schema: OpenApiSchema
    ctx: ServiceContext
    clock: ManualClock
    folder: Path
    logins: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    cases: int = 0
    _saved_tokens: dict[str, str] | None = None

    def snapshot(self) -> None:
        """Keep the database and data folder as they are, to start each scenario from."""
        self.ctx.engine.dispose()
        shutil.copyfile(self.folder / "canvass.db", self.folder / "snapshot.db")
        shutil.copytree(self.folder / "data", self.folder / "snapshot-data")
        self._saved_tokens = dict(self.tokens)

    def restore(self) -> None:
        """Back to the snapshot: a stateful scenario must not see the last one's objects
        (hypothesis replays scenarios and needs the same answers to the same calls)."""
        assert self._saved_tokens is not None
        self.ctx.engine.dispose()
        shutil.copyfile(self.folder / "snapshot.db", self.folder / "canvass.db")
        shutil.rmtree(self.folder / "data")
        shutil.copytree(self.folder / "snapshot-data", self.folder / "data")
        self.tokens = dict(self._saved_tokens)  # the clock goes on: it never runs backwards

    def log_in_everyone(self) -> None:
        for role, (username, secret) in self.logins.items():
            self.clock.advance(timedelta(seconds=31))  # a fresh TOTP step
            code = None if secret is None else totp(decode_totp_secret(secret), at=self.clock.now())
            issued = accounts.login(
                self.ctx, username=username, password=PASSWORD, totp_code=code, source_ip=None
            )
            self.tokens[role] = issued.access_token

    def headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def send(self, case: Any, role: str) -> None:
        self.cases += 1
        case.call_and_validate(headers=self.headers(role), checks=CHECKS)
        if case.operation.path in SESSION_ENDERS:
            self.log_in_everyone()


class WithoutLifespan:
    """The app for schemathesis's ASGI client, which starts an app's lifespan again for
    each client; the app's lifespan (the cross-process revocation watcher) starts once.
    One process needs no watcher: a logout takes effect in it at once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Fuzzed]:
    folder = tmp_path_factory.mktemp("fuzz")
    url = databases.fresh_sqlite_copy(sqlite_template, folder)
    engine = make_engine(url)
    clock = ManualClock(T0)
    ctx = SqlServiceContext(engine=engine, clock=clock, content=make_stores(folder / "data"))
    with pytest.MonkeyPatch.context() as patch:
        fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        patch.setattr(accounts, "_hasher", lambda: fast)
        cw = build_consent_world(ctx, {"alice": (0.0, 0.0), "bob": (40.0, 30.0)})
        world = cw.world
        # Objects for the stateful scenarios to start from: a request fanned out to both
        # residents, one waiting for moderation, and an evidence item in the case.
        cw.publish()
        world.submit()
        add_evidence(ctx, agency_id=world.agency_id, case_id=world.case_id, label="fuzz")
        subjects = {
            "detective": world.detective_id,
            "supervisor": registration.register_officer(
                ctx, agency_id=world.agency_id, name="Sue Per", email="s@p.ex", role="supervisor"
            ).id,
            "moderator": world.moderator_id,
            "resident": world.residents["alice"],
            "auditor": registration.register_staff(
                ctx, name="Au Ditor", email="a@p.example", role="auditor"
            ).id,
            "admin": registration.register_staff(
                ctx, name="Ad Min", email="m@p.example", role="admin"
            ).id,
        }
        app = create_app(
            load_settings(database_url=url, data_dir=str(folder / "data")), ctx=ctx, limits=GENEROUS
        )
        schema = schemathesis.openapi.from_dict(app.openapi())
        schema.app = WithoutLifespan(app)
        fuzz = Fuzzed(app, schema, ctx, clock, folder)
        for role, subject_id in subjects.items():
            new = accounts.create_account(
                ctx, username=f"{role}-fuzz", password=PASSWORD, role=role, subject_id=subject_id
            )
            fuzz.logins[role] = (new.username, new.totp_secret)
        fuzz.log_in_everyone()
        fuzz.tokens["device"] = accounts.issue_device_token(
            ctx, camera_id=cw.camera_of["alice"], issued_by="fuzz"
        )
        fuzz.snapshot()
        yield fuzz
        print(f"\nfuzzing sent {fuzz.cases} cases")
    engine.dispose()


def operations(schema: OpenApiSchema) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def both_modes(operation: Any) -> st.SearchStrategy[Any]:
    """Valid cases (reach the service layer) and invalid ones (must be refused with a 4xx)."""
    return st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )


def run_cases(fuzzed: Fuzzed, strategy: st.SearchStrategy[Any], role: Any, count: int) -> None:
    """Send ``count`` generated cases, each as ``role`` (a name, or a function of the case)."""

    @settings(
        max_examples=max(1, count),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        fuzzed.send(case, role if isinstance(role, str) else role(case))

    fuzz()


@pytest.mark.parametrize("role", ROLES)
def test_sec01_sec06_every_route_with_this_roles_token_answers_without_a_500_on_schema(
    fuzzed: Fuzzed, role: str
) -> None:
    """A quarter of the cases: every route, called with one role's token (or none)."""
    strategy = st.one_of([both_modes(op) for op in operations(fuzzed.schema)])
    run_cases(fuzzed, strategy, role, FUZZ_CASES // 4 // len(ROLES))


def test_sec06_every_route_with_a_permitted_roles_token_answers_without_a_500_on_schema(
    fuzzed: Fuzzed,
) -> None:
    """Three quarters: every route, called by a role the SEC-01 matrix lets through, so the
    input reaches validation and the service layer."""
    strategy = st.one_of([both_modes(op) for op in operations(fuzzed.schema)])
    run_cases(
        fuzzed,
        strategy,
        lambda case: permitted_role(case.method.upper(), case.operation.path),
        FUZZ_CASES - FUZZ_CASES // 4,
    )


def permitted_role(method: str, path: str) -> str:
    """The first role the SEC-01 matrix lets call this route (anonymous for public ones)."""
    answers = EXPECTED[(method, path)]
    return next((r for r in ROLES if answers[r] not in (401, 403)), "anonymous")


def test_sec06_stateful_scenarios_follow_links_with_each_steps_permitted_role(
    fuzzed: Fuzzed,
) -> None:
    base = fuzzed.schema.as_state_machine()

    class Workflow(base):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            fuzzed.restore()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            role = permitted_role(case.method.upper(), case.operation.path)
            return {"headers": fuzzed.headers(role)}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            fuzzed.cases += 1
            case.validate_response(response, checks=CHECKS)
            if case.operation.path in SESSION_ENDERS:
                fuzzed.log_in_everyone()
            jobs.run_pending_jobs(fuzzed.ctx)  # the worker's part: fan-out, transfers

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=10,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
