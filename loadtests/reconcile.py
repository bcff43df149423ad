"""Reconciliation: the system's own counts checked against what Locust saw succeed.

Over HTTP only, against any deployment that nothing else writes to during the
run. Before the run, :func:`scrape` takes a ``/metrics`` snapshot (with the
credentials file's metrics scrape token); after it, once the transfers the run
started have finished (bounded wait), another, and the auditor asks the admin
audit-verify route for the chain's verdict. :func:`reconcile` compares the
differences with the Locust ledger (:mod:`loadtests.ledger`): nothing lost,
nothing duplicated, every downloaded evidence item's SHA-256 equal to the
uploaded one, no job dead-lettered, the audit chain intact. A mismatch names
the operation; the command exits 3::

    python -m loadtests.reconcile snapshot --host URL --credentials FILE --out before.json
    python -m loadtests.reconcile check --host URL --credentials FILE \\
        --before before.json --ledger ledger.json --out reconciliation.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadtests import totp
from loadtests.client import FORM, LOGIN
from loadtests.credentials import CredentialsError, read_credentials
from loadtests.ledger import LedgerError, read_ledgers

RECONCILE_EXIT_CODE = 3
USAGE_EXIT_CODE = 2
FINISHED_TRANSFERS = ("delivered", "quarantined", "withdrawn", "failed")
LOGIN_ATTEMPTS = 3
SETTLE_S = 60.0
"""How long to wait, at most, for the run's transfers to finish before counting."""
HTTP_TIMEOUT_S = 30.0
_SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")

Snapshot = dict[str, float]


class ReconcileError(RuntimeError):
    """The system could not be asked (unreachable, refused a token, bad files)."""


@dataclass(frozen=True)
class Check:
    operation: str
    system: float
    locust: float
    ok: bool
    meaning: str

    def line(self) -> str:
        verdict = "ok" if self.ok else "BROKEN"
        return (
            f"  {verdict}: {self.operation}: system {self.system:g}, locust {self.locust:g} "
            f"({self.meaning})"
        )


def parse_metrics(text: str) -> Snapshot:
    """Prometheus text exposition: each series (name with its labels, as written) to its value."""
    series: Snapshot = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and (match := _SERIES.match(line)):
            series[match.group(1)] = float(match.group(2))
    return series


def total(snapshot: Mapping[str, float], name: str) -> float:
    """The sum of every series of metric ``name`` (all its label values)."""
    return sum(v for k, v in snapshot.items() if k == name or k.startswith(name + "{"))


def labelled(snapshot: Mapping[str, float], name: str, label: str, value: str) -> float:
    return snapshot.get(f'{name}{{{label}="{value}"}}', 0.0)


def unfinished_transfers(snapshot: Mapping[str, float]) -> float:
    done = sum(labelled(snapshot, "canvass_transfers", "status", s) for s in FINISHED_TRANSFERS)
    return total(snapshot, "canvass_transfers") - done


def reconcile(
    before: Mapping[str, float],
    after: Mapping[str, float],
    ledger: Mapping[str, int],
    *,
    audit_ok: bool,
    audit_problem: str | None = None,
) -> list[Check]:
    """Each operation's check: what the system's counts grew by against what Locust saw."""

    def grew(name: str, label: str | None = None, value: str = "") -> float:
        if label is None:
            return total(after, name) - total(before, name)
        return labelled(after, name, label, value) - labelled(before, name, label, value)

    def equal(operation: str, system: float, locust: float, meaning: str) -> Check:
        return Check(operation, system, locust, system == locust, meaning)

    delivered = grew("canvass_transfers", "status", "delivered")
    evidence = grew("canvass_evidence_items")
    return [
        equal(
            "clip_uploads", grew("canvass_clips"), ledger["clip_uploads"], "clips stored = uploads"
        ),
        equal("answers", grew("canvass_responses"), ledger["answers"], "responses = answers"),
        equal(
            "shares",
            grew("canvass_responses", "decision", "share"),
            ledger["shares"],
            "share responses = sharing answers",
        ),
        equal(
            "declines",
            grew("canvass_responses", "decision", "decline"),
            ledger["declines"],
            "decline responses = declining answers",
        ),
        equal(
            "clips_shared",
            grew("canvass_transfers"),
            ledger["clips_shared"],
            "transfers made = clips the answers shared",
        ),
        equal(
            "transfers_done",
            # Transfers in flight when the run began (an earlier run's, or real traffic's) may
            # finish during it: that is work done, not a loss, so only growth counts.
            max(0.0, unfinished_transfers(after) - unfinished_transfers(before)),
            0,
            "transfers the run left unfinished",
        ),
        equal("evidence_items", evidence, delivered, "evidence items = transfers delivered"),
        Check(
            "evidence_downloads",
            evidence,
            ledger["evidence_downloads"],
            ledger["evidence_downloads"] <= evidence,
            "items downloaded cannot exceed items delivered",
        ),
        equal("evidence_hashes", 0, ledger["hash_mismatches"], "downloads whose SHA-256 differed"),
        equal(
            "jobs_dead_lettered",
            grew("canvass_jobs", "status", "dead"),
            0,
            "jobs dead-lettered during the run",
        ),
        Check(
            "audit_chain",
            1.0 if audit_ok else 0.0,
            1.0,
            audit_ok,
            "the audit chain verifies" + (f": {audit_problem}" if audit_problem else ""),
        ),
    ]


