"""Sending side: employers' demand, the standby pool, selection, fees, debt and training.

Employers' demand for entries (per year, split by origin and by each origin's segments) is
passed to the sending countries a lead time ahead. On selection days applicants join the pool;
those eligible (age, aptitude) are ranked by aptitude and the best are selected. The selected pay
the sending agency and brokers, borrow part of it, and train before departure. Applicants not
selected leave the pool after a wait.

Everything here is by profile (origin and segment, ``tmpsim.model.segments``): each new agent is
given its origin, its segment and the profile whose terms it is drawn with.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import TYPE_CHECKING

import numpy as np

from tmpsim import cache
from tmpsim.engine.module import Module
from tmpsim.engine.population import NEVER
from tmpsim.kinds import Timer
from tmpsim.model.applicants import ApplicantDraws, Attributes, StandbyPool, draw_attributes
from tmpsim.model.host_market import HostSplit, share_in, split_inputs, split_of
from tmpsim.model.lifecycle import DAYS_PER_MONTH
from tmpsim.model.selection_kernels import Eligibility
from tmpsim.scenario.schema import DEBT_PER_FEE_MAX
from tmpsim.states import State

if TYPE_CHECKING:
    from collections.abc import Callable

    from tmpsim.model.segments import Profile
    from tmpsim.scenario.schema import Origin, Scenario
    from tmpsim.simulation import Simulation

# The sending market's split for the last few inputs, by their digest: runs of one scenario at
# other seeds or scales (an ensemble's worker) need not run the market again.
_MARKETS: dict[str, HostSplit] = {}
_MARKETS_KEPT = 4


def market_of(scenario: Scenario, demand_total: Callable[[int], float]) -> HostSplit:
    """``host_split`` of the scenario's ``origins_market``, kept for the next runs of its inputs.

    The split depends on a few of the scenario's values alone (``SplitInputs``: the market has
    its own seed and scale, and the demand follows from the scenario), so it is kept by their
    digest: in this process for the next runs, and on disk for the next commands
    (``tmpsim.cache``). Its arrays are made read-only, as runs share them.
    """
    inputs = split_inputs(scenario.origins_market, scenario, demand_total)
    key = inputs.digest()
    found = _MARKETS.get(key)
    if found is None:
        found = cache.kept("market", key, lambda: split_of(inputs), HostSplit)
        for values in (found.years, found.covered, found.shares, found.fee, found.debt):
            values.flags.writeable = False
        if len(_MARKETS) >= _MARKETS_KEPT:
            del _MARKETS[next(iter(_MARKETS))]  # the oldest
        _MARKETS[key] = found
    return found


def fee_terms_in(
    terms: list[Origin],
    profile_origin: np.ndarray,
    market: HostSplit | None,
    year: int,
    share: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean fee of those who pay, and debt per unit of fee of those who borrow, by profile.

    The profiles' ``fee_mean`` and ``debt_mean``, or, with the market's fees (``market`` given),
    the year's mean fee and debt at departure of the market's brokers (means over everyone
    placed: the fee of a payer is that mean over the paying share, the debt of a borrower that
    mean over the borrowing share, so that the means over everyone are the market's, up to the
    cap of ``DEBT_PER_FEE_MAX`` on debt per unit of fee), times ``share``, the share of them the
    worker pays. ``terms`` and ``profile_origin``: each profile's terms and origin.
    """
    p = terms  # by profile (origin x segment); the market's figures are by origin
    mean = np.array([t.fee_mean for t in p], dtype=float)
    debt = np.array([t.debt_mean for t in p], dtype=float)
    if market is not None:
        k = int(np.clip(year - market.years[0], 0, market.years.size - 1))
        pay = np.array([max(t.fee_pay_share, 1e-9) for t in p])
        borrow = pay * np.array([max(t.borrow_share, 1e-9) for t in p])
        origin = profile_origin
        from_market = (market.covered & ~np.isnan(market.fee[k]))[origin]
        mean = np.where(from_market, market.fee[k][origin] / pay * share, mean)
        debt = np.where(from_market, market.debt[k][origin] / borrow * share, debt)
    ratio = np.divide(debt, mean, out=np.zeros_like(mean), where=mean > 0)
    return mean, ratio


