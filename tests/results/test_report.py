"""report.html: one self-contained page with every figure that applies, by id."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from results.figures import BY_ID, applicable
from results.reader import RunFolder
from results.report import build_report


class Figures(HTMLParser):
    """The report's figures: id → caption, and every external reference."""

    def __init__(self) -> None:
        super().__init__()
        self.captions: dict[str, str] = {}
        self.sources: list[str] = []
        self._figure: str | None = None
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "figure" and (found.get("id") or "").startswith("fig-"):
            self._figure = str(found["id"])[4:]
            self.captions[self._figure] = ""
        self._in_caption = tag == "figcaption" and self._figure is not None
        for name in ("src", "href"):
            if found.get(name):
                self.sources.append(str(found[name]))
        if tag in ("script", "link"):
            self.sources.append(f"<{tag}>")

    def handle_data(self, data: str) -> None:
        if self._in_caption and self._figure is not None:
            self.captions[self._figure] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "figcaption":
            self._in_caption = False
        if tag == "figure":
            self._figure = None


def parse(report: Path) -> Figures:
    parser = Figures()
    parser.feed(report.read_text())
    return parser


@pytest.mark.parametrize("variant", ["tiny_run", "face_canvass_run", "locust_folder"])
def test_the_report_holds_every_figure_that_applies_with_its_caption(
    variant: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    folder = request.getfixturevalue(variant)
    report = build_report(folder, tmp_path)
    found = parse(report)
    expected = [spec.id for spec in applicable(RunFolder(folder))]
    assert list(found.captions) == expected
    for figure_id, caption in found.captions.items():
        assert caption.strip() == BY_ID[figure_id].caption
    # Self-contained: only embedded images and links inside the page.
    assert all(s.startswith(("data:image/png;base64,", "#")) for s in found.sources)


def test_the_face_recognition_report_shows_misidentifications(
    face_canvass_run: Path, tmp_path: Path
) -> None:
    assert "misidentifications" in parse(build_report(face_canvass_run, tmp_path)).captions


def test_a_run_report_shows_what_ran_numbers_calibration_assumptions_and_checks(
    tiny_run: Path, tmp_path: Path
) -> None:
    run = RunFolder(tiny_run)
    html = build_report(tiny_run, tmp_path).read_text()
    assert run.manifest["git_revision"] in html
    assert str(run.manifest["replication_seeds"][0]) in html
    assert 'id="few-replications"' in html  # two replications: too wide to act on
    row = re.search(r'<tr id="metric-misidentifications">.*?</tr>', html, re.DOTALL)
    assert row is not None
    assert row.group(0).count("n/a") >= 2  # face recognition was off
    for calibration in run.summary["calibration"]:
        assert calibration["output"] in html
    assert "police.hours_per_case" in html  # UNCONFIRMED in nassau.toml, inherited by tiny
    assert "Every invariant held" in html
    assert "manifest.json" in html


def test_a_locust_report_lists_the_folders_files(locust_folder: Path, tmp_path: Path) -> None:
    html = build_report(locust_folder, tmp_path).read_text()
    for path in locust_folder.iterdir():
        assert path.name in html


def test_the_same_run_folder_gives_byte_identical_svgs(tiny_run: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "copy-a", tmp_path / "copy-b"
    shutil.copytree(tiny_run, first)
    shutil.copytree(tiny_run, second)
    build_report(first)
    build_report(second)
    svgs = sorted(p.name for p in (first / "figures").glob("*.svg"))
    assert svgs
    for name in svgs:
        assert (first / "figures" / name).read_bytes() == (second / "figures" / name).read_bytes()
    # The report differs only in the folder's name it shows.
    first_html = (first / "report.html").read_text().replace("copy-a", "copy-b")
    assert first_html == (second / "report.html").read_text()


def test_a_load_test_report_shows_its_timings_memory_and_outcome(
    locust_folder: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "loadtest"
    shutil.copytree(locust_folder, folder)
    with (folder / "fixture_stats.csv").open("a") as stats:
        stats.write(
            "perf-01,approval to notification,12,0,900,1000,400,2100,0,0.4,0,"
            "900,1000,1100,1200,1500,1800,2000,2100,2100,2100,2100\n"
        )
    samples = [(0.0, 98_304), (5.0, 101_376), (10.0, 102_400)]
    (folder / "memory.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "at_unix_s": 1_800_000_000 + t,
                    "processes": [{"pid": 4242, "role": "serve", "rss_kb": kb}],
                    "total_kb": kb,
                }
            )
            + "\n"
            for t, kb in samples
        )
    )
    memory = {"pid": 4242, "role": "serve", "samples": 3, "start_mb": 96.0, "peak_mb": 100.0}
    memory |= {"end_mb": 100.0, "growth_mb_per_h": 360.0, "fitted_s": 5.0}
    manifest = {"kind": "loadtest", "exit_code": 130, "interrupted": True, "memory": [memory]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    html = build_report(folder).read_text()
    assert 'id="fig-memory"' in html
    timings = re.search(r'<table id="timings-table">.*?</table>', html, re.DOTALL)
    assert timings is not None
    assert "perf-01 approval to notification" in timings.group(0)
    assert ">1.8<" in timings.group(0)  # its p95, 1,800 ms, in seconds
    table = re.search(r'<table id="memory-table">.*?</table>', html, re.DOTALL)
    assert table is not None
    assert "serve 4242" in table.group(0)
    assert "+360.0" in table.group(0)
    assert "<th>interrupted</th><td>yes</td>" in html
