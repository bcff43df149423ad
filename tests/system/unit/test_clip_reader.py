"""The clip reader refuses hostile headers with a clear error, never a crash (SEC-06, XFR-06)."""

from __future__ import annotations

import pytest

from system.domain.clip import MAGIC, MAX_HEADER_BYTES, encode_clip, read_metadata
from system.domain.errors import InvalidInput


def clip_with_header(header: bytes) -> bytes:
    return MAGIC + header + b"\n" + b"\x00" * 16


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b"[" * 2000 + b"]" * 2000, id="2000-nested-arrays"),
        pytest.param(b'{"a":' * 700 + b"1" + b"}" * 700, id="700-nested-objects"),
        pytest.param(b'{"tracks":[{"kind":"video","bytes":Infinity}]}', id="infinite-size"),
        pytest.param(b'{"tracks":[{"kind":"video","bytes":1e400}]}', id="overflowing-size"),
        pytest.param(b'{"tracks":[{"kind":"video","bytes":10}],"duration_s":NaN}', id="nan"),
        pytest.param(b'{"tracks":{"kind":"video"}}', id="tracks-not-a-list"),
        pytest.param(b'{"tracks":[{"kind":"video","bytes":"' + b"9" * 5000 + b'"}]}', id="long"),
    ],
)
def test_sec06_a_hostile_clip_header_is_refused_as_invalid_input(header: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_metadata(clip_with_header(header)[: MAX_HEADER_BYTES + 64])
    assert refused.value.problems[0].field == "clip"


def test_sec06_a_header_nested_past_the_depth_limit_names_the_limit() -> None:
    with pytest.raises(InvalidInput, match="nested"):
        read_metadata(clip_with_header(b'{"x":' + b"[" * 40 + b"]" * 40 + b"}"))


def test_xfr06_an_ordinary_clip_header_still_reads() -> None:
    meta = read_metadata(encode_clip(recorded_at=None, duration_s=3.0, video=b"v" * 10))
    assert meta.duration_s == 3.0
    assert meta.flags == ("missing_recorded_at",)


def test_sec06_the_depth_limit_is_exact_whatever_the_count_of_brackets() -> None:
    """Depth, not the number of brackets, is judged: nine levels are refused, eight read
    (as unknown keys), and a header of many shallow tracks reads."""

    def nested(levels: int) -> bytes:  # the header, its track list, a track: 3 levels
        arrays = levels - 3
        return b'{"tracks":[{"kind":"video","bytes":1,"x":' + b"[" * arrays + b"]" * arrays + b"}]}"

    assert read_metadata(clip_with_header(nested(8))).tracks[0].size_bytes == 1
    with pytest.raises(InvalidInput, match="nested deeper than 8"):
        read_metadata(clip_with_header(nested(9)))
    many = b",".join([b'{"kind":"video","bytes":1}'] * 40)
    meta = read_metadata(clip_with_header(b'{"tracks":[' + many + b"]}"))
    assert len(meta.tracks) == 40
