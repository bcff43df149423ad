"""The locustfile's own command-line arguments, beside Locust's (``--canvass-*``).

Each can also come from the environment (``CANVASS_CREDENTIALS``, ...) or a
Locust config file. Locust forwards them from a master to its workers.
"""

from __future__ import annotations

from typing import Any

DEFAULT_SEED = 1


def add_arguments(parser: Any) -> None:
    """Register the ``--canvass-*`` arguments on Locust's parser."""
    add_shape_arguments(parser)
    parser.add_argument(
        "--canvass-credentials",
        env_var="CANVASS_CREDENTIALS",
        default="",
        include_in_web_ui=False,
        help="the credentials file `canvass seed --out FILE` wrote (a secret; never logged)",
    )
    parser.add_argument(
        "--canvass-seed",
        env_var="CANVASS_SEED",
        type=int,
        default=DEFAULT_SEED,
        help="seed of the users' random streams and Faker text (default 1)",
    )
    parser.add_argument(
        "--canvass-ledger",
        env_var="CANVASS_LEDGER",
        default="",
        include_in_web_ui=False,
        help="write what the users saw succeed, per operation, to this JSON file at quit "
        "(a worker writes FILE with .workerN before the suffix), for reconciliation",
    )
    parser.add_argument(
        "--canvass-verdict",
        env_var="CANVASS_VERDICT",
        default="",
        include_in_web_ui=False,
        help="write the SLO gate's verdict (held or not, its lines) to this JSON file",
    )
    parser.add_argument(
        "--canvass-processes",
        env_var="CANVASS_PROCESSES",
        type=int,
        default=1,
        help="Locust processes that run users (workers, or 1): residents and rates are split "
        "between them (default 1)",
    )


SHAPES = ("steady", "step", "spike", "county-hour")


def add_shape_arguments(parser: Any) -> None:
    """The load shape, its parameters, pacing and the SLO file."""
    parser.add_argument(
        "--canvass-shape",
        env_var="CANVASS_SHAPE",
        choices=SHAPES,
        default="steady",
        help="load shape: steady (-u/-r/--run-time), step, spike or county-hour (default steady)",
    )
    parser.add_argument(
        "--canvass-pace",
        env_var="CANVASS_PACE",
        type=float,
        default=1.0,
        help="multiply every user's tasks per second (constant_throughput) by this (default 1)",
    )
    parser.add_argument(
        "--canvass-slo",
        env_var="CANVASS_SLO",
        default="",
        help="thresholds TOML judged after the run (default loadtests/slo.toml); "
        "a broken one exits 3",
    )
    parser.add_argument(
        "--canvass-step-users",
        type=int,
        default=4,
        help="step: users added at each step (default 4)",
    )
    parser.add_argument(
        "--canvass-step-s", type=float, default=20.0, help="step: seconds per step (default 20)"
    )
    parser.add_argument(
        "--canvass-steps", type=int, default=10, help="step: most steps to try (default 10)"
    )
    parser.add_argument(
        "--canvass-spike-factor",
        type=float,
        default=4.0,
        help="spike: users at the spike ÷ users before it (default 4)",
    )
    parser.add_argument(
        "--canvass-profile",
        env_var="CANVASS_PROFILE",
        default="",
        help="county-hour: a run folder, or its load_profile.json",
    )
    parser.add_argument(
        "--canvass-speedup",
        type=float,
        default=1.0,
        help="county-hour: replay the hour this many times faster (default 1)",
    )
    parser.add_argument(
        "--canvass-counties",
        type=float,
        default=1.0,
        help="county-hour: counties' worth of the same hour (default 1)",
    )
