"""Sending agencies (brokers) as agents: they price, lend, and compete for recruits and orders.

Struct of arrays, one slot per broker: origin, capacity (recruits placed a month), the fee it asks
for each destination it serves, quality, licence, loan rate. Brokers are laid out origin by
origin, ``per_origin`` each, so ``[broker, destination]`` arrays reshape to
``[origin, broker of origin, destination]`` without a lookup.

- Fees rise with scarcity of seats (queue over seats) and stop at the legal cap; loans carry an
  interest that rises with scarcity too. A no-fee rule is a cap of 0.
- Recruits of an origin bound for a destination pick among the active brokers serving it by a
  logit on fee (relative to GDP per capita) and quality.
- Employers' orders for a destination go to brokers with recruits ready, in proportion to ready
  recruits × quality ** weight, never more than a broker has ready.
- A licence crackdown makes unlicensed brokers inactive: they take no recruits and no orders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tmpsim.model.destination_choice import split_exact, split_random
from tmpsim.scenario.origins_schema import Brokers


@dataclass
class BrokerAgents:
    """Every broker of every origin, one array slot per broker."""

    origin: np.ndarray  # int64 [B]
    capacity: np.ndarray  # recruits a month [B]
    base_fee: np.ndarray  # US dollars [B, D], 0 where not serving
    serves: np.ndarray  # bool [B, D]
    quality: np.ndarray  # [B] in (0, 1)
    licensed: np.ndarray  # bool [B]
    interest: np.ndarray  # loan rate a year [B]
    per_origin: int

    @property
    def n(self) -> int:
        """Number of brokers."""
        return self.origin.size


def draw_brokers(
    params: Brokers, origins: list[str], destinations: list[str], rng: np.random.Generator
) -> BrokerAgents:
    """Brokers of every origin, drawn from the scenario's distributions (one draw per kind)."""
    k, n_o, n_d = params.per_origin, len(origins), len(destinations)
    n = k * n_o
    origin = np.repeat(np.arange(n_o), k)
    mean_fee = np.array(
        [[params.base_fee.get(o, {}).get(d, np.nan) for d in destinations] for o in origins]
    )[origin]
    may_serve = ~np.isnan(mean_fee)
    serves = may_serve & (rng.random((n, n_d)) < params.serve_prob)
    fee = np.where(may_serve, np.nan_to_num(mean_fee) * _lognormal(rng, params.fee_cv, (n, n_d)), 0)
    q_mean, conc = min(max(params.quality_mean, 1e-3), 1 - 1e-3), params.quality_concentration
    return BrokerAgents(
        origin=origin,
        capacity=params.capacity_per_month * _lognormal(rng, params.capacity_cv, n),
        base_fee=np.where(serves, fee, 0.0),
        serves=serves,
        quality=rng.beta(q_mean * conc, (1 - q_mean) * conc, n),
        licensed=rng.random(n) < params.licensed_share,
        interest=np.full(n, params.interest_per_year),
        per_origin=k,
    )


def _lognormal(rng: np.random.Generator, cv: float, size: int | tuple[int, int]) -> np.ndarray:
    """Mean-one lognormal factors with coefficient of variation ``cv`` (1 when cv is 0)."""
    if cv == 0:
        return np.ones(size)
    s2 = np.log1p(cv * cv)
    return rng.lognormal(-s2 / 2, np.sqrt(s2), size)


def scarcity(queue: np.ndarray, seats: np.ndarray) -> np.ndarray:
    """Recruits waiting per seat, minus one, floored at 0 (0 where there are no seats)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(seats > 0, queue / np.where(seats > 0, seats, 1) - 1.0, 0.0)
    return np.maximum(s, 0.0)


def prices(
    base_fee: np.ndarray, scarcity_bd: np.ndarray, elasticity: float, cap_bd: np.ndarray
) -> np.ndarray:
    """Fees asked ``[broker, destination]``: base × (1 + scarcity) ** elasticity, capped."""
    return np.minimum(base_fee * (1.0 + scarcity_bd) ** elasticity, cap_bd)


def debt_at_departure(
    fee: np.ndarray, savings: np.ndarray, rate: np.ndarray, months: float | np.ndarray
) -> np.ndarray:
    """Owed on leaving: the fee beyond savings, with simple interest for ``months``."""
    return np.maximum(fee - savings, 0.0) * (1.0 + rate * months / 12.0)


def expected_wait(queue: np.ndarray, seats: np.ndarray, most: np.ndarray) -> np.ndarray:
    """Months a recruit joining the queue waits for a seat, ``[1 or B, D]``.

    Queue over seats a month (Little's law), at most ``most`` (recruits give up after their
    patience); ``most`` broadcasts.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = np.where(seats > 0, queue / np.where(seats > 0, seats, 1.0), np.inf)
    return np.minimum(np.where(queue > 0, wait, 0.0)[None, :], most)


