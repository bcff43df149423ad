"""What Locust saw succeed, counted per operation, for reconciliation with the system's counts.

Users count an operation only once its response has been judged a success
(uploads stored, answers accepted with the right receipt, evidence downloaded
with the right SHA-256), and count each hash mismatch. Each Locust process
that runs users keeps its own :class:`Ledger` and writes it when Locust quits
(after its users have stopped) if ``--canvass-ledger FILE`` is given: a lone
Locust writes ``FILE``, a worker ``FILE`` with ``.worker<N>`` before the
suffix; :func:`read_ledgers` adds them up.

A test hook: ``CANVASS_LOADTEST_DROP_ONE=OPERATION`` leaves the first success
of ``OPERATION`` uncounted, so reconciliation must find one missing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

OPERATIONS = (
    "clip_uploads",  # POST /devices/clips answered 201 with a clip id
    "answers",  # POST /me/notifications/[id]/response answered 201 with the right receipt
    "shares",  # answers that shared clips
    "declines",  # answers that declined
    "clips_shared",  # clips those shares named
    "evidence_downloads",  # evidence items downloaded whole, SHA-256 as listed
    "hash_mismatches",  # downloads whose bytes did not match the listing's SHA-256
)
DROP_ONE_ENV = "CANVASS_LOADTEST_DROP_ONE"


class LedgerError(ValueError):
    """A ledger file that cannot be read."""


@dataclass
class Ledger:
    drop_one: str | None = None
    """The operation whose first success goes uncounted (the test hook), or None."""
    counts: Counter[str] = field(default_factory=Counter)

    def count(self, operation: str, n: int = 1) -> None:
        if operation not in OPERATIONS:
            raise KeyError(f"not a ledger operation: {operation}")
        if operation == self.drop_one and n > 0:
            self.drop_one = None
            n -= 1
        self.counts[operation] += n

    def as_dict(self) -> dict[str, int]:
        return {op: self.counts[op] for op in OPERATIONS}

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")


def worker_file(path: Path, index: int) -> Path:
    """Where worker ``index`` writes its ledger, beside ``path``."""
    return path.with_name(f"{path.stem}.worker{index}{path.suffix}")


def read_ledgers(path: Path) -> dict[str, int]:
    """The sum of ``path`` and every worker's file beside it."""
    files = sorted({*path.parent.glob(f"{path.stem}.worker*{path.suffix}")})
    if path.exists():
        files.insert(0, path)
    if not files:
        raise LedgerError(f"{path}: no ledger (run Locust with --canvass-ledger {path})")
    total: Counter[str] = Counter()
    for file in files:
        try:
            raw = json.loads(file.read_text())
            total.update({op: int(raw.get(op, 0)) for op in OPERATIONS})
        except (OSError, ValueError, AttributeError) as exc:
            raise LedgerError(f"{file}: cannot read the ledger ({exc})") from None
    return {op: total[op] for op in OPERATIONS}
