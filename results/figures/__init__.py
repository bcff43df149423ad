"""The figures of a run folder: what each shows, whether it applies, and rendering.

Each figure has an id (its file names ``<id>.png`` and ``<id>.svg``, and the
report's ``fig-<id>``), a one-line caption saying what to read from it, a test of
whether it applies to a folder, and a function from the folder to the figure. The
drawing functions themselves take data, not a folder (:mod:`results.figures.summary_bars`,
:mod:`~results.figures.timelines`, :mod:`~results.figures.county_map`,
:mod:`~results.figures.locust`, :mod:`~results.figures.memory`), so a researcher can
draw from DataFrames of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from results.figures import county_map, locust, memory, prepare, summary_bars, timelines
from results.figures.drawing import save
from results.load_profile import hourly
from results.reader import RunFolder


@dataclass(frozen=True, kw_only=True)
class FigureSpec:
    id: str
    caption: str  # one line: what to read from the figure
    applies: Callable[[RunFolder], bool]
    draw: Callable[[RunFolder], Figure]


@dataclass(frozen=True, kw_only=True)
class Rendered:
    id: str
    caption: str
    png: Path
    svg: Path


def _is_run(run: RunFolder) -> bool:
    return run.kind == "run"


def _has(feature: str) -> Callable[[RunFolder], bool]:
    return lambda run: _is_run(run) and feature in run.feature_set()


def _scenario(run: RunFolder) -> dict[str, object]:
    scenario: dict[str, object] = run.manifest.get("scenario_resolved", {})
    return scenario


def _replications(run: RunFolder) -> list[int]:
    return list(range(int(run.manifest.get("replications", 1))))


def _first_evidence(run: RunFolder) -> Figure:
    return timelines.ecdf_first_evidence(
        prepare.first_evidence(run.table("evidence"), run.table("reports"))
    )


def _season(run: RunFolder) -> Figure:
    weekly = prepare.weekly(
        thefts=run.table("thefts"),
        reports=run.table("reports"),
        moderations=run.table("moderations"),
        notifications=run.table("notifications"),
        responses=run.table("responses"),
        opt_outs=run.table("opt_outs"),
        replications=len(_replications(run)),
        horizon_days=float(run.manifest.get("horizon_days", 0)),
    )
    scenario = _scenario(run)
    return timelines.season(
        weekly, start=prepare.start_date(scenario), peak=prepare.holiday_peak(scenario)
    )


def _load_hourly(run: RunFolder) -> Figure:
    profile = run.load_profile or {}
    return timelines.load_hourly(
        hourly(run),
        profile.get("busiest_hour"),
        start=prepare.start_date(_scenario(run)),
    )


def _map(run: RunFolder) -> Figure:
    population = int(run.manifest.get("homes_of_replication", {}).get("0", 0))
    data = prepare.county_map_data(
        homes=run.table("homes"),
        thefts=run.table("thefts"),
        notifications=run.table("notifications"),
        requests=run.table("requests"),
        moderations=run.table("moderations"),
        replication=0,
        population=population,
    )
    return county_map.county_map(data)


def _misidentifications(run: RunFolder) -> Figure:
    groups = (
        run.manifest.get("scenario_resolved", {})
        .get("identification", {})
        .get("face_recognition", {})
        .get("groups", [])
    )
    by_group = prepare.misidentifications_by_group(
        run.table("identifications"), _replications(run), [g["name"] for g in groups]
    )
    return summary_bars.group_bars(
        by_group,
        title="Misidentifications by group (face recognition)",
        unit="people wrongly matched per run",
    )


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        id="funnel-cases",
        caption="How many cases survive each step from theft to usable video, the widest "
        "drop being where the program loses its cases; the last bar counts the right thief "
        "identified with or without video.",
        applies=_is_run,
        draw=lambda run: summary_bars.funnel_cases(run.metrics),
    ),
    FigureSpec(
        id="funnel-owners",
        caption="Of the camera owners notified, how many answered and how many shared a clip: "
        "the burden on residents behind each shared clip.",
        applies=_has("platform"),
        draw=lambda run: summary_bars.funnel_owners(run.metrics),
    ),
    FigureSpec(
        id="ecdf-first-evidence",
        caption="How soon after the report a case had its first evidence, by the path it came "
        "through: a curve further left is faster.",
        applies=lambda run: _is_run(run) and run.has_table("evidence"),
        draw=_first_evidence,
    ),
    FigureSpec(
        id="season",
        caption="Thefts, published requests, notifications, answers and opt-outs week by week; "
        "the shaded weeks are the holiday peak.",
        applies=_is_run,
        draw=_season,
    ),
    FigureSpec(
        id="load-hourly",
        caption="Operations the system served each hour over the run; the dashed line is the "
        "busiest hour, the load the system must be sized for.",
        applies=_is_run,
        draw=_load_hourly,
    ),
    FigureSpec(
        id="utilisation",
        caption="The share of detectives' and moderators' time spent busy: near 100% means "
        "cases queue.",
        applies=_is_run,
        draw=lambda run: summary_bars.utilisation(run.metrics),
    ),
    FigureSpec(
        id="map",
        caption="Where thefts happened and which households were notified (first "
        "replication); circles are the published requests' areas.",
        applies=lambda run: _is_run(run) and run.has_table("homes"),
        draw=_map,
    ),
    FigureSpec(
        id="privacy",
        caption="The privacy cost of an outcome: households notified and bystander clips sent "
        "to the police for each case with usable video.",
        applies=_has("platform"),
        draw=lambda run: summary_bars.privacy(run.metrics),
    ),
    FigureSpec(
        id="misidentifications",
        caption="People wrongly matched by face recognition, by group: the groups whose bars "
        "stand out bear the what-if's errors.",
        applies=_has("face_recognition"),
        draw=_misidentifications,
    ),
    FigureSpec(
        id="locust",
        caption="The load test over time: requests and failures per second and latency "
        "percentiles; latency climbing with load marks saturation.",
        applies=lambda run: run.kind == "loadtest" or bool(run.locust_stats),
        draw=lambda run: locust.locust_history(run.locust_history()),
    ),
    FigureSpec(
        id="memory",
        caption="The served processes' memory over the load test: a line still climbing late "
        "in a long run is memory not given back.",
        applies=lambda run: (run.path / "memory.jsonl").is_file(),
        draw=lambda run: memory.memory_over_time(run.memory()),
    ),
)

BY_ID: dict[str, FigureSpec] = {spec.id: spec for spec in FIGURES}


def applicable(run: RunFolder) -> list[FigureSpec]:
    """The figures that apply to ``run``, in the report's order."""
    return [spec for spec in FIGURES if spec.applies(run)]


def render_all(run: RunFolder, out_dir: Path) -> list[Rendered]:
    """Draw every figure that applies to ``run`` and write ``<id>.png`` and ``<id>.svg``
    into ``out_dir``; the same folder gives byte-identical files."""
    rendered = []
    for spec in applicable(run):
        figure = spec.draw(run)
        png, svg = save(figure, out_dir, spec.id)
        rendered.append(Rendered(id=spec.id, caption=spec.caption, png=png, svg=svg))
    return rendered