# --- over HTTP -----------------------------------------------------------------------------


def _request(
    host: str, path: str, *, token: str | None = None, form: Mapping[str, str] | None = None
) -> bytes:
    data = None if form is None else urllib.parse.urlencode(form).encode()
    headers = {"Content-Type": FORM} if form is not None else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(host.rstrip("/") + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as exc:
        raise ReconcileError(f"{path}: status {exc.code}: {exc.read()[:200]!r}") from None
    except OSError as exc:
        raise ReconcileError(f"{host}{path}: {exc}") from None


def metrics_token(credentials: Path) -> str:
    try:
        token = json.loads(credentials.read_text()).get("metrics_token")
    except (OSError, ValueError) as exc:
        raise ReconcileError(f"{credentials}: cannot read the credentials file ({exc})") from None
    if not token:
        raise ReconcileError(
            f"{credentials}: no metrics_token; write it with a current `canvass seed`"
        )
    return str(token)


def scrape(host: str, credentials: Path) -> Snapshot:
    """One ``/metrics`` snapshot, read with the credentials file's scrape token."""
    return parse_metrics(_request(host, "/metrics", token=metrics_token(credentials)).decode())


def settled(host: str, credentials: Path, before: Mapping[str, float]) -> Snapshot:
    """A snapshot once the run's transfers have finished, or after :data:`SETTLE_S`."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        after = scrape(host, credentials)
        if unfinished_transfers(after) <= unfinished_transfers(before):
            return after
        if time.monotonic() > deadline:
            return after
        time.sleep(1.0)


def audit_verdict(host: str, credentials: Path) -> dict[str, Any]:
    """The admin audit-verify route's answer, asked as the credentials file's auditor."""
    try:
        auditors = read_credentials(credentials).staff_with_role("auditor")
    except CredentialsError as exc:
        raise ReconcileError(str(exc)) from None
    if not auditors:
        raise ReconcileError(f"{credentials}: no auditor account")
    auditor = auditors[0]
    form = {"username": auditor.username, "password": auditor.password}
    step = totp.step_at(time.time())
    for attempt in range(LOGIN_ATTEMPTS):
        if auditor.totp_secret:
            # TOTP codes are single-use: after a refusal, wait for the next step's code.
            time.sleep(max(0.0, step * totp.STEP_S - time.time()))
            form["totp"] = totp.code_for_step(auditor.totp_secret, step)
        try:
            login = json.loads(_request(host, LOGIN, form=form))
            break
        except ReconcileError:
            if attempt + 1 == LOGIN_ATTEMPTS or not auditor.totp_secret:
                raise
            step += 1
    body: dict[str, Any] = json.loads(
        _request(host, "/api/v1/admin/audit/verify", token=login["access_token"])
    )
    return body


def check(host: str, credentials: Path, before: Mapping[str, float], ledger: Path) -> list[Check]:
    counted = read_ledgers(ledger)
    after = settled(host, credentials, before)
    audit = audit_verdict(host, credentials)
    return reconcile(
        before, after, counted, audit_ok=bool(audit.get("ok")), audit_problem=audit.get("problem")
    )


def report(checks: Sequence[Check]) -> tuple[list[str], int]:
    """Printed lines and the exit status (0 reconciled, 3 a mismatch)."""
    broken = [c for c in checks if not c.ok]
    if broken:
        names = ", ".join(c.operation for c in broken)
        lines = [f"reconciliation broken: {names}"]
    else:
        lines = [f"reconciled: {len(checks)} checks, the system's counts match Locust's"]
    return lines + [c.line() for c in checks], RECONCILE_EXIT_CODE if broken else 0


def as_json(checks: Sequence[Check]) -> dict[str, Any]:
    return {"ok": all(c.ok for c in checks), "checks": [asdict(c) for c in checks]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.reconcile", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    snap = sub.add_parser("snapshot", help="a /metrics snapshot before the run")
    chk = sub.add_parser("check", help="after the run: reconcile and exit 3 on a mismatch")
    for command in (snap, chk):
        command.add_argument("--host", required=True, help="the system's base URL")
        command.add_argument("--credentials", required=True, type=Path)
        command.add_argument("--out", type=Path, help="JSON output file")
    chk.add_argument("--before", required=True, type=Path, help="the snapshot taken before")
    chk.add_argument("--ledger", required=True, type=Path, help="Locust's --canvass-ledger FILE")
    args = parser.parse_args(argv)
    try:
        if args.action == "snapshot":
            snapshot = scrape(args.host, args.credentials)
            if args.out:
                args.out.write_text(json.dumps(snapshot, indent=2, sort_keys=True) + "\n")
            return 0
        try:
            before = json.loads(args.before.read_text())
        except (OSError, ValueError) as exc:
            raise ReconcileError(f"{args.before}: cannot read the snapshot ({exc})") from None
        checks = check(args.host, args.credentials, before, args.ledger)
    except (ReconcileError, LedgerError) as exc:
        print(f"reconcile: {exc}", file=sys.stderr)
        return USAGE_EXIT_CODE
    lines, code = report(checks)
    if args.out:
        args.out.write_text(json.dumps(as_json(checks), indent=2) + "\n")
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main())
