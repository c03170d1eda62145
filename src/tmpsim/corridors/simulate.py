"""Run a corridors configuration month by month, keeping every origin's stock at every destination.

The sending market (``model.sending_market``) decides who leaves for where; this module adds
what the market leaves to its host: people abroad. Each month, of the stock from origin o at
destination d, a share ``1 / contract_months`` returns home (binomial draws, or exact with the
remainder carried when the market is not stochastic), then the month's departures arrive, so
``stock = previous stock + departures - returns`` holds exactly in every cell. The stock is
passed back to the market as its network abroad.

``scale`` simulates a fraction of the people: populations, employers' demand, quotas, broker
capacities and network scales are multiplied by it; counts in the results are divided by it
again, so that runs at different scales compare. The market's state is counts per broker and
destination, so a month costs the same at any scale.
"""

from __future__ import annotations

import calendar
import datetime as dt
import time
from dataclasses import dataclass

import numpy as np

from tmpsim.corridors.config import CorridorsConfig, CorridorsError
from tmpsim.model.sending_market import SendingMarket
from tmpsim.scenario.bounds import MAX_SCALE, MIN_SCALE
from tmpsim.scenario.origins_schema import OriginsConfig

RETURNS_STREAM = 2  # child of the run's SeedSequence; the market uses children 0 and 1


def month_ends(first: int, last: int) -> list[dt.date]:
    """Last day of every month from January ``first`` to December ``last``."""
    return [
        dt.date(y, m, calendar.monthrange(y, m)[1])
        for y in range(first, last + 1)
        for m in range(1, 13)
    ]


def scaled(market: OriginsConfig, scale: float) -> OriginsConfig:
    """The market with ``scale`` of its people: populations, demand, quotas, caps, capacities."""
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise CorridorsError(
            f"scale must be between {MIN_SCALE:g} and {MAX_SCALE:g}, got {scale:g}"
        )
    data = market.model_dump(mode="json")
    for o in data["origins"].values():
        o["population"] *= scale
        o["network_scale"] *= scale
    for d in data["destinations"].values():
        d["demand_per_year"] = {y: v * scale for y, v in d["demand_per_year"].items()}
        if d.get("quota_per_year"):
            d["quota_per_year"] = {y: v * scale for y, v in d["quota_per_year"].items()}
        for w in d["borders"]:
            if w.get("cap_per_day") is not None:
                w["cap_per_day"] *= scale
            if w.get("quarantine_places") is not None:
                w["quarantine_places"] *= scale
    data["brokers"]["capacity_per_month"] *= scale
    return OriginsConfig.model_validate(data)


@dataclass
class CorridorsRun:
    """Monthly flows and stocks ``[month, origin, destination]`` and yearly broker totals.

    Counts are full-population equivalents (divided by the scale); broker totals are
    ``[year, broker, destination]`` with brokers laid out origin by origin.
    """

    cfg: CorridorsConfig
    scale: float
    seed: int
    months: list[dt.date]
    origins: list[str]
    destinations: list[str]
    programmes: list[str]
    per_origin: int
    departures: np.ndarray
    returns: np.ndarray
    stock: np.ndarray
    queue: np.ndarray
    seats: np.ndarray  # [month, destination]
    broker_departed: np.ndarray
    broker_fee: np.ndarray
    broker_debt: np.ndarray
    broker_borrowers: np.ndarray
    backlog: np.ndarray  # [month, destination] orders held back by border rules
    wall_seconds: float

    @property
    def years(self) -> list[int]:
        """Calendar years reported."""
        return list(range(self.cfg.first_year, self.cfg.last_year + 1))


def _draw_returns(
    stock: np.ndarray, rate: np.ndarray, rng: np.random.Generator | None, carry: np.ndarray
) -> np.ndarray:
    """Returns home this month ``[origin, destination]``; ``carry`` keeps exact remainders."""
    if rng is not None:
        return rng.binomial(stock, np.broadcast_to(rate, stock.shape))
    total = stock * rate + carry
    whole = np.minimum(np.floor(total + 1e-9).astype(np.int64), stock)
    carry[:] = total - whole
    return whole


