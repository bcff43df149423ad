"""``canvass serve`` settles its start-up heap before serving (see system.serve.settle_heap)."""

from __future__ import annotations

import gc

from system.serve import GC_THRESHOLDS, settle_heap


def test_start_up_objects_are_frozen_and_collections_come_less_often() -> None:
    before = gc.get_threshold()
    survivor = [object() for _ in range(10)]  # something the process holds at start-up
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] > before[0]
        assert gc.is_tracked(survivor)  # still alive and tracked, just out of the scans
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
