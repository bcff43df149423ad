"""Stopping the server and worker processes that benchmarks and end-to-end tests start."""

from __future__ import annotations

import os
import signal
import subprocess
import time

STOP_TIMEOUT_S = 15.0


def stop_process_groups(
    processes: list[subprocess.Popen[bytes]], *, grace_s: float = STOP_TIMEOUT_S
) -> None:
    """SIGTERM each process group (started with ``start_new_session=True``), then
    SIGKILL whatever is still alive after ``grace_s``: a job in flight may finish."""
    for proc in processes:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