def market_debt_reference(
    scenario: Scenario,
    profiles: list[Profile],
    market: HostSplit,
    demand_total: Callable[[int], float],
) -> np.ndarray:
    """Mean debt at departure by profile that the market's fees leave the run's recruits.

    Each year of the run, a profile's mean debt over everyone it recruits is its paying share
    times its borrowing share times the fee of a payer times the debt per unit of fee, as
    ``_charge_fees`` draws them from ``fee_terms_in`` (the cap included), before the worker's
    share of the fees: the level at which ``runaway_rate_per_year`` is stated, so that a worker
    with a given debt runs away as often whoever pays the rest. The years are weighted by the
    profile's entries (the year's demand, the origin's share of it and the segment's share of
    the origin's). A profile whose origin the market lacks has its own terms' mean debt.
    """
    terms = [p.terms for p in profiles]
    origin = np.array([p.origin for p in profiles], dtype=np.int64)
    pay = np.array([t.fee_pay_share for t in terms])
    borrow = np.array([t.borrow_share for t in terms])
    years = range(scenario.start.year, scenario.end.year + 1)
    by_year, weight = [], []
    for year in years:
        mean, ratio = fee_terms_in(terms, origin, market, year)
        by_year.append(pay * borrow * mean * np.minimum(ratio, DEBT_PER_FEE_MAX))
        k = int(np.clip(year - market.years[0], 0, market.years.size - 1))
        segment = np.array([share_in(p.share, year) for p in profiles])
        weight.append(demand_total(year) * market.shares[k][origin] * segment)
    by_year_a, weight_a = np.array(by_year), np.array(weight)
    total = weight_a.sum(axis=0)
    # A profile with no entries in the run (a segment's share of 0) weighs its years alike.
    weight_a = np.where(total > 0, weight_a, 1.0)
    return (by_year_a * weight_a).sum(axis=0) / weight_a.sum(axis=0)


