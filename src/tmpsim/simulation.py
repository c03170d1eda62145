"""The simulation: agent arrays, the modules of the model, and the order of one day.

Step order of one day ``t`` (each step sees the results of the ones before it):

1. ``events``      dated events starting today: border seats, entry caps, rules, cash payments;
                   on regime-change days every pending waiting time is redrawn.
2. ``recruitment`` selection days: applicants join the pool, the best eligible are selected,
                   pay fees and borrow, and start pre-departure training.
3. ``timers``      deterministic events due today: training over, contract or stage ends, grace
                   periods and special statuses expire, home visits end, permits cancelled.
4. ``hazards``     stochastic events due today: dismissal, leaving the employer, finding a job,
                   switching status, apprehension, cancellation.
5. ``borders``     entry queues fill today's inbound seats; return queues fill outbound seats and
                   repatriation flights, first come first served.
6. ``money``       savings run out (destitution); welfare; emergency funds; shelter places.
7. ``record``      the day's stocks, flows and flags are stored.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import numpy as np

from tmpsim.engine.calendar import Calendar
from tmpsim.engine.population import Population
from tmpsim.engine.recorder import FLAGS, Recorder
from tmpsim.engine.rng import Streams
from tmpsim.model.borders import Borders
from tmpsim.model.civil_society import CivilSociety
from tmpsim.model.events import Timeline
from tmpsim.model.hazards import Hazards
from tmpsim.model.lifecycle import Lifecycle
from tmpsim.model.money import MoneyModule
from tmpsim.model.recruitment import Recruitment
from tmpsim.scenario.schema import Scenario
from tmpsim.states import N_STATES, STOCK_METRICS, State

DAYS_PER_YEAR = 365.25
# Stranding ends by going home, by another status, by a job under the programme, or by losing
# status altogether (irregular: counted as such, not as stranded).
ENDS_STRANDING = frozenset(
    {State.RETURNED, State.OTHER_STATUS, State.EMPLOYED, State.IRREGULAR, State.DROPPED}
)
DAYS_PER_MONTH = DAYS_PER_YEAR / 12


def month_ends(start: dt.date, end: dt.date) -> set[int]:
    """Run-day indices of the last day of each month between ``start`` and ``end``."""
    days, d = set(), start
    while d <= end:
        nxt = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
        last = nxt - dt.timedelta(days=1)
        if last <= end:
            days.add((last - start).days)
        d = nxt
    return days


class InvariantError(AssertionError):
    """The population identity or the one-state-per-agent rule was broken."""


class Simulation:
    """One run of a scenario at a seed and a scale."""

    def __init__(
        self, scenario: Scenario, seed: int = 1, scale: float = 1.0, check: bool = False
    ) -> None:
        if not 0 < scale <= 100:
            raise ValueError(f"scale must be in (0, 100], got {scale}")
        self.scenario = scenario
        self.seed = int(seed)
        self.scale = float(scale)
        self.check = check
        self.n_days = scenario.n_days
        self.origins = list(scenario.origins)
        self.sectors = list(scenario.sectors)
        self.n_origins = len(self.origins)
        self.origin_index = {o: i for i, o in enumerate(self.origins)}
        self.sector_index = {s: i for i, s in enumerate(self.sectors)}
        self.streams = Streams(self.seed)
        self.timeline = Timeline(scenario, self.origin_index, self.sector_index)
        self.rules = {
            "welfare_eligible": scenario.programme.welfare_eligible,
            "job_change_mode": scenario.programme.job_change.mode,
            "grace_days": scenario.programme.grace_days,
        }
        self.day = -1
        self.welfare_by_day = np.zeros(self.n_days, dtype=bool)
        self.month_ends = month_ends(scenario.start, scenario.end)
        held = [int(s) for s in STOCK_METRICS["programme_stock"]]
        self._holds_status = np.isin(np.arange(N_STATES), held)
        self.pop = Population(self._capacity_estimate())
        self.timers = Calendar(self.n_days, self.pop.t_timer)
        self.hazard_calendar = Calendar(self.n_days, self.pop.t_hazard)
        self.money_calendar = Calendar(self.n_days, self.pop.t_money)
        self.recorder = Recorder(self.n_days, N_STATES, self.n_origins)
        self.money = MoneyModule(self)
        self.hazards = Hazards(self)
        self.borders = Borders(self)
        self.lifecycle = Lifecycle(self)
        self.civil = CivilSociety(self)
        self.recruitment = Recruitment(self)
        self.wall_seconds = 0.0
        self.recruitment.initial_population()
        self.recorder.start(self.pop)

    # ---- sizes ---------------------------------------------------------------------------
    def _capacity_estimate(self) -> int:
        sc = self.scenario
        years = np.arange(sc.start.year, sc.end.year + 1)
        demand = sum(self.demand_total(int(y)) for y in years)
        initial = sum(sum(o.initial_stock.values()) for o in sc.origins.values())
        pipeline = demand / max(len(years), 1)
        people = (demand + pipeline) * sc.recruitment.applicants_per_place * 1.1 + initial
        return int(people * self.scale) + 1024

    def demand_total(self, year: int) -> float:
        """Entries demanded in a year (the table's last year holds after it, first before)."""
        table = self.scenario.recruitment.demand
        years = sorted(table)
        if year <= years[0]:
            return float(table[years[0]])
        if year >= years[-1]:
            return float(table[years[-1]])
        return float(np.interp(year, years, [table[y] for y in years]))

    def grow_hook(self) -> None:
        """Re-point calendars at the population arrays after they grew."""
        self.timers.rebind(self.pop.t_timer)
        self.hazard_calendar.rebind(self.pop.t_hazard)
        self.money_calendar.rebind(self.pop.t_money)

    def add_agents(self, count: int) -> np.ndarray:
        """New agents (ids), keeping the calendars bound to the arrays."""
        cap = self.pop.capacity
        ids = self.pop.add(count)
        if self.pop.capacity != cap:
            self.grow_hook()
        return ids

    # ---- the one way an agent changes state ------------------------------------------------
    def move(self, ids: np.ndarray, new: State) -> None:
        """Move agents to a state, counting the flow, settling money and redrawing hazards."""
        if ids.size == 0:
            return
        self.money.enter(ids, new, self.day, clear_stranded=new in ENDS_STRANDING)
        self.hazards.draw(ids, self.day, new)

    # ---- the loop --------------------------------------------------------------------------
    def run(self, progress: Callable[[int, int], None] | None = None) -> Simulation:
        """Run every day of the scenario."""
        t0 = time.perf_counter()
        for day in range(self.n_days):
            self.step(day)
            if progress is not None and (day % 30 == 0 or day == self.n_days - 1):
                progress(day + 1, self.n_days)
        # Bring balances up to the last day; those who left keep their balance at leaving.
        self.money.settle(self.money.in_progress(), self.n_days - 1)
        self.wall_seconds = time.perf_counter() - t0
        return self

    def step(self, day: int) -> None:
        """Advance one day, in the documented order."""
        self.day = day
        self.recorder.set_day(day)
        self.borders.apply_events(day)
        self.lifecycle.apply_events(day)
        changes = self.timeline.regime_changes.get(day)
        if changes:
            self.hazards.redraw_for(changes, day)
        self.recruitment.step(day)
        self.lifecycle.run_timers(day)
        self.hazards.run(day)
        self.borders.step(day)
        self.money.step(day)
        self.civil.step(day)
        if day in self.month_ends:
            self.record_stage_stocks(day, self.money.month_end(day))
        self.welfare_by_day[day] = self.rules["welfare_eligible"]
        self.recorder.end_day(day, self.pop, self)
        if self.check:
            self.check_invariants()

    def record_stage_stocks(self, day: int, counts: np.ndarray) -> None:
        """Month end: people holding the programme's status, by stage and origin."""
        rec = self.recorder
        for i, name in enumerate(self.stage_names):
            rec.monthly.setdefault(
                f"programme_stock_stage_{name}", np.full((self.n_days, self.n_origins), np.nan)
            )[day] = counts[i]

    @property
    def stage_names(self) -> list[str]:
        """Names of the programme's stages."""
        return [s.name for s in self.scenario.programme.stages]

    # ---- invariants -----------------------------------------------------------------------
    def check_invariants(self) -> None:
        """Recount every state and flag from the agent arrays and compare with the flows."""
        pop = self.pop
        n = pop.n
        state = pop.state[:n]
        if n and (state.min() < 0 or state.max() >= N_STATES):
            raise InvariantError("an agent is in no valid state")
        recount = np.bincount(
            state.astype(np.int64) * self.n_origins + pop.origin[:n],
            minlength=N_STATES * self.n_origins,
        ).reshape(N_STATES, self.n_origins)
        if not np.array_equal(recount, self.recorder.counts):
            raise InvariantError(
                f"day {self.day}: stocks from flows differ from a recount of agents\n"
                f"{self.recorder.counts - recount}"
            )
        for flag in FLAGS:
            values = getattr(pop, flag)[:n]
            got = np.bincount(pop.origin[:n][values], minlength=self.n_origins)
            if not np.array_equal(got, self.recorder.flags[flag]):
                raise InvariantError(f"day {self.day}: {flag} counter differs from the agents")
        if (self.recorder.counts < 0).any():
            raise InvariantError("negative count")
        queued = np.bincount(
            pop.origin[:n][self.borders.in_return_queue[:n]], minlength=self.n_origins
        )
        if not np.array_equal(queued, self.borders.waiting_home):
            raise InvariantError(f"day {self.day}: return-queue counters differ from the agents")
