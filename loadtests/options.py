"""The locustfile's own command-line arguments, beside Locust's (``--canvass-*``).

Each can also come from the environment (``CANVASS_CREDENTIALS``, ...) or a
Locust config file. Locust forwards them from a master to its workers.
"""

from __future__ import annotations

from typing import Any

DEFAULT_SEED = 1


def add_arguments(parser: Any) -> None:
    """Register the ``--canvass-*`` arguments on Locust's parser."""
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
        "--canvass-processes",
        env_var="CANVASS_PROCESSES",
        type=int,
        default=1,
        help="Locust processes that run users (workers, or 1): residents and rates are split "
        "between them (default 1)",
    )
