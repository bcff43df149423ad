"""A worker process for tests: runs the real job runner with a recording handler.

``python -m tests.system.worker_probe DATABASE_URL WORKER_ID`` claims ``probe``
jobs until none is left; each run inserts one row into ``probe_runs`` so a
test can see whether any job ran twice.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from system.adapters.clock import SystemClock
from system.adapters.db import make_engine
from system.bootstrap import SqlServiceContext
from system.service_layer.context import ServiceContext
from system.service_layer.jobs import run_pending_jobs


def main(url: str, worker_id: str) -> int:
    engine = make_engine(url)
    ctx = SqlServiceContext(engine=engine, clock=SystemClock())

    def probe(ctx: ServiceContext, payload: dict[str, Any]) -> None:
        time.sleep(0.01)  # long enough for the other worker to try the same job
        with ctx.uow() as uow:
            uow.connection.execute(
                text("INSERT INTO probe_runs (job_key, worker, at) VALUES (:k, :w, :at)"),
                {"k": payload["key"], "w": worker_id, "at": datetime.now(UTC).isoformat()},
            )
            uow.commit()

    total = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        report = run_pending_jobs(
            ctx, worker_id=worker_id, handlers={"probe": probe}, schedule=False
        )
        total += report.done
        if report.ran == 0:
            break
    print(total)
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
