"""The 95% interval of a known sample: Student's t, clipped at the natural range."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from results.statistics import clipped, metric

SAMPLE = [2.0, 4.0, 4.0, 5.0, 7.0, 8.0]  # mean 5, sd sqrt(4.8)


def test_the_interval_is_students_t_over_replications() -> None:
    summary = metric(SAMPLE, "cases", (0.0, math.inf))
    mean, sd, n = 5.0, math.sqrt(4.8), len(SAMPLE)
    low, high = stats.t.interval(0.95, df=n - 1, loc=mean, scale=sd / math.sqrt(n))
    assert summary["mean"] == pytest.approx(mean)
    assert summary["sd"] == pytest.approx(sd)
    assert summary["ci95_t"] == pytest.approx([low, high])
    assert summary["ci95"] == pytest.approx([low, high])  # inside [0, inf): not clipped
    assert not clipped(summary)


def test_a_count_interval_is_clipped_at_zero_and_keeps_the_raw_one() -> None:
    summary = metric([0.0, 0.0, 9.0], "thefts", (0.0, math.inf))
    raw_low, raw_high = summary["ci95_t"]
    assert raw_low < 0
    assert summary["ci95"] == [0.0, pytest.approx(raw_high)]
    assert clipped(summary)


def test_a_share_interval_stays_inside_zero_and_one() -> None:
    summary = metric([0.1, 0.9, 0.95], "share", (0.0, 1.0))
    assert summary["ci95"][0] >= 0.0
    assert summary["ci95"][1] == 1.0


def test_one_replication_gives_no_interval_rather_than_a_zero_width_one() -> None:
    summary = metric([3.0], "cases", (0.0, math.inf))
    assert summary["mean"] == 3.0
    assert summary["ci95"] is None
    assert summary["ci95_t"] is None
    assert summary["sd"] is None
