"""docs/metrics.md is the metric registry, generated, never edited by hand."""

from __future__ import annotations

from pathlib import Path

from results.metrics import REGISTRY
from results.metrics.doc import markdown
from sim.core.metrics import METRIC_UNITS

ROOT = Path(__file__).resolve().parents[2]


def test_the_metrics_doc_is_the_registry_as_generated() -> None:
    committed = (ROOT / "docs" / "metrics.md").read_text()
    assert committed == markdown(), (
        "docs/metrics.md differs from results/metrics/; regenerate it: "
        ".venv/bin/python -m results.metrics > docs/metrics.md"
    )


def test_every_metric_the_model_computes_is_defined_once() -> None:
    assert list(METRIC_UNITS) == list(REGISTRY)
    for name, metric in REGISTRY.items():
        assert metric.definition, name
        assert metric.unit, name
        if metric.kind == "count" and not metric.county_estimate_of:
            assert metric.denominator == "", name  # a count is not a ratio
        if metric.kind in ("share", "ratio"):
            assert metric.numerator, name
            assert metric.denominator, name


def test_opt_out_rate_says_what_it_is_a_share_of() -> None:
    text = (ROOT / "docs" / "metrics.md").read_text()
    line = next(line for line in text.splitlines() if line.startswith("| `opt_out_rate`"))
    assert "ALL the slice's platform camera owners" in line
