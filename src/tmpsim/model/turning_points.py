"""Turning points: people choose their way out where the rules open several (``routes``).

With a ``routes`` section in the scenario this module owns the programme's turning points:

- a stage's contract ends (``Timer.CONTRACT_END``);
- the grace period after a dismissal runs out without a new employer (``Timer.GRACE_END``: the
  dismissal decision is taken when the programme's own job-change route has failed);
- a person has waited in the return queue for ``review_days`` (``Timer.REVIEW``, filed when the
  person becomes stranded and again at each review while they wait);
- a bridging status or a special job runs out (``Timer.STATUS_EXPIRY``).

With ``routes.processing`` a change of status chosen at a turning point (a bridge, a special job,
an onward status) takes effect when the immigration office has decided on it
(``Timer.PROCESSED``); until then the person keeps the present status and state, at work or not.

The day's timers only gather the people (and the employers' offers); the module's ``step``, right
after the lifecycle's, decides for all of them at once (one decision a day, not one per kind of
turning point): :class:`tmpsim.model.routes.RouteChooser` says which routes the rules in force open
to each person (at that person's turning point) and draws one by its multinomial logit; this module
moves the person along it through the lifecycle's public methods: home joins the return queue
(stranded until a seat), the next stage starts (or the home visit first; at the end of the
last stage, where the programme allows renewals, the same route renews that stage), an onward
status (e.g. Specified Skilled Worker (i)) leaves the programme for ``OTHER_STATUS``, a bridge
grants the special status (working or idle) until its length or the measure's end (a measure wound
down: its length, or its last status's from the wind-down: ``Bridge.grant``), a job-change
route a special job, irregular leaves the rules. Bridged people count as stranded (unable to
return) only until a seat home is there for them (checked at each month's end).

The decision is three compiled passes, each with its NumPy reference: the people read from the
agent arrays (``tmpsim.model.decider_kernels``), the routes open, their utilities and the choice
(``tmpsim.model.route_kernels.decide_kernel``), and the day's counts with the people grouped by
what follows (``tally_kernel``); the moves then go through the lifecycle group by group.

Without a ``routes`` section the module does nothing and draws nothing: such scenarios run
exactly as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tmpsim.engine.jit import Resolved
from tmpsim.engine.module import Module
from tmpsim.engine.recorder import HOLDS_STATUS
from tmpsim.engine.split import rank_within
from tmpsim.kinds import State, Timer
from tmpsim.model.decider_kernels import (
    DayFacts,
    DecidingAgents,
    gather_people,
    people_kernel,
    people_reference,
)
from tmpsim.model.earnings_gap import earnings_gap_table
from tmpsim.model.field_test import move_days
from tmpsim.model.route_kernels import (
    ENTER_NEXT,
    LEAVE,
    RENEW,
    WAIT,
    Deciders,
    tally_kernel,
    tally_reference,
)
from tmpsim.model.routes import RouteChooser, TurningPoint, rated_from_by_day
from tmpsim.scenario.routes_schema import FEATURES, Bridge, JobChange, Onward

if TYPE_CHECKING:
    from tmpsim.simulation import Simulation

DAYS_PER_MONTH = 365.25 / 12
ROUTE_KINDS = ("home", "next_stage", "onward", "bridge", "irregular")
HOME, NEXT, ONWARD, BRIDGE, IRREGULAR = range(len(ROUTE_KINDS))
# What follows a choice, after ``tally_kernel``'s own actions (keep waiting, go home, renew,
# the next stage): another status, irregular, and each granting route's own (from GRANT_ACTION).
ONWARD_ACTION, IRREGULAR_ACTION, GRANT_ACTION = 4, 5, 6
# Where people decide at a turning point (and wait for the decision on a status they chose),
# as a lookup by state code (one gather instead of a set search).
DECIDING_STATES = np.zeros(len(State), dtype=bool)
DECIDING_STATES[
    [State.EMPLOYED, State.JOBLESS, State.STRANDED, State.SPECIAL_IDLE, State.SPECIAL_WORKING]
] = True


class Routes(Module):
    """Decisions at turning points, from the scenario's ``routes`` section."""

    hears = frozenset({State.STRANDED})  # on_move: only these moves

    fields = {
        "completed": (np.int8, -1),  # last stage completed (-1: none recorded)
        "route_of": (np.int8, -1),  # the dated route (bridge, job change) the person is on
        "moving_on": (np.bool_, 0),  # takes an onward status when the present one runs out
        "pending": (np.int8, -1),  # the route whose change of status is being decided
        "had_last": (np.bool_, 0),  # has had a bridge's last status (no such bridge again)
    }

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self.spec = sim.scenario.routes
        # Today's turning points, gathered as their timers fire and decided together in ``step``.
        self._today: list[tuple[TurningPoint, np.ndarray, np.ndarray]] = []
        # Called daily with the same types: skip numba's choice of a version (``Resolved``).
        self._people_kernel, self._tally = Resolved(people_kernel), Resolved(tally_kernel)
        if self.spec is None:
            return
        prog = sim.scenario.programme
        self.chooser = RouteChooser(
            self.spec,
            [s.name for s in prog.stages],
            list(sim.scenario.sectors),
            [s.available_from for s in prog.stages],
            [s.home_visit_days > 0 for s in prog.stages],
            list(sim.origins),
        )
        self.stream = sim.streams["routes"]
        self._deciding: DecidingAgents | None = None  # bundled on the first decision
        self._agents_capacity = -1
        self._static_facts: DayFacts | None = None
        self._rated_from: np.ndarray | None = None  # the rating's threshold on each day
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
        # Whether a route weighs the compatriots already on an onward status (``peers_onward``).
        self.uses_peers = bool(self.chooser.coef[:, FEATURES.index("peers_onward")].any())
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
        # What follows each route (``tally_kernel``'s actions after its own four): a dated route
        # that grants a status has an action of its own, carried out in the routes' order.
        dated = [
            ONWARD_ACTION if k == ONWARD else GRANT_ACTION + j
            for j, k in enumerate(self.kind[2:-1], start=2)
        ]
        self.route_action = np.array(
            [WAIT, ENTER_NEXT, *dated, IRREGULAR_ACTION], dtype=np.int64
        )  # home and the next stage: the kernel's own actions
        self.n_actions = GRANT_ACTION + len(self.kind)
        # Statuses held on the way to an onward status, by the held route's code: the onward
        # route's column and spec, and whether the move is counted then (a special job's test
        # passed) or was counted when the route was chosen (its papers in preparation).
        onward = {o.name: o for o in self.spec.onward}
        self.moves_to = {
            self.chooser.index(r.name): (self.chooser.index(r.test.onward), onward[r.test.onward],
                                         True)
            for r in self.spec.job_changes if r.test is not None
        } | {
            self.chooser.index(o.name): (self.chooser.index(o.name), o, False)
            for o in self.spec.onward if o.preparation is not None
        }  # fmt: skip
        # Bridges that end with one last status: the first day a holder's status can run out
        # after the measure (the day after its end) and the last status's length in days, by
        # route code.
        self.last_status = {
            self.chooser.index(b.name): (
                sim.scenario.day(b.end) + 1, max(round(b.last_months * DAYS_PER_MONTH), 1))
            for b in self.spec.bridges if b.last_months is not None
        }  # fmt: skip
        # People who took each kind of route, by origin, since the start (for diagnostics).
        self._taken = np.zeros((len(ROUTE_KINDS), sim.n_origins), dtype=np.int64)
        self.taken = {k: self._taken[i] for i, k in enumerate(ROUTE_KINDS)}
        # Decisions by route, day and origin, as daily metrics ``route_<name>`` (keeping one's
        # place in the return queue is not counted: it is no new way out), and the next-stage
        # route by the stage it leads to (a renewal: the stage renewed), ``route_next_stage_*``.
        # Each metric is a view of one block, so the day's counts are added in one pass.
        self.metric = [f"route_{name}" for name in self.chooser.names]
        self.stage_metric = [f"route_next_stage_{s.name}" for s in prog.stages]
        self._by_route = np.zeros((len(self.metric), sim.n_days, sim.n_origins))
        self._by_stage = np.zeros((len(self.stage_metric), sim.n_days, sim.n_origins))
        for block, names in ((self._by_route, self.metric), (self._by_stage, self.stage_metric)):
            for i, name in enumerate(names):
                sim.recorder.extras[name] = block[i]

    def timers(self) -> dict:
        """The turning points, when the scenario has routes (else the lifecycle keeps them)."""
        if self.spec is None:
            return {}
        return {
            Timer.CONTRACT_END: self.contract_end,
            Timer.GRACE_END: self.grace_end,
            Timer.STATUS_EXPIRY: self.status_expiry,
            Timer.REVIEW: self.review,
            Timer.PROCESSED: self.processed,
        }

    def on_move(self, ids: np.ndarray, new: State, day: int) -> None:
        """The stranded reconsider after ``review_days`` in the return queue."""
        if self.spec is None or new != State.STRANDED:
            return
        self.sim.lifecycle.set_timer(ids, Timer.REVIEW, day + self.spec.review_days)

    def month_end(self, day: int) -> None:
        """Bridged people stop counting as stranded once a seat home is there for them.

        A bridge chosen by those who cannot return keeps them flagged as unable to return (from
        the choice, while the status is being decided, too); once a seat home is there for them
        they could leave, so they stay by choice, not stranded. With ``seat_rule``
        ``whole_corridor`` all of a corridor's bridged stop counting at the first month end it
        has a seat (``seats``); with ``seat_capacity`` only as many as its seats carry within
        ``seat_wait_days`` beyond those already waiting in its return queue (``seat_room``), in
        the order they came (ascending ids), the rest at later month ends. Those waiting in the
        return queue stay flagged until they leave.
        """
        if self.spec is None:
            return
        whole = self.spec.seat_rule == "whole_corridor"
        room = self.seats() if whole else self.seat_room()
        if not room.any():
            return
        pop = self.sim.pop
        n = pop.n
        state = pop.state[:n]
        bridged = np.flatnonzero(pop.stranded[:n] & (state != State.STRANDED))
        if bridged.size:
            origin = pop.origin[bridged].astype(np.int64)
            cleared = room[origin] if whole else rank_within(origin) < room[origin]
            self.sim.lifecycle.stranded.clear(bridged[cleared])

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
        """A bridging status or a special job runs out; a working person's employer may offer.

        Holders of a special job who passed its test, and those who chose an onward status and
        held a status while its papers were prepared, move on to the onward status instead,
        without a decision. Holders of a bridge whose status runs out after the measure's end,
        and who have not had its last status, get it (if it has one), without a decision.
        """
        if self.last_status:
            pop = self.sim.pop
            route_of = pop.route_of[ids]
            for code, (after, days) in self.last_status.items():
                last = (route_of == code) & (day >= after) & ~pop.had_last[ids]
                if last.any():
                    pop.had_last[ids[last]] = True
                    self.sim.lifecycle.set_timer(ids[last], Timer.STATUS_EXPIRY, day + days)
                    ids, route_of = ids[~last], route_of[~last]
        if self.moves_to:
            # Only _test and _onward set the flag, each with a route of moves_to.
            due = self.sim.pop.moving_on[ids]
            if due.any():
                self._move_on(ids[due], day)
                ids = ids[~due]
        working = self.sim.pop.state[ids] == State.SPECIAL_WORKING
        offer = working & (self.stream.random(ids.size) < self.sim.vacancies.offer_chance(day))
        self._gather(TurningPoint.STATUS_EXPIRY, ids, offer)

    def _move_on(self, ids: np.ndarray, day: int) -> None:
        """Those on their way take the onward status (a passed test's move counted as taken).

        If the onward status is closed today (before its start, after its end) they are not
        moved and reach the end of their status like the others, deciding then.
        """
        pop = self.sim.pop
        pop.moving_on[ids] = False
        date = self.sim.scenario.date(day)
        held = pop.route_of[ids]
        for code in np.unique(held):
            col, onward, counted = self.moves_to[int(code)]
            mine = ids[held == code]
            if not onward.in_force(date):
                self._gather(TurningPoint.STATUS_EXPIRY, mine, np.zeros(mine.size, dtype=bool))
                continue
            if counted:
                origin = pop.origin[mine].astype(np.int64)
                np.add.at(self._by_route[col, day], origin, 1)
                np.add.at(self._taken[ONWARD], origin, 1)
            pop.route_of[mine] = -1
            self.sim.lifecycle.switch_status(mine, day)

    def peers_onward(self) -> np.ndarray:
        """By origin: those on an onward status over them and the programme's status holders.

        The people who moved on from the programme show the others that the status can be had
        (employers and support organisations that take it, the papers it needs): the example
        through which a new status spreads. Counts of today, before today's decisions.
        """
        counts = self.sim.recorder.counts
        onward = counts[State.OTHER_STATUS].astype(np.float64)
        total = onward + counts[HOLDS_STATUS].sum(axis=0)
        return np.divide(onward, total, out=np.zeros_like(onward), where=total > 0)

    # ---- choosing and moving ----------------------------------------------------------------
    def seats(self) -> np.ndarray:
        """Whether a seat home is available, by origin (the queue clears within seat_wait_days)."""
        per_day = self._seats_per_day()
        return (per_day > 0) & (self.sim.borders.waiting_home <= per_day * self.spec.seat_wait_days)

    def seat_room(self) -> np.ndarray:
        """By origin: whole people the seats carry within seat_wait_days beyond the return queue.

        0 where a corridor has no seats or its queue already takes them.
        """
        room = self._seats_per_day() * self.spec.seat_wait_days - self.sim.borders.waiting_home
        return np.maximum(np.floor(room), 0.0).astype(np.int64)  # no seats: room <= 0

    def _seats_per_day(self) -> np.ndarray:
        """Today's outbound seats by origin, in simulated people."""
        b = self.sim.borders
        return (b.seats_out + b.flight_seats) * self.sim.scale

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
        """Choose a route for each person (``point``: each one's turning point) and follow it.

        The draws, in this order: passing the exam, the renewal offered (only where the
        programme has renewals), the route.
        """
        if ids.size == 0:
            return
        pop = self.sim.pop
        u_exam = self.stream.random(ids.size)
        u_renew = self.stream.random(ids.size) if self.sim.scenario.programme.renewals else None
        facts = self._facts(day)
        if self.chooser.compiled:
            people = gather_people(
                self._agents(), ids, facts, offer, u_exam, u_renew, self._people_kernel
            )
        else:
            people = people_reference(self._agents(), ids, facts, offer, u_exam, u_renew)
        origin = pop.origin[ids].astype(np.int64)
        date = self.sim.scenario.date(day)
        if self.gap is not None:
            people.earnings_gap = self.gap[origin, date.year - self.first_year]
        if self.uses_peers:
            people.peers_onward = self.peers_onward()[origin]
        people.origin = origin
        people.route_of = pop.route_of[ids]
        people.had_last = pop.had_last[ids]
        deciders = self.chooser.deciders(point, people)
        choice = self.chooser.decide(deciders, date, self.stream.random(ids.size))
        self._follow(deciders, ids, origin, choice, day)

    def _agents(self) -> DecidingAgents:
        """The agent arrays a decision reads (bundled again when the population grows)."""
        pop = self.sim.pop
        if self._agents_capacity != pop.capacity:
            self._deciding = DecidingAgents(*(getattr(pop, f) for f in DecidingAgents._fields))
            self._agents_capacity = pop.capacity
        return self._deciding

    def _facts(self, day: int) -> DayFacts:
        """What the day's decisions have in common: the rules, seats home, the rating."""
        sim = self.sim
        if self._static_facts is None:  # the rules of the run, bundled once
            life, prog = sim.lifecycle, sim.scenario.programme
            base, lw, nw = self.info
            self._static_facts = DayFacts(
                day=0,
                seat=np.zeros(sim.n_origins, dtype=bool),
                months_after=self.months_after,
                stage_days=life.stage_days,
                max_stay=np.inf if life.max_stay is None else life.max_stay + 1,
                exam_pass=float(self.spec.exam_pass),
                renewals=int(prog.renewals),
                renewal_prob=float(prog.renewal_prob),
                info_base=np.float32(base),
                info_language=np.float32(lw),
                info_network=np.float32(nw),
                own_language=np.float32(self.own_language),
                rated_from=np.float64(-np.inf),
            )
        rating = self.spec.next_stage.excellent
        if rating is None:
            threshold = np.float64(-np.inf)
        else:
            if self._rated_from is None:  # every day's, once (kept between commands)
                law = self.proactivity_law
                self._rated_from = rated_from_by_day(rating, *law, sim.scenario.start, sim.n_days)
            threshold = self._rated_from[day]
        return self._static_facts._replace(day=day, seat=self.seats(), rated_from=threshold)

    def _follow(
        self, d: Deciders, ids: np.ndarray, origin: np.ndarray, choice: np.ndarray, day: int
    ) -> None:
        """Move each person along the chosen route, counting the choices.

        The day's counts and the grouping of the people by what follows come from one compiled
        pass (``tally_kernel``); each group then moves through the lifecycle, group by group in
        a fixed order, each in the order the people came.
        """
        sim, pop, life = self.sim, self.sim.pop, self.sim.lifecycle
        n, n_stages = ids.size, len(self.months_after)
        inputs = (choice, d.point, origin, d.stage, self.kind, self.route_action, n_stages)
        if self.chooser.compiled:
            action, order = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
            start = np.empty(self.n_actions + 1, dtype=np.int64)
            self._tally(
                *inputs, self._by_route[:, day], self._taken, self._by_stage[:, day], action,
                order, start,
            )  # fmt: skip
        else:
            by_route, by_kind, by_stage, action, order, start = tally_reference(
                *inputs, sim.n_origins, len(ROUTE_KINDS), self.n_actions
            )
            self._by_route[:, day] += by_route
            self._taken += by_kind
            self._by_stage[:, day] += by_stage

        def group(first: int, last: int | None = None) -> np.ndarray:
            """Positions of the people whose action is ``first`` (to ``last``), in order."""
            return order[start[first] : start[first + 1 if last is None else last + 1]]

        def has(a: int) -> bool:
            return bool(start[a + 1] > start[a])

        if has(WAIT):
            life.set_timer(ids[group(WAIT)], Timer.REVIEW, day + self.spec.review_days)
        if has(LEAVE):
            leave = ids[group(LEAVE)]
            pop.route_of[leave] = -1
            life.want_home(leave, day)
        if has(RENEW) or has(ENTER_NEXT):
            at = group(RENEW, ENTER_NEXT)
            bridged = ids[at[d.point[at] == TurningPoint.STATUS_EXPIRY]]
            sim.borders.leave_return_queue(bridged)  # from a bridge: off it, out of the queue
            pop.route_of[bridged] = -1
            again = ids[group(RENEW)]  # the last stage: a renewal of its contract
            pop.renewals[again] += 1
            life.start_contract(again, pop.stage[again], day)
            life.next_stage(ids[group(ENTER_NEXT)], day)
        if has(ONWARD_ACTION):
            at = self._at_once(ids, group(ONWARD_ACTION), choice, d.point, day)
            if at.size:
                self._onward(ids[at], choice[at], day)
        if has(IRREGULAR_ACTION):
            life.runaway(ids[group(IRREGULAR_ACTION)], day)
        for j, route in enumerate(self.chooser.dated, start=2):
            if isinstance(route, Onward) or not has(GRANT_ACTION + j):
                continue
            at = group(GRANT_ACTION + j)
            if isinstance(route, Bridge) and route.only_without_seat:
                life.stranded.set(ids[at[~d.seat[at]]])  # chosen because they cannot return
            at = self._at_once(ids, at, choice, d.point, day)
            if at.size:
                self._grant(route, j, ids[at], day)

    def _at_once(
        self, ids: np.ndarray, at: np.ndarray, choice: np.ndarray, point: np.ndarray, day: int
    ) -> np.ndarray:
        """Of the positions ``at`` choosing a new status, those who hold it today.

        With ``routes.processing`` the others wait for the decision on it (``processed``),
        keeping their present status; a holder renewing the status held (the route held, or a
        bridge of its measure) has it at once.
        """
        if self.spec.processing is None:
            return at
        pop = self.sim.pop
        held = pop.route_of[ids[at]].astype(np.int64)
        renew = (point[at] == TurningPoint.STATUS_EXPIRY) & self.chooser.renews(choice[at], held)
        wait = ids[at[~renew]]
        pop.pending[wait] = choice[at[~renew]]
        days = max(round(self.spec.processing.days), 1)
        self.sim.lifecycle.set_timer(wait, Timer.PROCESSED, day + days)
        return at[renew]

    def processed(self, ids: np.ndarray, day: int) -> None:
        """The change of status chosen ``processing.days`` ago is granted.

        Only to those still in the host where they chose it (at work, jobless, waiting for a
        seat, or on a special status): those who left meanwhile (home, irregular, another
        status) have no timer or a later one, or are dropped here. A status whose measure ended
        while the decision was pending is granted for its length.
        """
        pop = self.sim.pop
        code = pop.pending[ids].astype(np.int64)
        pop.pending[ids] = -1  # decided, for those who left meanwhile too
        here = DECIDING_STATES[pop.state[ids]]
        ids, code = ids[here], code[here]
        for j in np.unique(code):
            mine = ids[code == j]
            route = self.chooser.dated[j - 2]
            if isinstance(route, Onward):
                self._onward(mine, np.full(mine.size, j), day)
            else:
                self._grant(route, int(j), mine, day)

    def _onward(self, ids: np.ndarray, choice: np.ndarray, day: int) -> None:
        """Those who chose an onward status take it, or first hold one while its papers are ready.

        With the route's ``preparation`` a share of them (one draw each) first hold a working
        special status for its length, then move on without deciding again.
        """
        life = self.sim.lifecycle
        wait = np.zeros(ids.size, dtype=bool)
        for j, route in enumerate(self.chooser.dated, start=2):
            if not isinstance(route, Onward) or route.preparation is None:
                continue
            mine = np.flatnonzero(choice == j)
            if mine.size == 0:
                continue
            later = mine[self.stream.random(mine.size) < route.preparation.share]
            if later.size:
                held = ids[later]
                life.stranded.clear(held)
                self._hold(held, j, State.SPECIAL_WORKING, moving_on=True)
                days = max(round(route.preparation.months * DAYS_PER_MONTH), 1)
                life.set_timer(held, Timer.STATUS_EXPIRY, day + days)
                wait[later] = True
        life.switch_status(ids[~wait], day)

    def _grant(self, route: Bridge | JobChange, j: int, ids: np.ndarray, day: int) -> None:
        """A bridging status or a special job: its state and its end.

        A bridge's end and whether it is the holder's last status (``Bridge.grant``) may differ
        between its holders renewing it (or a bridge of its measure) and those taking it anew.
        """
        sim, pop, life = self.sim, self.sim.pop, self.sim.lifecycle
        working = isinstance(route, JobChange) or route.working
        if isinstance(route, Bridge):
            # Read before the status is (re)granted: the route held, or a bridge of its measure.
            renewal = self.chooser.renews(j, pop.route_of[ids].astype(np.int64))
            date = sim.scenario.date(day)
            end = np.empty(ids.size, dtype=np.int64)
            for again in (False, True):
                last, final = route.grant(date, renewal=again)
                end[renewal == again] = max(sim.scenario.day(last) + 1, day + 1)
                if final:
                    pop.had_last[ids[renewal == again]] = True
        else:
            end = np.full(
                ids.size, max(day + max(round(route.months * DAYS_PER_MONTH), 1), day + 1)
            )
        self._hold(ids, j, State.SPECIAL_WORKING if working else State.SPECIAL_IDLE, False)
        if isinstance(route, JobChange) and route.test is not None:
            end = self._test(route, ids, day, end)
        life.set_timer(ids, Timer.STATUS_EXPIRY, end)

    def _hold(self, ids: np.ndarray, j: int, state: State, moving_on: bool) -> None:
        """Agents take the special status of route ``j`` (their timer is set by the caller).

        At work they no longer wait for a seat home; ``moving_on``: they take the onward status
        when it runs out.
        """
        sim, pop = self.sim, self.sim.pop
        if state == State.SPECIAL_WORKING:
            sim.borders.leave_return_queue(ids)  # at work, not waiting for a seat
        sim.lifecycle.cancel_timer(ids)
        pop.route_of[ids] = j
        pop.moving_on[ids] = moving_on
        sim.move(ids, state)

    def _test(self, route: JobChange, ids: np.ndarray, day: int, end: np.ndarray) -> np.ndarray:
        """The special job's test: who passes it in time, and the day they move on (their timer).

        Only those whom the onward status admits (its origins) sit it.
        """
        test, sim, pop = route.test, self.sim, self.sim.pop
        sitting = self.chooser.admits(test.onward)[pop.origin[ids]]
        start = 0 if route.start is None else sim.scenario.day(route.start)
        move = move_days(
            day, int(end[0]), start, test.rounds_per_year, test.pass_rate,
            test.processing_days, test.register_days, int(sitting.sum()), self.stream,
        )  # fmt: skip
        passed = np.zeros(ids.size, dtype=bool)
        passed[sitting] = move >= 0
        pop.moving_on[ids] = passed
        end[passed] = move[move >= 0]
        return end
