"""The detectives' side of the county model: clearance per report, evidence review
without oracles, which path brought the usable video, and whether a request is posted."""

from __future__ import annotations

from scipy import stats

from sim.core.evidence import review_order
from sim.core.metrics import replication_metrics
from sim.core.model import CountyModel
from sim.core.params import MIN_PER_DAY, ModelParams
from sim.core.population import Population
from sim.core.records import ModelResult
from tests.sim.county_fixtures import busy_params, one_profile, tiny_county
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


def test_the_detective_reviews_by_arrival_then_nearness_to_the_window_centre() -> None:
    """The theft clip (recorded at the true theft time, off the window's centre) arrives
    last: with a cap of one clip the detective watches the first arrival, not the theft."""
    centre, theft_at = 600.0, 900.0
    clips = {
        "bystander_early": (100.0, 560.0),
        "bystander_near": (100.0, 610.0),
        "theft": (160.0, theft_at),
    }
    order = sorted(clips, key=lambda name: review_order(*clips[name], centre))
    assert order == ["bystander_near", "bystander_early", "theft"]
    same_arrival = {name: (100.0, at) for name, (_, at) in clips.items()}
    order = sorted(same_arrival, key=lambda name: review_order(*same_arrival[name], centre))
    assert order[-1] == "theft"  # the true time is never consulted: only the centre


def sharing_county_result(**changes: object) -> tuple[ModelParams, ModelResult]:
    county = tiny_county(households=200, camera_share=0.5)
    # Sharers attach several clips, and many neighbours' cameras see each porch (the
    # victim, who is not asked about their own case, is not the only witness), so a
    # case gets theft and bystander clips together.
    base: dict[str, object] = {
        "policy": "both",
        "detectives": 10,
        "clips_per_share_mean": 4.0,
        "neighbour_view_prob": 1.0,
        "neighbour_view_max_m": 60.0,
    }
    params = busy_params(
        county.n_homes,
        resident_profiles=one_profile(response_prob=1.0, share_prob=1.0, delay_min=60.0),
        **(base | changes),
    )
    return params, run(county, params, 7)


def test_review_minutes_never_exceed_the_cap_whatever_path_brought_the_clips() -> None:
    params, result = sharing_county_result(review_cap_min=10.0, review_min_per_clip=5.0)
    reviewed: dict[int, int] = {}
    for item in result.evidence:
        reviewed[item.case_id] = reviewed.get(item.case_id, 0) + item.reviewed
    assert {e.path for e in result.evidence if e.reviewed} == {"platform", "victim", "canvass"}
    assert any(not e.reviewed for e in result.evidence)
    assert max(reviewed.values()) * params.review_min_per_clip <= params.review_cap_min
    usable = {(u.case_id, u.camera) for u in result.usable_videos}
    seen = {(e.case_id, e.camera) for e in result.evidence if e.reviewed and e.saw_theft}
    assert usable <= seen  # only a watched clip of the theft gives usable video


def test_a_capped_review_does_not_pick_the_theft_clip_by_oracle() -> None:
    """With room for one clip, some cases watch a bystander clip and leave the theft clip
    unwatched: an oracle ordering by the true theft time never would."""
    _, result = sharing_county_result(
        review_cap_min=5.0,
        review_min_per_clip=5.0,
        victim_handover_prob=0.0,
        policy="platform_request",
    )
    platform = [e for e in result.evidence if e.path == "platform"]
    missed = {e.case_id for e in platform if e.saw_theft and not e.reviewed}
    watched_bystander = {e.case_id for e in platform if not e.saw_theft and e.reviewed}
    assert missed & watched_bystander


def test_usable_video_cases_split_by_the_path_of_their_first_usable_video() -> None:
    _, result = sharing_county_result(  # few bystander clips, so every path brings video
        motion_clips_per_camera_per_min=0.2 / 60,
        review_cap_min=60.0,
        canvass_handover_prob=0.2,
        victim_handover_prob=0.3,
    )
    m = replication_metrics(result)
    by_path = [f"cases_with_usable_video_{path}" for path in ("platform", "victim", "canvass")]
    assert all(m[name] > 0 for name in by_path)
    assert sum(m[name] for name in by_path) == m["cases_with_usable_video"]
    assert sum(m[f"{name}_county"] for name in by_path) == m["cases_with_usable_video_county"]
