"""Money: net wages, living costs, remittances, debt repayment, savings, destitution and welfare.

Money is settled lazily: each agent holds its daily income and spending for its current state and
the day it was last settled; balances are brought up to date in closed form only when the agent's
state changes (or at month ends for the outstanding-debt series). The day savings run out is an
event in the calendar, so an uneventful day costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tmpsim.engine.calendar import BLOCK
from tmpsim.engine.jit import Resolved
from tmpsim.engine.module import Module
from tmpsim.model.lifecycle import ENDS_STRANDING
from tmpsim.model.money_kernels import (
    MoneyAgents,
    SettleTerms,
    enter_kernel,
    month_end_ids_kernel,
    settle_kernel,
    settle_reference,
)
from tmpsim.scenario.schema import Money
from tmpsim.states import N_STATES, NO_INCOME, State

if TYPE_CHECKING:
    from tmpsim.simulation import Simulation

_enter = Resolved(enter_kernel)  # called at every move

DAYS_PER_MONTH = 365.25 / 12


def net_wage_per_day(m: Money) -> float:
    """The programme's net wage per day (before the sector's factor)."""
    return m.wage_per_month * m.net_share / DAYS_PER_MONTH


class MoneyModule(Module):
    """Wages, spending, debt and savings of every agent, and who is destitute.

    Its ``on_move`` is the move itself: one compiled pass writes the new state, counts the flow,
    clears the stranded flag where the move ends stranding, and settles each agent's money.
    """

    fields = {
        "debt": (np.float64, 0),
        "savings": (np.float64, 0),
        "remitted": (np.float64, 0),
        "money_t": (np.int32, 0),  # day money was last settled
        "income": (np.float64, 0),  # net income per day in the current state
        "cost": (np.float64, 0),  # spending per day in the current state
        "emergency": (np.float64, 0),  # emergency money received
        "destitute": (np.bool_, 0),
        "t_money": (np.int32, -1),  # day savings run out
    }
    flags = ("destitute",)
    flags_by_sex = flags  # the women among them (``Flag.women``): set and cleared in Python
    writes_state = True

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self.calendar = sim.pop.calendar("t_money", sim.n_days)
        self.destitute = sim.pop.flag_of("destitute")
        self.stranded = sim.pop.flag_of("stranded")
        # The stranded by state, shifted by each move (a scratch array where the flag keeps none).
        by_state = self.stranded.by_state
        self._stranded_by_state = (
            np.zeros((N_STATES, sim.n_origins), dtype=np.int64) if by_state is None else by_state
        )
        sc = sim.scenario
        m = sc.money
        self.m = m
        self.wage_day = net_wage_per_day(m)
        self.living_day = m.living_cost_per_month / DAYS_PER_MONTH
        self.subsist_day = m.subsistence_cost_per_month / DAYS_PER_MONTH
        self.sector_wage = np.array([s.wage_factor for s in sc.sectors.values()])
        # Those renting a room privately (civil society's ``renting`` flag) pay the rent on top
        # of a state's spending in the states without work, where the job's bed is lost.
        rental = sc.programme.private_rental
        self.rent_day = rental.rent_month / DAYS_PER_MONTH if rental is not None else 0.0
        # Where the employer keeps up the worker without work (``programme.employer_upkeep``),
        # food and bed come as at work: the living cost is spent there, and no rent.
        self.upkept = sc.programme.upkept()
        self.pays_rent = np.zeros(N_STATES, dtype=bool)
        if self.rent_day:
            self.pays_rent[[int(s) for s in NO_INCOME]] = True
            self.pays_rent[self.upkept] = False
        self.interest_day = np.array(
            [o.loan_interest_per_year / 365.25 for o in sc.origins.values()]
        )
        self.ticket = np.array([p.terms.return_ticket for p in sim.profiles])  # by profile
        self.terms = tuple(  # SettleTerms as the tuple the kernels take
            SettleTerms(self.interest_day, float(m.repay_share), float(m.remit_share))
        )
        self._agents_tuple: tuple = ()
        self._agents_capacity = -1
        self._moved_tuple: tuple = ()
        self._moved_capacity = -1
        # Settled at month ends: everyone in the pipeline or the host; savings summed in the host.
        self._active_state = np.array([s <= State.HOME_VISIT for s in State])
        self._host_state = np.array([State.EMPLOYED <= s <= State.IRREGULAR for s in State])
        self._rates: dict[tuple[int, bool], tuple[np.ndarray, float]] = {}  # see rates_for
        self._buffer = np.empty(0, dtype=np.int64)  # ids the kernel hands back (see enter)
        # Agents to visit at the next month end: those in an active state at the last one
        # (ascending), then everyone created since (ids from ``_seen`` on). Agents who have left
        # (returned, other status, dropped) never come back, so they are not visited again.
        self._month_ids = np.empty(0, dtype=np.int64)  # the front of ``_month_buffer``
        self._month_buffer = np.empty(0, dtype=np.int64)  # the kernel compacts it in place
        self._seen = 0

    # ---- closed-form settlement ----------------------------------------------------------
    def settle(self, ids: np.ndarray, day: int, record: bool = True) -> None:
        """Bring debt, savings and remittances of ``ids`` up to ``day``.

        With ``record`` false the remittances are not booked in the day's series (used when
        bringing the initial population's balances up to the start: they were sent before it).
        """
        if ids.size == 0:
            return
        remit = np.zeros(self.sim.n_origins)
        settle_kernel(
            np.ascontiguousarray(ids, dtype=np.int64), int(day), self.agents(), self.terms, remit
        )
        if record:
            self.sim.recorder.add_by_origin("remitted", remit)

    def agents(self) -> tuple:
        """``MoneyAgents`` as the tuple the kernels take (bundled again when arrays grow)."""
        pop = self.sim.pop
        if self._agents_capacity != pop.capacity:
            self._agents_tuple = tuple(MoneyAgents(*(getattr(pop, f) for f in MoneyAgents._fields)))
            self._agents_capacity = pop.capacity
        return self._agents_tuple

    def rates_for(self, state: State) -> tuple[np.ndarray, float]:
        """Daily income by sector and daily spending of agents in ``state``."""
        welfare = bool(self.sim.rules["welfare_eligible"])
        key = (int(state), welfare)
        found = self._rates.get(key)
        if found is not None:
            return found
        if state in (State.EMPLOYED, State.SPECIAL_WORKING, State.IRREGULAR):
            factor = {
                State.EMPLOYED: 1.0,
                State.SPECIAL_WORKING: self.m.special_wage_factor,
                State.IRREGULAR: self.m.irregular_wage_factor,
            }[state]
            found = self.wage_day * self.sector_wage * factor, self.living_day
        elif state in NO_INCOME:
            # Welfare pays what a person without work must spend: subsistence, or where the
            # employer keeps them up (bed and food provided) only the living cost beside them.
            cost = self.living_day if self.upkept[state] else self.subsist_day
            income = cost if welfare else 0.0
            found = np.full(self.sector_wage.size, income), cost
        else:
            found = np.zeros(self.sector_wage.size), 0.0
        self._rates[key] = found
        return found

    def set_rates(self, ids: np.ndarray, state: State, day: int) -> None:
        """Daily income and spending for agents now in ``state``; (re)schedule destitution."""
        self.enter(ids, state, day, settle=False, move=False)

    def on_move(self, ids: np.ndarray, new: State, day: int) -> None:
        """The move: state, flow and stranded flag written, money settled (``enter``)."""
        self.enter(ids, new, day, clear_stranded=new in ENDS_STRANDING)

    def enter(
        self,
        ids: np.ndarray,
        state: State,
        day: int,
        settle: bool = True,
        move: bool = True,
        clear_stranded: bool = False,
    ) -> None:
        """Agents enter ``state``: settle, (count the move,) set rates, reschedule destitution.

        One compiled pass over the agents (``enter_kernel``); with ``move`` it also counts the
        flow, writes the state and, with ``clear_stranded``, clears the stranded flag. Those
        renting a room (``programme.private_rental``) spend the rent too in the states without
        work: they are entered in a pass of their own, at their own spending.
        """
        if ids.size == 0:
            return
        sim = self.sim
        found = self._rates.get((state, sim.rules["welfare_eligible"]))
        income, cost = self.rates_for(state) if found is None else found
        if self.rent_day and self.pays_rent[state]:
            renting = sim.pop.renting[ids]
            # Renters spend the rent too: entered apart, at their own cost (count_nonzero: a
            # small array's ``any`` costs a few microseconds).
            if np.count_nonzero(renting):
                self._enter_at(
                    ids[~renting], state, day, settle, move, clear_stranded, income, cost
                )
                cost = float(cost) + self.rent_day
                ids = ids[renting]
        self._enter_at(ids, state, day, settle, move, clear_stranded, income, cost)

    def _enter_at(
        self,
        ids: np.ndarray,
        state: State,
        day: int,
        settle: bool,
        move: bool,
        clear_stranded: bool,
        income: np.ndarray,
        cost: float,
    ) -> None:
        """``enter`` for agents who all spend ``cost`` a day and earn ``income`` by sector."""
        if ids.size == 0:
            return
        sim = self.sim
        rec = sim.recorder
        if ids.dtype != np.int64 or not ids.flags.c_contiguous:
            ids = np.ascontiguousarray(ids, dtype=np.int64)
        remit = np.zeros(sim.n_origins)
        n = ids.size
        if self._buffer.size < 2 * n:
            self._buffer = np.empty(max(2 * n, 4096), dtype=np.int64)
        to_clear = self._buffer[:n]
        to_make = self._buffer[n : 2 * n]
        cal = self.calendar
        if cal.n_free < min(n, cal.n_days) + n // BLOCK + 1:
            cal.reserve(n)
        cal.n_free, n_clear, n_make = _enter(
            ids, int(state), int(day), settle, move, clear_stranded, self.agents(),
            self._moved(), self.terms, income, float(cost), remit, to_clear, to_make,
            cal.arrays(), cal.n_free,
        )  # fmt: skip
        if settle:
            rec.add_by_origin("remitted", remit)
        # Flags change in any order: the sets are disjoint and each change is counted once.
        # Both are copied before a listener runs, as one may enter agents again (the buffer);
        # most moves change neither (nothing to copy).
        made = to_make[:n_make].copy() if n_make else None
        if n_clear:
            self.clear_destitute(to_clear[:n_clear].copy())
        if n_make:
            self.make_destitute(made)

    def _moved(self) -> tuple:
        """``MoveArrays`` as the tuple ``enter_kernel`` takes (bundled again when arrays grow)."""
        pop = self.sim.pop
        if self._moved_capacity != pop.capacity:
            rec = self.sim.recorder
            self._moved_tuple = (
                pop.state, pop.sector, pop.destitute, self.stranded.values, self.stranded.counts,
                self._stranded_by_state, rec.flow_today, rec.counts, rec.sector_counts,
                pop.segment, rec.segment_counts,
            )  # MoveArrays  # fmt: skip
            self._moved_capacity = pop.capacity
        return self._moved_tuple

    def enter_reference(
        self,
        ids: np.ndarray,
        state: State,
        day: int,
        settle: bool = True,
        move: bool = True,
        clear_stranded: bool = False,
    ) -> None:
        """``enter`` in NumPy, step by step (the specification of ``enter_kernel``)."""
        if ids.size == 0:
            return
        pop, rec = self.sim.pop, self.sim.recorder
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if move:
            if clear_stranded:
                self.stranded.clear(ids)
            self.stranded.restate(ids, int(state))
            rec.flow(pop.state[ids], int(state), pop.origin[ids], pop.sector[ids], pop.segment[ids])
        if settle:
            self.settle_reference(ids, day)
        if move:
            pop.state[ids] = int(state)
        income, cost = self.rates_for(state)
        pop.income[ids] = income[pop.sector[ids]]
        pop.cost[ids] = cost
        if self.rent_day and self.pays_rent[state]:
            renting = ids[pop.renting[ids]]
            pop.cost[renting] = float(cost) + self.rent_day
        pop.money_t[ids] = day
        self.schedule_destitution(ids, day)

    def settle_reference(self, ids: np.ndarray, day: int) -> None:
        """``settle`` with NumPy (``settle_reference``); remittances summed in id order."""
        pop = self.sim.pop
        d = (day - pop.money_t[ids]).astype(np.float64)
        due = ids[d > 0]
        d = d[d > 0]
        origin = pop.origin[due]
        pop.debt[due], pop.savings[due], sent = settle_reference(
            d,
            pop.debt[due],
            pop.savings[due],
            pop.income[due],
            pop.cost[due],
            self.interest_day[origin],
            float(self.m.repay_share),
            float(self.m.remit_share),
        )
        pop.remitted[due] += sent
        remit = np.zeros(self.sim.n_origins)
        for o, amount in zip(origin, sent, strict=True):  # the kernels' order of additions
            remit[o] += amount
        pop.money_t[due] = day
        self.sim.recorder.add_by_origin("remitted", remit)

    def schedule_destitution(self, ids: np.ndarray, day: int) -> None:
        """Agents spending more than they earn become destitute the day savings run out."""
        pop = self.sim.pop
        burn = pop.cost[ids] - pop.income[ids]
        short = burn > 1e-9
        ok = ids[~short]
        self.clear_destitute(ok)
        self.calendar.cancel(ok)
        ids, burn = ids[short], burn[short]
        if ids.size == 0:
            return
        days_left = np.floor(pop.savings[ids] / burn).astype(np.int64)
        now = days_left <= 0
        self.make_destitute(ids[now])
        later = ids[~now]
        self.clear_destitute(later)
        self.calendar.schedule(later, day + days_left[~now])

    def reprice(self, ids: np.ndarray, day: int, outlay: float = 0.0) -> None:
        """Spending changed without a move (renting began or ended): rates set again.

        Balances are settled up to ``day`` at the old spending, ``outlay`` is paid from savings
        (never below zero), and each agent's income, spending and day of destitution are set
        again for its current state.
        """
        if ids.size == 0:
            return
        pop = self.sim.pop
        self.settle(ids, day)
        if outlay:
            pop.savings[ids] = np.maximum(pop.savings[ids] - outlay, 0.0)
        states = pop.state[ids]
        for state in np.unique(states):  # a few states at most, not one call per agent
            self.enter(ids[states == state], State(int(state)), day, settle=False, move=False)

    def make_destitute(self, ids: np.ndarray) -> None:
        """Set the destitute flag (no income, no savings, no welfare); listeners ask for a bed."""
        self.destitute.set(ids)

    def clear_destitute(self, ids: np.ndarray) -> None:
        """Clear the destitute flag (listeners free any shelter place)."""
        self.destitute.clear(ids)

    def give(self, ids: np.ndarray, amount: float | np.ndarray, day: int) -> None:
        """Pay money to agents (cash payments, emergency funds) and reschedule destitution."""
        pop = self.sim.pop
        self.settle(ids, day)
        pop.savings[ids] += amount
        self.schedule_destitution(ids, day)

    # ---- daily ----------------------------------------------------------------------------
    def step(self, day: int) -> None:
        """Destitution events due today."""
        due = self.calendar.pop(day)
        if due.size:
            self.settle(due, day)
            # Popping consumed their events; a listener may file a new day for some of them (a
            # renter who loses the room spends less, and what is left may last a day or more).
            self.make_destitute(due)

    def in_progress(self) -> np.ndarray:
        """Ids of everyone between selection and leaving (whose balances still move)."""
        pop = self.sim.pop
        return np.flatnonzero(self._active_state[pop.state[: pop.n]])

    def month_end(self, day: int) -> None:
        """Settle everyone in the host or pipeline and record debt and savings totals.

        The holders of the programme's status by stage and origin are counted in the same pass
        over the agents and recorded too.
        """
        sim = self.sim
        pop, rec = sim.pop, sim.recorder
        remit = np.zeros(sim.n_origins)
        debt = np.zeros(rec.O)
        savings = np.zeros(rec.O)
        counts = np.zeros((N_STATES, len(sim.scenario.programme.stages), sim.n_origins), np.int64)
        ids = self._visit_ids()
        month = (
            pop.state, pop.stage, self._active_state, self._host_state, remit, debt, savings,
            counts,
        )  # MonthEndArrays  # fmt: skip
        kept = month_end_ids_kernel(ids, int(day), self.agents(), self.terms, month)
        self._month_ids = ids[:kept]
        self._seen = pop.n
        self._count_outside(counts)
        rec.add_by_origin("remitted", remit)
        rec.monthly["debt_outstanding"][day] = debt
        rec.monthly["savings_in_host"][day] = savings
        rec.stage_stocks(day, counts)

    def _visit_ids(self) -> np.ndarray:
        """Those active at the last month end, then everyone created since, in one buffer."""
        kept, n = self._month_ids.size, self.sim.pop.n
        need = kept + n - self._seen
        if self._month_buffer.size < need:
            grown = np.empty(max(need, 2 * self._month_buffer.size), dtype=np.int64)
            grown[:kept] = self._month_ids
            self._month_buffer = grown
        ids = self._month_buffer[:need]  # its front already holds ``_month_ids``
        ids[kept:] = np.arange(self._seen, n, dtype=np.int64)
        return ids

    def month_end_reference(self, day: int) -> None:
        """``month_end`` as separate NumPy steps: settle, sum by origin, count status holders."""
        sim = self.sim
        pop, rec = sim.pop, sim.recorder
        active = self.in_progress()
        self.settle(active, day)
        o = pop.origin[active]
        rec.monthly["debt_outstanding"][day] = np.bincount(
            o, weights=pop.debt[active], minlength=rec.O
        )
        host = self._host_state[pop.state[active]]
        rec.monthly["savings_in_host"][day] = np.bincount(
            o[host], weights=pop.savings[active][host], minlength=rec.O
        )
        n = pop.n
        n_stages = len(sim.scenario.programme.stages)
        state = pop.state[:n].astype(np.int64)
        flat = (state * n_stages + pop.stage[:n]) * sim.n_origins + pop.origin[:n]
        counts = np.bincount(flat, minlength=N_STATES * n_stages * sim.n_origins)
        counts = counts.reshape(N_STATES, n_stages, sim.n_origins)
        counts[~self._active_state] = 0  # stages are counted in the active states
        self._count_outside(counts)
        rec.stage_stocks(day, counts)

    def _count_outside(self, counts: np.ndarray) -> None:
        """Add the people kept outside the agent arrays (in the first stage) to ``counts``.

        They have no money of their own to settle (applicants: no income, spending or debt).
        """
        outside = self.sim.outside_counts().sum(axis=(2, 3))
        counts[:, 0, :] += np.where(self._active_state[:, None], outside, 0)

    def apply_welfare_rule(self, day: int) -> None:
        """Welfare eligibility changed: recompute the rates of everyone without income."""
        pop = self.sim.pop
        n = pop.n
        for state in NO_INCOME:
            ids = np.flatnonzero(pop.state[:n] == state)
            self.enter(ids, state, day, move=False)
