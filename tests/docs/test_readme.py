"""The README's quick start stays true: CI runs its test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```\n(.*?)```", section, flags=re.DOTALL)]


def test_quick_start_is_exactly_two_one_line_commands() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, test_command = quick_start_commands()
    assert "pytest" in test_command
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


def test_the_main_job_runs_a_county_scenario() -> None:
    main_job, _ = quick_start_commands()
    assert "canvass run nassau" in main_job


def test_every_command_in_the_readme_table_exists() -> None:
    from canvass.cli import build_parser

    text = (ROOT / "README.md").read_text()
    used = set(re.findall(r"^\| `canvass ([a-z]+)", text, flags=re.MULTILINE))
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert used <= set(sub.choices), used - set(sub.choices)  # type: ignore[arg-type]


def test_every_image_the_readme_shows_is_committed() -> None:
    text = (ROOT / "README.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert images, "the README shows a figure from the main job"
    for image in images:
        assert (ROOT / image).is_file(), image
