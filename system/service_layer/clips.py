"""Cameras' uploads: a clip's metadata comes from the clip itself (XFR-06).

The SHA-256 is recorded at upload (XFR-01). :func:`upload_clip` streams one
clip (the device route); :func:`upload_clips` records many in one transaction
(the simulation's set-based path) with the same checks and records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from system.domain.audit import AuditEvent
from system.domain.clip import ClipMetadata, read_metadata
from system.domain.errors import NotFound
from system.domain.model import Camera
from system.domain.stores import StoredObject
from system.service_layer.context import ServiceContext
from system.service_layer.transfer import MAX_CLIP_BYTES
from system.service_layer.unit_of_work import UnitOfWork


def upload_clip(
    ctx: ServiceContext,
    *,
    camera_id: int,
    content: bytes | Iterable[bytes],
    expected_sha256: str | None = None,
) -> int:
    """A camera uploads a clip; its metadata is read from the clip itself (XFR-06).

    The SHA-256 is recorded at upload (XFR-01); a clip without a recorded-at
    time is stored but flagged, never stamped with the receipt time.
    """
    chunks = [content] if isinstance(content, bytes | bytearray) else content
    iterator = iter(chunks)
    head = b""
    buffered: list[bytes] = []
    for chunk in iterator:
        buffered.append(bytes(chunk))
        head += bytes(chunk)
        if b"\n" in head[5:] or len(head) > 4096:
            break
    meta = read_metadata(head)

    def everything() -> Iterable[bytes]:
        yield from buffered
        yield from iterator

    with ctx.uow(read_only=True) as uow:
        camera = _cameras(uow, [camera_id])[camera_id]
    stored = ctx.stores.clips.put(
        everything(), expected_sha256=expected_sha256, max_bytes=MAX_CLIP_BYTES
    )
    return _record_clips(ctx, [(camera, stored, meta, ctx.clock.now())])[0]


@dataclass(frozen=True)
class ClipUpload:
    """One clip of :func:`upload_clips`: whole content in memory, uploaded at ``at``
    (default now; never later than now)."""

    camera_id: int
    content: bytes
    at: datetime | None = None


def upload_clips(ctx: ServiceContext, uploads: Sequence[ClipUpload]) -> list[int]:
    """Many cameras' uploads at once (the simulation's set-based path): the same checks
    and records as :func:`upload_clip`, one transaction for all; clip ids in order.

    An unknown or inactive camera refuses the whole batch before anything is stored.
    """
    now = ctx.clock.now()
    with ctx.uow(read_only=True) as uow:
        cameras = _cameras(uow, [u.camera_id for u in uploads])
    staged = _store(ctx, uploads, cameras, now)
    return _record_clips(ctx, staged)


def upload_clips_in(
    uow: UnitOfWork, ctx: ServiceContext, uploads: Sequence[ClipUpload], now: datetime
) -> list[int]:
    """:func:`upload_clips` inside the caller's unit of work (which commits): the cameras
    are checked in it, then the content stored and the clips recorded."""
    if not uploads:
        return []
    cameras = _cameras(uow, [u.camera_id for u in uploads])
    return record_clips(uow, _store(ctx, uploads, cameras, now))


def _store(
    ctx: ServiceContext,
    uploads: Sequence[ClipUpload],
    cameras: dict[int, Camera],
    now: datetime,
) -> list[tuple[Camera, StoredObject, ClipMetadata, datetime]]:
    checked = [(not_after(u.at, now), read_metadata(u.content[:4096])) for u in uploads]
    outcomes = ctx.stores.clips.put_many(
        [(upload.content, None) for upload in uploads], max_bytes=MAX_CLIP_BYTES
    )
    staged = []
    for upload, (at, meta), stored in zip(uploads, checked, outcomes, strict=True):
        if isinstance(stored, Exception):
            raise stored
        staged.append((cameras[upload.camera_id], stored, meta, at))
    return staged


def _record_clips(
    ctx: ServiceContext, staged: Sequence[tuple[Camera, StoredObject, ClipMetadata, datetime]]
) -> list[int]:
    with ctx.uow() as uow:
        clip_ids = record_clips(uow, staged)
        uow.commit()
    return clip_ids


def record_clips(
    uow: UnitOfWork, staged: Sequence[tuple[Camera, StoredObject, ClipMetadata, datetime]]
) -> list[int]:
    """The stored clips' rows and their audit entries, set-based, in the caller's unit of work."""
    clip_ids = uow.clips.add_many(
        [
            {
                "camera_id": camera.id,
                "resident_id": camera.resident_id,
                "sha256": stored.sha256,
                "size_bytes": stored.size,
                "recorded_at": meta.recorded_at,
                "duration_s": meta.duration_s,
                "has_audio": meta.has_audio,
                "flags": meta.flags,
                "uploaded_at": at,
                "delete_after": (meta.recorded_at or at) + timedelta(days=camera.retention_days),
                "status": "stored",
            }
            for camera, stored, meta, at in staged
        ]
    )
    uow.audit.record_many(
        [
            (
                AuditEvent(
                    actor=f"device:{camera.id}",
                    role="device",
                    object=f"clip:{clip_id}",
                    action="clip.upload",
                    details={"sha256": stored.sha256, "flags": list(meta.flags)},
                ),
                at,
            )
            for clip_id, (camera, stored, meta, at) in zip(clip_ids, staged, strict=True)
        ]
    )
    return clip_ids


def not_after(at: datetime | None, now: datetime) -> datetime:
    """A batch item's time: ``now`` if none was given; never later than now."""
    if at is None:
        return now
    if at > now:
        raise ValueError(f"a batch item at {at.isoformat()} is later than now ({now.isoformat()})")
    return at


def _cameras(uow: UnitOfWork, camera_ids: Sequence[int]) -> dict[int, Camera]:
    found = uow.cameras.active(camera_ids)
    missing = [c for c in sorted(set(camera_ids)) if c not in found]
    if missing:
        raise NotFound(f"no active camera {missing[0]}", field="camera_id")
    return found
