"""Dated events and measures: which are active on a day, and which days change a regime."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np

from tmpsim.scenario.bounds import month_number
from tmpsim.scenario.schema import (
    BorderEvent,
    CashPaymentEvent,
    EntryCapEvent,
    ExitAmnestyEvent,
    FlightEvent,
    GrantStatusEvent,
    HazardEvent,
    JobChangeEvent,
    RecruitmentEvent,
    RuleEvent,
    Scenario,
    StatusSwitchEvent,
    StayExtensionEvent,
)
from tmpsim.states import State

# Events whose start or end changes hazard rates, so pending waiting times must be redrawn.
REGIME_TYPES = (HazardEvent, JobChangeEvent, StatusSwitchEvent, RuleEvent)


class Timeline:
    """The scenario's dated events indexed by day, with "is it active on this day" checks."""

    def __init__(
        self,
        scenario: Scenario,
        origin_index: dict[str, int],
        sector_index: dict[str, int],
        segments: list[str] | None = None,
    ):
        self.scenario = scenario
        self.n_days = scenario.n_days
        self.origin_index = origin_index
        self.sector_index = sector_index
        # Hazard multipliers are by profile (origin * n_segments + segment) and sector.
        self.segment_index = {s: i for i, s in enumerate(segments or ["all"])}
        n_seg = len(self.segment_index)
        profiles = np.arange(len(origin_index) * n_seg)
        self._profile_origin, self._profile_segment = profiles // n_seg, profiles % n_seg
        self.starting: dict[int, list] = defaultdict(list)
        # Days on which rates change, with the events that start or stop then.
        self.regime_changes: dict[int, list] = defaultdict(list)
        for ev in scenario.events:
            d = scenario.day(ev.date)
            self.starting[d].append(ev)
            if isinstance(ev, REGIME_TYPES):
                self.regime_changes[d].append(ev)
                end = getattr(ev, "end", None)
                if end is not None:
                    self.regime_changes[scenario.day(end) + 1].append(ev)
        self._add_labour_market_changes(scenario)
        self._add_legal_route_changes(scenario)
        self._need_first, self._need, self._need_bound = self._labour_need_factors(scenario)
        self._events = list(scenario.events)
        self._by_kind: dict[type, list] = {}
        self._cache_day = -1
        self._cache: dict[type, list] = {}
        self._mult_day = -1
        self._mult: dict[str, np.ndarray | float | None] = {}

    def _mark(self, date: dt.date, hazard: str, note: str) -> None:
        """File that rates of ``hazard`` change on ``date``.

        A marker, not a scenario event: it only tells the hazards whom to redraw.
        """
        marker = HazardEvent(type="hazard", date=date, hazard=hazard, multiplier=1.0, note=note)
        self.regime_changes[self.scenario.day(date)].append(marker)

    def _add_labour_market_changes(self, scenario: Scenario) -> None:
        """Runaway rates change on 1 January when the yearly labour-market index changes."""
        market = scenario.behaviour.runaway_labour_market
        if market is None or not market.active:
            return
        for year in range(scenario.start.year + 1, scenario.end.year + 1):
            if market.factor(year) == market.factor(year - 1):
                continue
            self._mark(dt.date(year, 1, 1), "runaway", "labour-market index changes")

    def _labour_need_factors(
        self, scenario: Scenario
    ) -> tuple[int, np.ndarray | None, np.ndarray | None]:
        """Dismissal multipliers by month of the run, segment and sector (behaviour's labour need).

        Returns the first month's number, the month's factors ``[month, segment, sector]`` and each
        month's bound, the largest factor of its calendar year (``None`` for both when the rule
        is absent or never moves a rate). The hazards draw dismissals at the bound and keep each
        with probability factor / bound when it falls due (thinning), so rates change only on
        1 January, when the bound does, not every month.
        """
        need = scenario.behaviour.dismissal_labour_need
        first = month_number(scenario.start)
        if need is None or need.elasticity == 0:
            return first, None, None
        last = month_number(scenario.end)
        sectors = list(self.sector_index)
        months = np.arange(first, last + 1)
        segments = list(self.segment_index)
        table = np.array([need.factors(int(m), sectors, segments) for m in months])
        if (table == 1.0).all():
            return first, None, None
        years = months // 12
        bound = np.empty_like(table)
        for y in np.unique(years):
            bound[years == y] = table[years == y].max(axis=0)
        for i in np.flatnonzero((bound[1:] != bound[:-1]).any(axis=(1, 2))) + 1:
            self._mark(dt.date(int(years[i]), 1, 1), "dismissal", "labour need's bound changes")
        return first, table, bound

    def _month_row(self, day: int) -> int:
        return month_number(self.scenario.date(day)) - self._need_first

    def labour_need_factor(self, day: int) -> np.ndarray | None:
        """The dismissal multiplier ``[segment, sector]`` on ``day`` (labour need), or None."""
        return None if self._need is None else self._need[self._month_row(day)]

    def labour_need_bound(self, day: int) -> np.ndarray | None:
        """The largest of those multipliers in ``day``'s calendar year, or None."""
        return None if self._need_bound is None else self._need_bound[self._month_row(day)]

    def _add_legal_route_changes(self, scenario: Scenario) -> None:
        """Runaway rates change when a legal way out opens or closes (behaviour's legal route).

        That is when an onward route starts or ends, or a border event changes the seats home.
        """
        legal = scenario.behaviour.runaway_legal_route
        if legal is None:
            return
        days = []
        if legal.relief != 0 and scenario.routes is not None:
            for r in scenario.routes.onward:
                days += [] if r.start is None else [scenario.day(r.start)]
                days += [] if r.end is None else [scenario.day(r.end) + 1]
        if legal.home_closed != 0:
            days += [scenario.day(ev.date) for ev in self._outbound_events()]
        for d in sorted(set(days)):
            if 0 < d < scenario.day(scenario.end) + 1:
                self._mark(scenario.date(d), "runaway", "a legal way out opens or closes")

    def legal_route_relief(self, day: int) -> np.ndarray:
        """Factor of the runaway hazard of the employed, by sector.

        ``1 - relief`` where an onward route (``routes.onward``) is in force today in the
        sector's field, else one.
        """
        sc = self.scenario
        out = np.ones(len(self.sector_index))
        legal = sc.behaviour.runaway_legal_route
        if legal is None or legal.relief == 0 or sc.routes is None:
            return out
        date = sc.date(day)
        for r in sc.routes.onward:
            if (r.start is None or r.start <= date) and (r.end is None or date <= r.end):
                out[[self.sector_index[f] for f in r.fields]] = 1.0 - legal.relief
        return out

    def _outbound_events(self) -> list[BorderEvent]:
        """Border events that change the seats home, in date order."""
        events = [
            ev
            for ev in self.scenario.events
            if isinstance(ev, BorderEvent) and ev.direction in ("out", "both")
        ]
        return sorted(events, key=lambda ev: ev.date)

    def home_closed_push(self, day: int) -> np.ndarray:
        """Factor of the runaway hazard by origin.

        ``1 + home_closed`` while the corridor's outbound seats (the last border event on or
        before ``day``) are below the normal ones, else one.
        """
        sc = self.scenario
        out = np.ones(len(self.origin_index))
        legal = sc.behaviour.runaway_legal_route
        if legal is None or legal.home_closed == 0:
            return out
        seats = np.full(out.size, sc.borders.seats_out_per_day)
        date = sc.date(day)
        for ev in self._outbound_events():
            if ev.date > date:
                break
            if ev.corridor == "all":
                seats[:] = ev.seats_per_day
            else:
                seats[self.origin_index[ev.corridor]] = ev.seats_per_day
        out[seats < sc.borders.seats_out_per_day] += legal.home_closed
        return out

    def _active(self, ev, day: int) -> bool:
        start = self.scenario.day(ev.date)
        end = getattr(ev, "end", None)
        last = self.scenario.day(end) if end is not None else self.n_days
        return start <= day <= last

    def active(self, kind: type, day: int) -> list:
        """Events of one type active on ``day`` (memoised for the current day)."""
        if day != self._cache_day:
            self._cache_day, self._cache = day, {}
        found = self._cache.get(kind)
        if found is None:
            of_kind = self._by_kind.get(kind)
            if of_kind is None:
                of_kind = self._by_kind[kind] = [e for e in self._events if isinstance(e, kind)]
            found = [e for e in of_kind if self._active(e, day)]
            self._cache[kind] = found
        return found

    def on(self, day: int, kind: type) -> list:
        """Events of one type that start on ``day``."""
        return [e for e in self.starting.get(day, []) if isinstance(e, kind)]

    def multiplier_table(self, hazard: str, day: int) -> np.ndarray | float | None:
        """The day's multiplier of one hazard by profile and sector (memoised for the day).

        ``None`` when no event applies, a number when it is the same for everyone. The events
        multiply in their order, as they would agent by agent.
        """
        if day != self._mult_day:
            self._mult_day, self._mult = day, {}
        if hazard in self._mult:
            return self._mult[hazard]
        events = [ev for ev in self.active(HazardEvent, day) if ev.hazard == hazard]
        table = np.ones((self._profile_origin.size, len(self.sector_index)))
        # Employers' labour need has fallen: dismissals drawn at the year's bound (by segment
        # and sector), thinned to the month's factor when due (``Hazards.step``).
        need = self.labour_need_bound(day) if hazard == "dismissal" else None
        if need is not None:
            table *= need[self._profile_segment, :]
            if (need == 1.0).all():
                need = None
        for ev in events:
            hit = np.ones(table.shape, dtype=bool)
            if ev.origins is not None:
                origins = [self.origin_index[o] for o in ev.origins]
                hit &= np.isin(self._profile_origin, origins)[:, None]
            if ev.segments is not None:
                segments = [self.segment_index[s] for s in ev.segments]
                hit &= np.isin(self._profile_segment, segments)[:, None]
            if ev.sectors is not None:
                cols = np.zeros(table.shape[1], dtype=bool)
                cols[[self.sector_index[s] for s in ev.sectors]] = True
                hit &= cols[None, :]
            table[hit] *= ev.multiplier
        if not events and need is None:
            table = None
        elif (table == table.flat[0]).all():
            table = float(table.flat[0])
        self._mult[hazard] = table
        return table

    def job_change_routes(self, state: State, day: int) -> list[JobChangeEvent]:
        """Special job-change routes open to people in ``state`` today."""
        name = state.name.lower()
        return [e for e in self.active(JobChangeEvent, day) if name in e.states]

    def status_switch_rate(self, state: State, day: int) -> float:
        """Yearly rate of switching to another status open to people in ``state`` today."""
        name = state.name.lower()
        return sum(
            e.rate_per_year for e in self.active(StatusSwitchEvent, day) if name in e.from_states
        )

    def grants_for(self, state: State, day: int) -> list[GrantStatusEvent]:
        """Special-status grants that apply to people entering ``state`` today."""
        name = state.name.lower()
        return [e for e in self.active(GrantStatusEvent, day) if name in e.from_states]

    def recruitment_multiplier(self, day: int) -> float:
        """Product of active recruitment multipliers."""
        m = 1.0
        for e in self.active(RecruitmentEvent, day):
            m *= e.multiplier
        return m


__all__ = [
    "BorderEvent",
    "CashPaymentEvent",
    "EntryCapEvent",
    "ExitAmnestyEvent",
    "FlightEvent",
    "GrantStatusEvent",
    "RuleEvent",
    "StayExtensionEvent",
    "Timeline",
]
