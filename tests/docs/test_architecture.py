"""docs/architecture.md lists every module of the distribution, and nothing that is gone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("canvass", "system", "sim", "scenarios", "loadtests", "results", "benchmarks")
LISTED = re.compile(r"^\| `([\w/]+\.py)` \|", re.MULTILINE)


def modules_in_tree() -> set[str]:
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {
        path
        for path in tracked
        if path.split("/")[0] in PACKAGES
        and not path.endswith("__init__.py")
        and "/versions/" not in path  # Alembic revisions: listed as migrations/
        and (ROOT / path).exists()
    }


def test_architecture_lists_every_module_and_only_those() -> None:
    listed = set(LISTED.findall((ROOT / "docs" / "architecture.md").read_text()))
    tree = modules_in_tree()
    how = "(one row each: the module's path and the first paragraph of its docstring)"
    assert not sorted(tree - listed), (
        f"docs/architecture.md, Modules: add {sorted(tree - listed)} {how}"
    )
    assert not sorted(listed - tree), (
        f"docs/architecture.md, Modules: remove {sorted(listed - tree)}"
    )
