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


def first_requests(result: ModelResult) -> set[int]:
    return {q.case_id for q in result.requests if q.attempt == 1}


def test_a_detective_posts_a_request_with_the_propensity_when_nobody_waits() -> None:
    county = tiny_county(households=200, camera_share=0.0)  # no victim's footage
    propensity, days = 0.3, 40
    params = busy_params(
        county.n_homes,
        thieves_per_household_per_min=30 / MIN_PER_DAY / county.n_homes,
        detectives=60,  # a detective free for every case: nobody waits
        request_propensity=propensity,
        request_propensity_halving_backlog=20.0,
    )
    result = run(county, params, days)
    decided = [c.case_id for c in result.cases if c.started_at_min < (days - 1) * MIN_PER_DAY]
    posted = first_requests(result) & set(decided)
    assert len(decided) >= 500
    assert inside_binomial_interval(len(posted), len(decided), propensity)


def test_no_request_is_posted_for_a_case_whose_victim_footage_was_usable() -> None:
    county = tiny_county(households=200, camera_share=0.6)
    params = busy_params(
        county.n_homes,
        detectives=20,
        victim_handover_prob=1.0,
        usable_view_prob=1.0,
        request_propensity=1.0,
    )
    result = run(county, params, 10)
    victim_video = {u.case_id for u in result.usable_videos if u.path == "victim"}
    without = {c.case_id for c in result.cases} - victim_video
    assert victim_video
    assert without
    assert not victim_video & first_requests(result)
    assert first_requests(result) & without  # the others still get requests


def test_the_propensity_halves_at_the_halving_backlog_and_falls_with_the_queue() -> None:
    params = ModelParams(request_propensity=0.4, request_propensity_halving_backlog=20.0)
    chances = [params.request_chance(waiting) for waiting in (0, 5, 20, 100)]
    assert chances[0] == 0.4
    assert chances[2] == 0.2
    assert chances == sorted(chances, reverse=True)


def test_with_a_long_queue_for_detectives_fewer_cases_get_a_request() -> None:
    county = tiny_county(households=200, camera_share=0.0)
    changes = {"request_propensity": 1.0, "request_propensity_halving_backlog": 5.0}
    staffed = run(county, busy_params(county.n_homes, detectives=30, **changes), 20)
    swamped = run(county, busy_params(county.n_homes, detectives=1, **changes), 20)

    def share(result: ModelResult) -> float:
        return len(first_requests(result)) / len(result.cases)

    assert share(staffed) > 0.95
    assert share(swamped) < 0.7
