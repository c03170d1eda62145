"""Places left unfilled: the share of employers' demand that entries did not meet.

With ``behaviour.unfilled_places`` in the scenario, at each month's end the module sums
employers' demand for entries (``Recruitment.daily_demand``, full scale) and the entries that
came (moves from awaiting entry to employed, divided by the run's scale) over the last
``window_days`` (or the days run so far) and keeps the unfilled share ``max(0, 1 - entries /
demand)`` until the next month's end. Two responses read it:

- employers who cannot get new people keep the ones they have: the chance of an offer to keep a
  person whose contract or working bridge ends (``offer_chance``, read by
  ``tmpsim.model.turning_points``);
- the same places pull people into irregular work: the runaway hazard's factor
  (``runaway_factor``, read by ``tmpsim.model.hazards``), which redraws the waiting times of
  everyone exposed when it changes.

Without the section the share stays zero, the offer is ``routes.offer_rate`` and the factor one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tmpsim.engine.module import Module
from tmpsim.kinds import HAZARDS_BY_STATE, Hazard, State

if TYPE_CHECKING:
    from tmpsim.simulation import Simulation

# States whose waiting times include the runaway hazard (redrawn when its factor changes).
RUNAWAY_STATES = tuple(s for s, kinds in HAZARDS_BY_STATE.items() if Hazard.RUNAWAY in kinds)


def unfilled_share(demand: float, entries: float) -> float:
    """The share of ``demand`` that ``entries`` did not meet (zero without demand)."""
    if demand <= 0:
        return 0.0
    return max(0.0, 1.0 - entries / demand)


class Vacancies(Module):
    """The unfilled share of employers' demand, measured monthly."""

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self.spec = sim.scenario.behaviour.unfilled_places
        routes = sim.scenario.routes
        self.offer_rate = routes.offer_rate if routes is not None else 0.0
        self.unfilled = 0.0
        self.version = 0  # bumped when the runaway factor changes (the hazards' plans depend on it)

    def offer_chance(self) -> float:
        """Chance that an employer offers to keep a person whose contract ends, today."""
        keep = self.spec.keep_offer if self.spec is not None else 0.0
        return self.offer_rate + (1.0 - self.offer_rate) * keep * self.unfilled

    def runaway_factor(self) -> float:
        """Multiplier of the runaway hazard, today."""
        if self.spec is None:
            return 1.0
        return 1.0 + self.spec.runaway_pull * self.unfilled

    def measure(self, day: int) -> float:
        """The unfilled share of the ``window_days`` ending on run day ``day`` (inclusive)."""
        sim = self.sim
        first = max(0, day - self.spec.window_days + 1)
        demand = float(sim.recruitment.daily_demand_between(first, day + 1).sum())
        rec = sim.recorder
        aw, emp = int(State.AWAITING_ENTRY), int(State.EMPLOYED)
        came = rec.flows[first:day, aw, emp, :].sum() + rec.flow_today[aw, emp, :].sum()
        return unfilled_share(demand, float(came) / sim.scale)

    def month_end(self, day: int) -> None:
        """Measure the share; if the runaway factor changes, redraw everyone exposed."""
        if self.spec is None:
            return
        before = self.runaway_factor()
        self.unfilled = self.measure(day)
        if self.runaway_factor() != before:
            self.version += 1
            pop = self.sim.pop
            exposed = np.zeros(len(State), dtype=bool)
            exposed[list(RUNAWAY_STATES)] = True
            ids = np.flatnonzero(exposed[pop.state[: pop.n]])
            self.sim.hazards.draw(ids, day)
