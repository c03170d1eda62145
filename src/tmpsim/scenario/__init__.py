"""Scenario files: schema, loading and validation."""

from tmpsim.scenario.loader import (
    ScenarioError,
    load_scenario,
    scenario_hash,
    shipped_scenarios,
    to_yaml,
)
from tmpsim.scenario.schema import Scenario

__all__ = [
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "scenario_hash",
    "shipped_scenarios",
    "to_yaml",
]
