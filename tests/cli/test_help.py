"""``--help`` works for ``canvass`` and every command and subcommand under it."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from canvass.cli import build_parser, main


def command_paths(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """``()`` for ``canvass`` itself, then every command's words, depth first."""
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from command_paths(child, (*path, name))


COMMANDS = sorted(command_paths(build_parser()))


def test_the_command_tree_has_subcommands_to_check() -> None:
    assert ("bench", "api") in COMMANDS
    assert len(COMMANDS) > 10


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(("canvass", *p)))
def test_help_prints_usage_and_exits_zero(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {' '.join(('canvass', *path))}")
    assert "options:" in out
