"""The parcel behind each theft: when it was delivered, and when it would have been
taken in (the moment the victim finds it gone).

Thefts are drawn per household (calibration#derived), so their number and their hours
come from the theft rate and the observed theft hours. What the parcels add is
what the victim and the detective know: not the moment of the theft, but that the
parcel came at some time and was missing when someone came for it. That interval
is what a request window has to cover, so the delivery hours and the porch dwell
change how wide a request is, whether its window holds the theft at all, and how
long after the theft the victim reports.

**The draw.** Parcels arrive at a home at an hourly rate proportional to
``delivery_hour_weights`` and each sits on the porch for a dwell ``D`` (lognormal
with the scenario's median and shape; the median times ``prevention_dwell_factor``
at a home with a prevention habit). A thief at time ``t`` takes one of the parcels
on the porch then. In a steady stream of deliveries, a parcel on the porch at ``t``
was delivered ``a`` minutes earlier with density proportional to
``r(hour(t - a)) · S(a)``, ``S`` the dwell's survival function (the age of a
customer in service in an M/G/∞ queue). Its dwell given that it was still there
at age ``a`` is ``D | D > a``, so it would have been taken in at ``t - a + D``.

The age is drawn on cells of :data:`STEP_MIN` minutes aligned to the clock (so
each lies inside one delivery hour; uniform inside the cell, the survival taken at
its middle to the minute), for ages up to the dwell's 0.99999 quantile, at least
a day, at most :data:`MAX_AGE_MIN`; ``D | D > a`` by inverting the lognormal's
distribution on ``(F(a), 1)``. Each theft takes exactly three uniforms from its
stream, so common random numbers survive a change of any parcel parameter.

A theft no parcel could explain (a dwell of zero spread that ends before any
delivery hour reaches ``t``) is given the latest delivery before it, and is
found at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from sim.core.params import MIN_PER_DAY, MIN_PER_HOUR

STEP_MIN = 5.0
MAX_AGE_MIN = 14 * MIN_PER_DAY
_TAIL_Z = 4.265  # the standard normal's 0.99999 quantile


@dataclass(frozen=True, slots=True)
class Parcel:
    delivered_at_min: float
    discovered_at_min: float  # when the household would have taken it in (>= the theft)


class _DwellClass:
    """One dwell distribution: its survival on a one-minute table, and the age grid."""

    __slots__ = ("mu", "sigma", "starts", "survival")

    def __init__(self, median_min: float, sigma: float) -> None:
        self.mu = math.log(median_min)
        self.sigma = sigma
        longest = median_min * math.exp(sigma * _TAIL_Z)
        span = min(MAX_AGE_MIN, max(MIN_PER_DAY, longest))
        cells = math.ceil(span / STEP_MIN)
        self.starts = STEP_MIN * np.arange(-1, cells, dtype=np.float64)  # before the offset
        self.survival = self._survival(np.arange(math.ceil(span) + 2 * STEP_MIN) + 0.5)

    def _survival(self, ages: np.ndarray) -> np.ndarray:
        if self.sigma == 0:
            return (ages < math.exp(self.mu)).astype(np.float64)
        return np.asarray(ndtr((self.mu - np.log(ages)) / self.sigma), dtype=np.float64)

    def dwell_beyond(self, age: float, u: float) -> float:
        """The dwell ``D | D > age`` at uniform ``u``."""
        if self.sigma == 0:
            return max(age, math.exp(self.mu))
        low = float(ndtr((math.log(age) - self.mu) / self.sigma)) if age > 0 else 0.0
        z = float(ndtri(low + (1.0 - low) * u))
        dwell = math.exp(self.mu + self.sigma * z) if math.isfinite(z) else age
        return max(age, dwell)


class ParcelExposure:
    """Draws the parcel behind a theft (see the module's docstring)."""

    def __init__(
        self,
        delivery_hour_weights: tuple[float, ...],
        *,
        dwell_median_min: float,
        dwell_sigma: float,
        prevention_dwell_factor: float,
    ) -> None:
        weights = np.asarray(delivery_hour_weights, dtype=np.float64)
        if weights.shape != (24,) or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("delivery hour weights need 24 non-negative values, not all zero")
        if not dwell_median_min > 0 or dwell_sigma < 0:
            raise ValueError("the porch dwell needs a positive median and a non-negative shape")
        self._weights = weights
        self._classes = {False: _DwellClass(dwell_median_min, dwell_sigma)}
        prevented = dwell_median_min * prevention_dwell_factor
        # With a factor of 0 such homes are never robbed (their risk is 0): no class needed.
        if prevented > 0:
            self._classes[True] = _DwellClass(prevented, dwell_sigma)

    def draw(self, rng: np.random.Generator, at_min: float, *, prevention: bool) -> Parcel:
        cls = self._classes.get(prevention, self._classes[False])
        u_age, u_jitter, u_dwell = rng.random(3).tolist()
        # Cells of STEP_MIN on the clock (so each lies inside one delivery hour): the first
        # holds the ages up to the theft's offset into its cell, the others a whole step.
        offset = at_min % STEP_MIN
        low = np.maximum(cls.starts + offset, 0.0)
        high = cls.starts + offset + STEP_MIN
        middle = (low + high) / 2
        hours = ((at_min - middle) // MIN_PER_HOUR).astype(np.int64) % 24
        rate = self._weights[hours] * (high - low)
        density = rate * cls.survival[middle.astype(np.int64)]
        cumulative = np.cumsum(density)
        total = float(cumulative[-1])
        if total > 0:
            cell = min(int(np.searchsorted(cumulative, u_age * total, side="right")), low.size - 1)
            age = float(low[cell] + (high[cell] - low[cell]) * u_jitter)
            dwell = cls.dwell_beyond(age, u_dwell)
        else:  # no parcel could still be there: the latest delivery, found gone at once
            cell = int(np.flatnonzero(rate > 0)[0])
            age = float(low[cell] + (high[cell] - low[cell]) * u_jitter)
            dwell = age
        delivered = at_min - age
        return Parcel(delivered, delivered + dwell)


SHORTEST_WINDOW_MIN = 15.0  # REQ-02


def request_window(
    parcel: Parcel, *, now_min: float, length_min: float, fit: str
) -> tuple[float, float]:
    """The window a detective asks for, knowing only the parcel's time on the porch.

    ``"fixed"``: ``length_min`` long, centred on that time. ``"exposure"``: that time
    itself, widened about its middle to the 15 minutes REQ-02 requires, cut about its
    middle to ``length_min``. Either way it ends no later than ``now_min``.
    """
    start, end = parcel.delivered_at_min, parcel.discovered_at_min
    if fit == "exposure":
        length = min(max(end - start, SHORTEST_WINDOW_MIN), length_min)
    else:
        length = length_min
    window_end = min((start + end + length) / 2, now_min)
    return window_end - length, window_end


def followup_window(
    parcel: Parcel, asked: tuple[float, float], *, now_min: float, length_min: float
) -> tuple[float, float] | None:
    """A second request's window: the longer part of the parcel's time on the porch that
    the first window (``asked``) left out, next to it, at most ``length_min`` and at least
    the 15 minutes REQ-02 requires (a shorter gap is widened into the part already asked
    for). It ends no later than ``now_min``. ``None`` when the first window covered all
    of that time: a second request would ask for the same footage again."""
    start, end = parcel.delivered_at_min, min(parcel.discovered_at_min, now_min)
    asked_start, asked_end = asked
    before = max(0.0, min(asked_start, end) - start)
    after = max(0.0, end - max(asked_end, start))
    if before <= 0.0 and after <= 0.0:
        return None
    if after >= before:  # the later gap on a tie: footage nearer discovery, kept longer
        length = min(max(after, SHORTEST_WINDOW_MIN), length_min)
        window_end = min(max(asked_end, start) + length, end)
        return window_end - length, window_end
    length = min(max(before, SHORTEST_WINDOW_MIN), length_min)
    window_end = min(max(min(asked_start, end) - length, start) + length, now_min)
    return window_end - length, window_end
