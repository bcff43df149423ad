"""The table of scenario keys (:mod:`sim.core.scenario_params`) as people read it.

:func:`model_note` is one key's line (what it sets in the model, in which unit, and the
rule the loader applies); :func:`annotate_toml` puts that line beside every key of a
resolved scenario (``canvass scenarios show --model``); :func:`render_markdown` is
docs/parameters.md, regenerated with::

    python -m sim.core.parameter_docs > docs/parameters.md

(tests/docs/test_parameters.py fails when the committed file differs).
"""

from __future__ import annotations

import re
import sys

from scenarios.schema import rule_text
from sim.core.scenario_params import (
    DERIVATIONS,
    MODEL_DEFAULTS,
    ROWS,
    Derivation,
    Row,
    row_for,
)

DOC_COMMAND = "python -m sim.core.parameter_docs > docs/parameters.md"


def model_note(row: Row) -> str:
    """One line: where the key goes in the model, and the rule its value must meet."""
    rule = rule_text(row.key)
    if row.kind == "sets":
        how = f", {row.conversion.text}" if row.conversion else ""
        where = f"model: {row.field} [{row.model_unit}{how}]"
    elif row.kind == "county":
        where = f"model: county {row.field}"
    elif row.kind == "derived":
        sets = ", ".join(_derivation(row.field).sets)
        where = f"model: {row.field}() → {sets}"
    elif row.kind == "run":
        where = f"run control: {row.reason}"
    else:
        where = f"not read by the model: {row.reason}"
    return f"{where}; valid: {rule}" if rule else where


_TABLE = re.compile(r"^\[([^\[\]]+)\]$")
_ARRAY_TABLE = re.compile(r"^\[\[([^\[\]]+)\]\]$")
_KEY = re.compile(r"^([A-Za-z0-9_-]+) = ")


def annotate_toml(text: str) -> str:
    """``text`` (a resolved scenario as ``tomli_w`` writes it) with each key's
    :func:`model_note` as a comment; a list of tables is noted once, at its first header."""
    lines = []
    table: str | None = ""  # None inside a list of tables: its items' keys have no rows
    noted: set[str] = set()
    for line in text.splitlines():
        key = None
        if match := _ARRAY_TABLE.match(line):
            table = None
            key = match[1] if match[1] not in noted else None
        elif match := _TABLE.match(line):
            table = match[1]
        elif (match := _KEY.match(line)) and table is not None:
            key = f"{table}.{match[1]}" if table else match[1]
        row = row_for(key) if key else None
        if row is not None and key is not None:
            noted.add(key)
            line = f"{line}  # {model_note(row)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def render_markdown() -> str:
    """docs/parameters.md: every scenario key, what the model makes of it, and its rule."""
    out = [
        "# Scenario keys and the model",
        "",
        f"<!-- Generated from sim/core/scenario_params.py by `{DOC_COMMAND}`; do not edit. -->",
        "",
        "Every scenario key is one row of the table in `sim/core/scenario_params.py`: the "
        "model field it sets (converted from the scenario's unit to the model's), the "
        "derivation it feeds, or why the model does not read it. The rule is the one the "
        "loader applies (`scenarios/schema.py`), once, when a scenario is loaded. What each "
        "key means and where its value comes from: [scenarios.md](scenarios.md#keys).",
        "",
        "## Keys the model reads one to one",
        "",
        "| scenario key | unit | rule | model field | model unit | conversion |",
        "|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        if row.kind in ("sets", "county"):
            owner = "ModelParams" if row.kind == "sets" else "CountySpec"
            how = row.conversion.text if row.conversion else "—"
            out.append(
                f"| `{row.key}` | {_cell(row.scenario_unit)} | {_cell(rule_text(row.key))} "
                f"| `{owner}.{row.field}` | {_cell(row.model_unit)} | {_cell(how)} |"
            )
    out += [
        "",
        "## Keys that feed a derivation",
        "",
        "| scenario key | unit | rule | derivation |",
        "|---|---|---|---|",
    ]
    for row in ROWS:
        if row.kind == "derived":
            out.append(
                f"| `{row.key}` | {_cell(row.scenario_unit)} | {_cell(rule_text(row.key))} "
                f"| `{row.field}` |"
            )
    out += [
        "",
        "## Derivations",
        "",
        "In `sim/core/scenario_derivations.py`; they run in this order, after the one-to-one keys.",
        "",
        "| derivation | reads | sets | what it does |",
        "|---|---|---|---|",
    ]
    for derivation in DERIVATIONS:
        reads = ", ".join(f"`{key}`" for key in derivation.reads)
        sets = ", ".join(f"`{field}`" for field in derivation.sets)
        out.append(f"| `{derivation.name}` | {reads} | {sets} | {_cell(derivation.summary)} |")
    out += ["", "## Run control", "", "| key | rule | what the runner does with it |"]
    out.append("|---|---|---|")
    for row in ROWS:
        if row.kind == "run":
            out.append(f"| `{row.key}` | {_cell(rule_text(row.key))} | {_cell(row.reason)} |")
    unread = [row for row in ROWS if row.kind == "unread"]
    out += ["", "## Keys the model does not read", ""]
    if unread:
        out += ["| key | why |", "|---|---|"]
        out += [f"| `{row.key}` | {_cell(row.reason)} |" for row in unread]
    else:
        out.append("None: every other key changes the model (tests/sim/test_params.py).")
    out += ["", "## Model fields no key sets", "", "| `ModelParams` field | why |", "|---|---|"]
    out += [f"| `{name}` | {_cell(why)} |" for name, why in MODEL_DEFAULTS.items()]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|") if text else "—"


def _derivation(name: str) -> Derivation:
    return next(d for d in DERIVATIONS if d.name == name)


def main() -> None:
    sys.stdout.write(render_markdown())


if __name__ == "__main__":
    main()
