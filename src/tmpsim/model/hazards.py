"""Competing stochastic events: waiting times drawn when an agent enters a state.

For each state a fixed set of hazards applies. On entering the state (or when a dated event
changes a rate) the agent draws one exponential waiting time from the total rate and which hazard
it will be; the event is filed in the calendar. Being memoryless, redrawing on a regime change is
exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tmpsim.engine.calendar import BLOCK
from tmpsim.engine.jit import Resolved
from tmpsim.engine.module import Module
from tmpsim.engine.split import split_by
from tmpsim.kinds import (
    HAZARD_BY_NAME,
    HAZARD_NAMES,
    HAZARDS_BY_STATE,
    STATE_BY_NAME,
    Hazard,
    State,
)
from tmpsim.model.hazard_kernels import (
    NO_LIMIT,
    RateAgents,
    RateConstants,
    RatePlan,
    draw_kernel,
    rates_kernel,
)
from tmpsim.model.money import net_wage_per_day
from tmpsim.model.recruitment import market_debt_reference, market_of

if TYPE_CHECKING:
    from tmpsim.simulation import Simulation

YEAR = 365.25
N_HAZARDS = len(Hazard)
_EMPTY = np.empty(0)
# Called at every move into a state with hazards.
_rates, _draw = Resolved(rates_kernel), Resolved(draw_kernel)
SCRATCH = 1 << 14  # numbers in the buffers for the rates of a small draw (``Hazards._rates``)


class Hazards(Module):
    """Per-agent hazard rates, drawing of waiting times, and dispatch of due events."""

    fields = {
        "t_hazard": (np.int32, -1),  # next stochastic event (competing hazards)
        "hazard_kind": (np.int8, 0),
    }

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self.calendar = sim.pop.calendar("t_hazard", sim.n_days)
        sc = sim.scenario
        self.stream = sim.streams["hazards"]
        # By profile (origin and segment): the rates kernel reads each agent's profile.
        terms = [p.terms for p in sim.profiles]
        self.profile_origin = np.array([p.origin for p in sim.profiles], dtype=np.int64)
        self.runaway_base = np.array([t.runaway_rate_per_year for t in terms]) / YEAR
        self.dismissal_base = (
            np.array([s.dismissal_rate_per_year for s in sc.sectors.values()]) / YEAR
        )
        wage_year = net_wage_per_day(sc.money) * YEAR
        self.wage_year = wage_year
        # Mean debt burden at departure, per profile: the level of debt at which the profile's
        # runaway rate is stated. Where the market sets the fees, the origins' own debt_mean is
        # not what anyone owes, so the reference is the debt the market's fees leave.
        market = sc.origins_market
        if market is not None and market.fees:
            split = market_of(sc, sim.demand_total)
            ref = market_debt_reference(sc, sim.profiles, split, sim.demand_total)
        else:
            ref = np.array([t.fee_pay_share * t.borrow_share * t.debt_mean for t in terms])
        self.debt_ref = ref / wage_year
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
        # The most voluntary changes of employer by stage (over the stay, or within each stage
        # with max_changes_by_stage: the lifecycle then restarts the count at a new stage). None:
        # no limit, and no agent's count is read. NO_LIMIT is beyond the one-byte count.
        self.change_limit: np.ndarray | None = None
        stages = [s.name for s in sc.programme.stages]
        if jc.max_changes is not None:
            self.change_limit = np.full(len(stages), jc.max_changes, dtype=np.int64)
        elif jc.max_changes_by_stage is not None:
            by_stage = jc.max_changes_by_stage
            self.change_limit = np.array([by_stage.get(s, NO_LIMIT) for s in stages], np.int64)
        self._kinds = {s: np.array(k, dtype=np.int8) for s, k in HAZARDS_BY_STATE.items()}
        self.runaway_by_stage = np.array([s.runaway_factor for s in sc.programme.stages], float)
        self.use_stage = bool((self.runaway_by_stage != 1).any())  # else skip the factor
        self._market_cache: dict[int, float] = {}
        self._market_day, self._market_today = -1, 1.0
        self._plans: dict[tuple, tuple[RatePlan, tuple]] = {}  # the plan, and as a tuple
        self._plans_day, self._regime, self._regime_days = -1, 0, None
        # Constants of the job-finding rate, in float32 like the agents' attributes they weigh.
        sup, info = sc.supervision, sc.information
        f32 = np.float32
        self._job = (
            bool(info.own_language_info),
            f32(info.own_language_level),
            f32(info.base),
            f32(info.language_weight),
            f32(info.network_weight),
            f32(sup.proactivity_floor),
            f32(1 - sup.proactivity_floor),
            f32(sup.job_search_rate_per_year / YEAR),
            bool(jc.needs_sponsor_consent),
            f32(jc.sponsor_consent_prob),
        )
        self.constants = RateConstants(
            job=self._job,
            dismissal_base=self.dismissal_base,
            runaway_base=self.runaway_base,
            debt_ref=self.debt_ref,
            by_stage=self.runaway_by_stage,
            use_stage=self.use_stage,
            wage_year=float(self.wage_year),
            elasticity=float(sc.behaviour.runaway_debt_elasticity),
            change_after=self.change_after,
            cancel_female=float(self.cancel_rate),
            cancel_male=float(self.cancel_rate - self.cancel_rate_f),
            limit_changes=self.change_limit is not None,
            change_limit=np.zeros(1, np.int64) if self.change_limit is None else self.change_limit,
        )
        self._constants = tuple(self.constants)
        self._agents: tuple = ()  # RateAgents as a tuple, bundled again when the arrays grow
        self._agents_capacity = -1
        # Room for the rates of a small draw (``_rates`` with ``scratch``): a move's few agents.
        self._scratch = np.empty(SCRATCH)
        self._scratch_live = np.empty(SCRATCH, np.bool_)

    # ---- rates ----------------------------------------------------------------------------
    def programme_route_open(self, ids: np.ndarray) -> np.ndarray:
        """Whether the programme's own rules let each jobless agent take another employer."""
        mode = self.sim.rules["job_change_mode"]
        if mode == "free":
            return np.ones(ids.size, dtype=bool)
        if mode == "on_dismissal":
            return self.sim.pop.dismissed[ids].copy()
        return np.zeros(ids.size, dtype=bool)

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

    def _plans_of(self, state: State, day: int) -> tuple[RatePlan, tuple]:
        """What ``rates_kernel`` needs for agents in ``state`` on ``day`` (memoised).

        Everything here depends on the day, the state and the rules, not on the agents: the
        hazards that can happen (a column stays zero while its route is closed), their event
        multipliers by origin and sector, and the constants of the runaway and other rates. It
        changes only on the timeline's regime changes (events that change rates start or end,
        the labour-market index changes), so it is kept for the days between two of them.
        """
        if day != self._plans_day:
            if self._regime_days is None:
                self._regime_days = np.array(sorted(self.sim.timeline.regime_changes), np.int64)
            self._plans_day = day
            self._regime = int(np.searchsorted(self._regime_days, day, side="right"))
        # The unfilled places' factor changes at month ends (``tmpsim.model.vacancies``).
        key = (self._regime, state, self.sim.rules["job_change_mode"], self.sim.vacancies.version)
        found = self._plans.get(key)
        if found is None:
            plan = self._make_plan(state, day, key[2])
            found = self._plans[key] = (plan, tuple(plan))
        return found

    def _make_plan(self, state: State, day: int, mode: str) -> RatePlan:
        """The plan of ``state`` on ``day`` under job-change ``mode`` (see ``_plans_of``)."""
        sim = self.sim
        tl, beh = sim.timeline, sim.scenario.behaviour
        kinds = np.array(HAZARDS_BY_STATE[state], dtype=np.int8)
        mult = np.ones((kinds.size, len(sim.profiles), len(sim.sectors)))  # [kind, profile, sector]
        value = np.zeros(kinds.size)
        special, job_mode, job_open, job_mult_kind = 0.0, 0, 0, 0
        for j, kind in enumerate(HAZARDS_BY_STATE[state]):
            if kind is Hazard.JOB_FINDING:
                # The programme's own route (jobless only, by the job-change mode) and the
                # special routes open today (the sum of their rate multipliers).
                special = float(sum(e.rate_multiplier for e in tl.job_change_routes(state, day)))
                if state is State.JOBLESS:
                    job_mode, job_open = 1, {"forbidden": 0, "on_dismissal": 1, "free": 2}[mode]
                elif special != 0:
                    job_mode = 2
                if job_mode == 0 or job_open == 0 and special == 0:
                    kinds[j] = Hazard.NONE  # no route open today: the column stays zero
            elif kind is Hazard.VOLUNTARY_CHANGE:
                jc = sim.scenario.programme.job_change
                rate = jc.voluntary_rate_per_year
                if jc.needs_sponsor_consent:  # the employer left must release the worker
                    rate *= jc.sponsor_consent_prob
                if mode != "free" or rate == 0:
                    kinds[j] = Hazard.NONE
                value[j] = rate / YEAR
                continue  # no event multiplier
            elif kind is Hazard.STATUS_SWITCH:
                value[j] = tl.status_switch_rate(state, day) / YEAR
                if value[j] == 0:
                    kinds[j] = Hazard.NONE  # no route open today: the column stays zero
            elif kind is Hazard.APPREHENSION:
                value[j] = beh.apprehension_rate_per_year / YEAR
            elif kind is Hazard.CANCELLATION and self.cancel_rate == 0:
                kinds[j] = Hazard.NONE
            table = tl.multiplier_table(HAZARD_NAMES[kind], day)
            if table is not None:
                mult[j] = table
                if kind is Hazard.JOB_FINDING:
                    job_mult_kind = 1 if isinstance(table, float) else 2
            if kind is Hazard.RUNAWAY:  # the legal ways out open today (behaviour)
                mult[j] *= tl.home_closed_push(day)[self.profile_origin][:, None]  # by origin
                if state is State.EMPLOYED:
                    mult[j] *= tl.legal_route_relief(day)[None, :]  # by sector
        working = state is State.EMPLOYED or state is State.SPECIAL_WORKING
        diverted = sim.scenario.programme.job_change.runaway_diverted
        if not working:
            factor_mode, factor = 1, beh.runaway_no_income_factor
        elif mode == "free" and state is State.EMPLOYED:
            factor_mode, factor = 2, 1.0
        elif mode == "free":
            factor_mode, factor = 1, 1 - diverted  # a special status may always change employer
        else:
            factor_mode, factor = 0, 1.0
        market = beh.runaway_labour_market
        use_market = market is not None and market.active
        market_factor = self._market_factor(day) if use_market else 1.0
        pull = sim.vacancies.runaway_factor()  # places left unfilled pull into irregular work
        if pull != 1.0:
            use_market, market_factor = True, market_factor * pull
        need_tenure = state is State.EMPLOYED and mode == "free"
        return RatePlan(
            kinds=kinds,
            mult=mult,
            value=value,
            special=special,
            job_mode=job_mode,
            job_open=job_open,
            job_mult_kind=job_mult_kind,
            factor_mode=factor_mode,
            factor=float(factor),
            diverted=float(diverted),
            need_tenure=need_tenure,
            market=market_factor,
            use_market=use_market,
        )

    def rates(self, ids: np.ndarray, state: State, day: int) -> np.ndarray:
        """Matrix of daily rates, one column per hazard of ``state``."""
        return self._rates(np.ascontiguousarray(ids, dtype=np.int64), state, day)[0]

    def _rates(self, ids: np.ndarray, state: State, day: int, scratch: bool = False) -> tuple:
        """Rates, total rates, days until rates change (or empty) and live agents of ``ids``.

        Also returns how many are live. One compiled pass (``rates_kernel``); ``ids`` int64.
        With ``scratch`` the arrays of a small draw are views of buffers the next call
        overwrites (a draw uses them at once), which saves allocating them at every move; a
        large draw (a redraw of everyone exposed) allocates its own, so the buffers stay small.
        """
        pop = self.sim.pop
        plan, plan_tuple = self._plans_of(state, day)
        n, k = ids.size, plan.kinds.size
        if scratch and n * (k + 2) <= SCRATCH:
            room = self._scratch
            out = room[: n * k].reshape(n, k)
            total = room[n * k : n * (k + 1)]
            pending = room[n * (k + 1) : n * (k + 2)] if plan.need_tenure else _EMPTY
            live = self._scratch_live[:n]
        else:
            out, total, live = np.empty((n, k)), np.empty(n), np.empty(n, np.bool_)
            pending = np.empty(n) if plan.need_tenure else _EMPTY
        if self._agents_capacity != pop.capacity:  # the arrays were replaced: bundle them again
            self._agents = tuple(RateAgents(*(getattr(pop, f) for f in RateAgents._fields)))
            self._agents_capacity = pop.capacity
        n_live = _rates(
            ids, int(day), self._agents, plan_tuple, self._constants, out, total, pending, live
        )
        return out, total, pending, live, n_live

    # ---- drawing --------------------------------------------------------------------------
    def draw(self, ids: np.ndarray, day: int, state: State | None = None) -> None:
        """Draw the next stochastic event of each agent from the hazards of its current state.

        ``state``, when given, is the state all of ``ids`` are in (saves looking it up).
        """
        if ids.size == 0:
            return
        if state is not None:
            self._draw_state(ids, state, day)
            return
        state_of = self.sim.pop.state[ids]
        first = state_of[0]
        if (state_of == first).all():
            self._draw_state(ids, State(int(first)), day)
            return
        # The states present, in ascending order (counting, not sorting).
        for s in np.flatnonzero(np.bincount(state_of, minlength=len(State))):
            self._draw_state(ids[state_of == s], State(int(s)), day)

    def _draw_state(self, ids: np.ndarray, state: State, day: int) -> None:
        """Draw the next stochastic event of agents all in ``state``."""
        if not self._has_hazards[state]:
            self.calendar.cancel(ids)
            return
        if ids.dtype != np.int64 or not ids.flags.c_contiguous:
            ids = np.ascontiguousarray(ids, dtype=np.int64)
        rates, total, pending, live, n_live = self._rates(ids, state, day, scratch=True)
        # Same draws in the same order whatever the kernel does with them.
        if n_live:
            expo = self.stream.exponential(1.0, n_live)
            unif = self.stream.random(n_live)
        else:
            expo = unif = _EMPTY
        cal = self.calendar
        if cal.n_free < min(n_live, cal.n_days) + n_live // BLOCK + 1:
            cal.reserve(n_live)
        cal.n_free = _draw(
            ids,
            rates,
            total,
            live,
            pending,
            expo,
            unif,
            self._kinds[state],
            int(day),
            self.sim.pop.hazard_kind,
            cal.arrays(),
            cal.n_free,
        )

    def on_move(self, ids: np.ndarray, new: State, day: int) -> None:
        """Agents entering a state draw their next stochastic event from its hazards."""
        self._draw_state(ids, new, day)  # a move announces no empty ``ids``

    def events(self, day: int) -> None:
        """Rates change today (events start or end): redraw the agents exposed."""
        changes = self.sim.timeline.regime_changes.get(day)
        if changes:
            self.redraw_for(changes, day)

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

    def step(self, day: int) -> None:
        """Dispatch the stochastic events due today to their handlers (in the kinds' order)."""
        due = self.calendar.pop(day)
        if due.size == 0:
            return
        kinds = self.sim.pop.hazard_kind[due]  # popping cleared the agents' day fields
        table = self.sim.hazard_handlers  # keyed by Hazard: an int finds its member
        for k, ids in split_by(due, kinds, N_HAZARDS):
            if k == 0:  # Hazard.NONE: the right to change employer starts: draw again
                self.draw(ids, day)
                continue
            if k == Hazard.DISMISSAL:
                ids = self._thinned(ids, day)
                if ids.size == 0:
                    continue
            table[k](ids, day)

    def _thinned(self, ids: np.ndarray, day: int) -> np.ndarray:
        """The dismissals due today that happen (thinning).

        Dismissals are drawn at the year's bound of the labour-need factor; each is kept with
        probability factor / bound for its segment and sector this month, and the others draw
        their next event again (exact, waits being memoryless).
        """
        timeline = self.sim.timeline
        bound = timeline.labour_need_bound(day)
        if bound is None:
            return ids
        keep_p = timeline.labour_need_factor(day) / bound
        if (keep_p == 1.0).all():
            return ids
        pop = self.sim.pop
        keep = self.stream.random(ids.size) < keep_p[pop.segment[ids], pop.sector[ids]]
        self.draw(ids[~keep], day)
        return ids[keep]
