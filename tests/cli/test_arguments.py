"""Bad command-line input is refused before any work, with a message and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from canvass.cli import EXIT_USAGE, main


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    """A regular file: nothing can be created under it (whoever runs the tests)."""
    path = tmp_path / "not-a-folder"
    path.write_text("x")
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "tiny", "--seed", "-1"],
        ["bench", "sim", "--seed", "-1"],
        ["demo", "--seed", "-2"],
        ["seed", "--homes", "10", "--seed", "-3"],
        ["seed", "--homes", "10", "--resident-accounts", "-1"],
        ["serve", "--port", "0"],
        ["serve", "--port", "65536"],
    ],
)
def test_out_of_range_numbers_are_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"argument {argv[-2]}: {argv[-1]} " in err
    assert "Traceback" not in err


def test_an_unwritable_run_folder_is_refused_before_the_replications_run(
    a_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status = main(["run", "tiny", "--replications", "1", "--out", str(a_file / "runs")])
    captured = capsys.readouterr()
    assert status == EXIT_USAGE
    assert f"cannot write the run folder in {a_file / 'runs'}" in captured.err
    assert "choose an --out you can write to" in captured.err
    assert "Traceback" not in captured.err
    # Nothing ran: no summary table, no run folder line, nothing written elsewhere.
    assert "usable" not in captured.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        (["bench", "sim", "--scale", "0.5"], "the benchmark's JSON"),
        (["seed", "--homes", "10"], "the credentials file"),
    ],
)
def test_an_unwritable_output_file_is_refused_before_the_work(
    argv: list[str], what: str, a_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Half a county-year would take minutes: only an early refusal returns at once.
    status = main([*argv, "--out", str(a_file / "out.json")])
    err = capsys.readouterr().err
    assert status == EXIT_USAGE
    assert f"cannot write {what} in {a_file}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "command", [["run", "SCENARIO", "--replications", "1"], ["scenarios", "show", "SCENARIO"]]
)
def test_a_county_with_no_town_layout_is_refused_naming_the_counties_that_have_one(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No silent fallback to Nassau's towns: the scenario is refused before anything runs."""
    scenario = tmp_path / "kings.toml"
    scenario.write_text('extends = "tiny"\n\n[county]\nname = "kings"\n')
    argv = [str(scenario) if word == "SCENARIO" else word for word in command]
    if command[0] == "run":
        argv += ["--out", str(tmp_path / "runs")]
    status = main(argv)
    captured = capsys.readouterr()
    assert status == EXIT_USAGE
    assert captured.err.strip() == (
        f"canvass: {scenario}: county.name = \"kings\": county 'kings' has no town layout; "
        "the counties with one are nassau, suffolk"
    )
    assert captured.out == ""
    assert not (tmp_path / "runs").exists()
