"""``canvass store``: compaction of the volume stores and migration from per-object files."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from system.adapters.stores import CONTENT_STORES

if TYPE_CHECKING:
    from system.config import Settings

EXIT_OK, EXIT_FAILURE = 0, 1


def add_store_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``store compact`` and ``store migrate`` to the ``canvass`` subcommands ``sub``."""
    store = sub.add_parser("store", help="upkeep of the content stores (clips, outbox, evidence)")
    store_sub = store.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    scompact = store_sub.add_parser(
        "compact",
        help="reclaim the space of deleted objects in the volumes (safe while the system runs)",
        description="Copy the objects still in use out of volumes that hold deleted ones, "
        "swap the index to the copies and remove the old volumes. Deleted objects are "
        "unreadable from the moment they are deleted; this only gives their space back. "
        "Readers and writers keep working meanwhile.",
    )
    smigrate = store_sub.add_parser(
        "migrate",
        help="move a per-object file store into volumes (idempotent; each object verified)",
        description="Move every object of a per-object file store (the layout before "
        "volumes) into volumes in the same folder. Each object is decrypted and checked "
        "against its SHA-256, appended, read back and checked again before its file is "
        "removed; run it again after an interruption. Stop the system first.",
    )
    for command, handler in ((scompact, _store_compact), (smigrate, _store_migrate)):
        command.add_argument(
            "stores",
            nargs="*",
            type=_store_name,
            metavar="STORE",
            help=f"which stores: {', '.join(CONTENT_STORES)} (default: all)",
        )
        command.add_argument("--data-dir", help="default: CANVASS_DATA_DIR or canvass-data")
        command.set_defaults(handler=handler)
    scompact.add_argument(
        "--min-garbage",
        type=_share,
        default=0.0,
        metavar="SHARE",
        help="compact only volumes whose deleted objects are at least this share of their "
        "bytes, 0 to 1 (default 0: every volume with any; 0.3 copies far less)",
    )


def _store_settings(args: argparse.Namespace) -> Settings:
    from system.config import load_settings

    return load_settings(data_dir=args.data_dir)


def _store_name(value: str) -> str:
    if value not in CONTENT_STORES:
        raise argparse.ArgumentTypeError(
            f"unknown store {value!r}; choose from {', '.join(CONTENT_STORES)}"
        )
    return value


def _share(value: str) -> float:
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a share: give a number from 0 to 1, such as 0.3"
        )
    return share


def _store_compact(args: argparse.Namespace) -> int:
    from system.manage import compact_stores

    reports = compact_stores(
        _store_settings(args), args.stores or CONTENT_STORES, min_garbage=args.min_garbage
    )
    failed = 0
    for name, report in reports.items():
        if report is None:
            print(f"{name}: no volumes yet")
            continue
        print(
            f"{name}: {report.volumes_compacted} volume(s) compacted, "
            f"{report.records_moved} record(s) moved, "
            f"{report.bytes_before / 1e6:.1f} MB -> {report.bytes_after / 1e6:.1f} MB"
        )
        for sha256, reason in sorted(report.failed.items())[:10]:
            print(f"    {sha256}: {reason}", file=sys.stderr)
        failed += len(report.failed)
    if failed:
        print(
            f"canvass: {failed} record(s) could not be copied; their volumes stay",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return EXIT_OK


def _store_migrate(args: argparse.Namespace) -> int:
    from system.manage import migrate_stores

    reports = migrate_stores(_store_settings(args), args.stores or CONTENT_STORES)
    failed = 0
    for name, report in reports.items():
        print(
            f"{name}: {report.moved} moved, {report.already} already in volumes, "
            f"{len(report.failed)} failed"
        )
        for sha256, reason in sorted(report.failed.items())[:10]:
            print(f"    {sha256}: {reason}", file=sys.stderr)
        failed += len(report.failed)
    if failed:
        print(
            f"canvass: {failed} object(s) were not moved; their files stay (run it again)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return EXIT_OK
