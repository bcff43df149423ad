"""Load scenarios: TOML files, ``extends`` chains, ``--set`` overrides, typed validation.

:func:`load_scenario` reads a shipped scenario by name (a ``*.toml`` beside this
module) or any TOML file by path, merges it over the scenario it ``extends``
(recursively), applies ``--set`` overrides, and builds a frozen
:class:`~scenarios.schema.Scenario`. Every problem is a
:class:`~scenarios.schema.ScenarioError` naming the file (or ``--set``) the value
came from, its dotted key, and what it must be.

:func:`resolved_dict` is the scenario as plain JSON-ready data (dates as ISO
text, tuples as lists) and :func:`from_dict` reads it back:
``from_dict(resolved_dict(s)) == s``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import tomllib
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scenarios.overrides import (
    OVERRIDE_SOURCE,
    deep_merge,
    did_you_mean,
    leaf_keys,
    parse_override,
    set_dotted,
)
from scenarios.schema import Scenario, ScenarioError, toml_literal

SCENARIO_DIR = Path(__file__).resolve().parent
"""Where the shipped scenario files live."""


def shipped_names() -> list[str]:
    """Names of the shipped scenarios, sorted."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def list_scenarios() -> list[tuple[str, str]]:
    """``(name, description)`` of every shipped scenario, sorted by name."""
    listed = []
    for name in shipped_names():
        raw = _read_toml(SCENARIO_DIR / f"{name}.toml", f"{name}.toml")
        description = raw.get("description", "")
        listed.append((name, description if isinstance(description, str) else ""))
    return listed


def scenario_path(name_or_path: str | Path) -> Path:
    """The file of a shipped scenario's name, or ``name_or_path`` itself if it is a path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(name_or_path)
        if not path.is_file():
            raise ScenarioError("", problem=f"no scenario file at {text}", source=None)
        return path
    path = SCENARIO_DIR / f"{text}.toml"
    if not path.is_file():
        names = shipped_names()
        raise ScenarioError(
            "",
            problem=f"unknown scenario {text!r}{did_you_mean(text, names)} "
            f"(shipped: {', '.join(names)}; or give the path of a .toml file)",
        )
    return path


def load_scenario(name_or_path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """A shipped scenario by name, or a TOML file by path, with ``--set`` overrides
    (``"dotted.key=TOML literal"``) applied in order. Raises :class:`ScenarioError`."""
    path = scenario_path(name_or_path)
    display = _display(path)
    raw, provenance = _resolve(path, display, chain=())
    raw = {"name": path.stem, **raw}
    for text in overrides:
        key, value = parse_override(text)
        set_dotted(raw, key, value)
        for leaf in leaf_keys({key: value}):
            provenance.pop(leaf, None)  # re-inserted last: the order is the precedence
            provenance[leaf] = OVERRIDE_SOURCE
    try:
        return from_dict(raw)
    except ScenarioError as error:
        raise error.located(source=_blame(error, provenance, display)) from None


def from_dict(data: Mapping[str, Any], *, source: str | None = None) -> Scenario:
    """A validated :class:`Scenario` from plain data (a resolved dict or a merged TOML
    tree with ``name`` set); errors name ``source`` if given."""
    try:
        scenario = _build(Scenario, {"description": "", **data}, "")
    except ScenarioError as error:
        raise error.located(source=source) if source else error from None
    assert isinstance(scenario, Scenario)
    return scenario


def resolved_dict(scenario: Scenario) -> dict[str, Any]:
    """``scenario`` as JSON-ready data: tables as dicts, tuples as lists, dates as text."""
    plain = _plain(scenario)
    assert isinstance(plain, dict)
    return plain


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _display(path: Path) -> str:
    """How errors name a file: shipped ones by file name, others as given."""
    return path.name if path.resolve().parent == SCENARIO_DIR else str(path)


def _read_toml(path: Path, display: str) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError("", problem=f"not valid TOML: {error}", source=display) from None
    except OSError as error:
        raise ScenarioError("", problem=f"cannot read: {error.strerror}", source=display) from None


def _resolve(
    path: Path, display: str, chain: tuple[Path, ...]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The merged tree of ``path`` and its ``extends`` ancestors, and for every leaf key
    the file that set it."""
    raw = _read_toml(path, display)
    if "name" in raw:
        raise ScenarioError(
            "name", raw["name"], "a scenario's name is its file name; remove this key", display
        )
    parent = raw.pop("extends", None)
    provenance = dict.fromkeys(leaf_keys(raw), display)
    if parent is None:
        return {"description": "", **raw}, provenance
    if not isinstance(parent, str):
        raise ScenarioError(
            "extends", parent, 'must be a scenario name or path in quotes ("nassau")', display
        )
    parent_path = _parent_path(parent, path, display)
    here = (*chain, path.resolve())
    if parent_path.resolve() in here:
        loop = " → ".join(p.name for p in (*here, parent_path))
        raise ScenarioError(
            "extends", parent, f"extends cycle {loop}; remove one of these extends", display
        )
    parent_raw, parent_provenance = _resolve(parent_path, _display(parent_path), here)
    merged = deep_merge(parent_raw, raw)
    merged["description"] = raw.get("description", "")  # a description is not inherited
    for key in provenance:  # the child's keys move to the end: later means set later
        parent_provenance.pop(key, None)
    return merged, {**parent_provenance, **provenance}


