"""Load shapes, one ``LoadTestShape`` per module; ``--canvass-shape`` picks one."""

from __future__ import annotations

from typing import Any


def environment_of(shape: Any) -> Any:
    """The Locust environment a running shape belongs to (Locust types it loosely)."""
    return shape.runner.environment


def options_of(shape: Any) -> Any:
    """The parsed command line, Locust's options and the ``--canvass-*`` ones."""
    return environment_of(shape).parsed_options


def run_time_s(shape: Any) -> float:
    """Seconds since the shape started."""
    return float(shape.get_run_time())
