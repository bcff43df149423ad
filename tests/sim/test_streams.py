"""Counter-based motion-clip draws: deterministic per (seed, camera, hour), Poisson in count."""

from __future__ import annotations

import numpy as np
from scipy import stats

from sim.core.streams import hashed_uniforms, motion_clip_lists


def clip_times(
    seed: int, camera: int, first_slot: int, last_slot: int, rate_per_hour: float
) -> np.ndarray:
    """One camera's motion-clip times as an array."""
    return np.array(motion_clip_lists(seed, [camera], first_slot, last_slot, rate_per_hour)[0])


def test_hashed_uniforms_depend_only_on_seed_and_keys() -> None:
    a = hashed_uniforms(7, 3, np.arange(1000))
    assert np.array_equal(a, hashed_uniforms(7, 3, np.arange(1000)))
    assert np.array_equal(a[500:], hashed_uniforms(7, 3, np.arange(500, 1000)))  # any batch
    assert not np.array_equal(a, hashed_uniforms(8, 3, np.arange(1000)))
    assert ((a >= 0) & (a < 1)).all()
    # Uniform on [0, 1): a Kolmogorov-Smirnov test on 100k draws does not reject.
    big = hashed_uniforms(1, 2, np.arange(100_000))
    assert stats.kstest(big, "uniform").pvalue > 0.001


def test_an_hour_of_a_camera_is_the_same_whichever_window_asks() -> None:
    wide = clip_times(5, camera=42, first_slot=10, last_slot=30, rate_per_hour=2.0)
    narrow = clip_times(5, camera=42, first_slot=20, last_slot=22, rate_per_hour=2.0)
    in_narrow = wide[(wide >= 20 * 60) & (wide < 23 * 60)]
    assert np.array_equal(in_narrow, narrow)
    assert np.all(np.diff(wide) >= 0)
    assert ((wide >= 600) & (wide < 31 * 60)).all()


def test_counts_per_hour_are_poisson() -> None:
    rate = 0.5
    times = np.concatenate(
        [clip_times(9, camera, 0, 199, rate) for camera in range(200)]
    )  # 40,000 camera-hours
    hours = 200 * 200
    mean = times.size / hours
    assert abs(mean - rate) < 4 * np.sqrt(rate / hours)
    # Share of empty camera-hours against e^-rate.
    per_hour = np.concatenate(
        [
            np.bincount((clip_times(9, camera, 0, 199, rate) // 60).astype(int), minlength=200)
            for camera in range(200)
        ]
    )
    empty = float(np.mean(per_hour == 0))
    assert abs(empty - np.exp(-rate)) < 4 * np.sqrt(np.exp(-rate) * (1 - np.exp(-rate)) / hours)
    assert per_hour.sum() == times.size


def test_motion_clips_drawn_for_many_cameras_at_once_are_each_cameras_own() -> None:
    cameras = [3, 42, 42, 7, 100_000]
    for first, last, rate in ((-5, 20, 2.0), (10, 10, 0.5), (0, 40, 0.05), (4, 3, 2.0)):
        together = motion_clip_lists(11, cameras, first, last, rate)
        alone = [clip_times(11, camera, first, last, rate).tolist() for camera in cameras]
        assert together == alone
    assert motion_clip_lists(11, [], 0, 10, 2.0) == []


def test_the_draws_keep_their_values_across_implementations() -> None:
    """Pinned values: a change to how the hash is computed must not move any draw (every
    scenario's outcomes would move with it)."""
    assert hashed_uniforms(7, 3, np.arange(3)).tolist() == [
        0.8566859223220453,
        0.7834730697364432,
        0.6227708114545624,
    ]
    assert clip_times(5, camera=42, first_slot=-2, last_slot=3, rate_per_hour=2.0).tolist() == [
        -97.96451707170466,
        -90.48529210183767,
        41.66096598872213,
        105.39736238180271,
        118.87390250581961,
        128.83316111394927,
        138.54609006605412,
        228.16702953540351,
    ]


def test_a_key_gives_the_same_draw_as_a_number_or_inside_an_array() -> None:
    """Single-number keys are hashed on Python ints, array keys with numpy: both agree,
    wherever in the keys the array comes."""
    keys = (6, 123_456, 17, 2, 1, 5)
    alone = float(hashed_uniforms(1, *keys))
    for position in range(len(keys)):
        as_array = list(keys)
        as_array[position] = np.array([keys[position], keys[position] + 1])
        both = hashed_uniforms(1, *as_array)
        assert both[0] == alone
        assert both[1] != alone
    assert hashed_uniforms(1, np.int64(6), 123_456, 17, 2, 1, 5) == alone
