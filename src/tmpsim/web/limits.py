"""How large a dashboard run may be: days simulated and agents, derived from the server's settings.

``--max-scale`` alone does not bound a run: an uploaded scenario can ask for a stock of 5e12 people
or a window of ten thousand years at a small scale. A run is therefore also refused, before any
array is made, when its window is longer than ``max_days`` or when the simulation would make room
for more agents than ``max_agents``. Unless set, ``max_agents`` is twice the largest shipped
scenario at the server's ``max_scale``: whatever the shipped scenarios may do at the allowed
scale, an upload may do too, and not much more.
"""

from __future__ import annotations

from dataclasses import dataclass

from tmpsim.scenario import Scenario
from tmpsim.web.controls import RequestError

DEFAULT_MAX_DAYS = 40 * 366
"""Longest window a dashboard run may simulate unless the server says otherwise (40 years)."""
HEADROOM = 2.0
"""Default agent budget: this many times the largest shipped scenario at the maximum scale."""


def expected_agents(scenario: Scenario, scale: float) -> int:
    """Agents the simulation makes room for at the start: its own estimate, no array made."""
    from tmpsim.simulation import Simulation

    probe = object.__new__(Simulation)  # only the fields the estimate reads
    probe.scenario, probe.scale = scenario, float(scale)
    return probe._capacity_estimate()


def largest_shipped(scale: float) -> int:
    """The largest expected_agents of the shipped scenarios at ``scale``."""
    from tmpsim.scenario import load_scenario, shipped_scenarios

    return max(expected_agents(load_scenario(name), scale) for name in shipped_scenarios())


@dataclass
class RunLimits:
    """Bounds on one run's size; ``max_agents`` None: derived when first needed."""

    max_scale: float
    max_days: int = DEFAULT_MAX_DAYS
    max_agents: int | None = None

    def agent_budget(self) -> int:
        """Most agents a run may start with room for."""
        if self.max_agents is None:
            self.max_agents = int(HEADROOM * largest_shipped(self.max_scale))
        return self.max_agents

    def check(self, scenario: Scenario, scale: float) -> None:
        """RequestError when the run is larger than this server allows or would read its files.

        A sending market's configuration must be a shipped one: a path would read the server's.
        """
        from tmpsim.corridors.config import SHIPPED

        market = scenario.origins_market
        if market is not None and market.corridors not in SHIPPED:
            raise RequestError(
                f"origins_market.corridors: {market.corridors!r} is not a shipped configuration "
                f"({', '.join(sorted(SHIPPED))}); this server reads no other file"
            )
        if scenario.n_days > self.max_days:
            raise RequestError(
                f"the scenario runs {scenario.n_days:,} days ({scenario.start} to {scenario.end});"
                f" this server allows at most {self.max_days:,} days per run"
            )
        try:
            agents = expected_agents(scenario, scale)
        except (OverflowError, ValueError):  # a count too large to be a number of agents
            agents = 2**63
        budget = self.agent_budget()
        if agents > budget:
            raise RequestError(
                f"at scale {scale:g} the scenario needs room for about {agents:,} agents; this "
                f"server allows at most {budget:,} per run (lower the scale or the scenario's "
                "stocks and demand)"
            )
