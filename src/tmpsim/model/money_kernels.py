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
