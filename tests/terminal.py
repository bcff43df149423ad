"""How a test starts a command that it will stop as Ctrl-C at a terminal stops it.

A POSIX shell starts a background job (``pytest &``) with SIGINT ignored, and a
program inherits that: Python then installs no handler of its own, so a SIGINT
the test sends is dropped and the command runs on to its end. A command typed at
a terminal has SIGINT at its default, which is what these tests mean to imitate.
"""

from __future__ import annotations

import signal


def as_at_a_terminal() -> None:
    """``preexec_fn`` for a command the test will interrupt: SIGINT at its default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