def _parent_path(parent: str, child: Path, display: str) -> Path:
    """``extends`` is a shipped name, or a path (with ``.toml``) relative to the child."""
    try:
        if parent.endswith(".toml") or "/" in parent:
            return scenario_path(child.parent / parent)
        return scenario_path(parent)
    except ScenarioError as error:
        raise ScenarioError("extends", parent, error.problem, display) from None


def _blame(error: ScenarioError, provenance: Mapping[str, str], default: str) -> str:
    """The file (or ``--set``) that set the error's key; for a rule between keys, the one
    of them set last (``provenance`` is ordered from first set to last set)."""
    order = {key: rank for rank, key in enumerate(provenance)}
    found = [_setter(key, order) for key in (error.key, *error.related)]
    known = [key for key in found if key is not None]
    return provenance[max(known, key=order.__getitem__)] if known else default


def _setter(key: str, order: Mapping[str, int]) -> str | None:
    """The provenance key that set ``key``: itself, a list or table holding it, or the
    last key set under it."""
    candidate = key
    while candidate:
        if candidate in order:
            return candidate
        candidate = candidate[: max(candidate.rfind("."), candidate.rfind("["), 0)]
    below = [k for k in order if k.startswith((f"{key}.", f"{key}["))]
    return max(below, key=order.__getitem__) if key and below else None


def _build(cls: type[Any], raw: object, key: str) -> Any:
    """An instance of the dataclass ``cls`` from the table ``raw`` found at ``key``."""
    if not isinstance(raw, Mapping):
        raise ScenarioError(key, raw, "must be a table of keys and values")
    known = [f.name for f in dataclasses.fields(cls)]
    for name in raw:
        if name not in known:
            hint = did_you_mean(str(name), known, prefix=_join(key, "")) or (
                f"; the keys of {key or 'a scenario'} are {', '.join(known)}"
            )
            raise ScenarioError(_join(key, str(name)), problem=f"unknown key{hint}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name in known:
        if name not in raw:
            fix = (
                "every item of the list needs it"
                if key.endswith("]")
                else 'set it, or extend a scenario that does (extends = "nassau")'
            )
            raise ScenarioError(_join(key, name), problem=f"missing; {fix}")
        values[name] = _convert(hints[name], raw[name], _join(key, name))
    try:
        return cls(**values)
    except ScenarioError as error:
        if error.key in raw:  # show the value as written, not as converted (-1, not -1.0)
            error = ScenarioError(
                error.key, raw[error.key], error.problem, error.source, error.related
            )
        raise error.located(prefix=key) from None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _convert(kind: Any, value: object, key: str) -> Any:
    """``value`` checked against the annotation ``kind`` and converted (lists → tuples,
    integers → floats, ISO text → dates)."""
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        return _build(typing.cast(type[Any], kind), value, key)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ScenarioError(key, value, "must be a list, e.g. [1, 2, 3]")
        item_kind = typing.get_args(kind)[0]
        return tuple(_convert(item_kind, v, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is typing.Literal:
        options = typing.get_args(kind)
        if value not in options:
            listed = ", ".join(f'"{o}"' for o in options)
            hint = did_you_mean(str(value), [f'"{o}"' for o in options]) if value else ""
            raise ScenarioError(key, value, f"must be one of {listed}{hint}")
        return value
    return _scalar(kind, value, key)


def _scalar(kind: Any, value: object, key: str) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise ScenarioError(key, value, "must be true or false (no quotes)")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            fix = _unquoted(value) or "a whole number, e.g. 300"
            raise ScenarioError(key, value, f"must be a whole number (write {fix})")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            fix = _unquoted(value) or "a number, e.g. 0.25"
            raise ScenarioError(key, value, f"must be a number (write {fix})")
        if not math.isfinite(value):
            raise ScenarioError(key, value, "must be a finite number")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ScenarioError(key, value, 'must be text in quotes, e.g. "nassau"')
        return value
    if kind is dt.date:
        return _date(value, key)
    raise TypeError(f"{key}: the schema uses an unsupported type {kind!r}")


def _date(value: object, key: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ScenarioError(key, value, "must be a date, written without quotes as 2025-11-27")


def _unquoted(value: object) -> str:
    """``'300'`` for the text ``"300"`` or the float ``300.0`` (the likely intent), else ``''``."""
    if isinstance(value, float) and value.is_integer():
        return f"{int(value)}, not {value!r}"
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return ""
        return f"{value}, not {toml_literal(value)}" if math.isfinite(number) else ""
    return ""
