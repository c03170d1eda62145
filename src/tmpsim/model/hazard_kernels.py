"""Compiled kernel of the hazards module: turn rates and random numbers into filed events."""

from __future__ import annotations

import numpy as np

from tmpsim.engine.calendar import file_entries
from tmpsim.engine.jit import njit


@njit(cache=True)
def draw_kernel(
    ids: np.ndarray,
    rates: np.ndarray,
    total: np.ndarray,
    live: np.ndarray,
    pending: np.ndarray,
    expo: np.ndarray,
    unif: np.ndarray,
    kinds: np.ndarray,
    none_kind: int,
    day: int,
    hazard_kind: np.ndarray,
    field: np.ndarray,
    n_days: int,
    first: np.ndarray,
    last: np.ndarray,
    fill: np.ndarray,
    count: np.ndarray,
    agent: np.ndarray,
    nxt: np.ndarray,
    free: np.ndarray,
    n_free: int,
) -> int:  # pragma: no cover
    """File each live agent's next stochastic event; cancel the others' (returns free blocks).

    The ``j``-th live agent waits ``ceil(expo[j] / total)`` days (at least one, at most 1e8) for
    the hazard whose share of the cumulated rates first reaches ``unif[j]``. Where its rates
    change before that (``pending``, empty if never) it is filed for that day with ``none_kind``
    instead, to be drawn again then.
    """
    n_kinds = kinds.size
    j = 0
    n_filed = 0
    filed = np.empty(ids.size, dtype=np.int64)
    when = np.empty(ids.size, dtype=np.int64)
    for k in range(ids.size):
        i = ids[k]
        if not live[k]:
            field[i] = -1
            continue
        tot = total[k]
        u = unif[j]
        pick = 0
        if tot > 0.0:
            wait = np.ceil(expo[j] / tot)
            cum = 0.0
            for c in range(n_kinds):
                cum += rates[k, c]
                if u > cum / tot:
                    pick += 1
        else:  # only a coming change of rates: nothing can happen before it
            wait = np.inf
        j += 1
        wait = min(max(wait, 1.0), 1e8)
        kind = kinds[min(pick, n_kinds - 1)]
        if pending.size and pending[k] < wait:
            wait = pending[k]
            kind = none_kind
        hazard_kind[i] = kind
        filed[n_filed] = i
        when[n_filed] = day + np.int64(wait)
        n_filed += 1
    return file_entries(
        filed[:n_filed],
        when[:n_filed],
        field,
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


@njit(cache=True)
def runaway_column_kernel(
    ids: np.ndarray,
    debt: np.ndarray,
    origin_of: np.ndarray,
    sector_of: np.ndarray,
    stage_of: np.ndarray,
    wage_year: float,
    elasticity: float,
    base: np.ndarray,
    debt_ref: np.ndarray,
    by_stage: np.ndarray,
    use_stage: bool,
    factor: np.ndarray,
    use_factor: bool,
    mult_kind: int,
    mult_scalar: float,
    mult_table: np.ndarray,
    market: float,
    use_market: bool,
    out: np.ndarray,
    col: int,
) -> None:
    """Write the daily runaway rate of each agent of ``ids`` to column ``col`` of ``out``.

    The operations, and their order, are those of the NumPy expression the tests hold it to
    (so the rates are the same to the bit): base by origin times (1 + elasticity * debt burden),
    over the origin's reference; times the stage factor (``use_stage``), each agent's factor of
    its state and job-change rights (``use_factor``: ``factor[k]`` for ``ids[k]``), the day's
    event multiplier (``mult_kind`` 0: none, 1: ``mult_scalar``, 2: ``mult_table`` by origin and
    sector) and the labour-market factor (``use_market``).
    """
    for k in range(ids.size):
        i = ids[k]
        o = origin_of[i]
        burden = debt[i] / wage_year
        r = base[o] * (1 + elasticity * burden) / (1 + elasticity * debt_ref[o])
        if use_stage:
            r = r * by_stage[stage_of[i]]
        if use_factor:
            r = r * factor[k]
        if mult_kind == 1:
            r = r * mult_scalar
        elif mult_kind == 2:
            r = r * mult_table[o, sector_of[i]]
        if use_market:
            r = r * market
        out[k, col] = r
