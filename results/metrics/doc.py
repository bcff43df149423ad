"""``docs/metrics.md``, generated from the registry:
``python -m results.metrics > docs/metrics.md``."""

from __future__ import annotations

from results.metrics import COUNT_METRICS, FEATURES, METRICS


def markdown() -> str:
    """``docs/metrics.md``: every metric's definition, by section."""
    lines = [
        "# Metrics",
        "",
        "Generated from `results/metrics/` by `python -m results.metrics > docs/metrics.md`;",
        "a test fails when this file differs. Every metric of `summary.json`, the summary",
        "table and the report is here. Counts are totals over the slice a run counts (the",
        "whole county at scale 1); each count also has a county-total estimate",
        "`<name>_county`. Rates are ratios of totals over a replication; latencies are means",
        "of per-item latencies. Each value is summarised over replications as a mean with a",
        "95% t-interval, clipped to the natural range given by its kind (counts and other",
        "non-negative quantities at 0, shares to [0, 1]); `summary.json` keeps the",
        "unclipped interval as `ci95_t`. A metric whose feature the run lacks is n/a.",
        "",
        "Features: " + "; ".join(f"`{name}`: {what}" for name, what in FEATURES.items()) + ".",
        "",
    ]
    sections = dict.fromkeys(m.section for m in METRICS)
    for section in sections:
        lines += [
            f"## {section.capitalize()}",
            "",
            "| metric | unit | kind | definition | numerator | denominator | needs |",
            "|---|---|---|---|---|---|---|",
        ]
        for m in METRICS:
            if m.section != section or m.county_estimate_of:
                continue
            county = " (also `_county`)" if m.name in COUNT_METRICS else ""
            lines.append(
                f"| `{m.name}`{county} | {m.unit} | {m.kind} | {m.definition} | {m.numerator} "
                f"| {m.denominator or '—'} | {', '.join(m.needs) or '—'} |"
            )
        lines.append("")
    return "\n".join(lines)
