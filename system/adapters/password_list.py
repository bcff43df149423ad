"""The list of common and breached passwords shipped in the package (SEC-02).

``data/common-passwords.txt`` beside this module; its source and licence are in
``data/README.md``. Read once per process, on first use.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def common_passwords() -> frozenset[str]:
    """Lower-cased passwords that no account may use."""
    text = files("system.adapters").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line)
