"""Values marked ASSUMPTION or UNCONFIRMED in scenario comments are listed, by key."""

from __future__ import annotations

from scenarios.assumptions import assumptions, file_marks

TOML = """\
# A header that mentions ASSUMPTION in passing.
description = "not a parameter"

[police]
detectives = 300                  # sourced (H)
hours_per_case = 4.0              # UNCONFIRMED; sweep 1-8
# ASSUMPTION (no source): one weight per hour
weights = [
  1, 2,  # not a key = 3
]
policy = "a # in a string"        # sourced

# Profiles: ASSUMPTION, sweep
[[residents.profiles]]
name = "engaged"
"""


def test_a_key_is_marked_by_its_own_comment_or_the_block_above_it() -> None:
    marks = file_marks(TOML)
    assert marks == {
        "police.detectives": "",
        "police.hours_per_case": "UNCONFIRMED; sweep 1-8",
        "police.weights": "ASSUMPTION (no source): one weight per hour",
        "police.policy": "",
        "residents.profiles": "Profiles: ASSUMPTION, sweep",
    }


def test_a_child_scenario_inherits_marks_unless_it_sets_the_key_again() -> None:
    tiny = {a.key for a in assumptions("tiny")}
    nassau = {a.key for a in assumptions("nassau")}
    assert "police.hours_per_case" in tiny
    assert "police.request_propensity" in nassau
    assert "police.request_propensity" not in tiny  # tiny's own value: "smoke test only"