class Recruitment(Module):
    """Demand, pool, selection, fees and debt, pre-departure training."""

    fields = {
        "aptitude": (np.float32, 0),
        "language": (np.float32, 0),
        "network": (np.float32, 0),
        "proactivity": (np.float32, 0),  # of the supervising organisation
        "selected": (np.int32, NEVER),
        "fee": (np.float64, 0),
        "debt0": (np.float64, 0),  # debt at departure
        "profile": (np.int16, 0),  # origin * n_segments + segment: the terms drawn with
    }

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        sc = sim.scenario
        self.rec = sc.recruitment
        self.stream = sim.streams["recruitment"]
        self.money_stream = sim.streams["fees"]
        self.origin_params = list(sc.origins.values())
        self.terms = [p.terms for p in sim.profiles]  # each profile's terms
        self.profile_origin = np.array([p.origin for p in sim.profiles], dtype=np.int8)
        self.profile_segment = np.array([p.segment for p in sim.profiles], dtype=np.int8)
        self.sector_share = np.array([s.share for s in sc.sectors.values()])
        self.lead = np.array([t.training_days + t.clearance_days for t in self.terms])
        # Each origin's yearly share of demand: fixed, or from the sending market.
        self.market: HostSplit | None = None
        if sc.origins_market is not None:
            self.market = market_of(sc, sim.demand_total)
        self.demand_share = [
            self.market.demand_share(i) if self.market is not None else o.demand_share
            for i, o in enumerate(self.origin_params)
        ]
        if self.market is not None and sc.origins_market.fees:
            self._warn_debt_held(sc, sim.origins)
        # Applicants waiting to be selected, all profiles, in the order they joined: outside the
        # agent arrays until selected (``tmpsim.model.applicants.StandbyPool``).
        self.pool = StandbyPool((sim.n_origins, len(sc.sectors), sim.n_segments))
        # Attributes of new applicants by profile, looked up by profile code.
        self._profile_attrs = {
            name: np.array([getattr(t, attr) for t in self.terms])
            for name, attr in (
                ("age_mean", "age_mean"),
                ("age_sd", "age_sd"),
                ("female", "female_share"),
                ("language", "language_mean"),
                ("network", "network_mean"),
            )
        }
        # Demand by day (and a lead time beyond the end), computed once.
        horizon = sim.n_days + int(self.lead.max()) + 1
        self._demand = self._demand_table(horizon)
        self._profile_demand = self._profile_table(self._demand, 0)
        # Entries by [day, profile] before the start, by (days, first day): every profile's
        # stage reads the same table (``_time_into_stage``), worked out once for them all.
        self._entries_before: dict[tuple[int, int], np.ndarray] = {}
        # Places by profile on each selection day, and the applicants' attributes, drawn ahead
        # from their own stream (see ``tmpsim.model.applicants``).
        self.places = self._places_schedule()
        rounds = [(day, self._applicant_profiles(p)) for day, p in self.places.items()]
        rounds = [(day, o) for day, o in rounds if o.size]
        stream = sim.streams["applicants"]
        self.applicants = ApplicantDraws(rounds, lambda origin: self._draw(stream, origin))

    def _warn_debt_held(self, sc: Scenario, origin_names: list[str]) -> None:
        """Warn where the market's debt per unit of fee is above ``DEBT_PER_FEE_MAX`` in the run.

        A borrower's debt is held to that bound (``_charge_fees``), so there the mean debt at
        departure is below the market's; a scenario's own ``debt_mean`` above it is refused as
        it is read, but the market's ratio is known only once the market is built.
        """
        over: dict[str, tuple[int, float]] = {}
        for year in range(sc.start.year, sc.end.year + 1):
            _, ratio = fee_terms_in(self.terms, self.profile_origin, self.market, year)
            for profile in np.flatnonzero(ratio > DEBT_PER_FEE_MAX):
                name = origin_names[self.profile_origin[profile]]
                if ratio[profile] > over.get(name, (0, 0.0))[1]:
                    over[name] = (year, float(ratio[profile]))
        if over:
            worst = ", ".join(f"{o} {r:.2f} ({y})" for o, (y, r) in over.items())
            warnings.warn(
                f"origins_market: a borrower's debt per unit of fee from the market is above "
                f"{DEBT_PER_FEE_MAX:g} for {worst} (the largest, in its year); borrowers' debts "
                f"are held to {DEBT_PER_FEE_MAX:g} times their fee, so there the mean debt at "
                "departure is below the market's (a lower borrow_share of the origin raises "
                "the ratio: the market's debt is spread over fewer borrowers)",
                stacklevel=2,
            )

    # ---- demand ---------------------------------------------------------------------------
    def shares(self, when: dt.date) -> np.ndarray:
        """Each origin's share of new entries at a date (interpolated by year, normalised)."""
        x = when.year + (when.timetuple().tm_yday - 1) / 365.25
        out = np.empty(self.sim.n_origins)
        for i, table in enumerate(self.demand_share):
            years = sorted(table)
            out[i] = np.interp(x, [y + 0.5 for y in years], [table[y] for y in years])
        total = out.sum()
        return out / total if total > 0 else out

    def daily_demand(self, day: int) -> np.ndarray:
        """Entries per day that employers want, by origin, on a run day (full scale)."""
        return self._demand[day]  # the table reaches a lead time past the end

    def daily_demand_between(self, first: int, stop: int) -> np.ndarray:
        """Entries per day employers want, run days ``first`` to ``stop - 1``: [day, origin]."""
        return self._demand[first:stop]

    def _demand_table(self, horizon: int, first: int = 0) -> np.ndarray:
        """``demand_reference`` of days ``first`` to ``first + horizon - 1`` at once: [day, origin].

        The same arithmetic, element by element, as the day-by-day computation.
        """
        dates = np.datetime64(self.sim.scenario.start, "D") + first + np.arange(horizon)
        first_of_year = dates.astype("datetime64[Y]")
        year = first_of_year.astype(np.int64) + 1970
        day_of_year = (dates - first_of_year.astype("datetime64[D]")).astype(np.int64)
        x = year + day_of_year / 365.25
        share = np.empty((horizon, self.sim.n_origins))
        for i, table in enumerate(self.demand_share):
            years = sorted(table)
            share[:, i] = np.interp(x, [y + 0.5 for y in years], [table[y] for y in years])
        total = share.sum(axis=1, keepdims=True)
        share = np.divide(share, total, out=share.copy(), where=total > 0)
        per_year = {int(y): self.sim.demand_total(int(y)) / 365.25 for y in np.unique(year)}
        return np.array([per_year[int(y)] for y in year])[:, None] * share

    def _profile_table(self, by_origin: np.ndarray, first: int) -> np.ndarray:
        """Demand by [day, profile] from demand by [day, origin] (``first``: the first day).

        Each profile has its origin's demand times the segment's share of the origin's entries
        (interpolated by year as the origins' shares are; one without segments).
        """
        if self.sim.n_segments == 1:
            return by_origin  # one segment: a profile is an origin
        days = np.datetime64(self.sim.scenario.start, "D") + first + np.arange(len(by_origin))
        first_of_year = days.astype("datetime64[Y]")
        year = first_of_year.astype(np.int64) + 1970
        x = year + (days - first_of_year.astype("datetime64[D]")).astype(np.int64) / 365.25
        share = np.empty((x.size, len(self.terms)))
        for i, p in enumerate(self.sim.profiles):
            years = sorted(p.share)
            share[:, i] = np.interp(x, [y + 0.5 for y in years], [p.share[y] for y in years])
        return by_origin[:, self.profile_origin] * share

    def demand_reference(self, day: int) -> np.ndarray:
        """One day's demand computed on its own (the table's specification)."""
        when = self.sim.scenario.start + dt.timedelta(days=day)
        return self.sim.demand_total(when.year) / 365.25 * self.shares(when)

    # ---- agents ---------------------------------------------------------------------------
    def _draw(self, rng: np.random.Generator, profile: np.ndarray) -> Attributes:
        """Attributes of new agents of the given profiles, drawn from ``rng``."""
        sup = self.sim.scenario.supervision
        return draw_attributes(
            rng,
            profile,
            self._profile_attrs,
            (sup.proactivity_mean, sup.proactivity_concentration),
            self.sector_share,
            self.sim.scenario.money.initial_savings_mean,
        )

    def _new_agents(
        self, profile: np.ndarray, day: int, state: State, attrs: Attributes | None = None
    ) -> np.ndarray:
        """Create agents of the given profiles with their attributes (drawn now if not given)."""
        if attrs is None:
            attrs = self._draw(self.stream, profile)
        n = profile.size
        ids = self.sim.add_agents(n)
        pop = self.sim.pop
        # New ids are consecutive: write each field through a slice (no fancy indexing).
        new = slice(int(ids[0]), int(ids[0]) + n) if n else slice(0, 0)
        pop.origin[new] = self.profile_origin[profile]
        pop.segment[new] = self.profile_segment[profile]
        pop.profile[new] = profile
        pop.state[new] = int(state)
        for name, values in attrs.items():
            getattr(pop, name)[new] = values
        pop.created[new] = day
        pop.money_t[new] = day
        return ids

    def fee_terms(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean fee of those who pay, and debt per unit of fee of those who borrow, by profile.

        ``fee_terms_in`` the year of run day ``day``, times the share of the market's fees the
        worker pays (``origins_market.worker_fee_share``) where they come from the market.
        """
        spec = self.sim.scenario.origins_market
        market = self.market if spec is not None and spec.fees else None
        year = (self.sim.scenario.start + dt.timedelta(days=int(day))).year
        share = spec.worker_fee_share if market is not None else 1.0
        return fee_terms_in(self.terms, self.profile_origin, market, year, share)

    def _charge_fees(self, ids: np.ndarray, day: int = 0) -> None:
        """Fees to the sending agency and brokers; debt for those who borrow."""
        pop = self.sim.pop
        rng = self.money_stream
        origin = pop.profile[ids]  # the terms are the profile's
        p = self.terms
        mean_p, ratio = self.fee_terms(day)
        mean = mean_p[origin]
        cv = np.array([o.fee_cv for o in p])[origin]
        sigma2 = np.log1p(cv**2)
        fee = rng.lognormal(np.log(np.maximum(mean, 1e-9)) - sigma2 / 2, np.sqrt(sigma2))
        pays = rng.random(ids.size) < np.array([o.fee_pay_share for o in p])[origin]
        fee = np.where(pays & (mean > 0), fee, 0.0)
        borrows = pays & (rng.random(ids.size) < np.array([o.borrow_share for o in p])[origin])
        debt = np.where(borrows, fee * np.minimum(ratio[origin], DEBT_PER_FEE_MAX), 0.0)
        pop.fee[ids] = fee
        pop.debt0[ids] = debt
        pop.debt[ids] = debt
        # What they could not borrow they paid from their own savings.
        pop.savings[ids] = np.maximum(pop.savings[ids] - (fee - debt), 0.0)

    def start(self) -> None:
        """The initial population (see ``initial_population``)."""
        self.initial_population()

    def timers(self) -> dict:
        """Training ends."""
        return {Timer.TRAINING_END: self.training_over}

    def initial_population(self) -> None:
        """Workers in the host at the start (by stage) and the pipeline already in training."""
        sim = self.sim
        lc = sim.lifecycle
        rng = self.stream
        pop = sim.pop
        for o_idx, profile in enumerate(sim.profiles):
            for stage_name, stock in profile.initial_stock.items():
                stage = lc.stage_index[stage_name]
                n = _whole(stock * sim.scale, rng)
                if n == 0:
                    continue
                length = lc.stage_days[stage]
                before = float(lc.stage_days[:stage].sum())
                elapsed = self._time_into_stage(rng.random(n), o_idx, length, before)
                entered = -np.floor(elapsed + before).astype(np.int64) - 1
                ids = self._new_agents(np.full(n, o_idx, dtype=np.int16), 0, State.EMPLOYED)
                pop.created[ids] = entered - self.lead[o_idx]
                self._charge_fees(ids)
                pop.entered[ids] = entered
                pop.selected[ids] = pop.created[ids]
                pop.stage[ids] = stage
                pop.contract_start[ids] = -np.floor(elapsed).astype(np.int64) - 1
                sim.money.set_rates(ids, State.EMPLOYED, 0)
                pop.money_t[ids] = entered  # savings and repayment accrue from entry
                end = np.maximum(np.round(length - elapsed).astype(np.int64), 1)
                # As a rehire after a dismissal has counted it (the timer may differ by a day).
                pop.contract_end[ids] = pop.contract_start[ids] + np.round(length).astype(np.int64)
                lc.set_timer(ids, Timer.CONTRACT_END, end)
        # The pipeline: everyone selected within one lead time before the start.
        demand = self._profile_demand[0] * sim.scale
        for o_idx in range(len(sim.profiles)):
            n = _whole(demand[o_idx] * self.lead[o_idx], rng)
            if n == 0:
                continue
            ids = self._new_agents(np.full(n, o_idx, dtype=np.int16), 0, State.TRAINING)
            done = rng.integers(1, self.lead[o_idx] + 1, n)
            pop.created[ids] = done - self.lead[o_idx]
            pop.selected[ids] = pop.created[ids]
            self._charge_fees(ids)
            sim.money.set_rates(ids, State.TRAINING, 0)
            lc.set_timer(ids, Timer.TRAINING_END, done)
        # Balances of those already in the host are brought up to the start (their debt drives
        # the runaway hazard); remittances sent before the start are not booked in the series.
        sim.money.settle(np.arange(pop.n), 0, record=False)
        sim.hazards.draw(np.arange(pop.n), 0)

    def _time_into_stage(
        self, u: np.ndarray, o_idx: int, length: float, before: float
    ) -> np.ndarray:
        """Days into the stage of people in it at the start, from uniform draws ``u``.

        Those ``e`` days into the stage first entered ``e + before`` days before the start, so
        their share follows the profile's entries on that day (employers' demand then, the first
        year's level before the demand table starts): a growing programme has more people early
        in a stage than late. The draw inverts that distribution, one uniform number per person.
        """
        days = max(round(length), 1)
        # Entries on each of those days, the most recent first (index j: j days into the stage).
        first = -days - round(before)
        table = self._entries_before.get((days, first))
        if table is None:
            table = self._profile_table(self._demand_table(days, first=first), first)
            self._entries_before[(days, first)] = table
        entries = table[::-1, o_idx]
        total = entries.sum()
        if not total > 0:
            return u * length
        cdf = np.concatenate(([0.0], np.cumsum(entries) / total))
        return np.interp(u, cdf, np.linspace(0.0, length, days + 1))

    # ---- daily ----------------------------------------------------------------------------
    def step(self, day: int) -> None:
        """On selection days: new applicants, selection, fees and debt, start of training."""
        sim = self.sim
        rec = sim.recorder
        rec.add("entry_demand", np.arange(sim.n_origins), self.daily_demand(day) * sim.scale)
        places = self.places.get(day)
        if places is not None and places.sum() > 0:
            fill = places
            if self.rec.backlog_fill_days is not None:
                # Those waiting to enter by profile: [origin, segment] in profile order.
                waiting = rec.segment_counts[State.AWAITING_ENTRY].reshape(-1)
                fill = self.places_left(places, waiting)
            # Employers whose former trainees stay on another status order fewer new ones.
            fill = sim.vacancies.take_kept_places(fill, day)
            self._select(places, day, fill)
        self._time_out(day)

    def places_left(self, places: np.ndarray, waiting: np.ndarray) -> np.ndarray:
        """Places of a round once the vacancies that those waiting to enter fill are taken off.

        Each person selected and still waiting stands for a vacancy; the waiting queue is set
        against the places of the coming ``backlog_fill_days`` (both in the run's agents).
        """
        interval = self.rec.selection_interval_days
        taken = np.floor(waiting * interval / self.rec.backlog_fill_days).astype(np.int64)
        return np.maximum(places - taken, 0)

    def _places_schedule(self) -> dict[int, np.ndarray]:
        """Places by profile on every selection day of the run (fractions carried over)."""
        sim = self.sim
        interval = self.rec.selection_interval_days
        carry = np.zeros(len(self.terms))
        out = {}
        for day in range(0, sim.n_days, interval):
            mult = sim.timeline.recruitment_multiplier(day)
            target = self._demand_ahead(day)
            want = target * interval * sim.scale * mult / (1 - self.rec.training_dropout)
            total = want + carry
            places = np.floor(total).astype(np.int64)
            carry = total - places
            out[day] = places
        return out

    def _applicant_profiles(self, places: np.ndarray) -> np.ndarray:
        """Profiles of the applicants a round with ``places`` brings (none if no place)."""
        if places.sum() <= 0:
            return np.empty(0, dtype=np.int16)
        # Each round's demand brings forward applicants_per_place applicants per place; those
        # not selected stay in the pool (another chance next round) until they give up.
        applicants = np.ceil(places * self.rec.applicants_per_place).astype(np.int64)
        return np.repeat(np.arange(places.size, dtype=np.int16), applicants)

    def _demand_ahead(self, day: int) -> np.ndarray:
        """Each profile's demand one lead time ahead (selection now fills entries then)."""
        return np.array(
            [self._profile_demand[day + int(self.lead[p]), p] for p in range(len(self.terms))]
        )

    def _select(self, places: np.ndarray, day: int, fill: np.ndarray) -> None:
        """Fill ``fill`` places (per profile) from the pool: the best eligible by aptitude.

        The round's applicants come for its planned ``places`` (drawn ahead); employers whose
        vacancies those waiting to enter fill take fewer (``fill``). The selected become agents
        (created on the day they joined the pool) and move from the pool to training.
        """
        sim, pop = self.sim, self.sim.pop
        profile = self._applicant_profiles(places)
        if profile.size:
            self._join(profile, day)
        chosen, eligible = self.choose(day, fill)
        if eligible == 0:
            return
        attrs = self.pool.take(chosen)
        joined = attrs.pop("joined")
        best = self._new_agents(attrs.pop("profile"), day, State.POOL, attrs)
        pop.created[best] = joined
        pop.selected[best] = day
        self._charge_fees(best, day)
        sim.move(best, State.TRAINING)
        lead = self.lead[pop.profile[best]]
        days = np.round(lead * self.stream.uniform(0.8, 1.2, best.size)).astype(np.int64)
        sim.lifecycle.set_timer(best, Timer.TRAINING_END, day + np.maximum(days, 1))

    def choose(self, day: int, fill: np.ndarray) -> tuple[np.ndarray, int]:
        """Pool positions of those selected today, and how many were eligible (compiled)."""
        rec = self.rec
        floor = np.float32(rec.aptitude_min)
        rule = Eligibility(day, float(rec.age_min), float(rec.age_max), floor)
        return self.pool.select(rule, fill)

    def choose_reference(self, day: int, fill: np.ndarray) -> tuple[np.ndarray, int]:
        """``choose`` in NumPy: the eligible, then the best of each profile among them."""
        rec, pool = self.rec, self.pool
        cand = pool.eligible(day, float(rec.age_min), float(rec.age_max), rec.aptitude_min)
        if cand.size == 0:
            return cand, 0
        c = pool.columns
        return best_by_origin(cand, c["profile"][cand], c["aptitude"][cand], fill), cand.size

    def _join(self, profile: np.ndarray, day: int) -> None:
        """The round's applicants (drawn ahead) join the pool, counted in it as created today.

        Their attributes are kept in the agent fields' types, so that selection compares what an
        agent would hold.
        """
        fields = self.sim.pop.fields
        attrs = self.applicants.take(day)
        cols = {name: np.asarray(v, dtype=fields[name][0]) for name, v in attrs.items()}
        cols["profile"] = profile
        cols["origin"] = self.profile_origin[profile]
        cols["segment"] = self.profile_segment[profile]
        cols["joined"] = np.full(profile.size, day, dtype=np.int32)
        self.sim.recorder.create(int(State.POOL), cols["origin"], cols["sector"], cols["segment"])
        self.pool.join(cols)

    def _time_out(self, day: int) -> None:
        """Applicants who have waited ``pool_wait_days`` unselected leave the pool (dropped)."""
        gone = self.pool.give_up(day - self.rec.pool_wait_days)
        n = gone["origin"].size if gone else 0
        if n:
            old = np.full(n, int(State.POOL), dtype=np.int8)
            self.sim.recorder.flow(
                old, int(State.DROPPED), gone["origin"], gone["sector"], gone["segment"]
            )

    def outside(self) -> np.ndarray:
        """The applicants in the pool, and those who gave up: [state, origin, sector, segment]."""
        sim = self.sim
        shape = (sim.n_origins, len(sim.sectors), sim.n_segments)
        out = np.zeros((len(State), *shape), dtype=np.int64)
        out[State.POOL] = self.pool.waiting_counts
        out[State.DROPPED] = self.pool.gave_up
        return out

    def check(self) -> str | None:
        """The pool's running counts against a recount of its columns."""
        pool = self.pool
        if not np.array_equal(pool.waiting_counts, pool.counts(pool.waiting_counts.shape)):
            return "standby pool counts differ from its applicants"
        return None

    def training_over(self, ids: np.ndarray, day: int) -> None:
        """Training and clearance done: a few drop out, the rest wait to enter."""
        drop = self.stream.random(ids.size) < self.rec.training_dropout
        self.sim.move(ids[drop], State.DROPPED)
        go = ids[~drop]
        self.sim.move(go, State.AWAITING_ENTRY)
        self.sim.borders.queue_entry(go)


def best_by_origin(
    cand: np.ndarray, origin: np.ndarray, aptitude: np.ndarray, places: np.ndarray
) -> np.ndarray:
    """The ``places[o]`` candidates of each origin ``o`` with the highest aptitude, sorted.

    Among equal aptitudes the candidate earlier in ``cand`` wins (as in a stable sort by
    aptitude). Only the chosen are found, not a full ranking: a partition finds each origin's
    cut-off aptitude, then ties at the cut-off are settled by position.
    """
    chosen = np.zeros(cand.size, dtype=bool)  # by position in ``cand``
    # A stable sort of small integer codes: each origin's candidates, still in order.
    by_origin = np.argsort(origin, kind="stable")
    bounds = np.searchsorted(origin[by_origin], np.arange(places.size + 1), side="left")
    for o in range(places.size):
        k = int(places[o])
        group = by_origin[bounds[o] : bounds[o + 1]]
        if k <= 0 or group.size == 0:
            continue
        if k >= group.size:
            chosen[group] = True
            continue
        # Lower key = better: the same float64 key as a sort by (origin, -aptitude) would use.
        key = o * 2.0 + (1.0 - aptitude[group].astype(np.float64))
        cut = np.partition(key, k - 1)[k - 1]
        take = key < cut
        ties = np.flatnonzero(key == cut)[: k - int(take.sum())]
        take[ties] = True
        chosen[group[take]] = True
    out = cand[chosen]  # in the candidates' order: already sorted when they are (the pool's)
    if out.size > 1 and (out[1:] < out[:-1]).any():
        out = np.sort(out)
    return out


def _whole(x: float, rng: np.random.Generator) -> int:
    """Round a scaled count to a whole number of agents without bias."""
    base = int(np.floor(x))
    return base + int(rng.random() < x - base)


__all__ = [
    "DAYS_PER_MONTH",
    "Recruitment",
    "best_by_origin",
]
