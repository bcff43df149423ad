"""docs/parameters.md is the table of scenario keys, generated, never edited by hand."""

from __future__ import annotations

from pathlib import Path

from sim.core.parameter_docs import DOC_COMMAND, render_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_the_parameter_doc_is_the_table_as_generated() -> None:
    committed = (ROOT / "docs" / "parameters.md").read_text()
    assert committed == render_markdown(), (
        f"docs/parameters.md differs from sim/core/scenario_params.py; regenerate it: {DOC_COMMAND}"
    )
