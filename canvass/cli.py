"""``canvass``: parse the command line, call one entry point of a part, print the outcome.

Exit status: 0 success; 1 failure (one-line reason on stderr); 2 bad usage or
bad input; 3 an SLO or regression gate broken.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from canvass.store_commands import add_store_commands
from scenarios.schema import ScenarioError
from system.adapters.clock import ClockSpecError
from system.adapters.db import DatabaseUrlError
from system.adapters.stores import KEY_DOMAINS
from system.domain.errors import DomainError

if TYPE_CHECKING:
    from sim.precision import Precision
    from sim.runner import RunOptions
    from system.bootstrap import SqlServiceContext

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2  # 3 (a gate broken) comes from the benchmarks


class UsageError(Exception):
    """Bad usage or bad input: exit status 2."""


def _db_upgrade(args: argparse.Namespace) -> int:
    from system.config import load_settings
    from system.manage import upgrade_database

    revision = upgrade_database(load_settings(database_url=args.database_url))
    print(f"database is at migration {revision}")
    return EXIT_OK


def _audit_verify(args: argparse.Namespace) -> int:
    from system.bootstrap import build_context
    from system.config import load_settings
    from system.service_layer.audit import verify_audit_chain

    ctx = build_context(load_settings(database_url=args.database_url), with_stores=False)
    result = verify_audit_chain(ctx)
    if not result.ok:
        print(f"canvass: {result}", file=sys.stderr)
        return EXIT_FAILURE
    print(result)
    return EXIT_OK


def _keys_context(args: argparse.Namespace) -> SqlServiceContext:
    from system.bootstrap import build_context
    from system.config import load_settings

    return build_context(load_settings(database_url=args.database_url, data_dir=args.data_dir))


def _keys_list(args: argparse.Namespace) -> int:
    from system.service_layer.keys import key_rings

    ctx = _keys_context(args)
    try:
        for ring in key_rings(ctx):
            ids = ", ".join(ring.key_ids)
            print(f"{ring.domain}: active {ring.active}; keys {ids} (from {ring.managed_by})")
    finally:
        ctx.engine.dispose()
    return EXIT_OK


def _keys_rotate(args: argparse.Namespace) -> int:
    from system.service_layer.keys import rotate_keys

    ctx = _keys_context(args)
    try:
        report = rotate_keys(
            ctx,
            domain=args.domain,
            new_key=not args.no_new_key,
            actor="operator:cli",
            role="operator",
        )
    finally:
        ctx.engine.dispose()
    added = "added and activated" if report.key_added else "kept"
    print(f"{report.domain}: key {report.active} {added} (was {report.previous_active})")
    for name, summary in report.stores.items():
        print(
            f"  {name}: {summary.rewrapped} rewrapped, {summary.unchanged} already current, "
            f"{len(summary.failed)} failed"
        )
        for what, reason in sorted(summary.failed.items())[:10]:
            print(f"    {what}: {reason}", file=sys.stderr)
    if report.failed:
        print(f"canvass: {report.failed} object(s) could not be rewrapped", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _bench_system(args: argparse.Namespace) -> int:
    from benchmarks.bench_system import bench_system_command

    return bench_system_command(
        postgres_url=args.database_url,
        scale=args.scale,
        seed=args.seed,
        out=_output_file(args.out, "the benchmark's JSON"),
        echo=print,
    )


def _run(args: argparse.Namespace) -> int:
    from results.tables import calibration_table, summary_table
    from sim.runner import RunOptions, options_to_resume, run_scenario

    if args.resume is not None:
        run_dir = _resumable(Path(args.resume), args)
        options = options_to_resume(run_dir, workers=args.workers, show_progress=not args.quiet)
        scenario = options.scenario
        precision = options.precision
    else:
        from scenarios.loader import load_scenario

        run_dir = None
        if args.scenario is None:
            raise UsageError(
                "give a SCENARIO (a shipped scenario's name or a TOML path; canvass scenarios "
                "list shows them), or --resume RUN_DIR"
            )
        scenario = load_scenario(args.scenario, args.set or ())
        if args.driver != "inprocess":
            raise UsageError(
                f"driver {args.driver!r} is not available yet: use --driver inprocess (the default)"
            )
        precision = _precision(args)
        _warn_about_keys_the_model_ignores(args.set or ())
        options = RunOptions(
            scenario=scenario,
            replications=args.replications or scenario.run.replications,
            seed=scenario.run.seed if args.seed is None else args.seed,
            scale=args.scale or scenario.run.scale,
            horizon_days=args.horizon_days or scenario.run.horizon_days,
            workers=args.workers,
            show_progress=not args.quiet,
            precision=precision,
            table_format="csv" if args.csv else "parquet",
        )
    echo = _echo(args)
    how_many = (
        f"{options.replications} replication(s)"
        if precision is None
        else f"replications until ±{precision.relative_error:.1%} of the mean "
        f"({precision.min_replications} to {precision.max_replications})"
    )
    echo(
        f"running {scenario.name}: {how_many}, seed {options.seed}, scale {options.scale}, "
        f"{options.horizon_days:g} days, "
        f"{options.workers if precision else min(options.workers, options.replications)} "
        "process(es)"
    )
    echo(_estimate_line(options, Path(args.out)))
    run_dir, summary = run_scenario(
        options,
        out_root=_writable(Path(args.out), "the run folder"),
        progress=lambda line: print(line, file=sys.stderr) if not args.quiet else None,
        command=" ".join(sys.argv),
        run_dir=run_dir,
    )
    echo(summary_table(summary, scale=options.scale))
    body = json.loads((run_dir / "summary.json").read_text())
    echo(calibration_table(body.get("calibration", [])))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    echo(_resources_line(manifest))
    reached = manifest.get("precision")
    if reached is not None and not reached["met"]:
        print(
            f"canvass: warning: the precision asked for was not reached in "
            f"{reached['replications']} replications (see manifest.json; raise "
            "--max-replications or loosen --precision)",
            file=sys.stderr,
        )
    if not args.no_report:
        from results.report import build_report

        echo(f"report: {build_report(run_dir)}")
    print(run_dir)
    return EXIT_OK


def _estimate_line(options: RunOptions, runs_root: Path) -> str:
    from scenarios.loader import resolved_dict
    from sim.usage import (
        duration,
        estimate_replication_s,
        nearest_run,
        past_runs,
        rounds_of,
    )

    homes = options.scenario.county.households * options.scale
    one_at_a_time = options.precision is not None
    what = "each replication" if one_at_a_time else "the run"
    rounds = 1 if one_at_a_time else rounds_of(options.replications, options.workers)
    past = nearest_run(
        past_runs(runs_root, resolved_dict(options.scenario)),
        scale=options.scale,
        horizon_days=options.horizon_days,
    )
    if past is not None:
        seconds = rounds * past.replication_s_for(homes * options.horizon_days)
        return (
            f"estimate: {what} takes about {duration(seconds)}, at the pace of an earlier run "
            f"of this workload on this machine ({past.folder}: scale {past.scale:g}, "
            f"{past.horizon_days:g} days, {duration(past.replication_s)} a replication); "
            "the progress lines refine it"
        )
    one = estimate_replication_s(homes=homes, days=options.horizon_days)
    return (
        f"estimate: {what} takes about {duration(rounds * one)} on an idle 2-core machine at "
        "the calibrated Nassau pace (a rough guess from the county's size, with no earlier "
        f"run of this workload under {runs_root} to judge by; busier scenarios and busier "
        "machines take longer; the progress lines refine it)"
    )


def _resources_line(manifest: dict[str, Any]) -> str:
    peak, scratch = manifest.get("peak_rss_mb"), manifest.get("scratch_mb")
    took = f"took {manifest['wall_s']:,.0f} s" if "wall_s" in manifest else "finished"
    memory = "" if peak is None else f", peak memory {peak:,.0f} MB (the largest process)"
    disk = "" if scratch is None else f", scratch {scratch:,.0f} MB (the largest replication)"
    return f"the run {took}{memory}{disk}"


def _resumable(run_dir: Path, args: argparse.Namespace) -> Path:
    """An interrupted run folder to finish; the options that fix its results come from
    its manifest, so giving them again is an error."""
    given = [
        flag
        for flag, value in (
            ("SCENARIO", args.scenario),
            ("--replications", args.replications),
            ("--precision", args.precision),
            ("--seed", args.seed),
            ("--scale", args.scale),
            ("--horizon-days", args.horizon_days),
            ("--set", args.set),
            ("--csv", args.csv or None),
        )
        if value is not None
    ]
    if given:
        raise UsageError(
            f"--resume takes its settings from the run folder's manifest: drop {', '.join(given)}"
        )
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.is_file():
        raise UsageError(f"{manifest_path}: missing; --resume needs a run folder canvass run left")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"{manifest_path}: unreadable ({exc})") from None
    if manifest.get("kind", "run") != "run" or "scenario_resolved" not in manifest:
        raise UsageError(f"{run_dir}: not a run folder of canvass run; nothing to resume")
    if manifest.get("status") == "complete":
        raise UsageError(f"{run_dir}: the run is complete; nothing to resume")
    if "tables" not in manifest:
        raise UsageError(f"{run_dir}: written by an older canvass that cannot resume runs")
    return run_dir


def _report(args: argparse.Namespace) -> int:
    from results.reader import RunFolder
    from results.report import build_report
    from results.summary import rebuild_summary

    run = RunFolder(Path(args.run_dir))
    out = run.path if args.out is None else _writable(Path(args.out), "the report")
    if run.kind == "run":
        rebuild_summary(run, out)  # the numbers beside the figures follow from the tables
    print(build_report(run.path, out))
    return EXIT_OK


def _warn_about_keys_the_model_ignores(overrides: Sequence[str]) -> None:
    from scenarios.overrides import parse_override
    from sim.core.scenario_params import row_for

    for text in overrides:  # already parsed and applied by load_scenario: valid here
        key, _value = parse_override(text)
        row = row_for(key)
        if row is not None and row.kind == "unread":
            print(f"canvass: warning: {key} changes nothing: {row.reason}", file=sys.stderr)


def _precision(args: argparse.Namespace) -> Precision | None:
    from sim.precision import (
        DEFAULT_MAX_REPLICATIONS,
        DEFAULT_METRICS,
        DEFAULT_MIN_REPLICATIONS,
        Precision,
        PrecisionError,
    )

    if args.precision is None:
        if args.precision_metric or args.min_replications or args.max_replications:
            raise UsageError(
                "--precision-metric, --min-replications and --max-replications go with "
                "--precision REL"
            )
        return None
    if args.replications:
        raise UsageError("give --replications N or --precision REL, not both")
    try:
        return Precision(
            args.precision,
            tuple(args.precision_metric or DEFAULT_METRICS),
            args.min_replications or DEFAULT_MIN_REPLICATIONS,
            args.max_replications or DEFAULT_MAX_REPLICATIONS,
        )
    except PrecisionError as exc:
        raise UsageError(str(exc)) from exc


def _scenarios_list(args: argparse.Namespace) -> int:
    from scenarios.loader import list_scenarios

    for name, description in list_scenarios():
        print(f"{name:28} {description}")
    return EXIT_OK


def _scenarios_show(args: argparse.Namespace) -> int:
    import tomli_w

    from scenarios.loader import load_scenario, resolved_dict

    scenario = load_scenario(args.scenario, args.set or ())
    text = tomli_w.dumps(resolved_dict(scenario))
    if args.model:
        from sim.core.parameter_docs import annotate_toml

        text = annotate_toml(text)
    print(text, end="")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from system.config import load_settings
    from system.serve import serve, serve_processes

    settings = load_settings(database_url=args.database_url)
    if args.processes > 1:
        if settings.database_url.startswith("sqlite"):
            raise UsageError(
                "--processes above 1 needs PostgreSQL (--database-url postgresql+psycopg://...): "
                "SQLite is served by one process"
            )
        return serve_processes(
            settings,
            host=args.host,
            port=args.port,
            processes=args.processes,
            worker=not args.no_worker,
            migrate=not args.no_migrate,
            echo=print,
        )
    return serve(
        settings,
        host=args.host,
        port=args.port,
        worker=not args.no_worker,
        migrate=not args.no_migrate,
        echo=print,
    )


def _worker(args: argparse.Namespace) -> int:
    from system.adapters.db import make_engine
    from system.adapters.migrate import current_revision, head_revision
    from system.config import load_settings
    from system.worker import run_worker_processes

    settings = load_settings(database_url=args.database_url)
    engine = make_engine(settings.database_url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    if revision != head_revision():
        # Workers on an older schema would fail every poll (and log each failure).
        found = "has no schema yet" if revision is None else f"is at schema {revision}"
        print(
            f"canvass: the database {found}, not {head_revision()}: run "
            f"`canvass db upgrade --database-url {settings.database_url}` first "
            "(`canvass serve` also migrates at start)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return run_worker_processes(settings, concurrency=args.concurrency, echo=print)


def _seed(args: argparse.Namespace) -> int:
    from scenarios.loader import load_scenario
    from sim.core.counties import nassau
    from sim.core.scenario_params import county_spec
    from sim.drivers.seed import seed_database
    from system.config import load_settings

    if (args.scenario is None) == (args.homes is None):
        raise UsageError("give exactly one of --scenario SCENARIO or --homes N")
    if args.scenario is not None:
        scenario = load_scenario(args.scenario)
        county, scale = county_spec(scenario), args.scale or scenario.run.scale
    else:
        county = nassau()
        scale = min(1.0, args.homes / county.households)
    seed_database(
        load_settings(database_url=args.database_url),
        county=county,
        scale=scale,
        seed=args.seed,
        out=_output_file(args.out, "the credentials file"),
        resident_accounts=args.resident_accounts,
        device_tokens=args.device_tokens,
        echo=print,
    )
    return EXIT_OK


def _loadtest(args: argparse.Namespace) -> int:
    from loadtests.run_options import LoadtestOptions, LoadtestUsageError
    from loadtests.runner import run_loadtest

    def path(value: str | None) -> Path | None:
        return None if value is None else Path(value)

    options = LoadtestOptions(
        out=Path(args.out),
        shape=args.shape,
        users=args.users,
        run_time=args.run_time,
        host=args.host,
        credentials=path(args.credentials),
        serve=args.serve,
        database_url=args.database_url,
        api_processes=args.api_processes,
        worker_processes=args.worker_processes,
        locust_workers=args.locust_workers,
        slo=path(args.slo),
        from_run=path(args.from_run),
        speedup=args.speedup,
        counties=args.counties,
        pace=args.pace,
        step_users=args.step_users,
        step_s=args.step_seconds,
        steps=args.steps,
        soak=args.soak,
        baseline=path(args.baseline),
        p95_tolerance=args.p95_tolerance,
        throughput_tolerance=args.throughput_tolerance,
    )
    try:
        return run_loadtest(options, echo=print)
    except LoadtestUsageError as exc:
        raise UsageError(str(exc)) from None
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"canvass: load test failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _bench_api(args: argparse.Namespace) -> int:
    from benchmarks.bench_api import bench_api_command

    return bench_api_command(
        postgres_url=args.database_url,
        out=_output_file(args.out, "the benchmark's JSON"),
        echo=print,
        quick=args.quick,
    )


def _bench_sim(args: argparse.Namespace) -> int:
    from benchmarks.bench_sim import bench_sim_command

    out = _output_file(args.out, "the benchmark's JSON")
    return bench_sim_command(scale=args.scale, seed=args.seed, out=out, echo=print)


def _demo(args: argparse.Namespace) -> int:
    from sim.drivers.demo import run_demo

    out_root = _writable(Path(args.out), "the run folder")
    run_dir = run_demo(seed=args.seed, scale=args.scale, out_root=out_root, echo=_echo(args))
    print(run_dir)
    return EXIT_OK


def _echo(args: argparse.Namespace) -> Callable[[str], None]:
    if getattr(args, "quiet", False):
        return lambda _line: None
    return print


def _positive_fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is outside (0, 1]: pass a fraction of the county")
    return value


def _cpus() -> int:
    """CPUs this process may use (its affinity where the platform tells it)."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _writable(folder: Path, what: str) -> Path:
    """Fail now, not after a long run, when ``folder`` cannot be made or written in."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UsageError(
            f"cannot write {what} in {folder}: {exc.strerror or exc}; choose an --out "
            "you can write to"
        ) from None
    return folder


def _output_file(path: str, what: str) -> Path:
    """``path``, once its folder has been shown to be writable (see :func:`_writable`)."""
    file = Path(path)
    return _writable(file.parent, what) / file.name


def _whole_number(low: int, high: int | None = None, *, problem: str) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``; else ``problem``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} {problem}")
        return value

    return parse


_positive_int = _whole_number(1, problem="must be at least 1")
_count = _whole_number(0, problem="is negative: pass 0 or more")
_seed_value = _whole_number(0, problem="is negative: a seed is a whole number >= 0")
_port = _whole_number(1, 65535, problem="is not a TCP port: pass 1 to 65535")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="canvass",
        description="Simulate and load-test police video requests to doorbell-camera owners.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario; the run folder's path is the last line")
    run.add_argument(
        "scenario",
        metavar="SCENARIO",
        nargs="?",
        help="a shipped scenario's name or a TOML path (not with --resume)",
    )
    run.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="finish an interrupted run: run only the replications its folder lacks",
    )
    run.add_argument("--replications", type=_positive_int, help="independent replications")
    run.add_argument(
        "--precision",
        type=float,
        metavar="REL",
        help="instead of --replications: add replications until each judged metric's 95%% "
        "half-width is within REL of its mean (0.05 for ±5%%)",
    )
    run.add_argument(
        "--precision-metric",
        action="append",
        metavar="NAME",
        help="a summary metric --precision judges (repeatable; default "
        "cases_with_usable_video, share_rate, notifications_per_request)",
    )
    run.add_argument(
        "--min-replications", type=_positive_int, help="--precision's pilot (default 10)"
    )
    run.add_argument(
        "--max-replications", type=_positive_int, help="--precision's cap (default 50)"
    )
    run.add_argument("--seed", type=_seed_value, help="the run's seed (default: the scenario's)")
    run.add_argument(
        "--scale",
        type=_positive_fraction,
        help="share of the county's households simulated, (0, 1]: a slice placed by the seed, "
        "with the county's staff; counts are the slice's, <metric>_county the county's",
    )
    run.add_argument("--horizon-days", type=_positive_float, help="simulated days")
    run.add_argument("--driver", choices=["inprocess", "http"], default="inprocess")
    run.add_argument("--url", help="the system's URL for --driver http")
    run.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a scenario key (TOML literal)"
    )
    cpus = _cpus()
    run.add_argument(
        "--workers",
        type=_positive_int,
        default=cpus,
        help=f"parallel processes (default: this machine's {cpus} CPUs)",
    )
    run.add_argument("--out", default="results/runs", help="folder for run folders")
    run.add_argument(
        "--csv", action="store_true", help="write the tables as CSV text instead of Parquet"
    )
    run.add_argument(
        "--no-report", action="store_true", help="skip the figures and report.html at the end"
    )
    run.add_argument("--quiet", action="store_true", help="print only the run folder")
    run.set_defaults(handler=_run)

    report = sub.add_parser(
        "report", help="(re)build the figures and report.html of a run or load-test folder"
    )
    report.add_argument("run_dir", metavar="RUN_DIR", help="a folder canvass run wrote")
    report.add_argument("--out", help="folder for report.html and figures (default: RUN_DIR)")
    report.set_defaults(handler=_report)

    scen = sub.add_parser("scenarios", help="list or show scenarios")
    scen_sub = scen.add_subparsers(dest="scenarios_command", required=True, metavar="ACTION")
    scen_sub.add_parser("list", help="the shipped scenarios").set_defaults(handler=_scenarios_list)
    show = scen_sub.add_parser("show", help="print a scenario fully resolved, as TOML")
    show.add_argument("scenario", metavar="SCENARIO")
    show.add_argument("--set", action="append", metavar="KEY=VALUE")
    show.add_argument(
        "--model",
        action="store_true",
        help="note beside each key the model field it sets (unit, conversion) and its rule",
    )
    show.set_defaults(handler=_scenarios_show)

    demo = sub.add_parser(
        "demo", help="run a scripted demonstration of the reference system on a slice of Nassau"
    )
    demo.add_argument("--seed", type=_seed_value, default=1, help="random seed (default 1)")
    demo.add_argument(
        "--scale",
        type=_positive_fraction,
        default=0.02,
        help="fraction of the county (default 0.02)",
    )
    demo.add_argument("--out", default="results/runs", help="folder for run folders")
    demo.add_argument("--quiet", action="store_true", help="print only the run folder")
    demo.set_defaults(handler=_demo)

    srv = sub.add_parser("serve", help="run the reference system (embedded worker by default)")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=_port, default=8000)
    srv.add_argument("--database-url", help="default: CANVASS_DATABASE_URL or sqlite:///canvass.db")
    srv.add_argument("--no-worker", action="store_true", help="run no background worker here")
    srv.add_argument(
        "--processes",
        type=_positive_int,
        default=1,
        help="API processes on the one address (PostgreSQL only; the first embeds the worker)",
    )
    srv.add_argument("--no-migrate", action="store_true", help="do not apply migrations at start")
    srv.set_defaults(handler=_serve)

    wrk = sub.add_parser("worker", help="run job workers as separate processes")
    wrk.add_argument("--database-url")
    wrk.add_argument("--concurrency", type=_positive_int, default=2)
    wrk.set_defaults(handler=_worker)

    sd = sub.add_parser("seed", help="fill a database with a synthetic population and accounts")
    sd.add_argument("--scenario", help="take the county from this scenario")
    sd.add_argument("--homes", type=_positive_int, help="a slice of Nassau with about N homes")
    sd.add_argument(
        "--scale", type=_positive_fraction, help="with --scenario: fraction of the county"
    )
    sd.add_argument("--seed", type=_seed_value, default=1)
    sd.add_argument("--database-url")
    sd.add_argument("--out", default="credentials.json", help="credentials file (private)")
    sd.add_argument("--resident-accounts", type=_count, default=200, help="residents given logins")
    sd.add_argument("--device-tokens", type=_count, default=50, help="cameras given upload tokens")
    sd.set_defaults(handler=_seed)

    lt = sub.add_parser(
        "loadtest",
        help="Locust against a served (--serve) or given (--host) system: gate and reconcile",
    )
    lt.add_argument("--out", required=True, help="results folder (new or empty)")
    lt.add_argument("--shape", choices=("steady", "step", "spike", "county-hour"), default="steady")
    lt.add_argument("--users", type=_positive_int, default=6, help="Locust users (default 6)")
    lt.add_argument("--run-time", help="e.g. 30s, 2m (default 30s; step: --steps × --step-seconds)")
    lt.add_argument("--pace", type=_positive_float, default=1.0, help="users' pace factor")
    lt.add_argument("--serve", action="store_true", help="seed and serve a local system")
    lt.add_argument("--host", help="a running system's base URL (instead of --serve)")
    lt.add_argument("--credentials", help="with --host: the file `canvass seed` wrote")
    lt.add_argument("--database-url", help="with --serve: PostgreSQL instead of SQLite")
    lt.add_argument(
        "--api-processes",
        type=_positive_int,
        default=1,
        help="with --serve --database-url: API processes on the one address (default 1)",
    )
    lt.add_argument(
        "--worker-processes",
        type=_count,
        default=0,
        help="with --serve --database-url: separate job workers (default: embedded)",
    )
    lt.add_argument(
        "--locust-workers", type=_count, default=0, help="a Locust master with N workers"
    )
    lt.add_argument("--slo", help="thresholds TOML (default loadtests/slo.toml)")
    lt.add_argument("--from-run", help="county-hour: the run folder to replay")
    lt.add_argument("--speedup", type=_positive_float, default=1.0)
    lt.add_argument("--counties", type=_positive_float, default=1.0)
    lt.add_argument(
        "--step-users", type=_positive_int, default=4, help="step: users added each step"
    )
    lt.add_argument(
        "--step-seconds", type=_positive_float, default=20.0, help="step: seconds per step"
    )
    lt.add_argument("--steps", type=_positive_int, default=10, help="step: most steps to try")
    lt.add_argument(
        "--soak",
        metavar="DURATION",
        help="a long steady run (e.g. 2h) recording the served processes' memory",
    )
    lt.add_argument("--baseline", help="an earlier results folder: exit 3 on a regression")
    lt.add_argument(
        "--p95-tolerance",
        type=_positive_float,
        default=0.2,
        help="--baseline: a route's p95 this much worse is a regression (default 0.2)",
    )
    lt.add_argument(
        "--throughput-tolerance",
        type=_positive_float,
        default=0.1,
        help="--baseline: requests/s this much lower is a regression (default 0.1)",
    )
    lt.set_defaults(handler=_loadtest)

    db = sub.add_parser("db", help="manage the system's database")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_sub.add_parser("upgrade", help="apply migrations")
    upgrade.add_argument(
        "--database-url", help="default: CANVASS_DATABASE_URL or sqlite:///canvass.db"
    )
    upgrade.set_defaults(handler=_db_upgrade)

    audit = sub.add_parser("audit", help="the audit chain")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = audit_sub.add_parser(
        "verify", help="verify the audit chain; names the first bad entry"
    )
    verify.add_argument(
        "--database-url", help="default: CANVASS_DATABASE_URL or sqlite:///canvass.db"
    )
    verify.set_defaults(handler=_audit_verify)

    keys = sub.add_parser("keys", help="key rings of the encrypted stores and TOTP secrets")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    klist = keys_sub.add_parser("list", help="key ids per ring and the active one (no keys)")
    rotate = keys_sub.add_parser(
        "rotate", help="add a key to a ring, make it active, rewrap everything under it"
    )
    rotate.add_argument("domain", choices=KEY_DOMAINS, help="which ring")
    rotate.add_argument(
        "--no-new-key",
        action="store_true",
        help="only rewrap under the active key (after changing a ring given in settings)",
    )
    for command, handler in ((klist, _keys_list), (rotate, _keys_rotate)):
        command.add_argument(
            "--database-url", help="default: CANVASS_DATABASE_URL or sqlite:///canvass.db"
        )
        command.add_argument("--data-dir", help="default: CANVASS_DATA_DIR or canvass-data")
        command.set_defaults(handler=handler)

    add_store_commands(sub)

    bench = sub.add_parser("bench", help="run a benchmark; prints its figures and writes JSON")
    bench_sub = bench.add_subparsers(dest="bench_name", required=True, metavar="NAME")
    system = bench_sub.add_parser(
        "system",
        help="fan-out for the densest 0.5 sq mi of Nassau (SQLite, and PostgreSQL if given)",
    )
    system.add_argument(
        "--database-url",
        help="a PostgreSQL server URL; a scratch database is created on it and dropped after",
    )
    system.add_argument("--scale", type=_positive_fraction, default=1.0, help="fraction of Nassau")
    system.add_argument("--seed", type=_seed_value, default=1)
    system.add_argument("--out", default="bench-system.json", help="JSON output file")
    system.set_defaults(handler=_bench_system)
    apib = bench_sub.add_parser(
        "api", help="peak requests/s with wrk and latency at 80%% of peak (real servers)"
    )
    apib.add_argument("--database-url", help="a PostgreSQL server URL for the 2+2-process run")
    apib.add_argument("--quick", action="store_true", help="3 s per measurement (for CI)")
    apib.add_argument("--out", default="bench-api.json", help="JSON output file")
    apib.set_defaults(handler=_bench_api)
    simb = bench_sub.add_parser(
        "sim",
        help="a county-year of the fixed workload (nassau-saturated) in-process, beside bare "
        "baselines, and one of the calibrated nassau defaults for its wall time",
    )
    simb.add_argument("--scale", type=_positive_fraction, default=1.0, help="fraction of Nassau")
    simb.add_argument("--seed", type=_seed_value, default=1)
    simb.add_argument("--out", default="bench-sim.json", help="JSON output file")
    simb.set_defaults(handler=_bench_sim)
    return parser


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # A termination request (a service manager, `kill`, a CI timeout) stops a command the
    # way Ctrl-C does: scratch folders (which may be in RAM) and partial output are cleaned
    # up on the way out (parallel replications stop with it: see sim.runner).
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return int(args.handler(args))
    except (DomainError, DatabaseUrlError, ClockSpecError, UsageError, ScenarioError) as exc:
        print(f"canvass: {exc}", file=sys.stderr)
        return EXIT_USAGE

    except ValidationError as exc:  # a CANVASS_* setting with a value it cannot take
        problem = exc.errors()[0]
        name = "CANVASS_" + "_".join(str(part) for part in problem["loc"]).upper()
        print(f"canvass: {name}: {problem['msg']}", file=sys.stderr)
        return EXIT_USAGE
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        print(f"canvass: database error: {reason}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt as exc:
        detail = f": {exc}" if str(exc) else ""  # a run says what it kept and how to resume
        print(f"canvass: interrupted{detail}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:
        from results.reader import RunFolderError
        from sim.runner import InvariantBroken

        if isinstance(exc, RunFolderError):
            print(f"canvass: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if isinstance(exc, InvariantBroken):
            print(f"canvass: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
