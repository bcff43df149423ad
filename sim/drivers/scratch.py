"""Where a replication keeps its throwaway database and content stores.

A replication's scratch folder is deleted when it ends, so nothing in it needs
to survive a power cut; on Linux a RAM-backed ``/dev/shm`` makes its many small
file and database writes several times cheaper than a disk. ``CANVASS_SCRATCH_DIR``
chooses the folder; otherwise ``/dev/shm`` is used when it is writable with at
least ``MIN_FREE_BYTES`` free, else the system's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

MIN_FREE_BYTES = 4 << 30
SHM = Path("/dev/shm")


def scratch_root() -> str | None:
    """The parent folder for scratch folders (None: the system's temporary folder)."""
    chosen = os.environ.get("CANVASS_SCRATCH_DIR")
    if chosen:
        Path(chosen).mkdir(parents=True, exist_ok=True)
        return chosen
    try:
        if os.access(SHM, os.W_OK) and shutil.disk_usage(SHM).free >= MIN_FREE_BYTES:
            return str(SHM)
    except OSError:
        pass
    return None


def scratch_dir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A scratch folder, removed when the ``with`` block ends."""
    return tempfile.TemporaryDirectory(prefix=prefix, dir=scratch_root())
