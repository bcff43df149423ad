"""A table of records kept packed: a sequence of one record type at a fraction of the memory.

A county-year records millions of notifications, answers, shares and evidence
items. As frozen dataclasses each cost about 140 to 230 bytes (the object, and a
float object per time); together they were most of what a replication's memory
grew by over its year. :class:`PackedRecords` keeps the numbers of each record
as one fixed-size row of a growing buffer (``struct``: 8 bytes an int or a float,
1 a bool) and the strings in a list per column (the model's strings are a few
shared constants), and gives the records back as a read-only sequence: ``len``,
indexing, slicing and iteration build the same frozen dataclass that was
appended, with its ints and bools as they were and every float column a float.
:meth:`PackedRecords.columns` gives the table's columns without building
the records at all.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import attrgetter
from typing import Any, Generic, TypeVar, overload

import numpy as np
from numpy.typing import NDArray

from sim.core.records import Record

R = TypeVar("R", bound=Record)

_PACKED: dict[str, tuple[str, type[np.generic]]] = {
    "int": ("q", np.int64),
    "float": ("d", np.float64),
    "bool": ("?", np.bool_),
}
"""A column type's ``struct`` code and numpy type."""


class PackedRecords(Sequence[R], Generic[R]):
    """Records of one type, appended in order and read back as a sequence."""

    def __init__(self, record_type: type[R], records: Iterable[R] = ()) -> None:
        types = record_type.column_types()
        unknown = sorted(set(types.values()) - {*_PACKED, "str"})
        if unknown:
            raise TypeError(f"{record_type.__name__}: cannot pack columns of type {unknown}")
        self.record_type = record_type
        self._names: tuple[str, ...] = record_type.COLUMNS
        self._numbers = tuple(name for name in self._names if types[name] != "str")
        self._strings = tuple(name for name in self._names if types[name] == "str")
        self._kinds = {name: types[name] for name in self._names}
        self._row = struct.Struct("=" + "".join(_PACKED[types[n]][0] for n in self._numbers))
        self._dtype = np.dtype([(n, _PACKED[types[n]][1]) for n in self._numbers])  # the same
        self._pack = self._row.pack
        # attrgetter of one name gives a value, of several a tuple: always a tuple here.
        self._take: Callable[[R], tuple[Any, ...]] = (
            attrgetter(*self._numbers)
            if len(self._numbers) > 1
            else lambda record: tuple(getattr(record, n) for n in self._numbers)
        )
        self._rows = bytearray()
        self._text: tuple[list[str], ...] = tuple([] for _ in self._strings)
        self._count = 0
        self.extend(records)

    def append(self, record: R) -> None:
        if type(record) is not self.record_type:
            raise TypeError(
                f"a table of {self.record_type.__name__} cannot hold {type(record).__name__}"
            )
        values = self._take(record)
        try:
            self._rows += self._pack(*values)
        except struct.error:
            raise self._unpackable(values) from None
        if self._strings:
            for column, name in zip(self._text, self._strings, strict=True):
                column.append(getattr(record, name))
        self._count += 1

    def append_columns(self, count: int, **columns: Any) -> None:
        """Append ``count`` records given column by column, without building them: each
        column a list (or tuple) of ``count`` values, or one value every record shares. The
        values are those the record's fields would hold (as for :meth:`append`)."""
        if set(columns) != set(self._names):
            missing, extra = set(self._names) - set(columns), set(columns) - set(self._names)
            raise TypeError(
                f"{self.record_type.__name__} columns: missing {sorted(missing)}, "
                f"unknown {sorted(extra)}"
            )
        values = []
        for name in self._names:
            column = columns[name]
            if isinstance(column, list | tuple):
                if len(column) != count:
                    raise ValueError(f"column {name} has {len(column)} values, not {count}")
            else:
                column = [column] * count
            values.append(column)
        by_name = dict(zip(self._names, values, strict=True))
        numbers = [by_name[name] for name in self._numbers]
        rows = bytearray()
        pack = self._pack
        for row in zip(*numbers, strict=True):
            try:
                rows += pack(*row)
            except struct.error:
                raise self._unpackable(row) from None
        self._rows += rows
        for text, name in zip(self._text, self._strings, strict=True):
            text.extend(by_name[name])
        self._count += count

    def _unpackable(self, values: tuple[Any, ...]) -> TypeError:
        """Name the column whose value does not fit its type (a bug in whoever built the
        record: the columns' types are the record class's annotations)."""
        for name, value in zip(self._numbers, values, strict=True):
            try:
                struct.pack("=" + _PACKED[self._kinds[name]][0], value)
            except struct.error:
                break
        return TypeError(
            f"{self.record_type.__name__}.{name} is {self._kinds[name]}, "
            f"not {type(value).__name__} ({value!r})"
        )

    def extend(self, records: Iterable[R]) -> None:
        for record in records:
            self.append(record)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> R: ...

    @overload
    def __getitem__(self, index: slice) -> list[R]: ...

    def __getitem__(self, index: int | slice) -> R | list[R]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(f"record {index} of {self._count}")
        numbers = self._row.unpack_from(self._rows, index * self._row.size)
        return self._record(numbers, index)

    def __iter__(self) -> Iterator[R]:
        for index, numbers in enumerate(self._row.iter_unpack(self._rows)):
            yield self._record(numbers, index)

    def _record(self, numbers: tuple[Any, ...], index: int) -> R:
        values = dict(zip(self._numbers, numbers, strict=True))
        for name, column in zip(self._strings, self._text, strict=True):
            values[name] = column[index]
        return self.record_type(**values)

    def __eq__(self, other: object) -> bool:
        """Equal to a packed table of the same records, or to a list or tuple of them."""
        if isinstance(other, PackedRecords):
            return (
                self.record_type is other.record_type
                and self._rows == other._rows
                and self._text == other._text
            )
        if isinstance(other, list | tuple):
            return len(other) == self._count and all(
                mine == theirs for mine, theirs in zip(self, other, strict=True)
            )
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # it grows: not hashable

    def __repr__(self) -> str:
        return f"PackedRecords({self.record_type.__name__}, {self._count} records)"

    def where(self, keep: Sequence[bool]) -> PackedRecords[R]:
        """The records whose ``keep`` is true, in order, still packed."""
        if len(keep) != self._count:
            raise ValueError(f"{len(keep)} flags for {self._count} records")
        mask = np.asarray(keep, dtype=np.bool_)
        kept = PackedRecords(self.record_type)
        # Within one expression: the view over the buffer is released at once.
        kept._rows = bytearray(np.frombuffer(self._rows, dtype=self._dtype)[mask].tobytes())
        kept._text = tuple(
            [value for value, wanted in zip(column, keep, strict=True) if wanted]
            for column in self._text
        )
        kept._count = int(np.count_nonzero(mask))
        return kept

    def _array(self, name: str) -> NDArray[Any]:
        """A numeric column as a new array (a copy: a view would keep the buffer exported,
        unable to grow; the view itself is gone when the expression ends)."""
        return np.frombuffer(self._rows, dtype=self._dtype)[name].copy()

    def column(self, name: str) -> list[Any]:
        """One column as a list of plain values, in order, without building the records."""
        if self._kinds[name] == "str":
            return list(self._text[self._strings.index(name)])
        values: list[Any] = self._array(name).tolist()
        return values

    def columns(self) -> dict[str, NDArray[Any] | list[str]]:
        """Every column in order, without building the records: numbers as numpy arrays
        (int64, float64, bool), strings as lists."""
        return {
            name: self.column(name) if self._kinds[name] == "str" else self._array(name)
            for name in self._names
        }


def column(records: Sequence[Record], name: str) -> list[Any]:
    """One column of a record table as a list of plain values, in order: from a packed
    table's buffer without building its records, else record by record."""
    if isinstance(records, PackedRecords):
        return records.column(name)
    return [getattr(record, name) for record in records]


def kept(records: Sequence[R], keep: Sequence[bool]) -> Sequence[R]:
    """The records whose ``keep`` is true, in order: a packed table stays packed."""
    if isinstance(records, PackedRecords):
        return records.where(keep)
    return tuple(record for record, wanted in zip(records, keep, strict=True) if wanted)
