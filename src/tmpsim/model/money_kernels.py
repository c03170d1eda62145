"""Compiled kernels of the money module (one pass over the agents concerned).

``settle_reference`` is the closed-form settlement in NumPy, the specification ``settle_one`` and
the kernels using it are held to; ``MoneyModule.enter_reference`` and
``MoneyModule.month_end_reference`` are the NumPy versions of ``enter_kernel`` and
``month_end_ids_kernel`` (the tests run the model with each and compare the outputs).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tmpsim.engine.calendar import file_entries
from tmpsim.engine.jit import njit


class MoneyAgents(NamedTuple):
    """The agent fields the money kernels read and write (the population's current arrays)."""

    origin: np.ndarray
    money_t: np.ndarray  # day last settled
    debt: np.ndarray
    savings: np.ndarray
    remitted: np.ndarray
    income: np.ndarray  # per day in the current state
    cost: np.ndarray  # per day in the current state


class SettleTerms(NamedTuple):
    """The terms of the settlement (from the scenario)."""

    interest_day: np.ndarray  # simple interest per day on debt, by origin
    repay_share: float  # of a surplus, repaying debt
    remit_share: float  # of a surplus, sent home


class MoveArrays(NamedTuple):
    """What a move changes besides money: the state, its counts, and the flags it touches."""

    state: np.ndarray
    sector: np.ndarray
    destitute: np.ndarray
    stranded: np.ndarray
    stranded_count: np.ndarray  # by origin
    stranded_by_state: np.ndarray  # [state, origin]
    flow_today: np.ndarray  # [old, new, origin]
    counts: np.ndarray  # [state, origin]
    sector_counts: np.ndarray  # [state, origin, sector]
    segment: np.ndarray
    segment_counts: np.ndarray  # [state, origin, segment]


class MonthEndArrays(NamedTuple):
    """What the month-end pass reads besides money, and the sums it writes (by origin)."""

    state: np.ndarray
    stage: np.ndarray
    active_state: np.ndarray  # by state: settled and summed
    host_state: np.ndarray  # by state: savings summed
    remit_by_origin: np.ndarray
    debt_by_origin: np.ndarray
    savings_by_origin: np.ndarray
    stage_counts: np.ndarray  # [state, stage, origin] of the agents in an active state


class DepartArrays(NamedTuple):
    """What leaving the host changes besides money, and the sums of those who left (by origin)."""

    profile: np.ndarray  # the return ticket is the profile's
    ticket: np.ndarray  # by profile
    t_timer: np.ndarray  # pending deterministic event: cancelled (-1)
    exited: np.ndarray
    queued: np.ndarray  # day asked to go home: cleared (NEVER)
    entered: np.ndarray
    created: np.ndarray
    age0: np.ndarray
    remit_by_origin: np.ndarray
    debt_by_origin: np.ndarray  # at return
    savings_by_origin: np.ndarray  # at return, after the ticket
    years_by_origin: np.ndarray  # years since first entry
    age_by_origin: np.ndarray  # age at return


# The kernels take these bundles as plain tuples (numba reads a tuple's items as cheaply as
# separate arguments, a NamedTuple's more slowly) and unpack them in the fields' order.


@njit(cache=True)
def settle_one(
    d: float,
    debt: float,
    savings: float,
    income: float,
    cost: float,
    interest_day: float,
    repay_share: float,
    remit_share: float,
) -> tuple[float, float, float]:  # pragma: no cover
    """Debt, savings and remittances after ``d`` days with ``income`` and ``cost`` per day.

    With a positive surplus a share repays debt until it is gone, a share is sent home and the
    rest is saved (the repayment share too once the debt is repaid); with a deficit savings are
    drawn down, never below zero. Simple interest accrues on the opening debt. Scalars only, so
    the kernels calling it pay no call overhead; the few lines around each call (read the
    agent's fields, write them back) stay written out in each kernel, as a helper taking the
    agent arrays was much slower even inlined. ``settle_reference`` is the same in NumPy.
    """
    owed = debt * (1.0 + interest_day * d)
    surplus = income - cost
    if surplus > 0.0:
        repay = repay_share * surplus
        remit = remit_share * surplus
        keep = surplus - repay - remit
        paid = min(owed, repay * d)
        days_repaying = paid / repay if repay > 0.0 else 0.0
        save = keep * d + repay * (d - days_repaying)
        return owed - paid, max(savings + save, 0.0), remit * d
    return owed, max(savings + surplus * d, 0.0), 0.0


@njit(cache=True)
def settle_kernel(
    ids: np.ndarray,
    day: int,
    agents: MoneyAgents,
    terms: SettleTerms,
    remit_by_origin: np.ndarray,
) -> None:  # pragma: no cover
    """Bring each agent's debt, savings and remittances from its last settlement up to ``day``."""
    origin, money_t, debt, savings, remitted, income, cost = agents
    interest_day, repay_share, remit_share = terms
    for k in range(ids.size):
        i = ids[k]
        d = float(day - money_t[i])
        if d <= 0.0:
            continue
        debt[i], savings[i], sent = settle_one(
            d,
            debt[i],
            savings[i],
            income[i],
            cost[i],
            interest_day[origin[i]],
            repay_share,
            remit_share,
        )
        remitted[i] += sent
        remit_by_origin[origin[i]] += sent
        money_t[i] = day


@njit(cache=True)
def depart_kernel(
    ids: np.ndarray,
    day: int,
    never: int,
    agents: MoneyAgents,
    terms: SettleTerms,
    departed: DepartArrays,
) -> None:  # pragma: no cover
    """Agents fly home today: one pass doing, agent by agent, what ``depart_reference`` does.

    Settle as ``settle_kernel`` does, pay the ticket from savings (never below zero), cancel the
    pending timer, mark the day of exit, clear the return-queue day (``never``), and add debt,
    savings, years since first entry and age to the sums by origin (in id order, as
    ``np.bincount`` adds).
    """
    origin, money_t, debt, savings, remitted, income, cost = agents
    interest_day, repay_share, remit_share = terms
    (
        profile, ticket, t_timer, exited, queued, entered, created, age0, remit_by_origin,
        debt_by_origin, savings_by_origin, years_by_origin, age_by_origin,
    ) = departed  # fmt: skip
    for k in range(ids.size):
        i = ids[k]
        o = origin[i]
        d = float(day - money_t[i])
        if d > 0.0:
            debt[i], savings[i], sent = settle_one(
                d,
                debt[i],
                savings[i],
                income[i],
                cost[i],
                interest_day[o],
                repay_share,
                remit_share,
            )
            remitted[i] += sent
            remit_by_origin[o] += sent
            money_t[i] = day
        left = savings[i] - ticket[profile[i]]
        savings[i] = left if left >= 0.0 or left != left else 0.0  # as np.maximum(left, 0.0)
        t_timer[i] = -1
        exited[i] = day
        queued[i] = never
        debt_by_origin[o] += debt[i]
        savings_by_origin[o] += savings[i]
        years_by_origin[o] += (day - entered[i]) / 365.25
        age_by_origin[o] += np.float64(age0[i]) + (day - created[i]) / 365.25


@njit(cache=True)
def enter_kernel(
    ids: np.ndarray,
    new: int,
    day: int,
    settle: bool,
    move: bool,
    clear_stranded: bool,
    agents: MoneyAgents,
    moved: MoveArrays,
    terms: SettleTerms,
    income_by_sector: np.ndarray,
    cost_day: float,
    remit_by_origin: np.ndarray,
    to_clear: np.ndarray,
    to_make: np.ndarray,
    calendar: tuple,
    n_free: int,
) -> tuple[int, int, int]:  # pragma: no cover
    """Agents enter state ``new`` today: one pass doing what a move does to each of them.

    In order, for each agent: with ``move``, clear the stranded flag (``clear_stranded``) or
    shift its count by state to the new state, count the flow from its old state and write the
    new one; with ``settle``, settle its money with the
    old income and spending; set income and spending of the new state; then the day its savings
    run out goes into the money calendar (``calendar``: ``Calendar.arrays()``), is cancelled if it
    earns at least what it spends, or is today: those ids go to ``to_make`` if not yet
    destitute, and the ones no longer short but flagged destitute to ``to_clear``. Returns the
    free blocks of the calendar and the counts written to ``to_clear`` and ``to_make``.
    """
    origin, money_t, debt, savings, remitted, income, cost = agents
    (
        state, sector, destitute, stranded, stranded_count, stranded_by_state, flow_today, counts,
        sector_counts, segment, segment_counts,
    ) = moved  # fmt: skip
    interest_day, repay_share, remit_share = terms
    m_field, n_days, first, last, fill, count, agent, nxt, free = calendar
    n_clear = 0
    n_make = 0
    n_later = 0
    # Nobody is flagged stranded most of a run: then no agent's flag need be read.
    any_stranded = stranded_count.any()
    later = np.empty(ids.size, dtype=np.int64)
    when = np.empty(ids.size, dtype=np.int64)
    for k in range(ids.size):
        i = ids[k]
        o = origin[i]
        if move:
            old = state[i]
            if any_stranded and stranded[i]:
                stranded_by_state[old, o] -= 1
                if clear_stranded:
                    stranded[i] = False
                    stranded_count[o] -= 1
                else:
                    stranded_by_state[new, o] += 1
            flow_today[old, new, o] += 1
            counts[old, o] -= 1
            counts[new, o] += 1
            sector_counts[old, o, sector[i]] -= 1
            sector_counts[new, o, sector[i]] += 1
            segment_counts[old, o, segment[i]] -= 1
            segment_counts[new, o, segment[i]] += 1
        if settle:
            d = float(day - money_t[i])
            if d > 0.0:
                debt[i], savings[i], sent = settle_one(
                    d,
                    debt[i],
                    savings[i],
                    income[i],
                    cost[i],
                    interest_day[o],
                    repay_share,
                    remit_share,
                )
                if sent != 0.0:  # adding nothing would only cost a memory access
                    remitted[i] += sent
                    remit_by_origin[o] += sent
        if move:
            state[i] = new
        income[i] = income_by_sector[sector[i]]
        cost[i] = cost_day
        money_t[i] = day
        burn = cost[i] - income[i]
        if burn > 1e-9:
            days_left = np.int64(np.floor(savings[i] / burn))
            if days_left <= 0:
                if not destitute[i]:
                    to_make[n_make] = i
                    n_make += 1
                continue
            later[n_later] = i
            when[n_later] = day + days_left
            n_later += 1
        else:
            m_field[i] = -1
        if destitute[i]:
            to_clear[n_clear] = i
            n_clear += 1
    # Filed in one call after the loop: calling a kernel per agent would cost more than filing.
    n_free = file_entries(
        later[:n_later],
        when[:n_later],
        m_field,
        n_days,
        first,
        last,
        fill,
        count,
        agent,
        nxt,
        free,
        n_free,
    )
    return n_free, n_clear, n_make


@njit(cache=True)
def month_end_ids_kernel(
    ids: np.ndarray,
    day: int,
    agents: MoneyAgents,
    terms: SettleTerms,
    month: MonthEndArrays,
) -> int:  # pragma: no cover
    """One pass over the ascending ``ids`` at a month end; keeps the still active ones.

    Agents in an ``active_state`` are settled up to ``day`` as ``settle_kernel`` does, then their
    debt is added to ``debt_by_origin`` and, in a ``host_state``, their savings to
    ``savings_by_origin``, and they are counted in ``stage_counts[state, stage, origin]``. Sums
    are taken in id order, as ``np.bincount`` does. Agents in no ``active_state`` are neither
    counted, settled nor summed, so leaving them out of ``ids`` changes no sum or its order. The
    ids of agents still in an ``active_state`` are moved to the front of ``ids`` (in order) and
    their count returned: the agents to visit at the next month end, with the ones created since.
    """
    origin, money_t, debt, savings, remitted, income, cost = agents
    interest_day, repay_share, remit_share = terms
    (
        state, stage, active_state, host_state, remit_by_origin, debt_by_origin,
        savings_by_origin, stage_counts,
    ) = month  # fmt: skip
    kept = 0
    for k in range(ids.size):
        i = ids[k]
        s = state[i]
        o = origin[i]
        if not active_state[s]:
            continue
        stage_counts[s, stage[i], o] += 1
        ids[kept] = i
        kept += 1
        d = float(day - money_t[i])
        if d > 0.0:
            debt[i], savings[i], sent = settle_one(
                d,
                debt[i],
                savings[i],
                income[i],
                cost[i],
                interest_day[o],
                repay_share,
                remit_share,
            )
            remitted[i] += sent
            remit_by_origin[o] += sent
            money_t[i] = day
        debt_by_origin[o] += debt[i]
        if host_state[s]:
            savings_by_origin[o] += savings[i]
    return kept


def settle_reference(
    d: np.ndarray,
    debt: np.ndarray,
    savings: np.ndarray,
    income: np.ndarray,
    cost: np.ndarray,
    interest_day: np.ndarray,
    repay_share: float,
    remit_share: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``settle_one`` for arrays of agents, with NumPy: (debt, savings, sent home)."""
    owed = debt * (1.0 + interest_day * d)
    surplus = income - cost
    gain = surplus > 0.0
    repay = repay_share * surplus
    remit = remit_share * surplus
    keep = surplus - repay - remit
    paid = np.minimum(owed, repay * d)
    with np.errstate(divide="ignore", invalid="ignore"):
        days_repaying = np.where(repay > 0.0, paid / repay, 0.0)
    save = keep * d + repay * (d - days_repaying)
    new_debt = np.where(gain, owed - paid, owed)
    new_savings = np.maximum(np.where(gain, savings + save, savings + surplus * d), 0.0)
    return new_debt, new_savings, np.where(gain, remit * d, 0.0)
