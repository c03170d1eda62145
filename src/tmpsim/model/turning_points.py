"""Turning points: people choose their way out where the rules open several (``routes``).

With a ``routes`` section in the scenario this module owns the programme's turning points:

- a stage's contract ends (``Timer.CONTRACT_END``);
- the grace period after a dismissal runs out without a new employer (``Timer.GRACE_END``: the
  dismissal decision is taken when the programme's own job-change route has failed);
- a person has waited in the return queue for ``review_days`` (``Timer.REVIEW``, filed when the
  person becomes stranded and again at each review while they wait);
- a bridging status or a special job runs out (``Timer.STATUS_EXPIRY``).

The day's timers only gather the people (and the employers' offers); the module's ``step``, right
after the lifecycle's, decides for all of them at once (one decision a day, not one per kind of
turning point): :class:`tmpsim.model.routes.RouteChooser` says which routes the rules in force open
to each person (at that person's turning point) and draws one by its multinomial logit; this module
moves the person along it through the lifecycle's public methods: home joins the return queue
(stranded until a seat), the next stage starts (or the home visit first; at the end of the
last stage, where the programme allows renewals, the same route renews that stage), an onward
status (e.g. Specified Skilled Worker (i)) leaves the programme for ``OTHER_STATUS``, a bridge
grants the special status (working or idle) until its length or the measure's end, a job-change
route a special job, irregular leaves the rules. Bridged people count as stranded (unable to
return) only until a seat home is there for them (checked at each month's end).

Without a ``routes`` section the module does nothing and draws nothing: such scenarios run
exactly as before.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from tmpsim.engine.module import Module
from tmpsim.kinds import State, Timer
from tmpsim.model.earnings_gap import earnings_gap_table
from tmpsim.model.routes import RouteChooser, TurningPoint, people_from, rated_excellent
from tmpsim.scenario.routes_schema import Bridge, JobChange, Onward

if TYPE_CHECKING:
    from tmpsim.simulation import Simulation

DAYS_PER_MONTH = 365.25 / 12
ROUTE_KINDS = ("home", "next_stage", "onward", "bridge", "irregular")
HOME, NEXT, ONWARD, BRIDGE, IRREGULAR = range(len(ROUTE_KINDS))


class Routes(Module):
    """Decisions at turning points, from the scenario's ``routes`` section."""

    fields = {
        "completed": (np.int8, -1),  # last stage completed (-1: none recorded)
        "route_of": (np.int8, -1),  # the dated route (bridge, job change) the person is on
    }

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self.spec = sim.scenario.routes
        # Today's turning points, gathered as their timers fire and decided together in ``step``.
        self._today: list[tuple[TurningPoint, np.ndarray, np.ndarray]] = []
        if self.spec is None:
            return
        prog = sim.scenario.programme
        self.chooser = RouteChooser(
            self.spec,
            [s.name for s in prog.stages],
            list(sim.scenario.sectors),
            [s.available_from for s in prog.stages],
            [s.home_visit_days > 0 for s in prog.stages],
        )
        self.stream = sim.streams["routes"]
        # The earnings gap of each origin in each year of the run (routes.earnings_gap).
        sc = sim.scenario
        self.first_year = sc.start.year
        self.gap = (
            None
            if self.spec.earnings_gap is None
            else earnings_gap_table(
                self.spec.earnings_gap,
                list(sc.origins),
                sc.currency,
                sc.money.wage_per_month * sc.money.net_share,
                np.arange(sc.start.year, sc.end.year + 1),
            )
        )
        # The kind of each route (an index into ROUTE_KINDS): bridges and job changes alike
        # grant a special status.
        self.kind = np.array(
            [
                HOME,
                NEXT,
                *(ONWARD if isinstance(r, Onward) else BRIDGE for r in self.chooser.dated),
                IRREGULAR,
            ],
            dtype=np.int64,
        )
        # Months of the remaining stages after each stage (years left of the longest stay).
        months = np.array([s.months for s in prog.stages], dtype=np.float64)
        self.months_after = np.concatenate([np.cumsum(months[::-1])[::-1][1:], [0.0]])
        sup = sim.scenario.supervision
        self.proactivity_law = (sup.proactivity_mean, sup.proactivity_concentration)
        info = sim.scenario.information
        self.info = (info.base, info.language_weight, info.network_weight)
        self.own_language = info.own_language_level if info.own_language_info else 0.0
        # People who took each kind of route, by origin, since the start (for diagnostics).
        self.taken = {k: np.zeros(sim.n_origins, dtype=np.int64) for k in ROUTE_KINDS}
        # Decisions by route, day and origin, as daily metrics ``route_<name>`` (keeping one's
        # place in the return queue is not counted: it is no new way out).
        self.metric = [f"route_{name}" for name in self.chooser.names]
        # And the next-stage route by the stage it leads to (a renewal: the stage renewed).
        self.stage_metric = [f"route_next_stage_{s.name}" for s in prog.stages]
        for name in [*self.metric, *self.stage_metric]:
            sim.recorder.extras[name] = np.zeros((sim.n_days, sim.n_origins))

    def timers(self) -> dict:
        """The turning points, when the scenario has routes (else the lifecycle keeps them)."""
        if self.spec is None:
            return {}
        return {
            Timer.CONTRACT_END: self.contract_end,
            Timer.GRACE_END: self.grace_end,
            Timer.STATUS_EXPIRY: self.status_expiry,
            Timer.REVIEW: self.review,
        }

    def on_move(self, ids: np.ndarray, new: State, day: int) -> None:
        """The stranded reconsider after ``review_days`` in the return queue."""
        if self.spec is None or new != State.STRANDED:
            return
        self.sim.lifecycle.set_timer(ids, Timer.REVIEW, day + self.spec.review_days)

    def month_end(self, day: int) -> None:
        """Bridged people stop counting as stranded once a seat home is there for them.

        A bridge granted to those who cannot return keeps them flagged as unable to return; once
        their corridor has seats again they could leave, so they stay by choice, not stranded.
        """
        if self.spec is None:
            return
        pop = self.sim.pop
        n = pop.n
        state = pop.state[:n]
        bridged = np.flatnonzero(
            pop.stranded[:n] & ((state == State.SPECIAL_IDLE) | (state == State.SPECIAL_WORKING))
        )
        if bridged.size:
            self.sim.lifecycle.stranded.clear(bridged[self.seats(pop.origin[bridged])])

    # ---- the turning points ---------------------------------------------------------------
    def contract_end(self, ids: np.ndarray, day: int) -> None:
        """A stage's contract ends: the stage is completed; the employer may offer to keep.

        The chance of an offer rises with the places employers could not fill
        (``tmpsim.model.vacancies``).
        """
        pop = self.sim.pop
        pop.completed[ids] = pop.stage[ids]
        offer = self.stream.random(ids.size) < self.sim.vacancies.offer_chance(day)
        self._gather(TurningPoint.CONTRACT_END, ids, offer)

    def grace_end(self, ids: np.ndarray, day: int) -> None:
        """Dismissed and no new employer within the grace period."""
        self._gather(TurningPoint.DISMISSAL, ids, np.zeros(ids.size, dtype=bool))

    def review(self, ids: np.ndarray, day: int) -> None:
        """Still waiting for a seat home: keep waiting, or another way out."""
        ids = ids[self.sim.pop.state[ids] == State.STRANDED]
        self._gather(TurningPoint.STRANDED, ids, np.zeros(ids.size, dtype=bool))

    def status_expiry(self, ids: np.ndarray, day: int) -> None:
        """A bridging status or a special job runs out; a working person's employer may offer."""
        working = self.sim.pop.state[ids] == State.SPECIAL_WORKING
        offer = working & (self.stream.random(ids.size) < self.sim.vacancies.offer_chance(day))
        self._gather(TurningPoint.STATUS_EXPIRY, ids, offer)

    # ---- choosing and moving ----------------------------------------------------------------
    def seats(self, origin: np.ndarray) -> np.ndarray:
        """Whether a seat home is available: the return queue clears within seat_wait_days."""
        b = self.sim.borders
        per_day = (b.seats_out + b.flight_seats) * self.sim.scale
        return ((per_day > 0) & (b.waiting_home <= per_day * self.spec.seat_wait_days))[origin]

    def _gather(self, point: TurningPoint, ids: np.ndarray, offer: np.ndarray) -> None:
        """Keep people reaching a turning point today for the day's one decision."""
        if ids.size:
            self._today.append((point, ids, offer))

    def step(self, day: int) -> None:
        """Everyone who reached a turning point today decides, in one pass (after the timers)."""
        if not self._today:
            return
        today, self._today = self._today, []
        points = np.concatenate([np.full(ids.size, p, dtype=np.int64) for p, ids, _ in today])
        ids = np.concatenate([ids for _, ids, _ in today])
        offer = np.concatenate([offer for _, _, offer in today])
        self._decide(points, ids, day, offer)

    def _decide(self, point: np.ndarray, ids: np.ndarray, day: int, offer: np.ndarray) -> None:
        """Choose a route for each person (``point``: each one's turning point) and follow it."""
        if ids.size == 0:
            return
        sim, pop = self.sim, self.sim.pop
        stage = pop.stage[ids].astype(np.int64)
        language = np.maximum(pop.language[ids], self.own_language)
        base, lw, nw = self.info
        information = np.minimum(1.0, base + lw * language + nw * pop.network[ids])
        exam = self.stream.random(ids.size) < self.spec.exam_pass
        nxt = np.minimum(stage + 1, len(self.months_after) - 1)
        exam &= sim.lifecycle.fits_stay(ids, nxt, day)
        date = sim.scenario.date(day)
        gap = None if self.gap is None else self.gap[pop.origin[ids], date.year - self.first_year]
        people = people_from(
            pop,
            ids,
            day,
            information=information,
            seat=self.seats(pop.origin[ids]),
            offer=offer.astype(np.float64),
            years_left=self.months_after[stage] / 12.0,
            passed_exam=exam,
            completed=np.maximum(pop.completed[ids], stage - 1),
            renew=self._may_renew(ids, stage, day),
            earnings_gap=gap,
        )
        people.excellent = self._rated(ids, date)
        choice = self.chooser.choose(point, date, people, self.stream.random(ids.size))
        self._follow(point, ids, choice, people.seat, day)

    def _rated(self, ids: np.ndarray, date: dt.date) -> np.ndarray | None:
        """Whether each person's supervising organisation is rated excellent on ``date``.

        None when no stage needs the rating (``routes.next_stage.excellent``).
        """
        rating = self.spec.next_stage.excellent
        if rating is None:
            return None
        share = rating.share_on(date)
        return rated_excellent(self.sim.pop.proactivity[ids], share, *self.proactivity_law)

    def _may_renew(self, ids: np.ndarray, stage: np.ndarray, day: int) -> np.ndarray | None:
        """Whether each person may renew the last stage today (None where nobody ever may).

        The programme's rules: renewals left, the renewal offered (``programme.renewal_prob``),
        and the renewed contract within the longest stay. No draw is made for a programme
        without renewals, so such scenarios keep their random streams.
        """
        prog = self.sim.scenario.programme
        if not prog.renewals:
            return None
        offered = self.stream.random(ids.size) < prog.renewal_prob
        last = stage == len(self.months_after) - 1
        left = self.sim.pop.renewals[ids] < prog.renewals
        return last & left & offered & self.sim.lifecycle.fits_stay(ids, stage, day)

    def _follow(
        self, point: np.ndarray, ids: np.ndarray, choice: np.ndarray, seat: np.ndarray, day: int
    ) -> None:
        """Move each person along the chosen route."""
        sim, pop, life = self.sim, self.sim.pop, self.sim.lifecycle
        kind = self.kind[choice]
        n_o = sim.n_origins
        by_kind = np.bincount(kind * n_o + pop.origin[ids], minlength=len(ROUTE_KINDS) * n_o)
        by_kind = by_kind.reshape(len(ROUTE_KINDS), n_o)
        present = by_kind.any(axis=1)  # kinds chosen today
        counted = ~((kind == HOME) & (point == TurningPoint.STRANDED))
        by_route = np.bincount(
            choice[counted] * n_o + pop.origin[ids[counted]], minlength=len(self.metric) * n_o
        ).reshape(len(self.metric), n_o)
        for j in np.flatnonzero(by_route.any(axis=1)):
            sim.recorder.add_by_origin(self.metric[j], by_route[j])
        for k in np.flatnonzero(present):
            self.taken[ROUTE_KINDS[k]] += by_kind[k]
        if present[HOME]:
            home = kind == HOME
            waiting = home & (point == TurningPoint.STRANDED)
            life.set_timer(ids[waiting], Timer.REVIEW, day + self.spec.review_days)  # keep waiting
            leave = ids[home & ~waiting]
            pop.route_of[leave] = -1
            life.want_home(leave, day)
        if present[NEXT]:
            nxt = kind == NEXT
            bridged = ids[nxt & (point == TurningPoint.STATUS_EXPIRY)]
            sim.borders.leave_return_queue(bridged)  # from a bridge: off it, out of the queue
            pop.route_of[bridged] = -1
            renew = nxt & (pop.stage[ids] == len(self.months_after) - 1)
            entered = np.where(renew, pop.stage[ids], pop.stage[ids] + 1)[nxt]
            for st in np.unique(entered):
                sim.recorder.add(self.stage_metric[st], pop.origin[ids[nxt][entered == st]], 1.0)
            again = ids[renew]  # the last stage: a renewal of its contract
            pop.renewals[again] += 1
            life.start_contract(again, pop.stage[again], day)
            life.next_stage(ids[nxt & ~renew], day)
        if present[ONWARD]:
            life.switch_status(ids[kind == ONWARD], day)
        if present[IRREGULAR]:
            life.runaway(ids[kind == IRREGULAR], day)
        if not present[BRIDGE]:
            return
        for j, route in enumerate(self.chooser.dated, start=2):
            if isinstance(route, Onward):
                continue
            sel = ids[choice == j]
            if sel.size == 0:
                continue
            self._grant(route, j, sel, ~seat[choice == j], day)

    def _grant(
        self, route: Bridge | JobChange, j: int, ids: np.ndarray, cannot: np.ndarray, day: int
    ) -> None:
        """A bridging status or a special job: its state, its end, and who is stranded."""
        sim, pop, life = self.sim, self.sim.pop, self.sim.lifecycle
        working = isinstance(route, JobChange) or route.working
        if working:
            sim.borders.leave_return_queue(ids)  # at work, not waiting for a seat
        life.cancel_timer(ids)
        pop.route_of[ids] = j
        sim.move(ids, State.SPECIAL_WORKING if working else State.SPECIAL_IDLE)
        if isinstance(route, Bridge) and route.only_without_seat:
            life.stranded.set(ids[cannot])  # granted because they cannot return
        if isinstance(route, Bridge):
            last = self.chooser.bridge_ends(route.name, sim.scenario.date(day))
            end = sim.scenario.day(last) + 1
        else:
            end = day + max(round(route.months * DAYS_PER_MONTH), 1)
        life.set_timer(ids, Timer.STATUS_EXPIRY, np.full(ids.size, max(end, day + 1)))
