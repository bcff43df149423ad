"""docs/api.md works as written: its Python blocks, run in order against a real server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.loadtests.conftest import seeded_server

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[str]:
    return BLOCK.findall((ROOT / "docs" / "api.md").read_text())


def test_the_walkthrough_has_a_python_block_for_every_step() -> None:
    assert len(python_blocks()) >= 9


@pytest.mark.slow
def test_a_new_user_following_the_walkthrough_gets_the_cameras_bytes_back(
    tmp_path: Path,
) -> None:
    with seeded_server(tmp_path) as served:
        session = {"BASE_URL": served.server.base_url, "CREDENTIALS": str(served.credentials)}
        for number, block in enumerate(python_blocks(), start=1):
            try:
                exec(compile(block, f"docs/api.md block {number}", "exec"), session)
            except Exception as exc:  # name the block that failed, with the server's log
                raise AssertionError(
                    f"docs/api.md block {number} failed: {exc!r}\n{served.server.log_tail()}"
                ) from exc
    assert session["downloaded_sha256"] == session["clip_sha256"]
