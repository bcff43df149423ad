"""``python -m results.metrics``: print ``docs/metrics.md``."""

from results.metrics.doc import markdown

print(markdown(), end="")
