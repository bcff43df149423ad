"""``canvass scenarios show --model``: the resolved scenario with the model's view of each key."""

from __future__ import annotations

import tomllib

import pytest

from canvass.cli import EXIT_OK, main


def _show(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["scenarios", "show", *argv]) == EXIT_OK
    return capsys.readouterr().out


def test_the_model_view_notes_each_key_and_is_the_same_toml(
    capsys: pytest.CaptureFixture[str],
) -> None:
    plain = _show(["nassau"], capsys)
    noted = _show(["nassau", "--model"], capsys)
    assert tomllib.loads(noted) == tomllib.loads(plain)
    assert (
        "request_window_h = 12.0  # model: request_window_min [min, × 60]; "
        "valid: 0.25 to 12 (REQ-02: 15 min to 12 h)"
    ) in noted.splitlines()
    assert "seed = 20250101  # run control: " in noted
    assert "households = 456076  # model: county households; valid: ≥ 1" in noted
    in_list_of_tables = False
    for line in noted.splitlines():
        if line.startswith("["):
            in_list_of_tables = line.startswith("[[")
        elif " = " in line and not in_list_of_tables:  # a list item's keys share its note
            assert "  # " in line, f"no model note: {line}"
