"""Where recruits go: a multinomial logit over competing destinations, with staying home.

Pure functions on ``[origin, destination]`` arrays. The utility of destination d for origin o is

    u = earnings · log(net earnings / GDP per capita) − fee · fee / GDP per capita
        + network · log(1 + people there / scale) + seat · log(chance of a seat) + constant_d

and staying home has utility 0 (or minus a home event's penalty). A destination with no seat
(closed border, quota used up, no broker serving it) is not in the choice set. Counts are split
either exactly (largest remainders, for toy cases) or by multinomial draws; both keep every
person in exactly one column.
"""

from __future__ import annotations

import numpy as np

from tmpsim.scenario.origins_schema import Choice


def utilities(
    coef: Choice,
    earnings_ratio: np.ndarray,
    fee_burden: np.ndarray,
    network: np.ndarray,
    seat_chance: np.ndarray,
    constant: np.ndarray,
) -> np.ndarray:
    """Utility of each destination for each origin, ``-inf`` where there is no seat."""
    available = (seat_chance > 0) & (earnings_ratio > 0)
    with np.errstate(divide="ignore"):
        u = (
            coef.earnings * np.log(np.where(available, earnings_ratio, 1.0))
            - coef.fee * fee_burden
            + coef.network * np.log1p(network)
            + coef.seat * np.log(np.where(available, seat_chance, 1.0))
            + constant[None, :]
        )
    return np.where(available, u, -np.inf)


def probabilities(u: np.ndarray, stay: np.ndarray) -> np.ndarray:
    """Choice probabilities ``[origin, destination + 1]``; the last column is staying home."""
    full = np.concatenate([u, stay[:, None]], axis=1)
    top = full.max(axis=1, keepdims=True)
    w = np.exp(full - top)
    return w / w.sum(axis=1, keepdims=True)


def inclusive_value(u: np.ndarray, stay: np.ndarray) -> np.ndarray:
    """Expected best utility of the choice (log-sum), per origin: how attractive leaving is."""
    full = np.concatenate([u, stay[:, None]], axis=1)
    top = full.max(axis=1)
    return top + np.log(np.exp(full - top[:, None]).sum(axis=1))


def split_exact(totals: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Integer counts ``[row, column]`` summing to ``totals`` per row, by largest remainders.

    Ties go to the first column, so the split is the same on every machine.
    """
    totals = np.asarray(totals, dtype=np.int64)
    expected = totals[:, None] * p
    counts = np.floor(expected).astype(np.int64)
    short = totals - counts.sum(axis=1)
    order = np.argsort(-(expected - counts), axis=1, kind="stable")
    rank = np.empty_like(order)
    rank[np.arange(order.shape[0])[:, None], order] = np.arange(p.shape[1])[None, :]
    return counts + (rank < short[:, None])


def split_random(rng: np.random.Generator, totals: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Multinomial counts ``[row, column]`` summing to ``totals`` per row."""
    p = np.clip(p, 0.0, None)
    total = p.sum(axis=1, keepdims=True)
    p = p / np.where(total > 0, total, 1.0)
    return rng.multinomial(np.asarray(totals, dtype=np.int64), p)
