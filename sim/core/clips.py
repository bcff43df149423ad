"""The clips cameras recorded, as the model knows them.

A camera records a clip of every theft on a porch it sees, and motion clips of
passers-by at a Poisson rate (hour by hour, from counter-based draws keyed by
camera and hour: see :func:`sim.core.streams.motion_clip_lists`), so the same
camera holds the same clips in an hour whichever request later asks for them.
A clip exists until the camera's retention deletes it. The
:class:`ClipCatalogue` gives each clip the model names (when it is first
shared) a key of its own; the driver uploads it then and maps evidence back to
the key.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

from sim.core.params import MIN_PER_DAY, MIN_PER_HOUR, ModelParams
from sim.core.population import Population
from sim.core.ports import ClipSpec
from sim.core.streams import motion_clip_lists


@dataclass
class ClipCatalogue:
    """Every clip named so far, by key, and when each case first received each clip."""

    params: ModelParams
    population: Population
    seed: int
    _keys: dict[tuple[int, float], int] = field(default_factory=dict)  # (camera, at) -> key
    # Each named clip's camera, time and theft, indexed by key (keys are 1, 2, 3, ...):
    # columns rather than an object a clip, which took ~450 bytes each in a county-year.
    _cameras: array[int] = field(default_factory=lambda: array("q", [0]))
    _recorded_at: array[float] = field(default_factory=lambda: array("d", [0.0]))
    _thefts: array[int] = field(default_factory=lambda: array("q", [0]))
    shared_at: dict[tuple[int, int], float] = field(default_factory=dict)  # (case, key) -> min

    def __post_init__(self) -> None:
        p = self.params
        self._size_bytes = max(1, round(p.clip_size_bytes * p.byte_scale))

    def _check(self, key: int) -> int:
        if not 0 < key < len(self._cameras):
            raise KeyError(f"no clip has key {key} (keys are 1..{len(self._cameras) - 1})")
        return key

    def spec(self, key: int) -> ClipSpec:
        """The clip as the driver uploads it."""
        p = self.params
        return ClipSpec(
            key=self._check(key),
            camera=self._cameras[key],
            recorded_at_min=self._recorded_at[key],
            duration_s=p.clip_duration_s,
            size_bytes=self._size_bytes,
            has_audio=p.clip_has_audio,
        )

    def camera(self, key: int) -> int:
        return self._cameras[self._check(key)]

    def recorded_at_min(self, key: int) -> float:
        return self._recorded_at[self._check(key)]

    def theft_id(self, key: int) -> int:
        """The theft the clip shows, -1 for a bystander motion clip."""
        return self._thefts[self._check(key)]

    def expired(self, camera: int, recorded_at_min: float, at_min: float) -> bool:
        """Retention has deleted the camera's clip recorded at ``recorded_at_min`` by then."""
        retention = float(self.population.camera_retention_days[camera]) * MIN_PER_DAY
        return at_min - recorded_at_min > retention

    def motion_clips(self, camera: int, start_min: float, end_min: float) -> list[float]:
        """Motion clips the camera recorded in ``[start_min, end_min]``, from its own draws
        hour by hour."""
        return self.motion_clips_of([camera], start_min, end_min)[0]

    def motion_clips_of(
        self, cameras: list[int], start_min: float, end_min: float
    ) -> list[list[float]]:
        """:meth:`motion_clips` of each camera, drawn in one block (the same times)."""
        block = motion_clip_lists(
            self.seed,
            cameras,
            math.floor(start_min / MIN_PER_HOUR),
            int(end_min // MIN_PER_HOUR),
            self.params.motion_clips_per_camera_per_min * MIN_PER_HOUR,
        )
        return [[t for t in times if start_min <= t <= end_min] for times in block]

    def name(self, camera: int, recorded_at_min: float, theft_id: int) -> int:
        """The model's key for a recorded clip (the driver uploads it when first shared)."""
        key = self._keys.get((camera, recorded_at_min))
        if key is None:
            key = self._keys[(camera, recorded_at_min)] = len(self._keys) + 1
            self._cameras.append(camera)
            self._recorded_at.append(recorded_at_min)
            self._thefts.append(theft_id)
        return key
