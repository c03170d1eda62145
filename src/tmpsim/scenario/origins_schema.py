"""Parameters of the sending side: origin pools, brokers, fee rules and competing destinations.

A scenario may carry one ``OriginsConfig`` (see docs/origins.md). Money is in US dollars unless a
field says otherwise: fees, caps and savings compare across origins and destinations only in one
currency, and the sourced exchange rates (``tmpsim/data/origins/exchange_rates.csv``) convert each
destination's wage from its own currency. Values not taken from a source say so in ``sources``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from tmpsim.scenario.schema import NonNeg, PosInt, Prob, Strict

Positive = Annotated[float, Field(gt=0)]
Year = Annotated[int, Field(gt=1900, lt=2200)]


class HomeEvent(Strict):
    """A dated event at home that changes who can or wants to leave.

    ``exit_ban``: a share of the pool may not leave (e.g. Myanmar's suspension of overseas work
    permits for men from 2024-05-01). ``stay_penalty``: staying home loses ``utility`` for a share
    of the pool (e.g. conscription), which raises the chance of choosing any destination.
    """

    type: Literal["exit_ban", "stay_penalty"]
    date: dt.date
    end: dt.date | None = None
    share: Prob = Field(description="Share of the pool the event applies to.")
    utility: float = Field(0.0, description="stay_penalty: utility lost by staying home.")
    note: str = ""

    @model_validator(mode="after")
    def _dates(self) -> HomeEvent:
        if self.end is not None and self.end < self.date:
            raise ValueError(f"end {self.end} is before date {self.date}")
        return self


class OriginStop(Strict):
    """From ``date`` to ``end``, an origin's own border: flights stopped or departures banned.

    ``departures_share``: the share of the origin's recruits ready to leave who can leave
    (0: none; the queue waits). ``returns_share``: the share of its people abroad whose
    contract ends who can come home (the rest stay abroad, e.g. with repatriation flights
    only).
    """

    date: dt.date
    end: dt.date | None = None
    departures_share: Prob = 1.0
    returns_share: Prob = 1.0
    note: str = ""

    @model_validator(mode="after")
    def _dates(self) -> OriginStop:
        if self.end is not None and self.end < self.date:
            raise ValueError(f"end {self.end} is before date {self.date}")
        return self


class OriginPool(Strict):
    """People in one sending country who would go abroad, and what moves their number."""

    country: str | None = Field(
        None, description="Country name in gdp_per_capita.csv (default: the origin's key)."
    )
    currency: str = Field(description="ISO code of the origin's currency (exchange_rates.csv).")
    population: Positive = Field(description="People in the age band who might go abroad.")
    entry_share_per_year: Prob = Field(
        description="Share of the population entering the pool in a year at the reference "
        "attractiveness and with no network."
    )
    reference_year: Year = Field(description="Year whose attractiveness is the reference.")
    reference_value: float | None = Field(
        None,
        description="Inclusive value at which entry_share applies, the same for every origin "
        "so that origins compare (None: this origin's own value in reference_year).",
    )
    attractiveness_elasticity: NonNeg = Field(
        1.0, description="Pool entry ∝ exp(elasticity × (inclusive value − reference value))."
    )
    network_elasticity: NonNeg = Field(
        0.0, description="Pool entry ∝ (1 + people abroad / network_scale) ** elasticity."
    )
    network_scale: Positive = Field(1000.0, description="People abroad that double the term.")
    savings_months: NonNeg = Field(
        3.0,
        description="Savings of a recruit, in months of savings_base; the rest is borrowed.",
    )
    savings_base: Literal["gdp_per_capita", "rural_income"] = Field(
        "gdp_per_capita",
        description="What savings are months of: GDP per capita, or the rural income per "
        "person of rural_income.csv (the sourced series of the origin's country).",
    )
    patience_months: Positive = Field(
        12.0, description="Mean months a recruit waits in a broker's queue before giving up."
    )
    switch_months: Positive = Field(
        1.0,
        description="Mean months a recruit queued for a destination with no seats any more "
        "(closed, or its broker shut) waits before choosing again (1: at once).",
    )
    events: list[HomeEvent] = Field(default_factory=list)
    stops: list[OriginStop] = Field(
        default_factory=list, description="The origin's own dated stops of flights or departures."
    )


class BorderWindow(Strict):
    """A destination's entry seats open at ``open_share`` of normal from ``date`` to ``end``.

    ``cap_per_day`` also limits entries to so many a day (e.g. Korea's EPS cap during COVID);
    a window naming ``origins`` is a stop for those origins only (e.g. visas not issued to
    workers of countries judged high-risk): it must have ``open_share`` 0 and no cap.
    """

    date: dt.date
    end: dt.date | None = None
    open_share: Prob = 1.0
    cap_per_day: NonNeg | None = Field(None, description="Entries a day at most (None: no cap).")
    quarantine_places: NonNeg | None = Field(
        None,
        description="Quarantine places for arriving workers: with quarantine_days, entries a "
        "day are at most places / days (each arrival holds a place that long).",
    )
    quarantine_days: Positive | None = Field(None, description="Days each arrival is held.")
    origins: list[str] = Field(
        default_factory=list, description="Origins the window stops (empty: every origin)."
    )

    @model_validator(mode="after")
    def _origin_stop(self) -> BorderWindow:
        if self.end is not None and self.end < self.date:
            raise ValueError(f"end {self.end} is before date {self.date}")
        if (self.quarantine_places is None) != (self.quarantine_days is None):
            raise ValueError("quarantine_places and quarantine_days go together")
        if self.origins and (
            self.open_share != 0 or self.cap_per_day is not None or self.quarantine_places
        ):
            raise ValueError(
                "a window naming origins stops them: open_share must be 0 and cap_per_day and "
                "quarantine_places unset"
            )
        return self

    @property
    def entries_per_day(self) -> float:
        """Entries a day at most: the cap, or the quarantine places over their days (inf)."""
        cap = float("inf") if self.cap_per_day is None else self.cap_per_day
        if self.quarantine_places is not None and self.quarantine_days is not None:
            cap = min(cap, self.quarantine_places / self.quarantine_days)
        return cap


class StayExtension(Strict):
    """From ``date`` to ``end``, a worker whose contract ends may be kept on (extended).

    Employers who cannot bring in a replacement keep the worker: of those whose contract ends,
    the share kept is the share of the destination's seats the border rules hold back that
    month (all of them while it is closed, none while it is open).
    """

    date: dt.date
    end: dt.date | None = None
    note: str = ""

    @model_validator(mode="after")
    def _dates(self) -> StayExtension:
        if self.end is not None and self.end < self.date:
            raise ValueError(f"end {self.end} is before date {self.date}")
        return self


class Destination(Strict):
    """A competing destination: its wage, contract, quota and border status, as data."""

    programme: str
    currency: str
    wage_per_month: dict[Year, NonNeg] = Field(
        min_length=1, description="Wage in the destination's currency, by year (nearest year)."
    )
    contract_months: Positive = 36.0
    living_cost_share: Prob = Field(0.4, description="Share of the wage spent at destination.")
    demand_per_year: dict[Year, NonNeg] = Field(
        min_length=1, description="Workers employers order per year (all origins)."
    )
    quota_per_year: dict[Year, NonNeg] | None = Field(
        None, description="Legal ceiling on entries per year (None: no national quota)."
    )
    constant: float = Field(0.0, description="Alternative-specific constant of the choice.")
    borders: list[BorderWindow] = Field(default_factory=list)
    order_validity_months: Positive | None = Field(
        None,
        description="Mean months an employer's order held back by a border rule (a closure, a "
        "share, a daily cap) stays valid and waits for the border to open (None: lost).",
    )
    order_release_months: Positive = Field(
        1.0,
        description="Carried orders are offered again at one in order_release_months a month "
        "(visas, flights and quarantine to arrange; 1: all at once).",
    )
    stay_extensions: list[StayExtension] = Field(
        default_factory=list,
        description="Dated rules under which a worker whose contract ends may stay on.",
    )


class FeeCap(Strict):
    """A legal cap on what a worker may be charged (0 is a no-fee rule)."""

    origin: str
    destination: str
    amount: NonNeg = Field(description="Cap in US dollars per contract.")
    date: dt.date
    source: str = ""


class LicenceCrackdown(Strict):
    """From ``date`` the unlicensed brokers of an origin stop taking recruits and orders."""

    origin: str
    date: dt.date
    note: str = ""


class Intermediary(Strict):
    """A second intermediary some recruits pay besides their broker (as surveyed)."""

    share: Prob = Field(description="Share of recruits who pay one.")
    amount: NonNeg = Field(description="Mean paid by those who pay (US dollars).")


class Brokers(Strict):
    """Sending agencies: drawn per origin, then agents that price, lend and compete."""

    per_origin: PosInt = 20
    capacity_per_month: Positive = Field(description="Mean recruits a broker can place a month.")
    capacity_cv: NonNeg = 0.5
    base_fee: dict[str, dict[str, NonNeg]] = Field(
        description="Mean fee (US dollars) by origin and destination served."
    )
    fee_cv: NonNeg = 0.3
    serve_prob: Prob = Field(1.0, description="Chance a broker serves a destination it may.")
    licensed_share: Prob = 1.0
    quality_mean: Prob = 0.5
    quality_concentration: Positive = 4.0
    interest_per_year: NonNeg = Field(0.2, description="Loan rate with no scarcity.")
    fee_scarcity_elasticity: NonNeg = Field(
        0.0, description="Fee × (1 + scarcity) ** elasticity; scarcity = queue / seats − 1."
    )
    interest_scarcity_elasticity: NonNeg = 0.0
    scarcity_months: Positive = Field(
        1.0,
        description="Scarcity = recruits queued / (seats a month × scarcity_months) − 1: the "
        "months of seats a queue is measured against (1: one month's).",
    )
    caps_bind_unlicensed: bool = Field(
        True,
        description="Legal fee caps bind unlicensed brokers too (False: only licensed brokers "
        "keep to a cap; the others charge their price).",
    )
    employer_quality_weight: NonNeg = Field(
        1.0, description="Employers' orders ∝ ready recruits × quality ** weight."
    )
    recruit_fee_weight: NonNeg = Field(
        1.0, description="Recruits' broker choice: utility −weight × fee / GDP per capita."
    )
    recruit_quality_weight: NonNeg = 1.0
    training_months: NonNeg = Field(6.0, description="Months a loan runs before departure.")
    interest_while_queued: bool = Field(
        False,
        description="A loan also runs while the recruit waits for a seat: the expected wait is "
        "the destination's queue over its seats a month (Little's law), at most the origin's "
        "patience_months (False: training_months only).",
    )
    costs_outside_cap: dict[str, dict[str, dict[str, NonNeg]]] = Field(
        default_factory=dict,
        description="US dollars a recruit pays, by origin, destination and item (training, "
        "medical, documents, deposit), on top of the broker's fee and whatever the fee caps: "
        "a cap or a no-fee rule binds the broker's placement fee only.",
    )
    other_intermediaries: dict[str, dict[str, Intermediary]] = Field(
        default_factory=dict,
        description="By origin and destination: the share of recruits who also pay an "
        "intermediary other than their broker, and the mean they pay (US dollars).",
    )
    licensed_only: list[str] = Field(
        default_factory=list,
        description="Destinations only licensed (accredited) brokers may serve.",
    )


class Choice(Strict):
    """Coefficients of the destination choice (multinomial logit with staying home)."""

    earnings: NonNeg = Field(1.0, description="On log(net earnings abroad / GDP per capita).")
    fee: NonNeg = Field(1.0, description="On fee / GDP per capita.")
    network: NonNeg = Field(0.5, description="On log(1 + people there / network_scale).")
    seat: NonNeg = Field(1.0, description="On log(chance of a seat).")


class OriginsConfig(Strict):
    """The sending side and the destinations it chooses among."""

    origins: dict[str, OriginPool] = Field(min_length=1)
    destinations: dict[str, Destination] = Field(min_length=1)
    brokers: Brokers
    choice: Choice = Field(default_factory=Choice)
    fee_caps: list[FeeCap] = Field(default_factory=list)
    crackdowns: list[LicenceCrackdown] = Field(default_factory=list)
    stochastic: bool = Field(
        True, description="Draw counts (False: split expected counts exactly, for toy cases)."
    )
    sources: dict[str, str] = Field(
        default_factory=dict, description="Key path -> source, or 'assumed: why'."
    )

    @model_validator(mode="after")
    def _names(self) -> OriginsConfig:
        o_names, d_names = set(self.origins), set(self.destinations)
        for o, fees in self.brokers.base_fee.items():
            if o not in o_names:
                raise ValueError(f"brokers.base_fee: {o!r} is not an origin ({sorted(o_names)})")
            bad = set(fees) - d_names
            if bad:
                raise ValueError(
                    f"brokers.base_fee.{o}: unknown destination(s) {sorted(bad)}; "
                    f"destinations are {sorted(d_names)}"
                )
        for o, by_dest in self.brokers.costs_outside_cap.items():
            if o not in o_names:
                raise ValueError(
                    f"brokers.costs_outside_cap: {o!r} is not an origin ({sorted(o_names)})"
                )
            for d in by_dest:
                if d not in d_names:
                    raise ValueError(
                        f"brokers.costs_outside_cap.{o}: {d!r} is not a destination "
                        f"({sorted(d_names)})"
                    )
                if d not in self.brokers.base_fee.get(o, {}):
                    raise ValueError(
                        f"brokers.costs_outside_cap.{o}.{d}: no broker of {o} serves {d} "
                        "(add it to brokers.base_fee)"
                    )
        for o, by_dest in self.brokers.other_intermediaries.items():
            if o not in o_names:
                raise ValueError(
                    f"brokers.other_intermediaries: {o!r} is not an origin ({sorted(o_names)})"
                )
            for d in by_dest:
                if d not in self.brokers.base_fee.get(o, {}):
                    raise ValueError(
                        f"brokers.other_intermediaries.{o}.{d}: no broker of {o} serves {d!r} "
                        "(add it to brokers.base_fee)"
                    )
        bad = set(self.brokers.licensed_only) - d_names
        if bad:
            raise ValueError(
                f"brokers.licensed_only: unknown destination(s) {sorted(bad)}; "
                f"destinations are {sorted(d_names)}"
            )
        for d, dest in self.destinations.items():
            for k, w in enumerate(dest.borders):
                bad = set(w.origins) - o_names
                if bad:
                    raise ValueError(
                        f"destinations.{d}.borders.{k}.origins: unknown origin(s) {sorted(bad)}; "
                        f"origins are {sorted(o_names)}"
                    )
        # Named by their own list and position (not a count over both lists).
        rules = [(f"fee_caps.{i}", r) for i, r in enumerate(self.fee_caps)]
        rules += [(f"crackdowns.{i}", r) for i, r in enumerate(self.crackdowns)]
        for where, rule in rules:
            if rule.origin not in o_names:
                raise ValueError(f"{where}: origin {rule.origin!r} is not one of {sorted(o_names)}")
            d = getattr(rule, "destination", None)
            if d is not None and d not in d_names:
                raise ValueError(f"{where}: destination {d!r} is not one of {sorted(d_names)}")
        return self

    @model_validator(mode="after")
    def _series(self) -> OriginsConfig:
        """Every currency and country has its sourced series.

        A misspelling is refused here, with its key path, not met as a KeyError (a traceback)
        once the market starts.
        """
        import numpy as np

        from tmpsim.model.origin_inputs import fx_per_usd, gdp_per_capita_usd, rural_income_usd

        year = np.array([2019])  # any year: a series covers every year (the nearest one's value)
        checks = [
            (f"destinations.{n}.currency", fx_per_usd, d.currency)
            for n, d in self.destinations.items()
        ]
        for n, o in self.origins.items():
            checks.append((f"origins.{n}.currency", fx_per_usd, o.currency))
            checks.append((f"origins.{n}.country", gdp_per_capita_usd, o.country or n))
            if o.savings_base == "rural_income":
                checks.append((f"origins.{n}.savings_base", rural_income_usd, o.country or n))
        for where, series, key in checks:
            try:
                series(key, year)
            except KeyError as exc:
                raise ValueError(f"{where}: {exc.args[0]}") from None
        return self
