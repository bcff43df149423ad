"""Which passwords accounts may have (SEC-02, NIST SP 800-63B): the rules and the shipped list."""

from __future__ import annotations

import pytest

from system.adapters.password_list import common_passwords
from system.domain.passwords import password_problems


def refusal(password: str, username: str = "rivera@ncpd.example") -> str | None:
    problems = password_problems(
        password, username=username, common=common_passwords(), min_chars=12, max_chars=256
    )
    return problems[0].message if problems else None


def test_sec02_the_shipped_list_holds_thousands_of_common_passwords() -> None:
    listed = common_passwords()
    assert len(listed) > 5000
    assert {"password", "123456", "qwerty", "iloveyou"} <= listed


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password1234", "common"),
        ("Password1234!", "common"),
        ("1234monkey!!", "common"),
        ("qwertyuiop123", "common"),
        ("aaaaaaaaaaaa", "repetition"),
        ("abcabcabcabc", "repetition"),
        ("123456789012", "run"),
        ("zyxwvutsrqpo", "run"),
        ("my name is Rivera@ncpd.example", "username"),
        ("rivera is my password", "username"),
        ("short", "characters long"),
    ],
)
def test_sec02_weak_passwords_are_refused_with_the_reason(password: str, why: str) -> None:
    message = refusal(password)
    assert message is not None
    assert why in message
    assert password not in message


@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", "e2e resident password 1", "gT7#kd0_qLw9vB2m", "ab12345678cd"],
)
def test_sec02_uncommon_passwords_of_twelve_or_more_characters_are_accepted(
    password: str,
) -> None:
    assert refusal(password) is None
