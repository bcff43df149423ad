"""Cameras upload clips with a device token: a streamed body, size-limited, hash-checked.

The body is the clip (``application/octet-stream``); ``X-Content-SHA256`` is
the SHA-256 the camera computed. The body streams into the encrypted clip
store without being held in memory; a mismatch stores nothing (XFR-01).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import anyio.from_thread
from fastapi import APIRouter, Header, Request, status

from system.api.schemas import ClipPublic
from system.api.security import DeviceCamera, ServicesDep
from system.service_layer import clips

router = APIRouter(prefix="/devices", tags=["devices"])

_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _chunks_from_loop(request: Request) -> Iterator[bytes]:
    """The request body as a blocking iterator, for service code running in a worker thread."""
    stream = request.stream()
    while True:
        try:
            chunk = anyio.from_thread.run(stream.__anext__)
        except StopAsyncIteration:
            return
        if chunk:
            yield chunk


@router.post("/clips", status_code=status.HTTP_201_CREATED, openapi_extra=_UPLOAD_DOC)
async def upload_clip(
    request: Request,
    camera_id: DeviceCamera,
    svc: ServicesDep,
    sha256: Annotated[str, Header(alias="X-Content-SHA256", pattern="^[0-9a-fA-F]{64}$")],
) -> ClipPublic:
    clip_id = await svc.in_thread(
        clips.upload_clip,
        camera_id=camera_id,
        content=_chunks_from_loop(request),
        expected_sha256=sha256.lower(),
    )
    return ClipPublic(clip_id=clip_id)
