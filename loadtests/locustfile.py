"""The Canvass locustfile: every actor of the system as Locust users, over the HTTP API only.

Run it as any locustfile, headless or with the web UI, alone or as a master
with workers::

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 \\
        --canvass-credentials credentials.json

The users (one class per actor) are in ``loadtests/users/``; accounts, TOTP
secrets, device tokens and where residents live come from the credentials file
``canvass seed`` writes. Nothing happens at import: the ``init`` listener reads
the file and builds the process's :class:`~loadtests.context.LoadContext`.
"""

from __future__ import annotations

import sys
from typing import Any

from locust import events

from loadtests import options
from loadtests.context import LoadContext
from loadtests.credentials import CredentialsError, read_credentials
from loadtests.users.camera import Camera
from loadtests.users.detective import Detective
from loadtests.users.moderator import Moderator
from loadtests.users.public import Public
from loadtests.users.resident import Resident

__all__ = ["Camera", "Detective", "Moderator", "Public", "Resident"]


def add_arguments(parser: Any, **_: Any) -> None:
    options.add_arguments(parser)


def set_up(environment: Any, **_: Any) -> None:
    parsed = environment.parsed_options
    if parsed is None:  # run as a library, with no command line: nothing to set up
        return
    if parsed.master:  # a master runs no users: it needs no credentials
        return
    if not parsed.canvass_credentials:
        sys.exit("--canvass-credentials FILE is required (the file `canvass seed --out` wrote)")
    try:
        credentials = read_credentials(parsed.canvass_credentials)
    except CredentialsError as exc:
        sys.exit(str(exc))
    environment.canvass = LoadContext(
        credentials,
        seed=parsed.canvass_seed,
        processes=max(1, parsed.canvass_processes),
    )


def started(environment: Any, **_: Any) -> None:
    context: LoadContext | None = getattr(environment, "canvass", None)
    if context is not None:
        context.process_index = getattr(environment.runner, "worker_index", 0) or 0


events.init_command_line_parser.add_listener(add_arguments)  # type: ignore[no-untyped-call]
events.init.add_listener(set_up)  # type: ignore[no-untyped-call]
events.test_start.add_listener(started)  # type: ignore[no-untyped-call]
