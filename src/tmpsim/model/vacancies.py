"""Places left unfilled: the share of employers' demand that entries did not meet.

With ``behaviour.unfilled_places`` in the scenario, at each month's end the module sums
employers' demand for entries (``Recruitment.daily_demand``, full scale) and the entries that
came (moves from awaiting entry to employed, divided by the run's scale) over the last
``window_days`` (or the days run so far) and keeps the unfilled share ``max(0, 1 - entries /
demand)`` until the next month's end. Two responses read it:

- employers who cannot get new people keep the ones they have: the chance of an offer to keep a
  person whose contract or working bridge ends (``offer_chance``, read by
  ``tmpsim.model.turning_points``), and, in a programme without route choices, the chance that
  a last stage's contract is renewed (``kept`` from ``programme.renewal_prob``, read by
  ``tmpsim.model.lifecycle``); with ``routes.plan_lead_days`` the employer decides that
  many days before the end (the next stage's plan, or the onward status's papers, are filed
  ahead), so the offer reads the share measured at the last month's end at least that long
  before;
- the same places pull people into irregular work: the runaway hazard's factor
  (``runaway_factor``, read by ``tmpsim.model.hazards``; with ``pull_while_closed`` only the share
  of demand whose corridor is closed to new entries pulls), which redraws the waiting times of
  everyone exposed when it changes.

With ``kept_share``, former trainees who move to an onward status (e.g. Specified Skilled Worker
(i)) after the base year of employers' demand response (``recruitment.demand_response``; the
demand table up to it is the observed entries, which already hold whatever substitution there
was) keep places filled: each such move owes ``kept_share`` of a place, and each selection round
takes the places owed off the places it fills (``take_kept_places``, called by
``tmpsim.model.recruitment``), split over the profiles in proportion to their places, as many
as the round has. The places taken count as demand met (metric ``places_kept``), not unfilled.

Without the section the share stays zero, the offer is ``routes.offer_rate``, the renewal
``programme.renewal_prob`` and the factor one.
"""

from __future__ import annotations

import bisect
import datetime as dt
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

    hears = frozenset({State.OTHER_STATUS})  # on_move: only these moves

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
        # Places kept filled by former trainees on an onward status (kept_share).
        self.kept_share = self.spec.kept_share if self.spec is not None else 0.0
        response = sim.scenario.recruitment.demand_response
        first = None if response is None else dt.date(response.base_year + 1, 1, 1)
        self.kept_from = 0 if first is None else (first - sim.scenario.start).days
        self.owed = 0.0  # places (the run's agents) owed and not yet taken off a round
        if self.kept_share > 0:
            sim.recorder.extras["places_kept"] = np.zeros((sim.n_days, sim.n_origins))
            self.profile_origin = np.array([p.origin for p in sim.profiles], dtype=np.int64)

    def share_decided(self, day: int) -> float:
        """The unfilled share employers act on today: measured ``routes.plan_lead_days`` before.

        The last month end at least that many days before ``day`` (zero before any).
        """
        if self.lead == 0:
            return self.unfilled
        i = bisect.bisect_right(self.measured_days, day - self.lead)
        return self.measured[i - 1] if i else 0.0

    def kept(self, base: float, day: int) -> float:
        """Chance that an employer keeps a person whose contract ends on ``day``.

        ``base`` is the chance with every place filled; unfilled places raise it toward one:
        ``base + (1 - base) * keep_offer * unfilled`` (``base`` itself without the section).
        """
        keep = self.spec.keep_offer if self.spec is not None else 0.0
        return base + (1.0 - base) * keep * self.share_decided(day)

    def offer_chance(self, day: int) -> float:
        """Chance that an employer offers to keep a person whose contract ends on ``day``."""
        return self.kept(self.offer_rate, day)

    def on_move(self, ids: np.ndarray, new: State, day: int) -> None:
        """Moves to an onward status after the base year owe places kept filled."""
        if new == State.OTHER_STATUS and self.kept_share > 0 and day >= self.kept_from:
            self.owed += self.kept_share * ids.size

    def take_kept_places(self, fill: np.ndarray, day: int) -> np.ndarray:
        """The places a selection round fills (per profile) once the places owed are taken off.

        As many whole places as are owed (at most the round's), split over the profiles in
        proportion to their places (largest remainders first); the rest stays owed.
        """
        total = int(fill.sum())
        take_total = min(int(self.owed), total)
        if take_total <= 0:
            return fill
        raw = take_total * fill / total
        take = np.floor(raw).astype(np.int64)
        extra = take_total - int(take.sum())
        take[np.argsort(-(raw - take), kind="stable")[:extra]] += 1
        self.owed -= take_total
        by_origin = np.bincount(self.profile_origin, weights=take, minlength=self.sim.n_origins)
        self.sim.recorder.add_by_origin("places_kept", by_origin)
        return fill - take

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
        if self.kept_share > 0:  # places kept filled are demand met
            demand -= float(rec.extras["places_kept"][first : day + 1].sum()) / sim.scale
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
