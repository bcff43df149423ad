"""Notified residents, on an in-memory system: the parameters mean what the scenario
docs say (answer and share probabilities whatever the delay, the mean clips per
share), ratios leave out answers censored at the horizon, shares do not know which
clip shows the theft, and the victim is never asked about their own case."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import pytest
from scipy import stats

from sim.core.metrics import replication_metrics
from sim.core.model import CountyModel
from sim.core.params import MIN_PER_DAY, MIN_PER_HOUR, ModelParams, ResidentProfile
from sim.core.population import Population
from sim.core.ports import Notified
from sim.core.records import ModelResult
from sim.core.residents import answer_delay_min
from tests.sim.county_fixtures import busy_params, tiny_county
from tests.sim.fake_system import FakeSystem

MIN_NOTIFICATIONS = 2000
RESPONSE_PROB = 0.6
SIGMA = 1.2  # residents.response_delay_sigma in nassau.toml


@pytest.fixture(scope="module")
def county() -> Population:
    return tiny_county(households=300, camera_share=0.5)


def profile(
    *, share_prob: float, delay_median_min: float, response_prob: float = RESPONSE_PROB
) -> tuple[ResidentProfile, ...]:
    """One profile answering with ``response_prob`` and sharing with ``share_prob``."""
    given = share_prob / response_prob
    return (ResidentProfile("only", 1.0, response_prob, given, delay_median_min, SIGMA, 0.0, 0.0),)


def binomial_interval(n: int, p: float, level: float = 0.99) -> tuple[float, float]:
    """The central ``level`` interval of a Binomial(n, p) count, as a share of ``n``."""
    low, high = stats.binom.interval(level, n, p)
    return low / n, high / n


def settled(result: ModelResult) -> set[tuple[int, int]]:
    """(request, resident) of the notifications whose response period ended by the horizon."""
    last = result.horizon_min - result.response_period_min
    return {(n.request_id, n.resident) for n in result.notifications if n.notified_at_min <= last}


def run(county: Population, params: ModelParams, horizon_min: float, seed: int = 3) -> ModelResult:
    return CountyModel(county, params, FakeSystem(), seed=seed).run(horizon_min)


@pytest.mark.parametrize("share_prob", [0.02, 0.30])  # residents.share_prob's sweep ends
@pytest.mark.parametrize("delay_median_h", [4.0, 72.0])  # response_delay_median_h's
def test_the_share_rate_is_the_share_probability_whatever_the_delay(
    county: Population, share_prob: float, delay_median_h: float
) -> None:
    """A response period half the median delay: 28% of the lognormal's delays fall inside
    it, yet the realised answer and share rates are the probabilities themselves."""
    delay_median_min = delay_median_h * MIN_PER_HOUR
    period_min = delay_median_min / 2
    params = busy_params(
        county.n_homes,
        victim_handover_prob=0.0,  # every case posts a request: none solved by the victim's clip
        thieves_per_household_per_min=20 / MIN_PER_DAY / county.n_homes,
        detectives=6,
        resident_profiles=profile(share_prob=share_prob, delay_median_min=delay_median_min),
        response_period_min=period_min,
        motion_clips_per_camera_per_min=8 / 60,  # P(no clip in the window) = e^-8
        request_window_min=60.0,
        spree_prob=0.0,
    )
    result = run(county, params, 2 * MIN_PER_DAY + period_min)
    n = len(settled(result))
    assert n >= MIN_NOTIFICATIONS
    metrics = replication_metrics(result)
    low, high = binomial_interval(n, share_prob)
    assert low <= metrics["share_rate"] <= high
    low, high = binomial_interval(n, RESPONSE_PROB)
    assert low <= metrics["response_rate"] <= high


def test_answer_delays_fall_inside_the_period_with_the_lognormals_shape() -> None:
    """Conditioned on the period: below it always, and the median of the conditioned
    lognormal is the lognormal's quantile F(period) / 2."""
    median, period = 72 * MIN_PER_HOUR, 36 * MIN_PER_HOUR
    delays = [
        answer_delay_min((i + 0.5) / 1000, median_min=median, sigma=SIGMA, period_min=period)
        for i in range(1000)
    ]
    assert max(delays) < period
    below = stats.norm.cdf(math.log(period / median) / SIGMA)
    expected = median * math.exp(SIGMA * stats.norm.ppf(below / 2))
    assert sorted(delays)[500] == pytest.approx(expected, rel=0.01)


def test_ratios_leave_out_notifications_whose_period_had_not_ended(county: Population) -> None:
    """A horizon that cuts a third of the answers short: the ratios count only the
    notifications whose period ended, and their answers."""
    period_min = 2 * MIN_PER_DAY
    params = busy_params(
        county.n_homes,
        victim_handover_prob=0.0,  # every case posts a request: none solved by the victim's clip
        resident_profiles=profile(share_prob=0.3, delay_median_min=MIN_PER_DAY),
        response_period_min=period_min,
        spree_prob=0.0,
    )
    result = run(county, params, 3 * MIN_PER_DAY)
    done = settled(result)
    answered = [a for a in result.responses if (a.request_id, a.resident) in done]
    metrics = replication_metrics(result)
    assert metrics["notifications_censored"] == len(result.notifications) - len(done) > 0
    assert metrics["response_rate"] == len(answered) / len(done)
    assert metrics["share_rate"] == sum(a.clips_shared > 0 for a in answered) / len(done)
    hours = [(a.responded_at_min - a.notified_at_min) / 60 for a in answered]
    assert metrics["hours_notification_to_response"] == pytest.approx(sum(hours) / len(hours))
    # Counting every notification would understate the answers (those still to come).
    assert (
        len(result.responses) / len(result.notifications)
        < binomial_interval(len(done), RESPONSE_PROB)[0]
    )
    low, high = binomial_interval(len(done), RESPONSE_PROB)
    assert low <= metrics["response_rate"] <= high


