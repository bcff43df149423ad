"""Which scenario values are assumptions to sweep, read from the scenario files' comments.

A shipped scenario marks a value that is there so the model runs, not a sourced
fact, with ``ASSUMPTION`` or ``UNCONFIRMED`` in its comment: on the key's line, or else in
the block of comment lines right above it (above a ``[[table]]`` header, the
whole list of tables). A scenario that ``extends`` another inherits its marks; a
key it sets again takes the mark (or its absence) of its own comment, so a
smoke-test value is not reported as an assumption of the base's.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from scenarios.loader import scenario_path

MARKERS: tuple[str, ...] = ("ASSUMPTION", "UNCONFIRMED")
_HEADER = re.compile(r"^\[(\[)?\s*([\w.-]+)\s*\]\]?")
_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*=\s*(.*)$")


@dataclass(frozen=True, kw_only=True)
class Assumption:
    key: str  # dotted, as in the resolved scenario (``police.hours_per_case``)
    note: str  # the comment that marks it, with the range to sweep where it gives one
    file: str  # the scenario file whose comment marks it


def file_marks(text: str) -> dict[str, str]:
    """Every key a scenario file sets (dotted; a list of tables once, by its name) and
    its comment if that marks it an assumption, else ``""``. Top-level keys
    (``description``, ``extends``) are not parameters and are left out."""
    marks: dict[str, str] = {}
    section, in_list, pending, depth = "", False, list[str](), 0
    for raw in text.splitlines():
        code, comment = _split_comment(raw)
        if depth > 0:  # inside a multi-line array
            depth += code.count("[") - code.count("]")
            continue
        if not code:
            pending = [*pending, comment] if comment else []
            continue
        header = _HEADER.match(code)
        if header:
            section, in_list = header.group(2), header.group(1) is not None
            if in_list and section not in marks:
                marks[section] = _marked(pending)
            pending = []
            continue
        key = _KEY.match(code)
        if key and section and not in_list:
            # The line's own comment when it marks the key, else the block above it.
            marks[f"{section}.{key.group(1)}"] = _marked([comment]) or _marked(pending)
            depth = key.group(2).count("[") - key.group(2).count("]")
        pending = []
    return marks


def _split_comment(line: str) -> tuple[str, str]:
    """The code and the comment of a TOML line (a ``#`` inside a string is code)."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:index].strip(), line[index + 1 :].strip()
    return line.strip(), ""


def _marked(comments: list[str]) -> str:
    text = " ".join(c for c in comments if c)
    return text if any(marker in text for marker in MARKERS) else ""


def chain(name_or_path: str | Path) -> list[Path]:
    """The scenario's file and those it extends, the base first."""
    files: list[Path] = []
    path = scenario_path(name_or_path)
    while path.resolve() not in files:
        files.insert(0, path.resolve())
        with path.open("rb") as handle:
            parent = tomllib.load(handle).get("extends")
        if not isinstance(parent, str):
            break
        nested = parent.endswith(".toml") or "/" in parent
        path = scenario_path(path.parent / parent if nested else parent)
    return files


def assumptions(name_or_path: str | Path) -> list[Assumption]:
    """The values of a scenario (a shipped name or a path) marked as assumptions to
    sweep, in file order. Raises :class:`~scenarios.schema.ScenarioError` for an
    unknown scenario."""
    found: dict[str, Assumption] = {}
    for path in chain(name_or_path):
        for key, note in file_marks(path.read_text()).items():
            if note:
                found[key] = Assumption(key=key, note=note, file=path.name)
            else:
                found.pop(key, None)
    return list(found.values())
