"""The Python entry point: ``tmpsim.run("japan-titp-covid", seed=1, scale=0.1)``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tmpsim.results import Result, build_result, write_run
from tmpsim.scenario import Scenario, load_scenario
from tmpsim.simulation import Simulation

DEFAULT_SCENARIO = "japan-titp-covid"


def simulate(
    scenario: str | Path | Scenario | dict[str, Any] = DEFAULT_SCENARIO,
    seed: int = 1,
    scale: float = 1.0,
    overrides: dict[str, Any] | list[str] | None = None,
    check: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Simulation:
    """Load a scenario, run it, and return the finished Simulation (its arrays and records)."""
    sc = load_scenario(scenario, overrides)
    return Simulation(sc, seed=seed, scale=scale, check=check).run(progress)


def run(
    scenario: str | Path | Scenario | dict[str, Any] = DEFAULT_SCENARIO,
    seed: int = 1,
    scale: float = 1.0,
    overrides: dict[str, Any] | list[str] | None = None,
    out: str | Path | None = None,
    agents: bool = True,
    check: bool = False,
    progress: Callable[[int, int], None] | None = None,
    force: bool = False,
) -> Result:
    """Run a scenario (shipped name, YAML file, dict or Scenario) and return its Result.

    ``scale`` simulates that fraction of the people; every reported figure is scaled back to the
    full population. With ``out`` the run folder is written there too: a new or empty folder,
    or (with ``force``) a run folder, which is replaced whole.
    """
    sim = simulate(scenario, seed, scale, overrides, check, progress)
    if out is not None:
        return write_run(sim, out, with_agents=agents, force=force)
    return build_result(sim, with_agents=agents)
