"""Figures draw what the run folder holds: read back from the returned Figure's artists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from results.figures import BY_ID, FIGURES, applicable, render_all
from results.figures.county_map import county_map
from results.figures.locust import locust_history
from results.figures.prepare import first_evidence, weekly
from results.figures.summary_bars import CASE_FUNNEL, UTILISATION, funnel_cases, utilisation
from results.figures.timelines import ecdf_first_evidence, load_hourly, season
from results.reader import RunFolder


def drawn_bars(figure: Figure) -> dict[str, tuple[float, list[float] | None]]:
    """Each bar's metric, its length, and its error bar's ends (None without one)."""
    ax = figure.axes[0]
    lengths = {
        str(p.get_gid())[4:]: p.get_width()
        for p in ax.patches
        if isinstance(p, Rectangle) and str(p.get_gid()).startswith("bar:")
    }
    intervals = {
        str(c.get_gid())[5:]: [float(x) for x, _y in c.get_segments()[0]]
        for c in ax.collections
        if isinstance(c, LineCollection) and str(c.get_gid()).startswith("ci95:")
    }
    return {name: (length, intervals.get(name)) for name, length in lengths.items()}


def assert_bars_match_summary(figure: Figure, metrics: dict, names: list[str]) -> None:
    bars = drawn_bars(figure)
    for name in names:
        summary = metrics[name]
        if not summary["applies"]:
            assert name not in bars
            continue
        length, interval = bars[name]
        assert length == pytest.approx(summary["mean"])
        assert interval == pytest.approx(summary["ci95"])


def test_case_funnel_draws_the_summary_means_and_intervals(tiny_run: Path) -> None:
    metrics = RunFolder(tiny_run).metrics
    figure = funnel_cases(metrics)
    assert_bars_match_summary(figure, metrics, [name for name, _label in CASE_FUNNEL])
    assert len(drawn_bars(figure)) == len(CASE_FUNNEL)


def test_utilisation_draws_the_summary_means_and_intervals(tiny_run: Path) -> None:
    metrics = RunFolder(tiny_run).metrics
    assert_bars_match_summary(utilisation(metrics), metrics, [n for n, _ in UTILISATION])


def test_a_metric_that_does_not_apply_is_labelled_na_not_drawn(tiny_run: Path) -> None:
    metrics = dict(RunFolder(tiny_run).metrics)
    metrics["cases_with_request"] = {**metrics["cases_with_request"], "applies": False}
    figure = funnel_cases(metrics)
    assert "cases_with_request" not in drawn_bars(figure)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert "with a published request (n/a)" in labels


def recomputed_first_evidence(run: RunFolder) -> dict[str, list[float]]:
    """Hours from report to each case's first evidence, by that item's path, by hand."""
    reported = {
        (r.replication, r.report_id): r.reported_at_min for r in run.table("reports").itertuples()
    }
    first: dict[tuple[int, int], tuple[float, str]] = {}
    for item in run.table("evidence").itertuples():
        key = (item.replication, item.case_id)
        if key not in first or item.seen_at_min < first[key][0]:
            first[key] = (item.seen_at_min, str(item.path))
    by_path: dict[str, list[float]] = {}
    for key, (seen, path) in first.items():
        by_path.setdefault(path, []).append((seen - reported[key]) / 60)
    return {path: sorted(hours) for path, hours in by_path.items()}


@pytest.mark.parametrize("variant", ["tiny_run", "face_canvass_run"])
def test_ecdf_plots_each_cases_first_evidence_by_path(
    variant: str, request: pytest.FixtureRequest
) -> None:
    run = RunFolder(request.getfixturevalue(variant))
    expected = recomputed_first_evidence(run)
    figure = ecdf_first_evidence(first_evidence(run.table("evidence"), run.table("reports")))
    lines = {str(line.get_gid())[5:]: line for line in figure.axes[0].get_lines()}
    assert set(lines) == set(expected)
    for path, hours in expected.items():
        x, y = lines[path].get_xdata(), lines[path].get_ydata()
        # (0, 0), each case's hours with the cumulative share, then the right edge.
        assert list(x[1:-1]) == pytest.approx(hours)
        assert list(y[1:-1]) == pytest.approx(np.arange(1, len(hours) + 1) / len(hours))
        assert y[0] == 0
        assert y[-1] == 1


def test_the_canvass_variant_has_a_line_per_evidence_path(face_canvass_run: Path) -> None:
    assert set(recomputed_first_evidence(RunFolder(face_canvass_run))) >= {"platform", "victim"}


def test_season_plots_weekly_counts_averaged_over_replications(tiny_run: Path) -> None:
    run = RunFolder(tiny_run)
    n = run.manifest["replications"]
    week = 7 * 24 * 60
    moderations = run.table("moderations")
    opt_outs = run.table("opt_outs")
    expected = {
        "thefts": run.table("thefts")["at_min"],
        "requests": moderations.loc[moderations["approved"], "decided_at_min"],
        "notifications": run.table("notifications")["notified_at_min"],
        "responses": run.table("responses")["responded_at_min"],
        "opt-outs": opt_outs.loc[~opt_outs["before_run"], "at_min"],
    }
    data = weekly(
        thefts=run.table("thefts"),
        reports=run.table("reports"),
        moderations=moderations,
        notifications=run.table("notifications"),
        responses=run.table("responses"),
        opt_outs=opt_outs,
        replications=n,
        horizon_days=run.manifest["horizon_days"],
    )
    figure = season(data, start=None, peak=None)
    lines = {str(line.get_gid())[7:]: line for line in figure.axes[0].get_lines()}
    for series, times in expected.items():
        counts = (times // week).value_counts().sort_index()
        per_week = [counts.get(w, 0) / n for w in range(len(data))]
        assert list(lines[series].get_ydata()) == pytest.approx(per_week), series
        assert sum(per_week) == pytest.approx(len(times) / n)


def test_season_shades_the_holiday_peak_inside_the_run() -> None:
    from datetime import date

    data = pd.DataFrame({"week": [0, 1, 2], "thefts": [1.0, 2.0, 3.0]})
    figure = season(data, start=date(2025, 11, 20), peak=(date(2025, 11, 27), date(2025, 12, 24)))
    (shade,) = [p for p in figure.axes[0].patches if p.get_gid() == "holiday-peak"]
    assert isinstance(shade, Rectangle)
    assert (shade.get_x(), shade.get_x() + shade.get_width()) == (
        7.0,
        21.0,
    )  # from day 7 to the run's end at day 21


def no_data_shown(figure: Figure) -> bool:
    return any(t.get_gid() == "no-data" for ax in figure.axes for t in ax.texts)


def test_empty_tables_give_figures_that_say_no_data() -> None:
    empty_first = pd.DataFrame({"replication": [], "case_id": [], "path": [], "hours": []})
    assert no_data_shown(ecdf_first_evidence(empty_first))
    assert no_data_shown(
        season(pd.DataFrame({"week": [0], "thefts": [0.0]}), start=None, peak=None)
    )
    assert no_data_shown(load_hourly(pd.DataFrame({"hour": [], "total": []}), None))
    assert no_data_shown(funnel_cases({}))
    empty_xy = pd.DataFrame({"x": [], "y": []})
    assert no_data_shown(
        county_map(
            {
                "homes": empty_xy,
                "thefts": empty_xy,
                "notified": empty_xy,
                "circles": pd.DataFrame({"x": [], "y": [], "radius_mi": []}),
            }
        )
    )
    header = RunFolder(Path(__file__).parent / "fixtures" / "locust").locust_history().head(0)
    assert no_data_shown(locust_history(header))


def test_an_empty_evidence_table_from_a_run_gives_no_data(tiny_run: Path) -> None:
    run = RunFolder(tiny_run)
    evidence = run.table("evidence").head(0)
    assert no_data_shown(ecdf_first_evidence(first_evidence(evidence, run.table("reports"))))


def test_a_figure_draws_into_the_callers_axes(tiny_run: Path) -> None:
    mine = Figure()
    ax = mine.add_subplot()
    assert funnel_cases(RunFolder(tiny_run).metrics, ax=ax) is mine


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("tiny_run", set(BY_ID) - {"misidentifications", "locust", "memory"}),
        ("face_canvass_run", set(BY_ID) - {"locust", "memory"}),
        ("locust_folder", {"locust"}),
    ],
)
def test_every_figure_that_applies_renders(
    variant: str, expected: set[str], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    run = RunFolder(request.getfixturevalue(variant))
    assert {spec.id for spec in applicable(run)} == expected
    rendered = render_all(run, tmp_path)
    assert [r.id for r in rendered] == [s.id for s in FIGURES if s.id in expected]
    for figure in rendered:
        assert figure.png.stat().st_size > 0
        assert figure.svg.read_text().lstrip().startswith("<?xml")
