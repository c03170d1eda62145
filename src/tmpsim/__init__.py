"""tmpsim: an agent-based simulator of temporary migration programmes and their infrastructure."""

from tmpsim.api import run, simulate
from tmpsim.results import Result
from tmpsim.scenario import Scenario, ScenarioError, load_scenario

__version__ = "0.1.0"

__all__ = ["Result", "Scenario", "ScenarioError", "__version__", "load_scenario", "run", "simulate"]
