"""Compiled kernels of the money module (one pass over the agents concerned)."""

from __future__ import annotations

import numpy as np

from tmpsim.engine.jit import njit


@njit(cache=True)
def settle_kernel(
    ids: np.ndarray,
    day: int,
    money_t: np.ndarray,
    debt: np.ndarray,
    savings: np.ndarray,
    remitted: np.ndarray,
    income: np.ndarray,
    cost: np.ndarray,
    origin: np.ndarray,
    interest_day: np.ndarray,
    repay_share: float,
    remit_share: float,
    remit_by_origin: np.ndarray,
) -> None:
    """Bring each agent's debt, savings and remittances from its last settlement up to ``day``.

    With a positive surplus a share repays debt until it is gone, a share is sent home and the
    rest is saved (the repayment share too once the debt is repaid); with a deficit savings are
    drawn down, never below zero. Simple interest accrues on the opening debt.
    """
    for k in range(ids.size):
        i = ids[k]
        d = float(day - money_t[i])
        if d <= 0.0:
            continue
        owed = debt[i] * (1.0 + interest_day[origin[i]] * d)
        surplus = income[i] - cost[i]
        if surplus > 0.0:
            repay = repay_share * surplus
            remit = remit_share * surplus
            keep = surplus - repay - remit
            paid = min(owed, repay * d)
            days_repaying = paid / repay if repay > 0.0 else 0.0
            save = keep * d + repay * (d - days_repaying)
            debt[i] = owed - paid
            savings[i] = max(savings[i] + save, 0.0)
            remitted[i] += remit * d
            remit_by_origin[origin[i]] += remit * d
        else:
            debt[i] = owed
            savings[i] = max(savings[i] + surplus * d, 0.0)
        money_t[i] = day


@njit(cache=True)
def month_end_kernel(
    n: int,
    day: int,
    state: np.ndarray,
    active_state: np.ndarray,
    host_state: np.ndarray,
    money_t: np.ndarray,
    debt: np.ndarray,
    savings: np.ndarray,
    remitted: np.ndarray,
    income: np.ndarray,
    cost: np.ndarray,
    origin: np.ndarray,
    interest_day: np.ndarray,
    repay_share: float,
    remit_share: float,
    remit_by_origin: np.ndarray,
    debt_by_origin: np.ndarray,
    savings_by_origin: np.ndarray,
    holds_status: np.ndarray,
    stage: np.ndarray,
    stage_counts: np.ndarray,
) -> None:
    """One pass over the first ``n`` agents at a month end.

    Agents in an ``active_state`` are settled up to ``day`` exactly as ``settle_kernel`` does
    (the body is repeated here: a call to a compiled helper inside the loop was much slower),
    then their debt is added to ``debt_by_origin`` and, in a ``host_state``, their savings to
    ``savings_by_origin``; agents in a state that ``holds_status`` are counted in
    ``stage_counts[stage, origin]``. Sums are taken in agent order, as ``np.bincount`` does.
    """
    for i in range(n):
        s = state[i]
        if holds_status[s]:
            stage_counts[stage[i], origin[i]] += 1
        if not active_state[s]:
            continue
        o = origin[i]
        d = float(day - money_t[i])
        if d > 0.0:
            owed = debt[i] * (1.0 + interest_day[o] * d)
            surplus = income[i] - cost[i]
            if surplus > 0.0:
                repay = repay_share * surplus
                remit = remit_share * surplus
                keep = surplus - repay - remit
                paid = min(owed, repay * d)
                days_repaying = paid / repay if repay > 0.0 else 0.0
                save = keep * d + repay * (d - days_repaying)
                debt[i] = owed - paid
                savings[i] = max(savings[i] + save, 0.0)
                remitted[i] += remit * d
                remit_by_origin[o] += remit * d
            else:
                debt[i] = owed
                savings[i] = max(savings[i] + surplus * d, 0.0)
            money_t[i] = day
        debt_by_origin[o] += debt[i]
        if host_state[s]:
            savings_by_origin[o] += savings[i]
