"""A host programme's split of entries across origins, from the sending market.

With a scenario's ``origins_market`` set, the market of a corridors configuration (origin pools,
brokers and competing destinations; docs/origins.md) runs once, before the simulation, from its
first year to the scenario's last. Its ``host`` destination asks each year for the scenario's
own demand (``Simulation.demand_total``), so that seats there are the scenario's; the other
destinations keep their configured seats and, in a shipped configuration, their dated border
rules (``border_rules.csv``).
The host's own border is left open in the market: the scenario's border module closes it, and
its recruitment and backlog decide when the selected enter.

What the simulation takes from the market, per year and origin:

* the share of the host's departures (the origins the market does not have keep their fixed
  ``demand_share``; the market's origins share the rest in proportion to their departures);
* with ``fees``, the mean fee and debt at departure of those placed in the host, converted from
  US dollars at the year's exchange rate of the scenario's currency.

The coupling is one way: the market keeps its own stock abroad (its network term) instead of the
simulation's, so the split can be computed ahead and the selection rounds stay a function of the
scenario alone (see ``tmpsim.model.applicants``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from tmpsim import cache
from tmpsim.corridors.config import (
    SHIPPED,
    CorridorsConfig,
    border_rules,
    check_anchor_year,
    check_host,
    host_market_config,
    load_corridors,
    with_border_rules,
)
from tmpsim.corridors.simulate import CorridorsRun, simulate
from tmpsim.corridors.tables import brokers_table, flows_table
from tmpsim.model.origin_inputs import fx_per_usd
from tmpsim.scenario.schema import OriginsMarketSpec, Scenario


@dataclass(frozen=True)
class HostSplit:
    """Per year (``years``) and scenario origin: entry shares, and fees and debt at departure.

    ``fee`` and ``debt`` are means over all those placed (payers or not), in the scenario's
    currency; NaN for an origin the market does not have.
    """

    years: np.ndarray  # [Y]
    origins: list[str]
    covered: np.ndarray  # [O] the market has this origin
    shares: np.ndarray  # [Y, O], each row sums to 1
    fee: np.ndarray  # [Y, O]
    debt: np.ndarray  # [Y, O]
    run: CorridorsRun

    def tables(self) -> tuple[pa.Table, pa.Table]:
        """The market run's tidy flows and brokers tables (``corridors.tables``)."""
        return flows_table(self.run), brokers_table(self.run)

    def demand_share(self, origin: int) -> dict[int, float]:
        """One origin's yearly share, in the form of ``Origin.demand_share``."""
        return {int(y): float(s) for y, s in zip(self.years, self.shares[:, origin], strict=True)}


def market_config(
    spec: OriginsMarketSpec,
    last_year: int,
    demand: dict[int, float],
    loaded: CorridorsConfig | None = None,
) -> CorridorsConfig:
    """The corridors configuration of ``spec``, to ``last_year``, the host asking ``demand``.

    ``loaded``: ``spec.corridors`` already loaded (it is read and validated otherwise); it is
    copied, not changed.
    """
    cfg = load_corridors(spec.corridors) if loaded is None else loaded
    check_host(spec, cfg)
    if spec.corridors in SHIPPED:  # the dated rules of border_rules.csv name its destinations
        rules = {d: w for d, w in border_rules(cfg).items() if spec.host_borders or d != spec.host}
        cfg = with_border_rules(cfg, rules)
    market = cfg.market.model_copy(deep=True)
    host = market.destinations[spec.host]
    host.demand_per_year = dict(demand)
    host.quota_per_year = None
    if not spec.host_borders:
        host.borders = []
    return cfg.model_copy(update={"market": market, "last_year": max(cfg.last_year, last_year)})


@dataclass(frozen=True)
class SplitInputs:
    """Everything ``split_of`` reads: the market's section and the scenario's values it uses.

    Named in one place so that the split can be kept under a digest of its inputs
    (``digest``): for runs of the same inputs at other seeds and scales, and between commands.
    """

    spec: OriginsMarketSpec
    shares: dict[str, dict[int, float]]  # each scenario origin's demand_share, in order
    currency: str
    last_year: int  # the market runs to this year
    demand: dict[int, float]  # the host's demand in each year of the market
    corridors: CorridorsConfig  # ``spec.corridors`` loaded
    corridors_text: str  # its YAML (shipped: empty, as tmpsim's own files are in every key)

    def digest(self) -> str:
        """A key for these inputs under this version of tmpsim (``tmpsim.cache.key``)."""
        plain = {
            # The worker's share of the fees is applied to the split, not in it.
            "spec": self.spec.model_dump(mode="json", exclude={"worker_fee_share"}),
            "origins": list(self.shares),  # their order is the order of the split's columns
            "shares": self.shares,
            "currency": self.currency,
            "last_year": self.last_year,
            "demand": self.demand,
        }
        return cache.key(json.dumps(plain, sort_keys=True), self.corridors_text)


def split_inputs(
    spec: OriginsMarketSpec, scenario: Scenario, demand_total: Callable[[int], float]
) -> SplitInputs:
    """The inputs of the split of ``scenario``'s market (``spec``, its ``origins_market``)."""
    # Read once (its YAML and validation take milliseconds), and checked as any command
    # that reads the scenario checks it.
    loaded = host_market_config(spec, scenario.end.year)
    first = loaded.first_year
    last = max(scenario.end.year, first)
    return SplitInputs(
        spec=spec,
        shares={n: dict(o.demand_share) for n, o in scenario.origins.items()},
        currency=scenario.currency,
        last_year=last,
        demand={y: float(demand_total(y)) for y in range(first, last + 1)},
        corridors=loaded,
        corridors_text="" if spec.corridors in SHIPPED else Path(spec.corridors).read_text("utf-8"),
    )


