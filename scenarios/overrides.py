"""Raw scenario trees: deep merge for ``extends``, ``--set KEY=LITERAL`` overrides.

A raw tree is what ``tomllib`` returns: tables are dicts, everything else
(numbers, strings, dates, lists, lists of tables) is a leaf. Merging is recursive
over tables; a list is replaced whole, never merged item by item.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from scenarios.schema import ScenarioError

OVERRIDE_SOURCE = "--set"
"""What an error names as the source of a value given on the command line."""

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*")


def parse_override(text: str) -> tuple[str, Any]:
    """``"dotted.key=TOML literal"`` as ``(dotted key, value)``.

    >>> parse_override("residents.share_prob=0.2")
    ('residents.share_prob', 0.2)
    """
    key, equals, literal = text.partition("=")
    key, literal = key.strip(), literal.strip()
    if not equals or not _KEY.fullmatch(key):
        raise ScenarioError(
            "",
            problem=f"{text!r} is not KEY=VALUE; write a dotted key and a TOML literal, "
            f"e.g. --set residents.share_prob=0.2",
            source=OVERRIDE_SOURCE,
        )
    try:
        value = tomllib.loads(f"v = {literal}")["v"]
    except tomllib.TOMLDecodeError:
        raise ScenarioError(
            key,
            problem=f"{literal!r} is not a TOML literal; numbers as 0.2, booleans as true, "
            f'dates as 2025-11-27, text in quotes ("canvass", which the shell may need '
            f"inside '...'), lists as [1, 2]",
            source=OVERRIDE_SOURCE,
        ) from None
    return key, value


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """A new tree: ``top`` over ``base``, tables merged recursively, other values replaced."""
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = value
    return merged


def set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    """Set ``tree[a][b][c] = value`` for ``key = "a.b.c"``, creating missing tables."""
    parts = key.split(".")
    node = tree
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise ScenarioError(
                key,
                value,
                f"{where} is a value, not a table; set {where} itself "
                f"(a list is replaced whole: --set '{where}=[...]')",
                source=OVERRIDE_SOURCE,
            )
        node[part] = child = dict(child)  # copy on write: parents' trees stay untouched
        node = child
    node[parts[-1]] = value


def leaf_keys(tree: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """The dotted key of every non-table value in ``tree`` (lists count as values)."""
    for key, value in tree.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            yield from leaf_keys(value, dotted)
        else:
            yield dotted


def did_you_mean(word: str, choices: Iterable[str], *, prefix: str = "") -> str:
    """``"; did you mean x?"`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {prefix}{close[0]}?" if close else ""
