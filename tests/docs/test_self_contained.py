"""The repository is self-contained: it cites its own docs, never engineers' files outside it.

Sourced figures live in docs/calibration.md (each with its public source) and
requirement IDs in docs/requirements.md. A clone of the repository has no
calibration, design, requirements or style notes beside it, so no tracked file
may send a reader to one.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()
CALIBRATION_DOC = ROOT / "docs" / "calibration.md"

# Case-sensitive: docs/calibration.md and docs/requirements.md are ours. The
# outside files are cited by name (CALIBRATION.md), by bare name and section
# ("CALIBRATION 1e", "DESIGN --scale"), or by their folder ("shared/reference/").
# "/api/v1/shared/{token}" is an API route, not a folder: a "/" before "shared/"
# is allowed unless it is "/work/shared".
OUTSIDE_DOCUMENT = re.compile(
    r"\b(?:CALIBRATION|REQUIREMENTS|DESIGN|STYLE)(?:\.md)?\b"
    r"|(?<![\w/])shared/"
    r"|/work/shared\b"
)
ANCHOR_CITATION = re.compile(r"\bcalibration(?:\.md)?#([a-z0-9-]+)")
ANCHOR_DEFINITION = re.compile(r'<a id="([a-z0-9-]+)"></a>')
REQUIRED_SECTIONS = (
    "grades",
    "county",
    "police",
    "deliveries",
    "thefts",
    "cameras",
    "requests",
    "retention",
    "face-recognition",
    "canvass",
    "workload",
    "moderation",
    "unconfirmed",
    "validation",
)


def tracked_text_files() -> list[tuple[str, str]]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    files = []
    for name in filter(None, listed.split("\0")):
        path = ROOT / name
        if not path.is_file():
            continue
        try:
            files.append((name, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue
    return files


def lines_matching(pattern: re.Pattern[str], skip: str) -> list[tuple[str, int, str, str]]:
    """(file, line number, match, line) for every match outside ``skip``."""
    found = []
    for name, text in tracked_text_files():
        if name == skip:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            found.extend((name, number, m.group(0), line.strip()) for m in pattern.finditer(line))
    return found


def calibration_anchors() -> set[str]:
    return set(ANCHOR_DEFINITION.findall(CALIBRATION_DOC.read_text()))


def test_no_tracked_file_cites_a_document_outside_the_repository() -> None:
    hits = lines_matching(OUTSIDE_DOCUMENT, skip=THIS_FILE)
    report = "\n".join(
        f"  {name}:{number}: {match!r} in: {line}" for name, number, match, line in hits
    )
    assert not hits, (
        "these lines cite a document that is not in the repository; cite a section of "
        "docs/calibration.md (figures), docs/requirements.md (requirement IDs) or the "
        f"public source instead:\n{report}"
    )


def test_docs_and_scenarios_cite_no_document_outside_the_repository() -> None:
    """The part already fixed stays fixed: Markdown and TOML files."""
    hits = [
        hit
        for hit in lines_matching(OUTSIDE_DOCUMENT, skip=THIS_FILE)
        if hit[0].endswith((".md", ".toml"))
    ]
    report = "\n".join(
        f"  {name}:{number}: {match!r} in: {line}" for name, number, match, line in hits
    )
    assert not hits, f"these lines cite a document that is not in the repository:\n{report}"


def test_calibration_has_a_stable_anchor_for_every_topic() -> None:
    missing = [name for name in REQUIRED_SECTIONS if name not in calibration_anchors()]
    assert not missing, f"docs/calibration.md lacks the anchors {missing}"


def test_every_cited_calibration_section_exists() -> None:
    anchors = calibration_anchors()
    broken = [
        f"  {name}:{number}: {match}"
        for name, number, match, _ in lines_matching(ANCHOR_CITATION, skip=THIS_FILE)
        if match.split("#", 1)[1] not in anchors
    ]
    own_links = re.findall(r"\]\(#([a-z0-9-]+)\)", CALIBRATION_DOC.read_text())
    broken += [f"  docs/calibration.md: (#{a})" for a in own_links if a not in anchors]
    assert not broken, "these cite a section docs/calibration.md does not have:\n" + "\n".join(
        broken
    )