def recruit_shares(
    fee: np.ndarray,
    quality: np.ndarray,
    gdp_of_broker: np.ndarray,
    usable: np.ndarray,
    fee_weight: float,
    quality_weight: float,
    per_origin: int,
) -> np.ndarray:
    """Share of an origin's recruits for a destination that pick each broker, ``[B, D]``.

    A logit within each (origin, destination) group over the usable brokers; groups with no
    usable broker get zeros.
    """
    v = -fee_weight * fee / gdp_of_broker[:, None] + quality_weight * quality[:, None]
    v = np.where(usable, v, -np.inf)
    g = v.reshape(-1, per_origin, v.shape[1])  # [origin, broker of origin, destination]
    top = g.max(axis=1, keepdims=True)
    w = np.where(np.isfinite(g), np.exp(g - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = w.sum(axis=1, keepdims=True)
    return (w / np.where(total > 0, total, 1.0)).reshape(v.shape)


def split_among_brokers(
    counts_od: np.ndarray,
    shares_bd: np.ndarray,
    per_origin: int,
    rng: np.random.Generator | None,
) -> np.ndarray:
    """Split ``[origin, destination]`` counts among each origin's brokers by ``shares_bd``."""
    n_o, n_d = counts_od.shape
    p = shares_bd.reshape(n_o, per_origin, n_d).transpose(0, 2, 1).reshape(n_o * n_d, per_origin)
    totals = counts_od.reshape(-1)
    has = p.sum(axis=1) > 0
    if np.any(totals[~has] > 0):
        raise ValueError("recruits were sent to a destination no usable broker serves")
    p = np.where(has[:, None], p, 1.0 / per_origin)
    out = split_exact(totals, p) if rng is None else split_random(rng, totals, p)
    return out.reshape(n_o, n_d, per_origin).transpose(0, 2, 1).reshape(n_o * per_origin, n_d)


def ready_recruits(queue: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Recruits each broker can put forward this month, ``[B, D]``: its queue within capacity."""
    total = queue.sum(axis=1)
    scale = np.where(total > capacity, capacity / np.where(total > 0, total, 1), 1.0)
    return np.floor(queue * scale[:, None] + 1e-9).astype(np.int64)


def fill_orders(
    orders: np.ndarray,
    ready: np.ndarray,
    quality: np.ndarray,
    weight: float,
    rng: np.random.Generator | None = None,
    rounds: int = 8,
) -> np.ndarray:
    """Seats given to each broker, ``[B, D]``: each destination's orders split among brokers.

    Orders go in proportion to ready recruits × quality ** weight; a broker never gets more seats
    than it has recruits ready, and what it cannot take goes to the others in the next round (a
    few rounds over the whole array, not a loop over brokers). With ``rng`` each round's split is
    drawn (multinomial), so that a broker gets its share of the orders on average; without it,
    the split is exact by largest remainders (the toys), which gives a broker whose share is
    below one order none at all: at small scales a small origin's brokers lost every order they
    shared with a large origin's.
    """
    seats = np.zeros_like(ready)
    left = np.minimum(np.asarray(orders, dtype=np.int64), ready.sum(axis=0))
    attract = quality[:, None] ** weight
    for _ in range(rounds):
        room = ready - seats
        w = (room * attract).T  # [D, B]
        tot = w.sum(axis=1, keepdims=True)
        if not np.any(left > 0) or not np.any(tot > 0):
            break
        p = w / np.where(tot > 0, tot, 1.0)
        if rng is None:
            split = split_exact(left, p)
        else:  # a row with no weight left draws nothing (its orders go in the last pass)
            split = split_random(rng, np.where(tot[:, 0] > 0, left, 0), p)
        give = np.minimum(split.T, room)
        seats += give
        left = left - give.sum(axis=0)
    if np.any(left > 0):  # what rounding left: to the brokers with most room, in order
        room = ready - seats
        order = np.argsort(-room, axis=0, kind="stable")
        room_sorted = np.take_along_axis(room, order, axis=0)
        before = np.cumsum(room_sorted, axis=0) - room_sorted
        give = np.clip(left[None, :] - before, 0, room_sorted)
        np.put_along_axis(seats, order, np.take_along_axis(seats, order, axis=0) + give, axis=0)
    return seats
