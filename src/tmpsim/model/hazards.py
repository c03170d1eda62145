"""Competing stochastic events: waiting times drawn when an agent enters a state.

For each state a fixed set of hazards applies. On entering the state (or when a dated event
changes a rate) the agent draws one exponential waiting time from the total rate and which hazard
it will be; the event is filed in the calendar. Being memoryless, redrawing on a regime change is
exact.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

from tmpsim.engine.population import NEVER
from tmpsim.model.hazard_kernels import draw_kernel, runaway_column_kernel
from tmpsim.scenario.schema import STATE_BY_NAME
from tmpsim.states import State

if TYPE_CHECKING:
    from tmpsim.simulation import Simulation

YEAR = 365.25
_EMPTY = np.empty(0)
_NO_TABLE = np.ones((1, 1))  # stands for "no multiplier table" in the compiled kernel


class Hazard(IntEnum):
    """Kinds of stochastic events."""

    NONE = 0
    DISMISSAL = 1
    RUNAWAY = 2
    JOB_FOUND = 3
    STATUS_SWITCH = 4
    APPREHENSION = 5
    CANCELLATION = 6
    VOLUNTARY_CHANGE = 7


HAZARDS_BY_STATE: dict[State, tuple[Hazard, ...]] = {
    State.EMPLOYED: (
        Hazard.DISMISSAL,
        Hazard.RUNAWAY,
        Hazard.CANCELLATION,
        Hazard.VOLUNTARY_CHANGE,
    ),
    State.JOBLESS: (Hazard.JOB_FOUND, Hazard.RUNAWAY, Hazard.STATUS_SWITCH),
    State.STRANDED: (Hazard.JOB_FOUND, Hazard.RUNAWAY, Hazard.STATUS_SWITCH),
    State.SPECIAL_IDLE: (Hazard.JOB_FOUND, Hazard.RUNAWAY, Hazard.STATUS_SWITCH),
    State.SPECIAL_WORKING: (Hazard.DISMISSAL, Hazard.RUNAWAY, Hazard.STATUS_SWITCH),
    State.IRREGULAR: (Hazard.APPREHENSION,),
}


HAZARD_BY_NAME = {
    "dismissal": Hazard.DISMISSAL,
    "runaway": Hazard.RUNAWAY,
    "job_finding": Hazard.JOB_FOUND,
    "status_switch": Hazard.STATUS_SWITCH,
    "apprehension": Hazard.APPREHENSION,
    "cancellation": Hazard.CANCELLATION,
}


class Hazards:
    """Per-agent hazard rates, drawing of waiting times, and dispatch of due events."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        sc = sim.scenario
        self.stream = sim.streams["hazards"]
        self.runaway_base = np.array([o.runaway_rate_per_year for o in sc.origins.values()]) / YEAR
        self.dismissal_base = (
            np.array([s.dismissal_rate_per_year for s in sc.sectors.values()]) / YEAR
        )
        wage_year = sim.money.wage_day * YEAR
        self.wage_year = wage_year
        ref = np.array(
            [o.fee_pay_share * o.borrow_share * o.debt_mean for o in sc.origins.values()]
        )
        self.debt_ref = ref / wage_year  # mean debt burden at departure, per origin
        self.cancel_rate = sum(c.rate_per_year for c in sc.programme.cancellations) / YEAR
        self.cancel_rate_f = (
            sum(c.rate_per_year for c in sc.programme.cancellations if c.females_only) / YEAR
        )
        self._has_hazards = np.array([s in HAZARDS_BY_STATE for s in State])
        # Days with one employer before a voluntary change is allowed, by sector (mode free).
        jc = sc.programme.job_change
        after = [s.job_change_after_years for s in sc.sectors.values()]
        after = [jc.free_after_years if a is None else a for a in after]
        self.change_after = YEAR * np.array(after)
        self._kinds = {s: np.array(k, dtype=np.int8) for s, k in HAZARDS_BY_STATE.items()}
        by_stage = np.array([s.runaway_factor for s in sc.programme.stages])
        self.runaway_by_stage = by_stage if (by_stage != 1).any() else None
        self._market_cache: dict[int, float] = {}
        self._market_day, self._market_today = -1, 1.0
        self._by_stage = np.ascontiguousarray(by_stage, dtype=np.float64)
        from tmpsim.model.lifecycle import Timer  # lifecycle imports this module

        self._timer_cancel = int(Timer.CANCEL)

    # ---- rates ----------------------------------------------------------------------------
    def job_rate(self, ids: np.ndarray) -> np.ndarray:
        """Daily rate of finding an employer with the programme's own help and information."""
        sim, pop = self.sim, self.sim.pop
        sup, info = sim.scenario.supervision, sim.scenario.information
        lang = pop.language[ids]
        if info.own_language_info:
            lang = np.maximum(lang, info.own_language_level)
        hearing = np.minimum(
            1.0, info.base + info.language_weight * lang + info.network_weight * pop.network[ids]
        )
        help_ = sup.proactivity_floor + (1 - sup.proactivity_floor) * pop.proactivity[ids]
        rate = sup.job_search_rate_per_year / YEAR * hearing * help_
        jc = sim.scenario.programme.job_change
        if jc.needs_sponsor_consent:
            rate = rate * jc.sponsor_consent_prob
        return rate

    def programme_route_open(self, ids: np.ndarray) -> np.ndarray:
        """Whether the programme's own rules let each jobless agent take another employer."""
        mode = self.sim.rules["job_change_mode"]
        if mode == "free":
            return np.ones(ids.size, dtype=bool)
        if mode == "on_dismissal":
            return self.sim.pop.dismissed[ids].copy()
        return np.zeros(ids.size, dtype=bool)

    def _times(self, r: np.ndarray, hazard: str, day: int, origin, sector) -> np.ndarray:
        """``r`` times the day's multiplier of one hazard (untouched when no event applies).

        Multiplying by a number is the same operation, element by element, as multiplying by an
        array filled with it, and multiplying by one changes nothing, so the rates are the same to
        the bit as multiplying by a per-agent array of multipliers, without the temporary arrays.
        """
        table = self.sim.timeline.multiplier_table(hazard, day)
        if table is None:
            return r
        if isinstance(table, float):
            return r * table
        return r * table[origin, sector]

    def _market_factor(self, day: int) -> float:
        """The labour-market multiplier of the runaway hazard on ``day`` (memoised by year)."""
        if day == self._market_day:
            return self._market_today
        market = self.sim.scenario.behaviour.runaway_labour_market
        year = self.sim.scenario.date(day).year
        f = self._market_cache.get(year)
        if f is None:
            f = self._market_cache[year] = market.factor(year)
        self._market_day, self._market_today = day, f
        return f

    def _runaway_column(
        self, ids: np.ndarray, state: State, day: int, out: np.ndarray, j: int
    ) -> None:
        """Column ``j`` of ``out``: the runaway rates, compiled (``runaway_column_kernel``).

        The rate rises with the debt burden and the stage's factor; without income it is
        multiplied by the no-income factor; working under job-change mode free, by the share not
        diverted to a legal change once the agent may change employer; then by the day's event
        multiplier and the labour-market index (irregular work is easier to find in a tight
        labour market).
        """
        sim, pop = self.sim, self.sim.pop
        beh = sim.scenario.behaviour
        if state is not State.EMPLOYED and state is not State.SPECIAL_WORKING:
            factor, use_factor = np.full(ids.size, beh.runaway_no_income_factor), True
        elif sim.rules["job_change_mode"] == "free":
            allowed = self.change_wait(ids, day) <= 0 if state is State.EMPLOYED else True
            diverted = sim.scenario.programme.job_change.runaway_diverted
            factor = np.broadcast_to(1 - diverted * allowed, ids.shape).astype(np.float64)
            use_factor = True
        else:
            factor, use_factor = _EMPTY, False
        table = sim.timeline.multiplier_table("runaway", day)
        if table is None:
            kind, scalar, grid = 0, 1.0, _NO_TABLE
        elif isinstance(table, float):
            kind, scalar, grid = 1, table, _NO_TABLE
        else:
            kind, scalar, grid = 2, 1.0, table
        market = beh.runaway_labour_market
        use_market = market is not None and market.elasticity != 0
        runaway_column_kernel(
            np.ascontiguousarray(ids, dtype=np.int64),
            pop.debt,
            pop.origin,
            pop.sector,
            pop.stage,
            float(self.wage_year),
            float(beh.runaway_debt_elasticity),
            self.runaway_base,
            self.debt_ref,
            self._by_stage,
            self.runaway_by_stage is not None,
            factor,
            use_factor,
            kind,
            float(scalar),
            grid,
            self._market_factor(day) if use_market else 1.0,
            use_market,
            out,
            j,
        )

    def rates(self, ids: np.ndarray, state: State, day: int) -> np.ndarray:
        """Matrix of daily rates, one column per hazard of ``state``."""
        sim, pop = self.sim, self.sim.pop
        kinds = HAZARDS_BY_STATE[state]
        tl = sim.timeline
        origin, sector = pop.origin[ids], pop.sector[ids]
        out = np.zeros((ids.size, len(kinds)))
        beh = sim.scenario.behaviour
        times = self._times
        for j, kind in enumerate(kinds):
            if kind is Hazard.DISMISSAL:
                r = times(self.dismissal_base[sector], "dismissal", day, origin, sector)
            elif kind is Hazard.RUNAWAY:
                self._runaway_column(ids, state, day, out, j)
                continue
            elif kind is Hazard.JOB_FOUND:
                open_ = self.programme_route_open(ids) if state is State.JOBLESS else False
                special = sum(e.rate_multiplier for e in tl.job_change_routes(state, day))
                if special == 0 and not np.any(open_):
                    continue  # no route to a job open today: the column stays zero
                r = self.job_rate(ids) * (open_ + special)
                r = times(r, "job_finding", day, origin, sector)
            elif kind is Hazard.STATUS_SWITCH:
                rate = tl.status_switch_rate(state, day)
                if rate == 0:
                    continue  # no route open today: the column stays zero
                r = times(np.full(ids.size, rate / YEAR), "status_switch", day, origin, sector)
            elif kind is Hazard.APPREHENSION:
                r = np.full(ids.size, beh.apprehension_rate_per_year / YEAR)
                r = times(r, "apprehension", day, origin, sector)
                r = np.where(pop.queued[ids] != NEVER, 0.0, r)  # already caught, waiting for a seat
            elif kind is Hazard.CANCELLATION:
                if self.cancel_rate == 0:
                    continue
                female = pop.female[ids]
                r = np.where(female, self.cancel_rate, self.cancel_rate - self.cancel_rate_f)
                r = times(r, "cancellation", day, origin, sector)
                # A permit already being cancelled (found at the next check) is not cancelled again.
                r = np.where(pop.timer_kind[ids] == self._timer_cancel, 0.0, r)
            else:  # VOLUNTARY_CHANGE
                jc = sim.scenario.programme.job_change
                if sim.rules["job_change_mode"] != "free" or jc.voluntary_rate_per_year == 0:
                    continue
                r = np.zeros(ids.size)
                if sim.rules["job_change_mode"] == "free":
                    allowed = self.change_wait(ids, day) <= 0
                    r = np.where(allowed, jc.voluntary_rate_per_year / YEAR, 0.0)
            out[:, j] = r
        return out

    def change_wait(self, ids: np.ndarray, day: int) -> np.ndarray:
        """Return days until each agent has been with its employer long enough to change."""
        pop = self.sim.pop
        tenure = day - pop.contract_start[ids].astype(np.int64)
        return np.maximum(np.ceil(self.change_after[pop.sector[ids]] - tenure), 0.0)

    def _right_pending(self, ids: np.ndarray, state: State, day: int) -> np.ndarray:
        """Return days until the right to change employer starts where still ahead (else inf).

        The rates of an employed worker step up on that day under job-change mode free, so the
        competing risks are looked at again then (a redraw, exact because waits are memoryless).
        Empty where no agent's rates can change that way.
        """
        if state is not State.EMPLOYED or self.sim.rules["job_change_mode"] != "free":
            return _EMPTY
        wait = self.change_wait(ids, day)
        return np.where(wait > 0, wait, np.inf)

    # ---- drawing --------------------------------------------------------------------------
    def draw(self, ids: np.ndarray, day: int, state: State | None = None) -> None:
        """Draw the next stochastic event of each agent from the hazards of its current state.

        ``state``, when given, is the state all of ``ids`` are in (saves looking it up).
        """
        if ids.size == 0:
            return
        if state is not None:
            groups = [int(state)]
            state_of = None
        else:
            state_of = self.sim.pop.state[ids]
            first = state_of[0]
            if (state_of == first).all():
                groups = [first]
            else:  # the states present, in ascending order (counting, not sorting)
                groups = np.flatnonzero(np.bincount(state_of, minlength=len(State)))
        for s in groups:
            sel = ids if len(groups) == 1 else ids[state_of == s]
            if not self._has_hazards[s]:
                self.sim.hazard_calendar.cancel(sel)
                continue
            state = State(int(s))
            rates = self.rates(sel, state, day)
            total = rates.sum(axis=1)
            pending = self._right_pending(sel, state, day)
            live = total > 0
            if pending.size:
                live |= np.isfinite(pending)
            n_live = int(np.count_nonzero(live))
            # Same draws in the same order whatever the kernel does with them.
            expo = self.stream.exponential(1.0, n_live) if n_live else _EMPTY
            unif = self.stream.random(n_live) if n_live else _EMPTY
            cal = self.sim.hazard_calendar
            cal.reserve(n_live)
            cal.n_free = draw_kernel(
                np.ascontiguousarray(sel, dtype=np.int64),
                np.ascontiguousarray(rates),
                total,
                live,
                pending,
                expo,
                unif,
                self._kinds[state],
                int(Hazard.NONE),
                int(day),
                self.sim.pop.hazard_kind,
                *cal.arrays(),
                cal.n_free,
            )

    def redraw_all(self, day: int) -> None:
        """A rate changed today: redraw everyone exposed to a hazard."""
        pop = self.sim.pop
        ids = np.flatnonzero(self._has_hazards[pop.state[: pop.n]])
        self.draw(ids, day)

    def redraw_for(self, events: list, day: int) -> None:
        """Events starting or ending today change some rates: redraw the agents exposed."""
        exposed = np.zeros(len(State), dtype=bool)
        for ev in events:
            exposed |= self._exposed_to(ev)
        exposed &= self._has_hazards
        if exposed.any():
            pop = self.sim.pop
            self.draw(np.flatnonzero(exposed[pop.state[: pop.n]]), day)

    def _exposed_to(self, ev) -> np.ndarray:
        """States whose rates an event can change (all states with hazards for a rule change)."""
        states = getattr(ev, "states", None) or getattr(ev, "from_states", None)
        hazard = getattr(ev, "hazard", None)
        mask = np.zeros(len(State), dtype=bool)
        if states is not None:
            mask[[int(STATE_BY_NAME[s]) for s in states]] = True
        elif hazard is not None:
            kind = HAZARD_BY_NAME[hazard]
            for state, kinds in HAZARDS_BY_STATE.items():
                mask[int(state)] |= kind in kinds
        else:
            mask[:] = True
        return mask

    def run(self, day: int) -> None:
        """Dispatch the stochastic events due today to the lifecycle."""
        due = self.sim.hazard_calendar.pop(day)
        if due.size == 0:
            return
        kinds = self.sim.pop.hazard_kind[due]  # popping cleared the agents' day fields
        for k in np.unique(kinds):
            if k == Hazard.NONE:  # a rate changes today (see _right_pending): draw again
                self.draw(due[kinds == k], day)
                continue
            self.sim.lifecycle.on_hazard(Hazard(int(k)), due[kinds == k], day)
