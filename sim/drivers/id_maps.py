"""A compact map between two kinds of small non-negative ids, for the in-process driver.

The model names clips 1, 2, 3, ... and the system numbers its clips the same
way, so the driver's maps between them (hundreds of thousands of entries in a
county-year) are arrays indexed by id rather than dicts: 8 bytes an entry
instead of about a hundred.
"""

from __future__ import annotations

from array import array

_MISSING = -1


class IdMap:
    """A map from non-negative ints to non-negative ints, held in an array grown as needed."""

    def __init__(self) -> None:
        self._values = array("q")
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def get(self, key: int) -> int | None:
        if 0 <= key < len(self._values):
            value = self._values[key]
            return None if value == _MISSING else value
        return None

    def __contains__(self, key: int) -> bool:
        return self.get(key) is not None

    def __getitem__(self, key: int) -> int:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: int, value: int) -> None:
        if key < 0 or value < 0:
            raise ValueError(f"ids are non-negative, not {key} -> {value}")
        if key >= len(self._values):
            grow = max(key + 1, 2 * len(self._values), 1024) - len(self._values)
            self._values.extend([_MISSING] * grow)
        if self._values[key] == _MISSING:
            self._size += 1
        self._values[key] = value