def simulate(cfg: CorridorsConfig, scale: float = 1.0, seed: int = 1) -> CorridorsRun:
    """Run ``cfg`` from its spin-up to the end of ``last_year``."""
    market_cfg = scaled(cfg.market, scale)
    market = SendingMarket(market_cfg, cfg.first_year, cfg.last_year, seed=seed)
    n_o, n_d = len(market.origins), len(market.destinations)
    rate = 1.0 / market.contract[None, :]
    rng = None
    if market_cfg.stochastic:
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(RETURNS_STREAM + 1)[-1])
    stock = np.zeros((n_o, n_d), dtype=np.int64)
    carry = np.zeros((n_o, n_d))
    months = month_ends(cfg.first_year, cfg.last_year)
    spinup = month_ends(cfg.first_year, cfg.first_year) * cfg.spinup_years
    n_t, n_y, n_b = len(months), cfg.last_year - cfg.first_year + 1, market.brokers.n
    dep = np.zeros((n_t, n_o, n_d), dtype=np.int64)
    ret, stk, que = np.zeros_like(dep), np.zeros_like(dep), np.zeros_like(dep)
    seats = np.zeros((n_t, n_d), dtype=np.int64)
    b_dep = np.zeros((n_y, n_b, n_d), dtype=np.int64)
    b_fee, b_debt = np.zeros((n_y, n_b, n_d)), np.zeros((n_y, n_b, n_d))
    b_borrow = np.zeros((n_y, n_b, n_d), dtype=np.int64)
    backlog = np.zeros((n_t, n_d))
    t0 = time.perf_counter()
    for when in spinup:
        month = market.step(when, abroad=stock)
        back = _draw_returns(stock, rate * month.return_share, rng, carry)
        stock += market.by_origin(month.departed) - back
    for dest, by_origin in cfg.initial_stock.items():  # sourced stocks replace the spin-up's
        j = market.destinations.index(dest)
        for origin, people in by_origin.items():
            stock[market.origins.index(origin), j] = round(people * scale)
    for t, when in enumerate(months):
        month = market.step(when, abroad=stock)
        # Returns of the month: contracts that end, less those kept on or unable to travel.
        back = _draw_returns(stock, rate * month.return_share, rng, carry)
        arrived = market.by_origin(month.departed)
        stock += arrived - back
        dep[t], ret[t], stk[t] = arrived, back, stock
        que[t] = market.by_origin(month.queue)
        seats[t] = month.seats
        y = when.year - cfg.first_year
        b_dep[y] += month.departed
        b_fee[y] += month.fee_paid
        b_debt[y] += month.debt
        b_borrow[y] += month.borrowers
        backlog[t] = month.backlog / scale
    wall = time.perf_counter() - t0
    return CorridorsRun(
        cfg=cfg,
        scale=scale,
        seed=seed,
        months=months,
        origins=market.origins,
        destinations=market.destinations,
        programmes=[d.programme for d in market_cfg.destinations.values()],
        per_origin=market.brokers.per_origin,
        departures=dep,
        returns=ret,
        stock=stk,
        queue=que,
        seats=seats,
        broker_departed=b_dep,
        broker_fee=b_fee,
        broker_debt=b_debt,
        broker_borrowers=b_borrow,
        backlog=backlog,
        wall_seconds=wall,
    )


def stock_at(run: CorridorsRun, when: dt.date, origins: str = "all") -> np.ndarray:
    """Stock per destination at the month-end ``when`` (full population), all or one origin."""
    t = run.months.index(when)
    s = run.stock[t] / run.scale
    if origins == "all":
        return s.sum(axis=0)
    if origins not in run.origins:
        raise CorridorsError(f"origins: {origins!r} is not one of {run.origins}")
    return s[run.origins.index(origins)]
