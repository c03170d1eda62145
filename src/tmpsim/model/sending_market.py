"""The sending side in one monthly step: pools choose destinations, brokers queue and place them.

Order of one month (``SendingMarket.step``):

1. the year's inputs: wage gap in each origin's own terms, seats per destination (demand within
   the quota, times the border's open share), fee caps and licence crackdowns in force;
2. recruits queued for a destination that has no seat for them any more (closed, unserved) are
   released, after a mean wait of ``switch_months``, and choose again with the new entrants;
3. choosers pick a destination or stay home (``destination_choice``), then a broker;
4. employers' orders are filled from the brokers' ready recruits; those placed leave, paying the
   broker's fee (capped) and the costs no cap covers, and owing what their savings did not
   cover, with interest;
5. some of those still waiting give up; people abroad return at the end of their contracts.

Every person is in exactly one place: entrants + released = chose a destination + stayed home,
and each broker's queue changes only by those who joined, left for abroad, gave up or were
released. ``step`` takes the stock abroad from the caller when the simulation knows it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from tmpsim.model import brokers as bk
from tmpsim.model import destination_choice as dc
from tmpsim.model.origin_inputs import fx_per_usd
from tmpsim.model.origin_pools import OriginPools, earnings_ratio
from tmpsim.scenario.origins_schema import OriginsConfig


@dataclass
class Month:
    """What happened in one month; ``[origin, destination]`` unless named otherwise."""

    entrants: np.ndarray  # [O] new people in the pools
    released: np.ndarray  # [O] left a queue that lost its seats, choosing again
    chose: np.ndarray  # [O, D + 1] the last column stayed home
    joined: np.ndarray  # [B, D] joined a broker's queue
    departed: np.ndarray  # [B, D] left for abroad
    gave_up: np.ndarray  # [B, D]
    queue: np.ndarray  # [B, D] waiting at the end of the month
    fee_paid: np.ndarray  # [B, D] sum of fees of those who departed (US dollars)
    debt: np.ndarray  # [B, D] sum of debt at departure (US dollars)
    seats: np.ndarray  # [D] seats offered this month
    inclusive_value: np.ndarray  # [O]
    borrowers: np.ndarray  # [B, D] departed who owed something
    backlog: np.ndarray  # [D] orders held back by border rules, carried to next month
    return_share: np.ndarray  # [O, D] share of those whose contract ends who go home


def carried_orders(
    nominal: np.ndarray, offered: np.ndarray, seats: np.ndarray, departed: np.ndarray
) -> np.ndarray:
    """Orders carried to next month, [D]: those border rules held back, not those unfilled.

    Of the month's ``offered`` orders (``nominal`` new ones and those carried), ``seats`` were
    open; an open order of the month that found no recruit is lost (as in a normal month),
    the rest of what did not leave waits.
    """
    lost = np.maximum(np.minimum(nominal, seats) - departed, 0.0)
    return np.maximum(offered - departed - lost, 0.0)


def _by_year(values: dict[int, float] | None, years: np.ndarray, missing: float) -> np.ndarray:
    """A yearly dict on ``years`` (nearest given year), or ``missing`` when there is none."""
    if not values:
        return np.full(years.size, missing)
    known = np.array(sorted(values))
    pick = known[np.abs(years[:, None] - known[None, :]).argmin(axis=1)]
    return np.array([values[int(y)] for y in pick], dtype=np.float64)


class SendingMarket:
    """Origin pools, brokers and destinations, with their state, stepped month by month."""

    def __init__(
        self, cfg: OriginsConfig, first_year: int, last_year: int, seed: int | None = None
    ) -> None:
        self.cfg = cfg
        self.years = np.arange(first_year, last_year + 1)
        self.origins, self.destinations = list(cfg.origins), list(cfg.destinations)
        n_o, n_d = len(self.origins), len(self.destinations)
        root = np.random.SeedSequence(0 if seed is None else seed)
        agents_ss, flows_ss = root.spawn(2)
        self.rng = np.random.default_rng(flows_ss) if cfg.stochastic else None
        self.pools = OriginPools(cfg, self.years)
        self.brokers = bk.draw_brokers(
            cfg.brokers, self.origins, self.destinations, np.random.default_rng(agents_ss)
        )
        d = list(cfg.destinations.values())
        self.wage = np.array([_by_year(x.wage_per_month, self.years, 0.0) for x in d]).T  # [Y, D]
        self.fx_dest = np.array([fx_per_usd(x.currency, self.years) for x in d]).T
        seats_year = np.array(
            [
                np.minimum(
                    _by_year(x.demand_per_year, self.years, 0.0),
                    _by_year(x.quota_per_year, self.years, np.inf),
                )
                for x in d
            ]
        ).T
        self.seats_per_month = seats_year / 12.0  # [Y, D]
        self.contract = np.array([x.contract_months for x in d])
        self.living = np.array([x.living_cost_share for x in d])
        self.constant = np.array([x.constant for x in d])
        # Costs outside any cap (training, medical, documents, deposit), [origin, destination].
        # A second intermediary some recruits pay (as surveyed) adds its expected amount.
        outside, other = cfg.brokers.costs_outside_cap, cfg.brokers.other_intermediaries
        self.outside_cap = np.array(
            [
                [
                    sum(outside.get(o, {}).get(x, {}).values())
                    + sum(i.share * i.amount for i in [other.get(o, {}).get(x)] if i is not None)
                    for x in self.destinations
                ]
                for o in self.origins
            ],
            dtype=np.float64,
        ).reshape(n_o, n_d)
        self.licensed_only = np.array([x in cfg.brokers.licensed_only for x in self.destinations])
        validity = np.array([x.order_validity_months or np.inf for x in d], dtype=np.float64)
        self.order_keep = np.where(
            np.isfinite(validity), 1.0 - 1.0 / np.maximum(validity, 1.0), 0.0
        )
        self.release = 1.0 / np.array([max(x.order_release_months, 1.0) for x in d])
        self.backlog = np.zeros(n_d)
        self.queue = np.zeros((self.brokers.n, n_d), dtype=np.int64)
        self.abroad = np.zeros((n_o, n_d))
        self.seat_carry = np.zeros(n_d)
        self.iv_ref = np.array(
            [
                o.reference_value
                if o.reference_value is not None
                else self._reference_value(i, o.reference_year)
                for i, o in enumerate(cfg.origins.values())
            ]
        )
        # What ``step`` reads of a year and of a date depends on the configuration alone: worked
        # out once for each (the spin-up repeats its first year's dates; a year has 12 steps).
        self._year_inputs: dict[int, tuple[np.ndarray, ...]] = {}
        self._date_inputs: dict[dt.date, tuple[np.ndarray, ...]] = {}

    # ---- inputs on a date ------------------------------------------------------------------
    def _y(self, year: int) -> int:
        return int(np.clip(year - self.years[0], 0, self.years.size - 1))

    def open_share(self, when: dt.date) -> np.ndarray:
        """Share of each destination's entry seats open on ``when`` (the last window in force)."""
        return self.borders_on(when)[0]

    def borders_on(self, when: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Border state on ``when``: open share [D], cap a day [D] (inf: none), stops [O, D].

        Share and cap are the last window in force for every origin; a stop is a window naming
        the origin.
        """
        n_o, n_d = len(self.origins), len(self.destinations)
        share, cap = np.ones(n_d), np.full(n_d, np.inf)
        stopped = np.zeros((n_o, n_d), dtype=bool)
        for j, dest in enumerate(self.cfg.destinations.values()):
            for w in dest.borders:  # a few dated windows per destination
                if not (w.date <= when and (w.end is None or when < w.end)):
                    continue
                if w.origins:
                    stopped[[self.origins.index(o) for o in w.origins], j] = True
                else:
                    share[j] = w.open_share
                    cap[j] = w.entries_per_day
        return share, cap, stopped

    def extensions_on(self, when: dt.date) -> np.ndarray:
        """Destinations where a worker whose contract ends may be kept on, on ``when`` [D]."""
        return np.array(
            [
                any(e.date <= when and (e.end is None or when < e.end) for e in x.stay_extensions)
                for x in self.cfg.destinations.values()
            ]
        )

    def caps(self, when: dt.date) -> np.ndarray:
        """Legal fee cap (US dollars) by origin and destination on ``when`` (inf: none)."""
        cap = np.full((len(self.origins), len(self.destinations)), np.inf)
        for c in self.cfg.fee_caps:
            if c.date <= when:
                i, j = self.origins.index(c.origin), self.destinations.index(c.destination)
                cap[i, j] = min(cap[i, j], c.amount)
        return cap

    def active(self, when: dt.date) -> np.ndarray:
        """Brokers allowed to work on ``when``: licensed, or of an origin with no crackdown yet."""
        cracked = np.zeros(len(self.origins), dtype=bool)
        for c in self.cfg.crackdowns:
            if c.date <= when:
                cracked[self.origins.index(c.origin)] = True
        return self.brokers.licensed | ~cracked[self.brokers.origin]

    def _earnings(self, year: int) -> tuple[np.ndarray, np.ndarray]:
        y = self._y(year)
        gdp = self.pools.gdp_in(year)
        ratio = earnings_ratio(self.wage[y], self.fx_dest[y], self.contract, self.living, gdp)
        return ratio, gdp

    def _reference_value(self, origin: int, year: int) -> float:
        """Inclusive value of an origin in its reference year: all open, base fees, no network."""
        ratio, gdp = self._earnings(year)
        b = self.brokers
        mine = b.origin == origin
        served = b.serves[mine].any(axis=0)
        fee = np.where(b.serves[mine], b.base_fee[mine], np.nan)
        mean_fee = np.where(served, np.nanmean(np.where(served, fee, 0.0), axis=0), 0.0)
        seat = served.astype(float)[None, :]
        u = dc.utilities(
            self.cfg.choice,
            ratio[origin : origin + 1],
            mean_fee[None, :] / gdp[origin],
            np.zeros((1, len(self.destinations))),
            seat,
            self.constant,
        )
        return float(dc.inclusive_value(u, np.zeros(1))[0])

    def _inputs_of_year(self, year: int) -> tuple[np.ndarray, ...]:
        """Earnings ratio, GDP, savings and nominal seats a month in ``year`` (kept; read-only)."""
        found = self._year_inputs.get(year)
        if found is None:
            ratio, gdp = self._earnings(year)
            found = (ratio, gdp, self.pools.savings_in(year), self.seats_per_month[self._y(year)])
            self._year_inputs[year] = found
        return found

    def _inputs_on(self, when: dt.date) -> tuple[np.ndarray, ...]:
        """The dated rules in force on ``when`` as ``step`` reads them (kept; read-only).

        Open share, cap a day and stops of the borders, departures and returns allowed, active
        brokers, fee caps, stay extensions, and the home events (banned, penalised, penalty).
        """
        found = self._date_inputs.get(when)
        if found is None:
            share, cap_day, stopped = self.borders_on(when)
            can_leave, can_return = self.pools.stops_on(when)
            found = (
                share,
                cap_day,
                stopped,
                can_leave,
                can_return,
                self.active(when),
                self.caps(when),
                self.extensions_on(when),
                *self.pools.home_events(when),
            )
            self._date_inputs[when] = found
        return found

    # ---- one month -------------------------------------------------------------------------
    def step(self, when: dt.date, abroad: np.ndarray | None = None) -> Month:
        """Advance one month ending on ``when``; ``abroad`` [O, D] overrides the kept stock."""
        cfg, b, rng = self.cfg, self.brokers, self.rng
        n_o, n_d = len(self.origins), len(self.destinations)
        net = self.abroad if abroad is None else np.asarray(abroad, dtype=float)
        ratio, gdp, savings, nominal = self._inputs_of_year(when.year)
        (
            share,
            cap_day,
            stopped,
            can_leave,
            can_return,
            active,
            caps,
            extensions,
            banned,
            penalised,
            penalty,
        ) = self._inputs_on(when)
        # Orders of the month and those a border rule held back before; month-end steps: a
        # daily cap allows so many entries for each day of the month.
        released_orders = self.backlog * self.release
        offered = nominal + released_orders
        seats_d = np.minimum(offered * share, cap_day * when.day)
        usable = b.serves & active[:, None] & ~stopped[b.origin]
        usable &= b.licensed[:, None] | ~self.licensed_only[None, :]
        served = usable.reshape(n_o, b.per_origin, n_d).any(axis=1)  # [O, D]
        queue_d = self.queue.sum(axis=0)
        patience = self.pools.patience
        seat_chance = np.where(
            served & (seats_d[None, :] > 0),
            np.minimum(1.0, seats_d[None, :] * patience[:, None] / (queue_d[None, :] + 1.0))
            * can_leave[:, None],
            0.0,
        )
        short = bk.scarcity(queue_d, seats_d * cfg.brokers.scarcity_months)  # [D]
        cap_bd = caps[b.origin]
        if not cfg.brokers.caps_bind_unlicensed:  # unlicensed brokers ignore the caps
            cap_bd = np.where(b.licensed[:, None], cap_bd, np.inf)
        fee = bk.prices(b.base_fee, short[None, :], cfg.brokers.fee_scarcity_elasticity, cap_bd)
        fee = fee + np.where(b.serves, self.outside_cap[b.origin], 0.0)  # what no cap covers
        shares = bk.recruit_shares(
            fee,
            b.quality,
            gdp[b.origin],
            usable,
            cfg.brokers.recruit_fee_weight,
            cfg.brokers.recruit_quality_weight,
            b.per_origin,
        )
        expected_fee = (shares * fee).reshape(n_o, b.per_origin, n_d).sum(axis=1)

        # Queues that lost their seats are released to choose again, after a wait.
        lost = seat_chance[b.origin] == 0
        switch = np.minimum(1.0, 1.0 / self.pools.switch[b.origin])[:, None]
        if rng is None:
            leaving = np.floor(self.queue * switch + 1e-9).astype(np.int64)
        else:
            leaving = rng.binomial(self.queue, np.broadcast_to(switch, self.queue.shape))
        released_bd = np.where(lost, leaving, 0)
        released = np.bincount(b.origin, weights=released_bd.sum(axis=1), minlength=n_o)
        released = released.astype(np.int64)
        self.queue -= released_bd

        # Who enters the pools, and where the choosers go.
        u = dc.utilities(
            cfg.choice,
            ratio,
            expected_fee / gdp[:, None],
            net / self.pools.net_scale[:, None],
            seat_chance,
            self.constant,
        )
        iv = dc.inclusive_value(u, np.zeros(n_o))
        entrants = self.pools.draw_entries(
            self.pools.expected_entries(iv, self.iv_ref, net.sum(axis=1), banned), rng
        )
        p = (1 - penalised)[:, None] * dc.probabilities(u, np.zeros(n_o)) + penalised[
            :, None
        ] * dc.probabilities(u, -penalty)
        choosers = entrants + released
        chose = dc.split_exact(choosers, p) if rng is None else dc.split_random(rng, choosers, p)
        joined = bk.split_among_brokers(chose[:, :n_d], shares, b.per_origin, rng)
        self.queue += joined

        # Employers' orders filled from ready recruits; the placed pay and leave.
        seats_int = self._whole_seats(seats_d)
        ready = np.where(active[:, None], bk.ready_recruits(self.queue, b.capacity), 0)
        ready = np.floor(ready * can_leave[b.origin][:, None] + 1e-9).astype(np.int64)
        departed = bk.fill_orders(
            seats_int, ready, b.quality, cfg.brokers.employer_quality_weight, rng
        )
        self.queue -= departed
        # When every whole seat was filled, the month's seats count as filled: a fraction of a
        # seat (or a Poisson shortfall) is not an order held back.
        dep_d = departed.sum(axis=0)
        filled = np.where(dep_d >= seats_int, np.maximum(seats_d, dep_d), dep_d)
        carried = carried_orders(nominal, offered, seats_d, filled)
        self.backlog = (self.backlog - released_orders + carried) * self.order_keep
        # Where extensions are allowed, employers who cannot bring a replacement keep the worker.
        held = np.clip(1.0 - seats_d / np.where(nominal > 0, nominal, 1.0), 0.0, 1.0)
        return_share = can_return[:, None] * (1.0 - extensions * held)[None, :]
        rate = (
            b.interest[:, None] * (1.0 + short[None, :]) ** cfg.brokers.interest_scarcity_elasticity
        )
        loan_months = np.full(n_d, cfg.brokers.training_months)[None, :]
        if cfg.brokers.interest_while_queued:
            loan_months = loan_months + bk.expected_wait(
                queue_d, seats_d, patience[b.origin][:, None]
            )
        debt_each = bk.debt_at_departure(fee, savings[b.origin][:, None], rate, loan_months)

        # Some of those waiting give up; people abroad come home after their contracts.
        leave = self.queue / patience[b.origin][:, None]
        gave_up = (
            np.floor(leave).astype(np.int64)
            if rng is None
            else rng.binomial(self.queue, np.minimum(1.0, 1.0 / patience[b.origin])[:, None])
        )
        self.queue -= gave_up
        placed_od = departed.reshape(n_o, b.per_origin, n_d).sum(axis=1)
        self.abroad += placed_od - self.abroad * return_share / self.contract[None, :]
        return Month(
            entrants=entrants,
            released=released,
            chose=chose,
            joined=joined,
            departed=departed,
            gave_up=gave_up,
            queue=self.queue.copy(),
            fee_paid=departed * fee,
            debt=departed * debt_each,
            seats=seats_int,
            inclusive_value=iv,
            borrowers=np.where(debt_each > 0, departed, 0),
            backlog=self.backlog.copy(),
            return_share=return_share,
        )

    def _whole_seats(self, seats: np.ndarray) -> np.ndarray:
        """Whole seats this month: Poisson draws, or exact with the remainder carried."""
        if self.rng is not None:
            return self.rng.poisson(seats)
        total = seats + self.seat_carry
        whole = np.floor(total + 1e-9)
        self.seat_carry = total - whole
        return whole.astype(np.int64)

    def by_origin(self, values_bd: np.ndarray) -> np.ndarray:
        """Sum a ``[broker, destination]`` array to ``[origin, destination]``."""
        n_d = values_bd.shape[1]
        return values_bd.reshape(len(self.origins), self.brokers.per_origin, n_d).sum(axis=1)
