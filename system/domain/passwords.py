"""Which passwords an account may have (SEC-02, after NIST SP 800-63B §5.1.1.2).

Pure: the list of common passwords is passed in (the adapters ship one). A
password is refused when it is too short or too long, when it is on the list
(whole, or once the digits and symbols around its letters are taken off, so
``password1234`` counts as ``password``), when it contains the username, or
when it is a run of the keyboard or the alphabet or one short unit repeated
(``aaaaaaaaaaaa``, ``abcabcabcabc``). No composition rules (a digit, a capital):
NIST advises against them. Messages never repeat the password.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from system.domain.errors import Problem

MIN_STEM_CHARS = 4
"""A stem shorter than this is not looked up (``ab12345678cd`` is not ``ab``)."""

_AROUND_LETTERS = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_RUNS = (
    "01234567890123456789",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
)
_MAX_REPEATED_UNIT = 4


def password_problems(
    password: str,
    *,
    username: str,
    common: Collection[str],
    min_chars: int,
    max_chars: int,
) -> list[Problem]:
    """Why ``password`` may not be used by ``username``; empty when it may."""
    if not min_chars <= len(password) <= max_chars:
        return [_problem(f"must be {min_chars} to {max_chars} characters long")]
    folded = password.casefold()
    name = username.casefold()
    names = {name, name.split("@", 1)[0]}
    if any(len(n) >= 3 and n in folded for n in names):
        return [_problem("must not contain the username")]
    stem = _AROUND_LETTERS.sub("", folded)
    if folded in common or (len(stem) >= MIN_STEM_CHARS and stem in common):
        return [_problem("is a common or breached password; choose another")]
    if _is_run(folded) or _is_repetition(folded):
        return [_problem("is a run or a repetition of characters; choose another")]
    return []


def _problem(message: str) -> Problem:
    return Problem("password", "SEC-02", message)


def _is_run(folded: str) -> bool:
    return any(folded in run or folded in run[::-1] for run in _RUNS)


def _is_repetition(folded: str) -> bool:
    return any(
        len(folded) % size == 0 and folded == folded[:size] * (len(folded) // size)
        for size in range(1, _MAX_REPEATED_UNIT + 1)
    )