def sharing_params(county: Population, clips_per_share_mean: float) -> ModelParams:
    """Everyone answers and shares, with a clip a minute on every camera: a sharer always
    has more clips than they want."""
    return busy_params(
        county.n_homes,
        victim_handover_prob=0.0,  # every case posts a request: none solved by the victim's clip
        resident_profiles=profile(share_prob=1.0, delay_median_min=60.0, response_prob=1.0),
        clips_per_share_mean=clips_per_share_mean,
        motion_clips_per_camera_per_min=1.0,
        request_window_min=60.0,
        spree_prob=0.0,
    )


@pytest.mark.parametrize("mean", [1.5, 4.0])  # Nassau's default, the sweep's top
def test_a_sharer_attaches_the_declared_mean_of_clips(county: Population, mean: float) -> None:
    """Clips beyond the first are Poisson(mean − 1): their total over the shares lies in
    the Poisson count's 99% interval, and a share of one clip is as common as
    P(Poisson = 0) says. (A sharer whose camera keeps a day of footage may
    have nothing left to share: that answer shares no clip and is not a share.)"""
    result = run(county, sharing_params(county, mean), 4 * MIN_PER_DAY)
    shares = [a.clips_shared for a in result.responses if a.clips_shared > 0]
    assert len(shares) >= MIN_NOTIFICATIONS
    extra = sum(shares) - len(shares)
    low, high = stats.poisson.interval(0.99, len(shares) * (mean - 1))
    assert low <= extra <= high
    low, high = binomial_interval(len(shares), math.exp(-(mean - 1)))
    assert low <= shares.count(1) / len(shares) <= high


def test_a_sharer_does_not_know_which_clip_shows_the_theft(county: Population) -> None:
    """One clip each, among ~60 an hour: a resident whose camera saw the theft (every
    camera within 150 m sees the porch) shares the clip nearest the middle of the
    window, rarely the theft's (always, if it came first)."""
    params = dataclasses.replace(
        sharing_params(county, 1.0), neighbour_view_prob=1.0, neighbour_view_max_m=150.0
    )
    model = CountyModel(county, params, FakeSystem(), seed=3)
    result = model.run(3 * MIN_PER_DAY)
    world = model.world
    home_of_case = {t.theft_id: t.home for t in result.thefts}
    holds_theft = {q.request_id for q in result.requests if q.holds_theft}
    witnessed = [
        a
        for a in result.responses
        if a.request_id in holds_theft
        and set(world.county.cameras_of(a.resident).tolist())
        & set(world.county.cameras_viewing_porch(home_of_case[a.case_id]).tolist())
    ]
    assert len(witnessed) >= 50
    assert sum(a.relevant_clips_shared > 0 for a in witnessed) / len(witnessed) < 0.2


def test_the_victim_is_never_notified_about_their_own_case() -> None:
    """Nine homes in ten have a camera, so most victims own one inside the request's
    area (the system's fan-out reaches them); the model never notifies them."""
    county = tiny_county(households=300, camera_share=0.9)
    params = busy_params(
        county.n_homes,
        spree_prob=0.0,
        victim_handover_prob=0.0,  # the victim's clip would solve the case: no request
    )
    result = run(county, params, 5 * MIN_PER_DAY)
    home_of_case = {t.theft_id: t.home for t in result.thefts}
    owners = set(county.owner_homes.tolist())
    requested = {m.case_id for m in result.moderations if m.approved}
    assert sum(home_of_case[case] in owners for case in requested) >= 30
    assert all(n.home != home_of_case[n.case_id] for n in result.notifications)
    rows = Counter(n.request_id for n in result.notifications)
    assert all(m.notified == rows[m.request_id] for m in result.moderations)


class _RepeatingSystem(FakeSystem):
    """A broken driver: its fan-out names every resident twice."""

    def notified(self, *, request_id: int) -> Notified:
        once = super().notified(request_id=request_id)
        return Notified(request_id, once.resident_indices * 2)


def test_a_fan_out_that_names_a_resident_twice_is_refused() -> None:
    """The system notifies each owner once per request (CON-01); a driver that says
    otherwise is a bug the model names instead of counting the resident twice."""
    county = tiny_county(households=300, camera_share=0.9)
    params = busy_params(county.n_homes, spree_prob=0.0, victim_handover_prob=0.0)
    model = CountyModel(county, params, _RepeatingSystem(), seed=3)
    with pytest.raises(ValueError, match="names a resident twice"):
        model.run(5 * MIN_PER_DAY)
