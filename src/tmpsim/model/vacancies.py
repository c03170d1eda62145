"""Places left unfilled: the share of employers' demand that entries did not meet.

With ``behaviour.unfilled_places`` in the scenario, at each month's end the module sums
employers' demand for entries (``Recruitment.daily_demand``, full scale) and the entries that
came (moves from awaiting entry to employed, divided by the run's scale) over the last
``window_days`` (or the days run so far) and keeps the unfilled share ``max(0, 1 - entries /
demand)`` until the next month's end. Two responses read it:

- employers who cannot get new people keep the ones they have: the chance of an offer to keep a
  person whose contract or working bridge ends (``offer_chance``, read by
  ``tmpsim.model.turning_points``); with ``routes.plan_lead_days`` the employer decides that
  many days before the end (the next stage's plan, or the onward status's papers, are filed
  ahead), so the offer reads the share measured at the last month's end at least that long
  before;
- the same places pull people into irregular work: the runaway hazard's factor
  (``runaway_factor``, read by ``tmpsim.model.hazards``; with ``pull_while_closed`` only the share
  of demand whose corridor is closed to new entries pulls), which redraws the waiting times of
  everyone exposed when it changes.

Without the section the share stays zero, the offer is ``routes.offer_rate`` and the factor one.
"""

from __future__ import annotations

import bisect
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
        self.lead = routes.plan_lead_days if routes is not None else 0
        self.unfilled = 0.0
        self.closed = 1.0  # share of demand closed to entries (one unless pull_while_closed)
        self.version = 0  # bumped when the runaway factor changes (the hazards' plans depend on it)
        # The shares measured so far: month-end run days and their values (for the plan lead).
        self.measured_days: list[int] = []
        self.measured: list[float] = []

    def share_decided(self, day: int) -> float:
        """The unfilled share employers act on today: measured ``routes.plan_lead_days`` before.

        The last month end at least that many days before ``day`` (zero before any).
        """
        if self.lead == 0:
            return self.unfilled
        i = bisect.bisect_right(self.measured_days, day - self.lead)
        return self.measured[i - 1] if i else 0.0

    def offer_chance(self, day: int) -> float:
        """Chance that an employer offers to keep a person whose contract ends on ``day``."""
        keep = self.spec.keep_offer if self.spec is not None else 0.0
        return self.offer_rate + (1.0 - self.offer_rate) * keep * self.share_decided(day)

    def runaway_factor(self) -> float:
        """Multiplier of the runaway hazard, today."""
        if self.spec is None:
            return 1.0
        return 1.0 + self.spec.runaway_pull * self.unfilled * self.closed

    def closed_share(self, day: int) -> float:
        """Share of today's demand whose corridor is closed to new entries (no seats in or cap)."""
        demand = self.sim.recruitment.daily_demand(day)
        total = float(demand.sum())
        b = self.sim.borders
        if total <= 0:
            return 0.0
        if b.entry_cap is not None and b.entry_cap <= 0:
            return 1.0
        return float(demand[b.seats_in <= 0].sum()) / total

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
        self.measured_days.append(day)
        self.measured.append(self.unfilled)
        if self.spec.pull_while_closed:
            self.closed = self.closed_share(day)
        if self.runaway_factor() != before:
            self.version += 1
            pop = self.sim.pop
            exposed = np.zeros(len(State), dtype=bool)
            exposed[list(RUNAWAY_STATES)] = True
            ids = np.flatnonzero(exposed[pop.state[: pop.n]])
            self.sim.hazards.draw(ids, day)
