"""The packed record tables: the same records back, their columns, at a fraction of the memory."""

from __future__ import annotations

import dataclasses
import math
import tracemalloc

import numpy as np
import pyarrow as pa
import pytest

from sim.core.packed_records import PackedRecords, kept
from sim.core.ports import AnswerVerdict
from sim.core.records import (
    CaseRecord,
    NotificationRecord,
    OptOutRecord,
    ResponseRecord,
    TheftRecord,
)
from sim.core.world import SETTLE_EVERY, RecordLog, ResidentBook
from sim.run_folder import replication_tables


def notification(i: int) -> NotificationRecord:
    return NotificationRecord(
        request_id=i // 7,
        case_id=1000 + i // 7,
        resident=i,
        home=3 * i,
        notified_at_min=i * 0.25 + 1e-9,
        requests_received=1 + i % 4,
        relevant_clips_lost=i % 3,
        home_in_slice=i % 5 != 0,
    )


def case(i: int, policy: str) -> CaseRecord:
    return CaseRecord(
        case_id=i,
        reported_at_min=float(i),
        started_at_min=i + 0.5,
        detective_wait_min=0.5,
        followed_up=bool(i % 2),
        system_case_id=-1,
        detective=i % 3,
        policy=policy,
    )


def test_records_come_back_as_appended_by_index_slice_and_iteration() -> None:
    records = [notification(i) for i in range(50)]
    table = PackedRecords(NotificationRecord)
    table.extend(records)
    assert len(table) == 50
    assert list(table) == records
    assert table[0] == records[0]
    assert table[-1] == records[-1]
    assert table[17] == records[17]
    assert table[10:13] == records[10:13]
    assert table[::-10] == records[::-10]
    assert isinstance(table[3].home_in_slice, bool)
    assert isinstance(table[3].home, int)
    with pytest.raises(IndexError):
        table[50]
    with pytest.raises(IndexError):
        table[-51]


def test_strings_and_special_floats_keep_their_values() -> None:
    table = PackedRecords(CaseRecord, [case(1, "platform"), case(2, "canvass"), case(3, "")])
    assert [c.policy for c in table] == ["platform", "canvass", ""]
    odd = CaseRecord(
        case_id=-1,
        reported_at_min=math.inf,
        started_at_min=-0.0,
        detective_wait_min=math.nan,
        followed_up=False,
        system_case_id=2**62,
        detective=-7,
        policy="platform",
    )
    table.append(odd)
    back = table[-1]
    assert back.reported_at_min == math.inf
    assert math.copysign(1, back.started_at_min) == -1
    assert math.isnan(back.detective_wait_min)
    assert back.system_case_id == 2**62
    assert back.detective == -7


def test_columns_give_the_table_without_building_records() -> None:
    table = PackedRecords(NotificationRecord, [notification(i) for i in range(20)])
    columns = table.columns()
    assert list(columns) == list(NotificationRecord.COLUMNS)
    assert columns["resident"].dtype == np.int64
    assert columns["notified_at_min"].dtype == np.float64
    assert columns["home_in_slice"].dtype == np.bool_
    assert columns["resident"].tolist() == list(range(20))
    assert columns["notified_at_min"].tolist() == [i * 0.25 + 1e-9 for i in range(20)]
    assert columns["home_in_slice"].tolist() == [i % 5 != 0 for i in range(20)]
    # The columns are copies: the table still grows after they were taken.
    table.append(notification(20))
    assert len(table) == 21
    assert table[20] == notification(20)
    assert PackedRecords(CaseRecord).columns()["policy"] == []
    assert PackedRecords(CaseRecord).columns()["case_id"].size == 0


def test_equality_with_tables_and_sequences() -> None:
    a = PackedRecords(NotificationRecord, [notification(i) for i in range(5)])
    b = PackedRecords(NotificationRecord, [notification(i) for i in range(5)])
    assert a == b
    assert a == [notification(i) for i in range(5)]
    assert a == tuple(notification(i) for i in range(5))
    b.append(notification(5))
    assert a != b
    assert a != [notification(i) for i in range(6)]
    assert a != PackedRecords(OptOutRecord)


def test_a_table_holds_only_its_own_record_type() -> None:
    table = PackedRecords(NotificationRecord)
    theft = TheftRecord(
        theft_id=1,
        at_min=0.0,
        home=0,
        thief_id=0,
        ordinal=0,
        in_spree=False,
        cameras_viewing=0,
        packages=1,
        delivered_at_min=0.0,
        discovered_at_min=0.0,
        in_slice=True,
    )
    with pytest.raises(TypeError, match="cannot hold TheftRecord"):
        table.append(theft)  # type: ignore[arg-type]
    assert len(table) == 0


def test_packed_records_take_a_fraction_of_the_objects_memory() -> None:
    n = 20_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        as_objects = [notification(i) for i in range(n)]
        objects_bytes = tracemalloc.get_traced_memory()[0] - before
        before = tracemalloc.get_traced_memory()[0]
        packed = PackedRecords(NotificationRecord, as_objects)
        packed_bytes = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(packed) == n
    # Eight columns: 7 numbers of 8 bytes and a bool, 57 bytes a row against ~190 as objects.
    assert packed_bytes < 80 * n
    assert packed_bytes * 2.5 < objects_bytes


