"""The driver's compact id map behaves as the dict it replaces."""

from __future__ import annotations

import pytest

from sim.drivers.id_maps import IdMap


def test_an_id_map_answers_as_a_dict_would_across_growth() -> None:
    ids, reference = IdMap(), {}
    for key in [1, 2, 5000, 3, 70_000, 2]:
        ids[key] = key * 7 + 1
        reference[key] = key * 7 + 1
    assert len(ids) == len(reference) == 5
    for key in range(0, 70_002):
        assert ids.get(key) == reference.get(key)
        assert (key in ids) == (key in reference)
    assert ids[5000] == 35_001
    with pytest.raises(KeyError):
        ids[4]
    with pytest.raises(ValueError, match="non-negative"):
        ids[-1] = 3
