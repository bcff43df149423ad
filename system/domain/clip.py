"""The clip container cameras upload, and what the platform reads from it.

Canvass's simulated cameras upload clips in a small container ("CVC1"): a
magic line, one JSON header line with the clip's own metadata (recorded-at
time, duration, tracks), then each track's bytes in order. The recorded-at
time is read from this metadata, never taken from the upload time (XFR-06),
and dropping the audio track makes a derived copy with its own hash (PRV-03,
XFR-04). A real deployment would put an MP4 demuxer behind the same functions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from system.domain.errors import invalid

MAGIC = b"CVC1\n"
MAX_HEADER_BYTES = 4096
MAX_HEADER_DEPTH = 8
"""Nesting the header may have (it needs 3: object, track list, track). Checked before
parsing, since Python's JSON parser recurses and a deep enough document crashes it."""


@dataclass(frozen=True)
class Track:
    kind: str  # "video" | "audio"
    size_bytes: int


@dataclass(frozen=True)
class ClipMetadata:
    recorded_at: datetime | None
    duration_s: float
    tracks: tuple[Track, ...]
    header_bytes: int  # bytes before the first track (magic + header line)

    @property
    def has_audio(self) -> bool:
        return any(t.kind == "audio" for t in self.tracks)

    @property
    def flags(self) -> tuple[str, ...]:
        return () if self.recorded_at is not None else ("missing_recorded_at",)


def encode_clip(
    *, recorded_at: datetime | None, duration_s: float, video: bytes, audio: bytes | None = None
) -> bytes:
    """Build a clip (for simulated cameras and tests)."""
    tracks = [{"kind": "video", "bytes": len(video)}]
    if audio is not None:
        tracks.append({"kind": "audio", "bytes": len(audio)})
    header = {
        "recorded_at": None if recorded_at is None else recorded_at.isoformat(),
        "duration_s": duration_s,
        "tracks": tracks,
    }
    return MAGIC + json.dumps(header).encode() + b"\n" + video + (audio or b"")


def read_metadata(head: bytes) -> ClipMetadata:
    """Parse the metadata from the first bytes of a clip (at least the header line)."""
    if not head.startswith(MAGIC):
        raise invalid("clip", "XFR-06", "not a CVC1 clip: the file must start with 'CVC1'")
    end = head.find(b"\n", len(MAGIC))
    if end < 0 or end > MAX_HEADER_BYTES:
        raise invalid("clip", "XFR-06", "the clip's metadata header is missing or too long")
    line = head[len(MAGIC) : end]
    # No deeper than its count of openers: the byte walk is needed only past that.
    openers = line.count(b"[") + line.count(b"{")
    if openers > MAX_HEADER_DEPTH and nesting_depth(line) > MAX_HEADER_DEPTH:
        raise invalid(
            "clip", "SEC-06", f"the clip's metadata header is nested deeper than {MAX_HEADER_DEPTH}"
        )
    try:
        header = json.loads(line, parse_constant=_refuse_constant)
        if not isinstance(header, dict) or not isinstance(header.get("tracks"), list):
            raise TypeError("the header must be an object with a list of tracks")
        tracks = tuple(Track(str(t["kind"]), int(t["bytes"])) for t in header["tracks"])
        duration = float(header.get("duration_s", 0.0))
        stamp = header.get("recorded_at")
        recorded_at = None if stamp in (None, "") else datetime.fromisoformat(str(stamp))
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
        raise invalid("clip", "XFR-06", f"the clip's metadata header is malformed: {exc}") from exc
    if recorded_at is not None and recorded_at.tzinfo is None:
        raise invalid("clip", "XFR-06", "recorded_at in the clip's metadata must carry a timezone")
    if not tracks or any(t.kind not in ("video", "audio") or t.size_bytes < 0 for t in tracks):
        raise invalid("clip", "XFR-06", "the clip must list video/audio tracks with sizes")
    if not math.isfinite(duration) or duration < 0:
        raise invalid("clip", "XFR-06", "duration_s must be a non-negative number")
    return ClipMetadata(recorded_at, duration, tracks, end + 1)


def nesting_depth(document: bytes) -> int:
    """How deeply a JSON document's arrays and objects nest, counted without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in document:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a clip's metadata may hold")


def without_audio(meta: ClipMetadata, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Stream a derived copy of a clip with its audio track removed."""
    video_tracks = [
        {"kind": t.kind, "bytes": t.size_bytes} for t in meta.tracks if t.kind != "audio"
    ]
    header = {
        "recorded_at": None if meta.recorded_at is None else meta.recorded_at.isoformat(),
        "duration_s": meta.duration_s,
        "tracks": video_tracks,
    }
    yield MAGIC + json.dumps(header).encode() + b"\n"
    # Byte ranges of the original to keep: every non-audio track.
    keep: list[tuple[int, int]] = []
    offset = meta.header_bytes
    for track in meta.tracks:
        if track.kind != "audio":
            keep.append((offset, offset + track.size_bytes))
        offset += track.size_bytes
    position = 0
    for chunk in chunks:
        start, end = position, position + len(chunk)
        for lo, hi in keep:
            a, b = max(lo, start), min(hi, end)
            if a < b:
                yield bytes(chunk[a - start : b - start])
        position = end
