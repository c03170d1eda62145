"""tmpsim: an agent-based simulator of temporary migration programmes and their infrastructure.

The names below are imported on first use (PEP 562), so that importing a part of tmpsim (the
command line, the scenario schema) does not import the whole model first: the command line
then chooses how its own start-up imports are made (see ``tmpsim.cli``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tmpsim.api import run, simulate
    from tmpsim.results import Result
    from tmpsim.scenario import Scenario, ScenarioError, load_scenario

__version__ = "0.1.0"

__all__ = ["Result", "Scenario", "ScenarioError", "__version__", "load_scenario", "run", "simulate"]

_HOMES = {
    "run": "tmpsim.api",
    "simulate": "tmpsim.api",
    "Result": "tmpsim.results",
    "Scenario": "tmpsim.scenario",
    "ScenarioError": "tmpsim.scenario",
    "load_scenario": "tmpsim.scenario",
}


def __getattr__(name: str) -> Any:
    """One of the package's names, imported from its module when first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tmpsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