def test_a_packed_table_goes_to_arrow_as_its_records_would() -> None:
    records = [case(i, "platform" if i % 2 else "victim") for i in range(30)]
    packed = PackedRecords(CaseRecord, records)

    class Result:
        def tables(self) -> dict[str, object]:
            return {"cases": packed}

    class Objects:
        def tables(self) -> dict[str, object]:
            return {"cases": tuple(records)}

    from_packed = replication_tables(Result())["cases"]  # type: ignore[arg-type]
    from_objects = replication_tables(Objects())["cases"]  # type: ignore[arg-type]
    assert from_packed.equals(from_objects)
    assert from_packed.schema.field("case_id").type == pa.int64()
    assert from_packed.column("policy").to_pylist()[:2] == ["victim", "platform"]


def verdict(accepted: bool | None) -> AnswerVerdict:
    return AnswerVerdict(accepted)


def response(i: int) -> ResponseRecord:
    return ResponseRecord(
        request_id=1,
        case_id=1,
        resident=i,
        profile="engaged",
        notified_at_min=0.0,
        responded_at_min=float(i),
        clips_shared=i % 2,
        relevant_clips_shared=0,
        relevant_clips_lost=0,
        accepted=False,
    )


def test_settled_answers_go_to_the_log_in_order_and_the_rest_wait() -> None:
    log = RecordLog()
    book = ResidentBook(np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.bool_))
    pending = [verdict(True), verdict(False), verdict(None), verdict(True)]
    for i, v in enumerate(pending):
        book.answer(response(i), v, log)
    book.settle(log)
    # The first two went, with their verdicts; the third is not settled, so it and the
    # fourth (settled, but after it) wait: the log keeps the order answers came in.
    assert [(r.resident, r.accepted) for r in log.responses] == [(0, True), (1, False)]
    assert [r.resident for r, _v in book.answers] == [2, 3]
    pending[2].settle(True)
    book.settle(log, final=True)
    assert [(r.resident, r.accepted) for r in log.responses] == [
        (0, True),
        (1, False),
        (2, True),
        (3, True),
    ]
    assert book.answers == []
    book.answer(response(4), verdict(None), log)
    with pytest.raises(RuntimeError, match="not applied"):
        book.settle(log, final=True)


def test_answers_are_settled_as_they_pile_up_not_only_at_the_end() -> None:
    log = RecordLog()
    book = ResidentBook(np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.bool_))
    for i in range(SETTLE_EVERY):
        book.answer(response(i), verdict(True), log)
    assert len(log.responses) == SETTLE_EVERY
    assert book.answers == []


def test_where_keeps_the_flagged_records_in_order_still_packed() -> None:
    records = [case(i, "platform" if i % 3 else "victim") for i in range(12)]
    packed = PackedRecords(CaseRecord, records)
    keep = [i % 4 != 1 for i in range(12)]
    chosen = packed.where(keep)
    assert isinstance(chosen, PackedRecords)
    assert list(chosen) == [r for r, k in zip(records, keep, strict=True) if k]
    assert kept(tuple(records), keep) == tuple(r for r, k in zip(records, keep, strict=True) if k)
    assert len(packed.where([False] * 12)) == 0
    packed.append(case(12, "canvass"))  # the original still grows after a selection
    assert packed[-1].policy == "canvass"
    with pytest.raises(ValueError, match="12 flags for 13 records"):
        packed.where(keep)


def test_a_value_of_the_wrong_type_is_named_and_nothing_is_kept() -> None:
    table = PackedRecords(NotificationRecord, [notification(0)])
    bad = dataclasses.replace(notification(1), resident=None)
    with pytest.raises(TypeError, match=r"NotificationRecord\.resident is int, not NoneType"):
        table.append(bad)
    assert len(table) == 1
    assert list(table) == [notification(0)]


def test_columns_appended_at_once_are_the_records_appended_one_by_one() -> None:
    records = [notification(i) for i in range(12)]
    one_by_one = PackedRecords(NotificationRecord, records)
    at_once = PackedRecords(NotificationRecord, records[:2])
    rest = records[2:]
    at_once.append_columns(
        len(rest),
        **{name: [getattr(r, name) for r in rest] for name in NotificationRecord.COLUMNS},
    )
    assert at_once == one_by_one
    assert list(at_once) == records
    # A value every record shares is given once.
    shared = PackedRecords(NotificationRecord)
    shared.append_columns(
        3,
        request_id=9,
        case_id=90,
        resident=(1, 2, 3),  # a tuple is a column too
        home=[10, 20, 30],
        notified_at_min=5.5,
        requests_received=[1, 1, 2],
        relevant_clips_lost=0,
        home_in_slice=True,
    )
    assert [(r.request_id, r.resident, r.notified_at_min) for r in shared] == [
        (9, 1, 5.5),
        (9, 2, 5.5),
        (9, 3, 5.5),
    ]


def test_columns_that_do_not_fit_the_record_are_refused_and_nothing_is_kept() -> None:
    table = PackedRecords(NotificationRecord, [notification(0)])
    columns = {name: [getattr(notification(1), name)] for name in NotificationRecord.COLUMNS}
    misnamed = {("house" if name == "home" else name): value for name, value in columns.items()}
    with pytest.raises(TypeError, match=r"missing \['home'\], unknown \['house'\]"):
        table.append_columns(1, **misnamed)
    columns = {name: [getattr(notification(1), name)] for name in NotificationRecord.COLUMNS}
    with pytest.raises(ValueError, match="column resident has 2 values, not 1"):
        table.append_columns(1, **{**columns, "resident": [1, 2]})
    with pytest.raises(TypeError, match=r"NotificationRecord\.resident is int, not NoneType"):
        table.append_columns(1, **{**columns, "resident": [None]})
    assert list(table) == [notification(0)]
