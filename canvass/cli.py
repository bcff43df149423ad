"""``canvass``: parse the command line, call one entry point of a part, print the outcome.

Exit status: 0 success; 1 failure (one-line reason on stderr); 2 bad usage or
bad input; 3 an SLO or regression gate broken.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.exc import OperationalError

from system.adapters.clock import ClockSpecError
from system.adapters.db import DatabaseUrlError
from system.domain.errors import DomainError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_GATE = 0, 1, 2, 3


class UsageError(Exception):
    """Bad usage or bad input: exit status 2."""


def _db_upgrade(args: argparse.Namespace) -> int:
    from system.config import load_settings
    from system.manage import upgrade_database

    revision = upgrade_database(load_settings(database_url=args.database_url))
    print(f"database is at migration {revision}")
    return EXIT_OK


def _audit_verify(args: argparse.Namespace) -> int:
    from system.config import load_settings
    from system.service_layer.audit import verify_audit_chain
    from system.service_layer.context import build_context

    ctx = build_context(load_settings(database_url=args.database_url), with_stores=False)
    result = verify_audit_chain(ctx)
    if not result.ok:
        print(f"canvass: {result}", file=sys.stderr)
        return EXIT_FAILURE
    print(result)
    return EXIT_OK


def _bench_system(args: argparse.Namespace) -> int:
    from sim.drivers.bench_system import bench_system_command

    return bench_system_command(
        postgres_url=args.database_url,
        scale=args.scale,
        seed=args.seed,
        out=Path(args.out),
        echo=print,
    )


def _demo(args: argparse.Namespace) -> int:
    from sim.drivers.demo import run_demo

    run_dir = run_demo(seed=args.seed, scale=args.scale, out_root=Path(args.out), echo=_echo(args))
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="canvass",
        description="Simulate and load-test police video requests to doorbell-camera owners.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="run a scripted demonstration of the reference system on a slice of Nassau"
    )
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.add_argument(
        "--scale",
        type=_positive_fraction,
        default=0.02,
        help="fraction of the county (default 0.02)",
    )
    demo.add_argument("--out", default="results/runs", help="folder for run folders")
    demo.add_argument("--quiet", action="store_true", help="print only the run folder")
    demo.set_defaults(handler=_demo)

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
    system.add_argument("--seed", type=int, default=1)
    system.add_argument("--out", default="bench-system.json", help="JSON output file")
    system.set_defaults(handler=_bench_system)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except (DomainError, DatabaseUrlError, ClockSpecError, UsageError) as exc:
        print(f"canvass: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        print(f"canvass: database error: {reason}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("canvass: interrupted", file=sys.stderr)
        return EXIT_FAILURE
