"""Scenario files (TOML) for Nassau, Suffolk and variants, their typed loader and validation.

Imports no other project package.
"""

from scenarios.loader import (
    SCENARIO_DIR,
    from_dict,
    list_scenarios,
    load_scenario,
    resolved_dict,
    scenario_path,
    shipped_names,
)
from scenarios.overrides import parse_override
from scenarios.schema import (
    SECTIONS,
    BehaviourProfile,
    Canvass,
    County,
    Deliveries,
    FaceRecognition,
    FaceRecognitionGroup,
    Identification,
    Moderation,
    Police,
    Policy,
    Residents,
    Run,
    Scenario,
    ScenarioError,
    Thefts,
    Transfer,
    Victims,
    WindowFit,
)

__all__ = [
    "SCENARIO_DIR",
    "SECTIONS",
    "BehaviourProfile",
    "Canvass",
    "County",
    "Deliveries",
    "FaceRecognition",
    "FaceRecognitionGroup",
    "Identification",
    "Moderation",
    "Police",
    "Policy",
    "Residents",
    "Run",
    "Scenario",
    "ScenarioError",
    "Thefts",
    "Transfer",
    "Victims",
    "WindowFit",
    "from_dict",
    "list_scenarios",
    "load_scenario",
    "parse_override",
    "resolved_dict",
    "scenario_path",
    "shipped_names",
]
