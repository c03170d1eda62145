"""The programme's rules in motion: contracts, stages, job loss, going home, special statuses.

Everything here reads the programme's rules from the scenario (stages, renewals, longest stay,
grace period, job-change mode, onward statuses, cancellations, sponsor-controlled exit) and the
dated measures from the timeline; nothing is specific to one country.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tmpsim.engine.jit import Resolved
from tmpsim.engine.module import Module
from tmpsim.engine.population import NEVER
from tmpsim.engine.split import split_by
from tmpsim.kinds import STATE_BY_NAME, Hazard, State, Timer
from tmpsim.model.events import (
    CashPaymentEvent,
    ExitAmnestyEvent,
    GrantStatusEvent,
    RuleEvent,
    StayExtensionEvent,
)
from tmpsim.model.money_kernels import DepartArrays, depart_kernel

if TYPE_CHECKING:
    from tmpsim.simulation import Simulation

DAYS_PER_MONTH = 365.25 / 12
N_TIMERS = len(Timer)
# What is summed by origin over those who return home (recorder metrics), in this order.
RETURN_SUMS = ("returned_debt", "returned_savings", "returned_years_away", "returned_age")
# Stranding ends by going home, by another status, by a job under the programme, or by losing
# status altogether (irregular: counted as such, not as stranded).
ENDS_STRANDING = frozenset(
    {State.RETURNED, State.OTHER_STATUS, State.EMPLOYED, State.IRREGULAR, State.DROPPED}
)


class Lifecycle(Module):
    """Moves agents through the programme according to its rules; owns the timers."""

    fields = {
        "stage": (np.int8, 0),
        "renewals": (np.int8, 0),
        "entered": (np.int32, NEVER),  # first entry into the host
        "exited": (np.int32, NEVER),  # return home or switch out
        "contract_start": (np.int32, NEVER),
        "dismissed": (np.bool_, 0),  # lost the job through dismissal (not contract end)
        "stranded": (np.bool_, 0),  # asked to go home, still in the host waiting, with a status
        "t_timer": (np.int32, -1),  # next deterministic event (contract end, expiry...)
        "timer_kind": (np.int8, 0),
        "grant_of": (np.int16, -1),  # the special-status event in force (index), -1 if none
        # Voluntary changes of employer made (``voluntary_change``; not those after a dismissal),
        # against ``job_change.max_changes`` (over the stay) or ``max_changes_by_stage`` (within
        # the stage: ``next_stage`` restarts it); stays at 255 once there.
        "employer_changes": (np.uint8, 0),
        # The day the current contract ends: set with its CONTRACT_END timer (``start_contract``,
        # a stay extension), kept through a voluntary change of employer (same end) and by a
        # worker rehired after a dismissal (``job_found``), whose timer was cancelled.
        "contract_end": (np.int32, -1),
    }
    flags = ("stranded",)
    flags_by_state = ("stranded",)  # who of the stranded works (``stranded_out_of_work``)

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self.calendar = sim.pop.calendar("t_timer", sim.n_days)
        self._depart = Resolved(depart_kernel)  # called daily with the same types
        self.stranded = sim.pop.flag_of("stranded")
        prog = sim.scenario.programme
        self.prog = prog
        self.stage_days = np.array([s.months * DAYS_PER_MONTH for s in prog.stages])
        # Continue probability by [profile, stage]: the stage's, unless the origin (or its
        # segment) sets its own.
        self.continue_prob = np.array(
            [
                [p.terms.continue_prob.get(s.name, s.continue_prob) for s in prog.stages]
                for p in sim.profiles
            ]
        )
        self.home_visit = np.array([s.home_visit_days for s in prog.stages])
        # Run day from which each stage can be entered (stages added by a reform start later).
        start = sim.scenario.start.toordinal()
        self.stage_from = np.array(
            [
                -(2**62) if s.available_from is None else s.available_from.toordinal() - start
                for s in prog.stages
            ],
            dtype=np.int64,
        )
        self.n_stages = len(prog.stages)
        self.stage_index = {s.name: i for i, s in enumerate(prog.stages)}
        self.max_stay = None if prog.max_stay_years is None else prog.max_stay_years * 365.25
        self.stream = sim.streams["lifecycle"]
        self.cancel_interval = max(
            (c.detection_interval_days for c in prog.cancellations), default=0
        )
        # Each cancellation rule is found on its own schedule (pregnancy at the six-monthly
        # medical, marriage at once...): which rule fired is drawn in proportion to its rate.
        self.cancel_days = np.array(
            [c.detection_interval_days for c in prog.cancellations], dtype=np.int64
        )
        self.cancel_rates = np.array([c.rate_per_year for c in prog.cancellations])
        self.cancel_females = np.array([c.females_only for c in prog.cancellations], dtype=bool)
        self.grants = [e for e in sim.scenario.events if isinstance(e, GrantStatusEvent)]
        self.changes_by_stage = prog.job_change.max_changes_by_stage is not None
        self._amnesties(sim)
        self.extends_stays = any(isinstance(e, StayExtensionEvent) for e in sim.scenario.events)
        if self.extends_stays:
            sim.recorder.extras["stays_extended"] = np.zeros((sim.n_days, sim.n_origins))

    def _amnesties(self, sim: Simulation) -> None:
        """Exit amnesties by the run days on which they act: who may, who takes up, who lapses."""
        sc = sim.scenario
        self.amnesty_eligible_on: dict[int, list[ExitAmnestyEvent]] = {}
        self.amnesty_lapses_on: dict[int, list[ExitAmnestyEvent]] = {}
        self.amnesty_eligible: dict[int, np.ndarray] = {}  # event id -> those who may take it
        self.amnesty_takers: dict[int, np.ndarray] = {}  # event id -> those who took it
        self.amnesty_states: dict[int, list[int]] = {}  # event id -> the states it covers
        for ev in sc.events:
            if isinstance(ev, ExitAmnestyEvent):
                self.amnesty_states[id(ev)] = [int(STATE_BY_NAME[s]) for s in ev.states]
                day = sc.day(ev.eligible_on or ev.date)
                self.amnesty_eligible_on.setdefault(day, []).append(ev)
                self.amnesty_lapses_on.setdefault(sc.day(ev.end) + 1, []).append(ev)

    def timers(self) -> dict:
        """The programme's own deterministic events.

        With a ``routes`` section the turning points (contract end, grace period over, status
        expiry) are decisions, handled by the routes module (``tmpsim.model.turning_points``).
        """
        table = {
            Timer.CANCEL: self.cancelled,
            Timer.GRANT: self.grant_status,
            Timer.SPECIAL_JOB_END: self.want_home,
        }
        if self.sim.scenario.routes is None:
            table[Timer.CONTRACT_END] = self.on_contract_end
            table[Timer.GRACE_END] = self.want_home
            table[Timer.STATUS_EXPIRY] = self.status_expiry
        return table

    def hazards(self) -> dict:
        """What each stochastic event does to the agents it happens to."""
        return {
            Hazard.DISMISSAL: self.dismissal,
            Hazard.RUNAWAY: self.runaway,
            Hazard.JOB_FINDING: self.job_found,
            Hazard.STATUS_SWITCH: self.switch_status,
            Hazard.APPREHENSION: self.apprehension,
            Hazard.CANCELLATION: self.cancellation_found,
            Hazard.VOLUNTARY_CHANGE: self.voluntary_change,
        }

    def set_timer(self, ids: np.ndarray, kind: Timer, days: np.ndarray | int) -> None:
        """File a deterministic event for agents."""
        if ids.size == 0:
            return
        self.sim.pop.timer_kind[ids] = int(kind)
        self.calendar.schedule(ids, days)

    def cancel_timer(self, ids: np.ndarray) -> None:
        """Forget the agents' pending deterministic event."""
        self.calendar.cancel(ids)

    # ---- contracts ------------------------------------------------------------------------
    def start_contract(self, ids: np.ndarray, stage: np.ndarray, day: int) -> None:
        """Agents begin a stage's contract today (they are moved to EMPLOYED)."""
        if ids.size == 0:
            return
        pop = self.sim.pop
        pop.stage[ids] = stage
        pop.contract_start[ids] = day
        pop.dismissed[ids] = False
        end = day + np.round(self.stage_days[stage]).astype(np.int64)
        pop.contract_end[ids] = end
        self.sim.move(ids, State.EMPLOYED)
        self.set_timer(ids, Timer.CONTRACT_END, end)

    def arrive(self, ids: np.ndarray, day: int) -> None:
        """Agents pass the border inbound: new entrants start stage 1, home visitors resume."""
        pop = self.sim.pop
        first = pop.entered[ids] == NEVER
        pop.entered[ids[first]] = day
        self.start_contract(ids, np.where(first, 0, pop.stage[ids]).astype(np.int8), day)

    def depart(self, ids: np.ndarray, day: int) -> None:
        """Agents fly home: buy the ticket, record debt and savings at return.

        One compiled pass (``depart_kernel``) does what ``depart_reference`` does step by step,
        but for the flags and the move, which announce themselves to other modules.
        """
        if ids.size == 0:
            return
        sim, pop = self.sim, self.sim.pop
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        sums = np.zeros((len(RETURN_SUMS) + 1, sim.n_origins))  # remitted, then RETURN_SUMS
        departed = DepartArrays(
            pop.profile, sim.money.ticket, pop.t_timer, pop.exited, pop.queued, pop.entered,
            pop.created, pop.age0, *sums,
        )  # fmt: skip
        self._depart(ids, int(day), int(NEVER), sim.money.agents(), sim.money.terms, departed)
        rec = sim.recorder
        rec.add_by_origin("remitted", sums[0])
        sim.money.clear_destitute(ids)
        for name, by_origin in zip(RETURN_SUMS, sums[1:], strict=True):
            rec.add_by_origin(name, by_origin)
        sim.move(ids, State.RETURNED)

    def depart_reference(self, ids: np.ndarray, day: int) -> None:
        """``depart`` with NumPy, step by step (the specification of ``depart_kernel``)."""
        if ids.size == 0:
            return
        sim, pop = self.sim, self.sim.pop
        sim.money.settle(ids, day)
        origin = pop.origin[ids]
        ticket = sim.money.ticket[pop.profile[ids]]
        pop.savings[ids] = np.maximum(pop.savings[ids] - ticket, 0.0)
        sim.money.clear_destitute(ids)
        self.calendar.cancel(ids)
        pop.exited[ids] = day
        rec = sim.recorder
        rec.add("returned_debt", origin, pop.debt[ids])
        rec.add("returned_savings", origin, pop.savings[ids])
        years = (day - pop.entered[ids]) / 365.25
        rec.add("returned_years_away", origin, years)
        rec.add("returned_age", origin, pop.age0[ids] + (day - pop.created[ids]) / 365.25)
        pop.queued[ids] = NEVER
        sim.move(ids, State.RETURNED)

    def on_contract_end(self, ids: np.ndarray, day: int) -> None:
        """A stage's contract ends: next stage, renewal, another status, or home."""
        pop = self.sim.pop
        stage = pop.stage[ids].astype(np.int64)
        u = self.stream.random(ids.size)
        has_next = stage + 1 < self.n_stages
        nxt = np.minimum(stage + 1, self.n_stages - 1)
        exists = self.stage_from <= day
        go_on = has_next & (u < self.continue_prob[pop.profile[ids], stage]) & exists[nxt]
        # Employers who cannot get new people renew more (``Vacancies.kept``).
        renewal = self.sim.vacancies.kept(self.prog.renewal_prob, day)
        renew = ~has_next & (pop.renewals[ids] < self.prog.renewals) & (u < renewal)
        if self.max_stay is not None:
            length = np.where(go_on, self.stage_days[nxt], self.stage_days[stage])
            fits = (day - pop.entered[ids]) + length <= self.max_stay + 1
            go_on &= fits
            renew &= fits
        self.next_stage(ids[go_on], day)
        again = ids[renew]
        pop.renewals[again] += 1
        self.start_contract(again, pop.stage[again], day)
        rest = ids[~go_on & ~renew]
        rest = self._onward(rest, day)
        self.want_home(rest, day)

    def next_stage(self, ids: np.ndarray, day: int) -> None:
        """Agents go on to their next stage.

        A home visit comes first where the rules ask for one and travel is possible (otherwise
        the visit is deferred, as it was in 2020).
        """
        pop = self.sim.pop
        if self.changes_by_stage:  # a new stage's changes are counted from none
            pop.employer_changes[ids] = 0
        nstage = (pop.stage[ids] + 1).astype(np.int8)
        visit = (self.home_visit[nstage] > 0) & self.sim.borders.open_both_ways(pop.origin[ids])
        away = ids[visit]
        pop.stage[away] = nstage[visit]
        self.sim.move(away, State.HOME_VISIT)
        self.set_timer(away, Timer.HOME_VISIT_END, day + self.home_visit[nstage[visit]])
        self.start_contract(ids[~visit], nstage[~visit], day)

    def _onward(self, ids: np.ndarray, day: int) -> np.ndarray:
        """Some switch to another status when a stage ends; returns those who do not."""
        date = self.sim.scenario.start.toordinal() + day
        for rule in self.prog.onward:
            if rule.start is not None and date < rule.start.toordinal():
                continue
            at = self.sim.pop.stage[ids] == self.stage_index[rule.after_stage]
            go = at & (self.stream.random(ids.size) < rule.prob)
            self.switch_status(ids[go], day)
            ids = ids[~go]
        return ids

    def switch_status(self, ids: np.ndarray, day: int) -> None:
        """Agents move to another residence status and leave the programme's counts."""
        self.sim.borders.leave_return_queue(ids)
        self.calendar.cancel(ids)
        self.sim.money.clear_destitute(ids)
        self.sim.pop.exited[ids] = day
        self.sim.move(ids, State.OTHER_STATUS)

    def lose_job(self, ids: np.ndarray, day: int, dismissed: bool = True) -> None:
        """Agents lose their employer: jobless with a grace period to find another."""
        pop = self.sim.pop
        pop.dismissed[ids] = dismissed
        self.sim.move(ids, State.JOBLESS)
        self.set_timer(ids, Timer.GRACE_END, day + max(int(self.sim.rules["grace_days"]), 1))

    def want_home(self, ids: np.ndarray, day: int) -> None:
        """Agents whose stay is over want to go home; until a seat comes they are stranded."""
        if ids.size == 0:
            return
        self.calendar.cancel(ids)
        self.sim.move(ids, State.STRANDED)
        self.stranded.set(ids)
        if self.prog.exit_needs_sponsor:
            mean = max(self.prog.sponsor_exit_delay_days, 1e-9)
            wait = np.ceil(self.stream.exponential(mean, ids.size)).astype(np.int64)
            self.set_timer(ids, Timer.EXIT_PERMIT, day + np.maximum(wait, 1))
        else:
            self.sim.borders.queue_return(ids, day)
        self._grant(ids, State.STRANDED, day)

    def _grant(self, ids: np.ndarray, state: State, day: int) -> None:
        """Special statuses that apply to people entering ``state`` today."""
        for ev in self.sim.timeline.grants_for(state, day):
            pending = ids[self.sim.pop.timer_kind[ids] != Timer.EXIT_PERMIT]
            self.sim.pop.grant_of[pending] = self.grants.index(ev)
            self.set_timer(pending, Timer.GRANT, day + max(ev.delay_days, 1))

    # ---- timers ---------------------------------------------------------------------------
    def step(self, day: int) -> None:
        """Dispatch the deterministic events due today, kind by kind (in the kinds' order)."""
        pop = self.sim.pop
        due = self.calendar.pop(day)
        if due.size == 0:
            return
        kinds = pop.timer_kind[due]  # popping cleared the agents' day fields
        pop.timer_kind[due] = Timer.NONE
        if self.extends_stays:
            due, kinds = self._extend_stays(due, kinds, day)
        table = self.sim.timer_handlers  # keyed by Timer: an int finds its member
        for k, ids in split_by(due, kinds, N_TIMERS):
            table[k](ids, day)

    def _extend_stays(
        self, due: np.ndarray, kinds: np.ndarray, day: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Contracts ending today under a stay extension go on; the rest of ``due`` is returned.

        Each event in force (``StayExtensionEvent``) keeps a ``share`` of the employed whose
        contract ends today, among its origins and segments, for ``days`` more.
        """
        sim, pop = self.sim, self.sim.pop
        tl = sim.timeline
        kept = np.zeros(due.size, dtype=bool)
        for ev in tl.active(StayExtensionEvent, day):
            ending = (kinds == Timer.CONTRACT_END) & (pop.state[due] == State.EMPLOYED) & ~kept
            if ev.origins is not None:
                wanted = [tl.origin_index[o] for o in ev.origins]
                ending &= np.isin(pop.origin[due], wanted)
            if ev.segments is not None:
                wanted = [tl.segment_index[g] for g in ev.segments]
                ending &= np.isin(pop.segment[due], wanted)
            which = np.flatnonzero(ending)
            if which.size == 0:
                continue
            which = which[self.stream.random(which.size) < ev.share]
            kept[which] = True
            ids = due[which]
            pop.contract_end[ids] = day + ev.days
            self.set_timer(ids, Timer.CONTRACT_END, day + ev.days)
            sim.recorder.add("stays_extended", pop.origin[ids], 1.0)
        if not kept.any():
            return due, kinds
        return due[~kept], kinds[~kept]

    def cancelled(self, ids: np.ndarray, day: int) -> None:
        """A permit cancellation is found: counted, and the agents want to go home."""
        self.sim.recorder.add("cancellations", self.sim.pop.origin[ids], 1.0)
        self.want_home(ids, day)

    def grant_status(self, ids: np.ndarray, day: int) -> None:
        """Those still waiting get the special status of the event that granted it."""
        pop = self.sim.pop
        grant_of = pop.grant_of[ids]
        for g in np.unique(grant_of):
            sel = ids[grant_of == g]
            ev = self.grants[int(g)]
            sel = sel[np.isin(pop.state[sel], [STATE_BY_NAME[s] for s in ev.from_states])]
            self.sim.move(sel, STATE_BY_NAME[ev.to_state])
            self.set_timer(sel, Timer.STATUS_EXPIRY, day + round(ev.months * DAYS_PER_MONTH))

    def status_expiry(self, ids: np.ndarray, day: int) -> None:
        """A special status runs out: renewed while the measure lasts, else overstay."""
        ev_days = self.sim.timeline
        renewed = np.zeros(ids.size, dtype=bool)
        grant_of = self.sim.pop.grant_of[ids]
        for g in np.unique(grant_of):
            ev = self.grants[int(g)]
            if ev in ev_days.active(GrantStatusEvent, day):
                hit = grant_of == g
                renewed |= hit
                self.set_timer(
                    ids[hit], Timer.STATUS_EXPIRY, day + round(ev.months * DAYS_PER_MONTH)
                )
        lapsed = ids[~renewed]
        self.sim.move(lapsed, State.IRREGULAR)

    # ---- stochastic events ----------------------------------------------------------------
    def dismissal(self, ids: np.ndarray, day: int) -> None:
        """Dismissed: a special-status worker becomes idle; an employee jobless."""
        sim, pop = self.sim, self.sim.pop
        state = pop.state[ids]
        sim.recorder.add("dismissals", pop.origin[ids], 1.0)
        special = ids[state == State.SPECIAL_WORKING]
        sim.move(special, State.SPECIAL_IDLE)
        emp = ids[state == State.EMPLOYED]
        self.calendar.cancel(emp)
        self.lose_job(emp, day)

    def runaway(self, ids: np.ndarray, day: int) -> None:
        """Left the employer (or stopped waiting): irregular."""
        self.calendar.cancel(ids)
        self.sim.borders.leave_return_queue(ids)
        self.sim.move(ids, State.IRREGULAR)

    def apprehension(self, ids: np.ndarray, day: int) -> None:
        """Caught: queued for removal home."""
        self.sim.borders.queue_return(ids, day)
        self.sim.hazards.draw(ids, day)

    def cancellation_found(self, ids: np.ndarray, day: int) -> None:
        """A cause for cancelling the permit arises; it is found at the rule's next check."""
        pop = self.sim.pop
        interval = self.cancel_intervals(ids)
        start = pop.contract_start[ids].astype(np.int64)
        every = np.maximum(interval, 1)
        when = np.maximum(
            np.where(interval == 0, day, start + ((day - start) // every + 1) * every), day + 1
        )
        # Found only if the check comes before the contract ends (the end keeps its timer).
        ends_first = (pop.timer_kind[ids] == Timer.CONTRACT_END) & (pop.t_timer[ids] <= when)
        self.set_timer(ids[~ends_first], Timer.CANCEL, when[~ends_first])
        self.sim.hazards.draw(ids, day)

    def voluntary_change(self, ids: np.ndarray, day: int) -> None:
        """A worker free to change employer does: a new contract start, same contract end.

        The change is counted against ``job_change.max_changes`` before the next event is
        drawn, so one who has made the last change allowed draws no voluntary change again.
        """
        pop = self.sim.pop
        self.sim.recorder.add("job_changes", pop.origin[ids], 1.0)
        pop.contract_start[ids] = day
        made = pop.employer_changes
        made[ids] = np.minimum(made[ids], 254) + 1  # one byte: 255 at most
        self.sim.hazards.draw(ids, day)

    def cancel_intervals(self, ids: np.ndarray) -> np.ndarray:
        """Return the detection interval (days) of the rule that cancels each agent's permit."""
        if np.unique(self.cancel_days).size <= 1:
            return np.full(ids.size, self.cancel_interval, dtype=np.int64)
        female = self.sim.pop.female[ids]
        rates = np.where(self.cancel_females & ~female[:, None], 0.0, self.cancel_rates)
        cum = np.cumsum(rates, axis=1)
        pick = (self.stream.random(ids.size)[:, None] * cum[:, -1:] >= cum).sum(axis=1)
        return self.cancel_days[np.minimum(pick, self.cancel_days.size - 1)]

    def job_found(self, ids: np.ndarray, day: int) -> None:
        """A jobless or stranded agent finds an employer: the programme's route or a special one."""
        sim, pop = self.sim, self.sim.pop
        state = pop.state[ids]
        sim.recorder.add("job_changes", pop.origin[ids], 1.0)
        jobless = ids[state == State.JOBLESS]
        own = sim.hazards.programme_route_open(jobless)
        if own.any():
            # Same stage, remaining time of the contract (at least a month) with a new employer:
            # to the day it was to end (a stay extension and a voluntary change of employer, which
            # keeps the end but not the start, included).
            back = jobless[own]
            self.calendar.cancel(back)
            start = pop.contract_start[back].copy()
            end = np.maximum(pop.contract_end[back].astype(np.int64), day + 30)
            self.start_contract(back, pop.stage[back], day)
            pop.contract_start[back] = start
            pop.contract_end[back] = end
            self.set_timer(back, Timer.CONTRACT_END, end)
        others = np.concatenate([jobless[~own], ids[state != State.JOBLESS]])
        for s in np.unique(pop.state[others]):
            sel = others[pop.state[others] == s]
            routes = sim.timeline.job_change_routes(State(int(s)), day)
            if not routes:
                continue
            route = routes[0]
            sim.move(sel, STATE_BY_NAME[route.to_state])
            if State(int(s)) is State.JOBLESS:
                # A job under the special status, for its length; then they go home.
                days = round(route.months * DAYS_PER_MONTH)
                self.set_timer(sel, Timer.SPECIAL_JOB_END, day + max(days, 1))
            # Those already waiting for a seat home keep their place in the queue.

    # ---- dated measures -------------------------------------------------------------------
    def events(self, day: int) -> None:
        """Rules, special statuses and cash payments starting today."""
        sim, pop = self.sim, self.sim.pop
        tl = sim.timeline
        for ev in tl.on(day, RuleEvent):
            if ev.job_change_mode is not None:
                sim.rules["job_change_mode"] = ev.job_change_mode
            if ev.grace_days is not None:
                sim.rules["grace_days"] = ev.grace_days
            if ev.welfare_eligible is not None:
                sim.rules["welfare_eligible"] = ev.welfare_eligible
                sim.money.apply_welfare_rule(day)
        for ev in tl.on(day, GrantStatusEvent):
            states = [STATE_BY_NAME[s] for s in ev.from_states]
            ids = np.flatnonzero(np.isin(pop.state[: pop.n], states))
            ids = ids[pop.timer_kind[ids] != Timer.EXIT_PERMIT]
            pop.grant_of[ids] = self.grants.index(ev)
            self.set_timer(ids, Timer.GRANT, day + max(ev.delay_days, 1))
        self._amnesty(day)
        for ev in tl.on(day, CashPaymentEvent):
            states = [STATE_BY_NAME[s] for s in ev.states]
            ids = np.flatnonzero(np.isin(pop.state[: pop.n], states))
            amount = ev.amount
            sim.recorder.add("cash_paid", pop.origin[ids], amount)
            sim.money.give(ids, amount, day)

    def _amnesty(self, day: int) -> None:
        """Exit amnesties: who may take one up, who does (to the return queue), who lapses.

        On ``eligible_on`` those in the event's states are noted; on its date those of them still
        in the states and not already waiting for a seat take it up with chance ``share`` and
        join the return queue (the hazards redrawn: one waiting to leave is not caught); the day
        after ``end`` those of them still waiting since that date leave the queue, whatever
        their state by then, and their hazards are redrawn.
        """
        sim, pop = self.sim, self.sim.pop
        for ev in self.amnesty_eligible_on.get(day, []):
            covered = np.isin(pop.state[: pop.n], self.amnesty_states[id(ev)])
            self.amnesty_eligible[id(ev)] = np.flatnonzero(covered)
        for ev in sim.timeline.on(day, ExitAmnestyEvent):
            who = self.amnesty_eligible.pop(id(ev))
            covered = np.isin(pop.state[who], self.amnesty_states[id(ev)])
            who = who[covered & ~pop.in_return_queue[who]]
            who = who[self.stream.random(who.size) < ev.share]
            sim.borders.queue_return(who, day)
            sim.hazards.draw(who, day)
            self.amnesty_takers[id(ev)] = who
        for ev in self.amnesty_lapses_on.get(day, []):
            who = self.amnesty_takers.pop(id(ev), np.empty(0, dtype=np.int64))
            # Still waiting since the amnesty's day, whatever their state now: one who left the
            # queue (ran away) and joined it again another way (caught) waits by that way.
            who = who[pop.in_return_queue[who] & (pop.queued[who] == sim.scenario.day(ev.date))]
            sim.borders.leave_return_queue(who)
            sim.hazards.draw(who, day)
