"""The simulation: agent arrays, the modules of the model, and the order of one day.

The day's order is the list ``Simulation.MODULES`` (see ``tmpsim.engine.module`` for the hooks):
each phase runs through the modules in that order, each step seeing the results of the ones
before it.

``events``     dated events starting today: the programme's rules, special statuses and cash
               payments (lifecycle); rates that change today, whose pending waiting times are
               redrawn (hazards); border seats, entry caps and flights (borders).
``step``       recruitment: on selection days applicants join the pool, the best eligible are
               selected, pay fees and borrow, and start pre-departure training;
               lifecycle: deterministic events due today (training over, contract or stage ends,
               grace periods and special statuses expire, home visits end, permits cancelled);
               hazards: stochastic events due today (dismissal, leaving the employer, finding a
               job, switching status, apprehension, cancellation);
               borders: entry queues fill today's inbound seats, return queues the outbound seats
               and repatriation flights, first come first served;
               money: savings run out (destitution);
               civil society: those who lost the job's bed today and are still without work
               rent a room or need a bed (with private rental), emergency funds, then shelter
               places.
``month_end``  routes: bridged people with a seat home no longer count as stranded; vacancies:
               the unfilled share of employers' demand is measured (offers, renewals and the runaway
               hazard follow it; waiting times are redrawn when it changes); backlog:
               those waiting too long to enter give up; money: everyone's balances settled; debt
               and savings totals and the programme's status holders by stage recorded.
``record``     the day's stocks, flows and flags are stored.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import numpy as np

from tmpsim.engine.module import Module, handlers, merge_fields, overrides
from tmpsim.engine.population import CORE_FIELDS, Population
from tmpsim.engine.recorder import Recorder
from tmpsim.engine.rng import Streams
from tmpsim.model.backlog import Backlog
from tmpsim.model.borders import Borders
from tmpsim.model.civil_society import CivilSociety
from tmpsim.model.events import Timeline
from tmpsim.model.hazards import Hazards
from tmpsim.model.lifecycle import Lifecycle
from tmpsim.model.money import MoneyModule
from tmpsim.model.recruitment import Recruitment
from tmpsim.model.segments import profiles, segment_names
from tmpsim.model.turning_points import Routes
from tmpsim.model.vacancies import Vacancies
from tmpsim.scenario.bounds import MAX_SCALE, MIN_SCALE
from tmpsim.scenario.schema import Scenario
from tmpsim.states import N_STATES, State

DAYS_PER_YEAR = 365.25
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

    # The mechanisms, in the order they act within each phase of the day: (attribute, class).
    MODULES: tuple[tuple[str, type[Module]], ...] = (
        ("recruitment", Recruitment),
        ("lifecycle", Lifecycle),
        ("routes", Routes),
        ("hazards", Hazards),
        ("vacancies", Vacancies),
        ("borders", Borders),
        # Before money: those who give up at a month's end are not in its month-end counts.
        ("backlog", Backlog),
        ("money", MoneyModule),
        ("civil", CivilSociety),
    )

    def __init__(
        self,
        scenario: Scenario,
        seed: int = 1,
        scale: float = 1.0,
        check: bool = False,
        modules: tuple[tuple[str, type[Module]], ...] | None = None,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a whole number, 0 or more, got {seed!r}")
        if isinstance(scale, bool) or not isinstance(scale, int | float | np.number):
            raise TypeError(f"scale must be a number, got {scale!r}")
        if not MIN_SCALE <= scale <= MAX_SCALE:  # the command line's bounds, the same reason
            raise ValueError(
                f"scale must be between {MIN_SCALE:g} and {MAX_SCALE:g}, got {scale:g}"
            )
        self.scenario = scenario
        self.seed = int(seed)
        self.scale = float(scale)
        self.check = check
        self.n_days = scenario.n_days
        self.origins = list(scenario.origins)
        self.sectors = list(scenario.sectors)
        self.n_origins = len(self.origins)
        self.origin_index = {o: i for i, o in enumerate(self.origins)}
        # Segments and the (origin, segment) profiles whose terms agents are drawn with.
        self.segments = segment_names(scenario)
        self.n_segments = len(self.segments)
        self.profiles = profiles(scenario)
        self.sector_index = {s: i for i, s in enumerate(self.sectors)}
        self.streams = Streams(self.seed)
        self.timeline = Timeline(scenario, self.origin_index, self.sector_index, self.segments)
        # The rules in force (dated rule events change them; modules read them).
        self.rules = {
            "welfare_eligible": scenario.programme.welfare_eligible,
            "job_change_mode": scenario.programme.job_change.mode,
            "grace_days": scenario.programme.grace_days,
        }
        self.day = -1
        self.welfare_by_day = np.zeros(self.n_days, dtype=bool)
        self.month_ends = month_ends(scenario.start, scenario.end)
        kinds = self.MODULES if modules is None else modules
        self.pop = Population(self._capacity_estimate(), self.agent_fields(kinds))
        for _name, cls in kinds:
            for flag in cls.flags:
                by_state = N_STATES if flag in cls.flags_by_state else 0
                self.pop.flag(flag, self.n_origins, by_state, flag in cls.flags_by_sex)
        self.recorder = Recorder(
            self.n_days,
            N_STATES,
            self.n_origins,
            self.stage_names,
            len(self.sectors),
            self.n_segments,
        )
        self.recorder.track(self.pop.flags)
        # Built from the scenario alone, in any order; connected to each other in ``start``.
        self.modules: list[Module] = []
        for name, cls in kinds:
            module = cls(self)
            setattr(self, name, module)
            self.modules.append(module)
        self.timer_handlers = handlers(self.modules, "timers")
        self.hazard_handlers = handlers(self.modules, "hazards")
        movers = [m for m in self.modules if overrides(m, "on_move")]
        writers = [m for m in movers if m.writes_state]
        if len(writers) != 1:
            raise ValueError("exactly one module must write the state when agents move")
        if writers[0].hears is not None:
            raise ValueError("the module that writes the state must hear every move")
        movers = writers + [m for m in movers if m not in writers]
        # The listeners of each state's moves, in that order (``Module.hears``).
        self._on_move = [
            [m.on_move for m in movers if m.hears is None or state in m.hears] for state in State
        ]
        self._outside = [m.outside for m in self.modules if overrides(m, "outside")]
        self.phases = {
            hook: [getattr(m, hook) for m in self.modules if overrides(m, hook)]
            for hook in ("events", "step", "month_end")
        }
        self.wall_seconds = 0.0
        for module in self.modules:
            module.start()
        self.recorder.start(self.pop)

    @classmethod
    def agent_fields(cls, modules: tuple[tuple[str, type[Module]], ...] | None = None) -> dict:
        """Every agent field: the population's own and those the modules declare."""
        kinds = cls.MODULES if modules is None else modules
        return merge_fields(("population", CORE_FIELDS), *((n, c.fields) for n, c in kinds))

    # ---- sizes ---------------------------------------------------------------------------
    def _capacity_estimate(self) -> int:
        sc = self.scenario
        years = np.arange(sc.start.year, sc.end.year + 1)
        demand = sum(self.demand_total(int(y)) for y in years)
        initial = sum(sum(p.initial_stock.values()) for p in profiles(sc))
        pipeline = demand / max(len(years), 1)
        # Only the selected become agents (applicants wait outside the agent arrays).
        people = (demand + pipeline) * 1.1 / (1 - sc.recruitment.training_dropout) + initial
        return int(people * self.scale) + 1024

    def demand_total(self, year: int) -> float:
        """Entries demanded in a year (the table's last year holds after it, first before).

        With ``recruitment.demand_response``, years after its base year follow the labour
        market: the base year's demand times the index ratio to the power of the elasticity.
        """
        rec = self.scenario.recruitment
        table = rec.demand
        response = rec.demand_response
        if response is not None and year > response.base_year:
            market = self.scenario.behaviour.runaway_labour_market
            ratio = market.value(year) / market.value(response.base_year)
            return float(table[response.base_year]) * ratio**response.elasticity
        years = sorted(table)
        if year <= years[0]:
            return float(table[years[0]])
        if year >= years[-1]:
            return float(table[years[-1]])
        return float(np.interp(year, years, [table[y] for y in years]))

    def add_agents(self, count: int) -> np.ndarray:
        """New agents (ids); the population keeps its calendars and flags bound as it grows."""
        return self.pop.add(count)

    # ---- the one way an agent changes state ------------------------------------------------
    def move(self, ids: np.ndarray, new: State) -> None:
        """Move agents to a state and announce it to the modules that listen (``on_move``).

        The first listener writes the state, counts the flow and clears the flags the move ends
        (the money module, in the same compiled pass as its settlement); the others that hear
        moves to ``new`` (``Module.hears``) follow in the modules' order.
        """
        if ids.size == 0:
            return
        for react in self._on_move[new]:
            react(ids, new, self.day)

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
        """Advance one day: each phase through the modules in their order, then record."""
        self.day = day
        self.recorder.set_day(day)
        for hook in self.phases["events"]:
            hook(day)
        for hook in self.phases["step"]:
            hook(day)
        if day in self.month_ends:
            for hook in self.phases["month_end"]:
                hook(day)
        self.welfare_by_day[day] = self.rules["welfare_eligible"]
        self.recorder.end_day(day)
        if self.check:
            self.check_invariants()

    def outside_counts(self) -> np.ndarray:
        """People kept outside the agent arrays (``Module.outside``).

        By [state, origin, sector, segment].
        """
        total = np.zeros(
            (N_STATES, self.n_origins, len(self.sectors), self.n_segments), dtype=np.int64
        )
        for counts in self._outside:
            found = counts()
            if found is not None:
                total += found
        return total

    def people(self) -> int:
        """Everyone simulated so far: the agents and the people kept outside their arrays."""
        return int(self.pop.n + self.outside_counts().sum())

    @property
    def stage_names(self) -> list[str]:
        """Names of the programme's stages."""
        return [s.name for s in self.scenario.programme.stages]

    # ---- invariants -----------------------------------------------------------------------
    def check_invariants(self) -> None:
        """Recount every state and flag and compare with the flows.

        The counts are of the agents and of the people kept outside their arrays
        (``outside_counts``).
        """
        pop = self.pop
        n = pop.n
        state = pop.state[:n]
        if n and (state.min() < 0 or state.max() >= N_STATES):
            raise InvariantError("an agent is in no valid state")
        outside = self.outside_counts()
        recount = np.bincount(
            state.astype(np.int64) * self.n_origins + pop.origin[:n],
            minlength=N_STATES * self.n_origins,
        ).reshape(N_STATES, self.n_origins) + outside.sum(axis=(2, 3))
        if not np.array_equal(recount, self.recorder.counts):
            raise InvariantError(
                f"day {self.day}: stocks from flows differ from a recount of agents\n"
                f"{self.recorder.counts - recount}"
            )
        for name, flag in pop.flags.items():
            if not np.array_equal(flag.recount(), flag.counts):
                raise InvariantError(f"day {self.day}: {name} counter differs from the agents")
            by_state = flag.by_state
            if by_state is not None and not np.array_equal(flag.recount_by_state(), by_state):
                raise InvariantError(f"day {self.day}: {name} counts by state differ from agents")
            if flag.women is not None and not np.array_equal(flag.recount_women(), flag.women):
                raise InvariantError(f"day {self.day}: {name} counts of women differ from agents")
        if (self.recorder.counts < 0).any():
            raise InvariantError("negative count")
        by_sector = self.recorder.by_sector(pop) + outside.sum(axis=3)
        if not np.array_equal(by_sector, self.recorder.sector_counts):
            raise InvariantError(f"day {self.day}: stocks by sector differ from the agents")
        by_segment = self.recorder.by_segment(pop) + outside.sum(axis=2)
        if not np.array_equal(by_segment, self.recorder.segment_counts):
            raise InvariantError(f"day {self.day}: stocks by segment differ from the agents")
        for module in self.modules:
            problem = module.check()
            if problem:
                raise InvariantError(f"day {self.day}: {problem}")
