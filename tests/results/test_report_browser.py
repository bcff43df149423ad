"""The report in a real browser, offline: Playwright drives Debian's Chromium.

Every request outside ``file://`` is aborted and counted: the report must load,
show every figure at its full size, and ask nothing of the network. Without
Chromium or Playwright the test skips, saying how to enable it, unless
``CANVASS_REQUIRE_BROWSER=1`` (as in CI), when it fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from results.figures import applicable
from results.reader import RunFolder
from results.report import build_report

CHROMIUM = "/usr/bin/chromium"
ENABLE = (
    "install Debian's Chromium (apt-get install chromium) and Playwright for Python "
    "(pip install playwright, in the test extra)"
)


def sync_playwright() -> Any:
    """Playwright's entry point, or a skip (a failure under CANVASS_REQUIRE_BROWSER=1)."""
    missing = []
    if not (Path(CHROMIUM).is_file() or shutil.which("chromium")):
        missing.append(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright as entry
    except ImportError:
        missing.append("no playwright module")
        entry = None
    if missing:
        message = f"browser test needs Chromium and Playwright ({'; '.join(missing)}): {ENABLE}"
        if os.environ.get("CANVASS_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return entry


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["face_canvass_run", "locust_folder"])
def test_the_report_renders_every_figure_offline(
    variant: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    entry = sync_playwright()
    folder = request.getfixturevalue(variant)
    report = build_report(folder, tmp_path / "report")
    expected = [spec.id for spec in applicable(RunFolder(folder))]
    blocked: list[str] = []

    def block_network(route: Any) -> None:
        blocked.append(route.request.url)
        route.abort()

    with entry() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route(lambda url: not url.startswith("file://"), block_network)
            page.goto(report.as_uri(), wait_until="load")
            for figure_id in expected:
                image = page.locator(f"#fig-{figure_id} img")
                assert image.count() == 1, figure_id
                natural = image.evaluate("img => [img.complete, img.naturalWidth, img.width]")
                assert natural[0], f"{figure_id}: image did not load"
                assert natural[1] > 0, f"{figure_id}: image has no pixels"
                assert natural[2] == natural[1], f"{figure_id}: not drawn at its full size"
                box = image.bounding_box()
                assert box is not None, figure_id
                assert box["width"] > 0
                assert box["height"] > 0
            shot = tmp_path / f"report-{variant}.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert blocked == [], f"the report asked the network for {blocked}"
    assert shot.stat().st_size > 0
