"""The detectives' side of the county model: clearance per report, evidence review
without oracles, which path brought the usable video, and whether a request is posted."""

from __future__ import annotations

from scipy import stats

from sim.core.model import CountyModel
from sim.core.params import MIN_PER_DAY, ModelParams
from sim.core.population import Population
from sim.core.records import ModelResult
from tests.sim.county_fixtures import busy_params, tiny_county
from tests.sim.fake_system import FakeSystem


def run(population: Population, params: ModelParams, days: float, seed: int = 3) -> ModelResult:
    return CountyModel(population, params, FakeSystem(), seed=seed).run(days * MIN_PER_DAY)


def inside_binomial_interval(successes: int, trials: int, p: float, level: float = 0.99) -> bool:
    low, high = stats.binom.interval(level, trials, p)
    return bool(low <= successes <= high)


def test_every_report_gets_the_clearance_chance_followed_up_or_not() -> None:
    """Clearance rates are per reported offence (FBI CIUS): without cameras every report,
    followed up or not, is identified with clearance_prob."""
    county = tiny_county(households=200, camera_share=0.0)
    days, settled_by_day = 70, 62  # a case settles within a response period of its report
    params = busy_params(
        county.n_homes,
        thieves_per_household_per_min=40 / MIN_PER_DAY / county.n_homes,
        follow_up_prob=0.4,
        detectives=20,
        response_period_min=2 * MIN_PER_DAY,
    )
    result = run(county, params, days)
    reports = {
        r.report_id for r in result.reports if r.reported_at_min < settled_by_day * MIN_PER_DAY
    }
    cleared = {i.case_id for i in result.identifications if i.correct} & reports
    followed_up = {c.case_id for c in result.cases} & reports
    assert len(reports) >= 2000
    assert 0 < len(followed_up) < len(reports)
    assert len(cleared - followed_up) > 0  # reports not followed up are cleared too
    assert inside_binomial_interval(len(cleared), len(reports), params.clearance_prob)