def host_split(
    spec: OriginsMarketSpec, scenario: Scenario, demand_total: Callable[[int], float]
) -> HostSplit:
    """Run the market of ``spec`` for ``scenario`` and take the host's split from it."""
    return split_of(split_inputs(spec, scenario, demand_total))


def split_of(inputs: SplitInputs) -> HostSplit:
    """Run the market of ``inputs`` and take the host's split from it."""
    spec = inputs.spec
    cfg = market_config(spec, inputs.last_year, inputs.demand, inputs.corridors)
    run = simulate(cfg, scale=spec.scale, seed=spec.seed)
    j = run.destinations.index(spec.host)
    years = np.array(run.years)
    month_year = np.array([m.year for m in run.months])
    placed = np.array([run.departures[month_year == y][:, :, j].sum(axis=0) for y in years])
    broker_origin = np.repeat(np.arange(len(run.origins)), run.per_origin)
    fee_usd = np.array(
        [np.bincount(broker_origin, run.broker_fee[y, :, j]) for y in range(years.size)]
    )
    debt_usd = np.array(
        [np.bincount(broker_origin, run.broker_debt[y, :, j]) for y in range(years.size)]
    )
    names = list(inputs.shares)
    covered = np.array([n in run.origins for n in names])
    col = [run.origins.index(n) if n in run.origins else -1 for n in names]
    shares = np.zeros((years.size, len(names)))
    fee = np.full((years.size, len(names)), np.nan)
    debt = np.full((years.size, len(names)), np.nan)
    fx = fx_per_usd(inputs.currency, years) if spec.fees else np.ones(years.size)
    market_split = _market_split(placed, col)
    if spec.anchor_year is not None:
        market_split = _anchored(market_split, years, spec.anchor_year, inputs.shares, covered)
    for k, y in enumerate(years):
        fixed = np.array(
            [0.0 if covered[i] else share_in(inputs.shares[n], int(y)) for i, n in enumerate(names)]
        )
        rest = max(1.0 - fixed.sum(), 0.0)
        row = fixed + rest * market_split[k]
        shares[k] = row / row.sum()
        for i, c in enumerate(col):
            if c >= 0 and placed[k, c] > 0:
                fee[k, i] = fee_usd[k, c] / placed[k, c] * fx[k]
                debt[k, i] = debt_usd[k, c] / placed[k, c] * fx[k]
    # A year with nobody placed from an origin takes its nearest year's fees.
    for i in np.flatnonzero(covered):
        _fill_nearest(fee[:, i])
        _fill_nearest(debt[:, i])
    return HostSplit(years, names, covered, shares, fee, debt, run)


def _market_split(placed: np.ndarray, col: list[int]) -> np.ndarray:
    """Each year's split of the host's departures among the scenario's origins, ``[Y, O]``.

    0 for an origin the market lacks. A year with nobody placed (the host closed all year) takes
    the next year with placements: those recruited while it is closed leave when it reopens, so
    the split that selects them is the one of the year they depart; with none after, the year
    before.
    """
    covered = np.array([c >= 0 for c in col], dtype=float)
    out = np.full((placed.shape[0], len(col)), np.nan)
    for k in range(placed.shape[0]):
        mine = np.array([placed[k, c] if c >= 0 else 0.0 for c in col], dtype=float)
        if mine.sum() > 0:
            out[k] = mine / mine.sum()
    for k in range(placed.shape[0] - 1, -1, -1):  # nobody placed: the next year with placements
        if np.isnan(out[k, 0]) and k + 1 < placed.shape[0]:
            out[k] = out[k + 1]
    for k in range(placed.shape[0]):  # none after either: the year before
        if np.isnan(out[k, 0]):
            out[k] = out[k - 1] if k > 0 else covered / covered.sum()
    return out


def _anchored(
    split: np.ndarray,
    years: np.ndarray,
    anchor: int,
    shares: dict[str, dict[int, float]],
    covered: np.ndarray,
) -> np.ndarray:
    """The market's change since ``anchor`` applied to the scenario's own shares of that year.

    Years before ``anchor`` take the scenario's ``demand_share``; from ``anchor`` on, an origin's
    share is its ``demand_share`` in ``anchor`` times the market's share now over the market's
    share in ``anchor``; both renormalised among the market's origins.
    """
    check_anchor_year(anchor, int(years[0]), int(years[-1]))

    def own(year: int) -> np.ndarray:
        row = np.array(
            [share_in(shares[n], year) if covered[i] else 0.0 for i, n in enumerate(shares)]
        )
        return row / row.sum() if row.sum() > 0 else split[0]

    a = int(np.flatnonzero(years == anchor)[0])
    base = own(anchor)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(split[a] > 0, split / split[a], 1.0)
    out = np.array([own(int(y)) if y < anchor else base * change[k] for k, y in enumerate(years)])
    return out / out.sum(axis=1, keepdims=True)


def share_in(table: dict[int, float], year: int) -> float:
    """A by-year share table at mid-``year``, as recruitment interpolates it.

    An origin's ``demand_share``, or a segment's share of an origin's entries.
    """
    years = sorted(table)
    return float(np.interp(year + 0.5, [y + 0.5 for y in years], [table[y] for y in years]))


def _fill_nearest(values: np.ndarray) -> None:
    """Replace NaN by the nearest known value (in place); all-NaN stays NaN."""
    known = np.flatnonzero(~np.isnan(values))
    if known.size == 0:
        return
    gaps = np.flatnonzero(np.isnan(values))
    nearest = known[np.abs(gaps[:, None] - known[None, :]).argmin(axis=1)]
    values[gaps] = values[nearest]
