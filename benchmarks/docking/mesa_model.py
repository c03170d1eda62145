"""tmpsim's core lifecycle written the usual way in Mesa 3, one Python object per person.

This is the comparison model of the docking study (``compare.py``): the same rules and the same
parameters as tmpsim, read from the same scenario file with ``tmpsim.load_scenario``, but written as
one ``mesa.Agent`` per person whose ``step()`` runs every simulated day: it accrues a day of money,
fires the deterministic event due today, and draws today's stochastic events. Nothing is
vectorised, nothing is scheduled ahead; model-level steps (recruitment, the border queues, the
DataCollector) loop over Python objects. It deliberately does not import tmpsim's engine or
model code, only the scenario schema.

What is in (as in ``src/tmpsim/model/``):

* recruitment: yearly demand split by origin (interpolated shares), weekly selection rounds with a
  fractional carry, applicants per place joining a standby pool, eligibility by age and aptitude,
  the best by aptitude selected, pool timeout, fees (log-normal, a share pays, a share of payers
  borrows), debt at departure, what was not borrowed paid from savings, pre-departure training
  (0.8-1.2 of the lead time) and dropout;
* the initial population: workers in the host by stage with elapsed contract time and money
  accrued since entry, and the pipeline in training;
* entry through per-corridor FIFO entry queues with daily seats (fractions of a seat carried over);
* contract stages with continuation probabilities (by origin where set), stage availability dates,
  renewals and the
  longest stay; dismissal (sector rate times dated multipliers), the grace period, finding a new
  employer on the programme's route (language, network, supervising organisation's proactivity),
  leaving the employer (runaway hazard rising with current debt, higher without income),
  apprehension of the irregular;
* wanting home and stranding: everyone whose stay is over joins a per-corridor FIFO return queue
  served by daily outbound seats and repatriation flights; stranded until a seat comes;
* money: net wage by sector, living and subsistence costs, debt repayment, remittances, savings,
  the return ticket, destitution (no income and savings spent), welfare eligibility.

What is out (the scenario must not use it; ``check_supported`` says which key): home visits
between stages, onward statuses, permit cancellations, exit permits, job-change mode ``free``,
dated special measures (job-change routes, special statuses, status switches, rule changes, cash
payments), entry caps, shelters and emergency funds.

Known differences in form (not in rules): stochastic events are daily Bernoulli draws with
probability ``1 - exp(-total rate)`` and a kind picked in proportion to its rate; tmpsim draws a
geometric waiting time from the same rates when an agent enters a state, which has the same
distribution. Money accrues daily; tmpsim settles it in closed form when needed (identical
without loan interest; with interest Mesa compounds daily and tmpsim does not). The runaway rate
uses today's debt; tmpsim uses the debt when the waiting time was drawn.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np

from tmpsim.scenario.schema import (
    BorderEvent,
    FlightEvent,
    HazardEvent,
    RecruitmentEvent,
    Scenario,
)
from tmpsim.states import State

YEAR = 365.25
MONTH = YEAR / 12
NEVER = None  # a date that has not happened

# Terminal states: the agent leaves the model.
GONE = (State.RETURNED, State.OTHER_STATUS, State.DROPPED)
NO_INCOME = (State.JOBLESS, State.STRANDED, State.SPECIAL_IDLE)

# Deterministic events (timers).
TRAINING_END = "training_end"
POOL_TIMEOUT = "pool_timeout"
CONTRACT_END = "contract_end"
GRACE_END = "grace_end"


class UnsupportedScenario(ValueError):
    """The scenario uses a part of the model the Mesa docking model does not implement."""


def check_supported(sc: Scenario) -> None:
    """Raise UnsupportedScenario naming the first key this model does not implement."""
    prog = sc.programme
    problems = []
    for i, st in enumerate(prog.stages):
        if st.home_visit_days:
            problems.append(f"programme.stages.{i}.home_visit_days (home visits)")
    if prog.onward:
        problems.append("programme.onward (onward statuses)")
    if prog.cancellations:
        problems.append("programme.cancellations")
    if prog.exit_needs_sponsor:
        problems.append("programme.exit_needs_sponsor")
    if prog.job_change.mode == "free":
        problems.append("programme.job_change.mode: free")
    if prog.job_change.needs_sponsor_consent:
        problems.append("programme.job_change.needs_sponsor_consent")
    if sc.borders.entry_cap_per_day is not None:
        problems.append("borders.entry_cap_per_day")
    if sc.shelters:
        problems.append("shelters")
    if sc.emergency_funds:
        problems.append("emergency_funds")
    supported = (BorderEvent, FlightEvent, HazardEvent, RecruitmentEvent)
    for i, ev in enumerate(sc.events):
        if not isinstance(ev, supported):
            problems.append(f"events.{i} (type {ev.type})")
    if problems:
        raise UnsupportedScenario(
            f"scenario {sc.name!r}: the Mesa docking model does not implement "
            + "; ".join(problems)
        )


@dataclass
class Returned:
    """What is recorded of a worker who flew home."""

    day: int
    origin: int
    debt: float
    savings: float
    fee: float
    debt0: float
    years_away: float


class Worker(mesa.Agent):
    """One person, from the sending country's pool to the flight home."""

    def __init__(self, model: DockingModel, origin: int, day: int, state: State) -> None:
        super().__init__(model)
        rnd = model.random
        o = model.origin_params[origin]
        self.origin = origin
        self.state = state
        self.since = day  # day the agent entered its current state
        self.created = day
        self.selected = NEVER
        self.entered = NEVER
        self.age0 = min(max(rnd.gauss(o.age_mean, o.age_sd), 16.0), 60.0)
        self.female = rnd.random() < o.female_share
        self.aptitude = rnd.random()
        lang, net = o.language_mean, o.network_mean
        self.language = rnd.betavariate(lang * 4 + 1e-3, (1 - lang) * 4 + 1e-3)
        self.network = rnd.betavariate(net * 4 + 1e-3, (1 - net) * 4 + 1e-3)
        sup = model.scenario.supervision
        mean = min(max(sup.proactivity_mean, 1e-3), 1 - 1e-3)
        conc = sup.proactivity_concentration
        self.proactivity = rnd.betavariate(mean * conc, (1 - mean) * conc)
        self.sector = rnd.choices(model.sector_range, weights=model.sector_share)[0]
        m = model.scenario.money.initial_savings_mean
        self.savings = rnd.expovariate(1 / m) if m > 0 else 0.0
        self.fee = 0.0
        self.debt0 = 0.0
        self.debt = 0.0
        self.remitted = 0.0
        self.income = 0.0
        self.cost = 0.0
        self.money_day = day  # money accrued up to this day
        self.destitute = False
        self.stage = 0
        self.renewals = 0
        self.contract_start = NEVER
        self.dismissed = False
        self.timer_day = -1
        self.timer_kind: str | None = None
        self.in_return_queue = False
        self.queued = NEVER  # day the worker joined the return queue
        model.count_move(None, state, origin)

    # ---- one day ---------------------------------------------------------------------------
    def step(self) -> None:
        """A day of this worker's life: money, the event due today, today's risks."""
        model = self.model
        day = model.day
        if self.money_day < day:
            self.accrue(day - self.money_day)
            self.money_day = day
            if not self.destitute and self.cost - self.income > 1e-9:
                if self.savings < self.cost - self.income:
                    self.destitute = True
        if self.timer_day == day:
            kind = self.timer_kind
            self.timer_day, self.timer_kind = -1, None
            self.on_timer(kind, day)
        if self.since < day and self.state in model.hazard_states:
            self.risks(day)

    def accrue(self, days: int) -> None:
        """Debt interest, wage minus spending, repayment, remittances and savings over ``days``."""
        m = self.model
        d = float(days)
        debt = self.debt * (1.0 + m.interest_day[self.origin] * d)
        surplus = self.income - self.cost
        if surplus > 0:
            repay = m.repay_share * surplus
            remit = m.remit_share * surplus
            keep = surplus - repay - remit
            paid = min(debt, repay * d)
            days_repaying = paid / repay if repay > 0 else 0.0
            save = keep * d + repay * (d - days_repaying)
            self.remitted += remit * d
        else:
            paid = 0.0
            save = surplus * d
        self.debt = debt - paid
        self.savings = max(self.savings + save, 0.0)

    def move(self, new: State, day: int) -> None:
        """Change state: count the flow, set today's money rates, restart the risks."""
        model = self.model
        if self.money_day < day:  # settle the days spent in the old state
            self.accrue(day - self.money_day)
            self.money_day = day
        model.count_move(self.state, new, self.origin)
        self.state = new
        self.since = day
        self.set_rates()
        if new in GONE:
            self.remove()

    def set_rates(self) -> None:
        """Daily income and spending in the current state; destitute if savings cannot cover."""
        m = self.model
        s = self.state
        if s is State.EMPLOYED or s is State.IRREGULAR:
            factor = 1.0 if s is State.EMPLOYED else m.irregular_wage_factor
            self.income = m.wage_day * m.sector_wage[self.sector] * factor
            self.cost = m.living_day
        elif s in NO_INCOME:
            self.income = m.subsist_day if m.welfare_eligible else 0.0
            self.cost = m.subsist_day
        else:
            self.income = 0.0
            self.cost = 0.0
        burn = self.cost - self.income
        self.destitute = burn > 1e-9 and self.savings < burn

    def set_timer(self, kind: str, day: int) -> None:
        """The next deterministic event of this worker."""
        self.timer_kind = kind
        self.timer_day = day

    def cancel_timer(self) -> None:
        """Forget the pending deterministic event."""
        self.timer_day, self.timer_kind = -1, None

    # ---- deterministic events ----------------------------------------------------------------
    def on_timer(self, kind: str | None, day: int) -> None:
        """Training over, pool timeout, contract end, grace period over."""
        model = self.model
        if kind == TRAINING_END:
            if self.random.random() < model.scenario.recruitment.training_dropout:
                self.move(State.DROPPED, day)
            else:
                self.move(State.AWAITING_ENTRY, day)
                model.entry_queues[self.origin].append(self)
        elif kind == POOL_TIMEOUT:
            self.move(State.DROPPED, day)
        elif kind == CONTRACT_END:
            self.contract_end(day)
        elif kind == GRACE_END:
            self.want_home(day)

    def start_contract(self, stage: int, day: int) -> None:
        """Begin a stage's contract today."""
        model = self.model
        self.stage = stage
        self.contract_start = day
        self.dismissed = False
        self.move(State.EMPLOYED, day)
        self.set_timer(CONTRACT_END, day + round(model.stage_days[stage]))

    def contract_end(self, day: int) -> None:
        """Next stage, renewal, or home."""
        model = self.model
        prog = model.scenario.programme
        stage = self.stage
        u = self.random.random()
        has_next = stage + 1 < model.n_stages
        nxt = min(stage + 1, model.n_stages - 1)
        exists = model.stage_exists(nxt, day)
        go_on = has_next and u < model.continue_prob[self.origin][stage] and exists
        renew = (not has_next) and self.renewals < prog.renewals and u < prog.renewal_prob
        if model.max_stay is not None:
            length = model.stage_days[nxt] if go_on else model.stage_days[stage]
            fits = (day - self.entered) + length <= model.max_stay + 1
            go_on = go_on and fits
            renew = renew and fits
        if go_on:
            self.start_contract(nxt, day)
        elif renew:
            self.renewals += 1
            self.start_contract(stage, day)
        else:
            self.want_home(day)

    def want_home(self, day: int) -> None:
        """The stay is over: stranded until a seat home comes."""
        self.cancel_timer()
        self.move(State.STRANDED, day)
        self.model.queue_return(self, day)

    def lose_job(self, day: int) -> None:
        """Dismissed: jobless, with the grace period to find another employer."""
        self.dismissed = True
        self.move(State.JOBLESS, day)
        self.set_timer(GRACE_END, day + max(int(self.model.grace_days), 1))

    # ---- stochastic events -------------------------------------------------------------------
    def rates(self, day: int) -> list[tuple[str, float]]:
        """Today's daily rates of the stochastic events open to this worker."""
        model = self.model
        s = self.state
        o, sec = self.origin, self.sector
        out = []
        if s is State.IRREGULAR:
            r = 0.0 if self.queued is not NEVER else model.apprehension_day
            out.append(("apprehension", r * model.multiplier("apprehension", o, sec)))
            return out
        if s is State.EMPLOYED:
            out.append(
                ("dismissal", model.dismissal_day[sec] * model.multiplier("dismissal", o, sec))
            )
        e = model.runaway_elasticity
        burden = self.debt / model.wage_year
        r = model.runaway_day[o] * (1 + e * burden) / (1 + e * model.debt_ref[o])
        if s is not State.EMPLOYED:
            r *= model.no_income_factor
        out.append(("runaway", r * model.multiplier("runaway", o, sec)))
        if s is State.JOBLESS and self.route_open():
            out.append(("job_found", self.job_rate() * model.multiplier("job_finding", o, sec)))
        return out

    def route_open(self) -> bool:
        """Whether the programme's own rules let this jobless worker take another employer."""
        mode = self.model.scenario.programme.job_change.mode
        return mode == "on_dismissal" and self.dismissed

    def job_rate(self) -> float:
        """Daily rate of finding an employer: help of the supervising organisation, information."""
        sc = self.model.scenario
        sup, info = sc.supervision, sc.information
        lang = self.language
        if info.own_language_info:
            lang = max(lang, info.own_language_level)
        hearing = min(
            1.0, info.base + info.language_weight * lang + info.network_weight * self.network
        )
        help_ = sup.proactivity_floor + (1 - sup.proactivity_floor) * self.proactivity
        return sup.job_search_rate_per_year / YEAR * hearing * help_

    def risks(self, day: int) -> None:
        """Draw whether one of today's stochastic events happens, and which."""
        rates = self.rates(day)
        total = sum(r for _, r in rates)
        if total <= 0 or self.random.random() >= 1.0 - math.exp(-total):
            return
        u = self.random.random() * total
        kind = rates[-1][0]
        acc = 0.0
        for name, r in rates:
            acc += r
            if u < acc:
                kind = name
                break
        self.on_risk(kind, day)

    def on_risk(self, kind: str, day: int) -> None:
        """Apply one stochastic event."""
        model = self.model
        if kind == "dismissal":
            model.dismissals += 1
            self.cancel_timer()
            self.lose_job(day)
        elif kind == "runaway":
            self.cancel_timer()
            model.leave_return_queue(self)
            self.move(State.IRREGULAR, day)
        elif kind == "job_found":
            model.job_changes += 1
            self.cancel_timer()
            # Same stage, the rest of the contract (at least a month) with a new employer.
            end = self.contract_start + round(model.stage_days[self.stage])
            start = self.contract_start
            self.start_contract(self.stage, day)
            self.contract_start = start
            self.set_timer(CONTRACT_END, max(end, day + 30))
        elif kind == "apprehension":
            model.queue_return(self, day)
            self.since = day

    # ---- flying home -------------------------------------------------------------------------
    def depart(self, day: int) -> None:
        """A seat home: pay the ticket, leave with what is left of the debt and the savings."""
        model = self.model
        self.savings = max(self.savings - model.ticket[self.origin], 0.0)
        self.destitute = False
        self.cancel_timer()
        model.returned.append(
            Returned(
                day,
                self.origin,
                self.debt,
                self.savings,
                self.fee,
                self.debt0,
                (day - self.entered) / YEAR,
            )
        )
        self.queued = NEVER
        self.move(State.RETURNED, day)


class DockingModel(mesa.Model):
    """The model: calendar, recruitment, border queues, and the workers' daily steps."""

    def __init__(self, scenario: Scenario, seed: int = 1, scale: float = 1.0) -> None:
        super().__init__(seed=seed)
        check_supported(scenario)
        sc = scenario
        self.scenario = sc
        self.scale = float(scale)
        self.n_days = sc.n_days
        self.day = 0
        self.origins = list(sc.origins)
        self.origin_params = list(sc.origins.values())
        self.sector_range = list(range(len(sc.sectors)))
        self.sector_share = [s.share for s in sc.sectors.values()]
        n_o = len(self.origins)
        # Programme.
        prog = sc.programme
        self.stage_days = [s.months * MONTH for s in prog.stages]
        # Continuation by [origin][stage]: the stage's, unless the origin sets its own.
        self.continue_prob = [
            [o.continue_prob.get(s.name, s.continue_prob) for s in prog.stages]
            for o in self.origin_params
        ]
        self.n_stages = len(prog.stages)
        self.max_stay = None if prog.max_stay_years is None else prog.max_stay_years * YEAR
        self.grace_days = prog.grace_days
        self.welfare_eligible = prog.welfare_eligible
        self.lead = [o.training_days + o.clearance_days for o in self.origin_params]
        # Money.
        m = sc.money
        self.wage_day = m.wage_per_month * m.net_share / MONTH
        self.wage_year = self.wage_day * YEAR
        self.living_day = m.living_cost_per_month / MONTH
        self.subsist_day = m.subsistence_cost_per_month / MONTH
        self.repay_share, self.remit_share = m.repay_share, m.remit_share
        self.irregular_wage_factor = m.irregular_wage_factor
        self.sector_wage = [s.wage_factor for s in sc.sectors.values()]
        self.interest_day = [o.loan_interest_per_year / YEAR for o in self.origin_params]
        self.ticket = [o.return_ticket for o in self.origin_params]
        # Risks.
        beh = sc.behaviour
        self.runaway_day = [o.runaway_rate_per_year / YEAR for o in self.origin_params]
        self.dismissal_day = [s.dismissal_rate_per_year / YEAR for s in sc.sectors.values()]
        self.runaway_elasticity = beh.runaway_debt_elasticity
        self.no_income_factor = beh.runaway_no_income_factor
        self.apprehension_day = beh.apprehension_rate_per_year / YEAR
        self.debt_ref = [
            o.fee_pay_share * o.borrow_share * o.debt_mean / self.wage_year
            for o in self.origin_params
        ]
        self.hazard_states = (State.EMPLOYED, State.JOBLESS, State.STRANDED, State.IRREGULAR)
        # Events by start day, and today's hazard multipliers.
        self.starting: dict[int, list[Any]] = {}
        for ev in sc.events:
            self.starting.setdefault(sc.day(ev.date), []).append(ev)
        self._mult: dict[str, list[list[float]]] = {}
        # Borders.
        self.seats_in = [sc.borders.seats_in_per_day] * n_o
        self.seats_out = [sc.borders.seats_out_per_day] * n_o
        self.flight_seats = [0.0] * n_o
        self.in_carry = [0.0] * n_o
        self.out_carry = [0.0] * n_o
        self.entry_queues: list[deque[Worker]] = [deque() for _ in range(n_o)]
        self.return_queues: list[deque[Worker]] = [deque() for _ in range(n_o)]
        self.waiting_home = [0] * n_o
        # Recruitment.
        self.pool: list[list[Worker]] = [[] for _ in range(n_o)]
        self.recruit_carry = [0.0] * n_o
        # Records.
        self.flows: list[Counter] = [Counter() for _ in range(self.n_days)]
        self.returned: list[Returned] = []
        self.dismissals = 0
        self.job_changes = 0
        self.datacollector = mesa.DataCollector(model_reporters={"counts": count_states})
        self.initial_population()

    # ---- bookkeeping ---------------------------------------------------------------------------
    def count_move(self, old: State | None, new: State, origin: int) -> None:
        """Count a worker entering ``new`` (from ``old``, None when created) today."""
        self.flows[self.day][(old, new, origin)] += 1

    def multiplier(self, hazard: str, origin: int, sector: int) -> float:
        """Product of today's active multipliers of a hazard for an origin and sector."""
        table = self._mult.get(hazard)
        return 1.0 if table is None else table[origin][sector]

    def stage_exists(self, stage: int, day: int) -> bool:
        """Whether a stage is open on a run day."""
        start = self.scenario.programme.stages[stage].available_from
        return start is None or start <= self.scenario.start + dt.timedelta(days=day)

    def whole(self, x: float) -> int:
        """A scaled count as a whole number of agents, rounded at random without bias."""
        base = math.floor(x)
        return base + int(self.random.random() < x - base)

    # ---- demand and recruitment ----------------------------------------------------------------
    def demand_total(self, year: int) -> float:
        """Entries demanded in a year (the table's first and last years hold outside it)."""
        table = self.scenario.recruitment.demand
        years = sorted(table)
        return float(np.interp(year, years, [table[y] for y in years]))

    def shares(self, when: dt.date) -> list[float]:
        """Each origin's share of new entries at a date (interpolated by year, normalised)."""
        x = when.year + (when.timetuple().tm_yday - 1) / YEAR
        out = []
        for o in self.origin_params:
            years = sorted(o.demand_share)
            out.append(
                float(np.interp(x, [y + 0.5 for y in years], [o.demand_share[y] for y in years]))
            )
        total = sum(out)
        return [s / total for s in out] if total > 0 else out

    def daily_demand(self, day: int) -> list[float]:
        """Entries per day employers want, by origin (full scale)."""
        when = self.scenario.start + dt.timedelta(days=day)
        total = self.demand_total(when.year) / YEAR
        return [total * s for s in self.shares(when)]

    def charge_fees(self, w: Worker) -> None:
        """Fee to the sending agency and brokers; debt for those who borrow."""
        rnd = self.random
        o = self.origin_params[w.origin]
        sigma2 = math.log1p(o.fee_cv**2)
        fee = rnd.lognormvariate(math.log(max(o.fee_mean, 1e-9)) - sigma2 / 2, math.sqrt(sigma2))
        pays = rnd.random() < o.fee_pay_share
        fee = fee if pays and o.fee_mean > 0 else 0.0
        borrows = pays and rnd.random() < o.borrow_share
        ratio = o.debt_mean / o.fee_mean if o.fee_mean > 0 else 0.0
        debt = fee * min(ratio, 1.5) if borrows else 0.0
        w.fee, w.debt0, w.debt = fee, debt, debt
        w.savings = max(w.savings - (fee - debt), 0.0)

    def initial_population(self) -> None:
        """Workers in the host at the start (by stage), then the pipeline in training."""
        sc = self.scenario
        stage_index = {s.name: i for i, s in enumerate(sc.programme.stages)}
        for o_idx, o in enumerate(self.origin_params):
            for stage_name, stock in o.initial_stock.items():
                stage = stage_index[stage_name]
                n = self.whole(stock * self.scale)
                length = self.stage_days[stage]
                before = sum(self.stage_days[:stage])
                for _ in range(n):
                    elapsed = self.random.random() * length
                    entered = -math.floor(elapsed + before) - 1
                    w = Worker(self, o_idx, 0, State.EMPLOYED)
                    w.created = entered - self.lead[o_idx]
                    self.charge_fees(w)
                    w.entered = entered
                    w.selected = w.created
                    w.stage = stage
                    w.contract_start = -math.floor(elapsed) - 1
                    w.set_rates()
                    w.accrue(-entered)  # money since entry
                    w.money_day = 0
                    w.set_timer(CONTRACT_END, max(round(length - elapsed), 1))
        demand = self.daily_demand(0)
        for o_idx in range(len(self.origins)):
            n = self.whole(demand[o_idx] * self.scale * self.lead[o_idx])
            for _ in range(n):
                w = Worker(self, o_idx, 0, State.TRAINING)
                done = self.random.randint(1, self.lead[o_idx])
                w.created = done - self.lead[o_idx]
                w.selected = w.created
                self.charge_fees(w)
                w.set_timer(TRAINING_END, done)

    def recruit(self, day: int) -> None:
        """On selection days: new applicants join the pool, the best are selected."""
        rec = self.scenario.recruitment
        interval = rec.selection_interval_days
        if day % interval:
            return
        mult = 1.0
        for ev in self.scenario.events:
            if isinstance(ev, RecruitmentEvent) and self.active(ev, day):
                mult *= ev.multiplier
        for o_idx in range(len(self.origins)):
            target = self.daily_demand(day + self.lead[o_idx])[o_idx]
            want = target * interval * self.scale * mult / (1 - rec.training_dropout)
            total = want + self.recruit_carry[o_idx]
            n = math.floor(total)
            self.recruit_carry[o_idx] = total - n
            if n > 0:
                self.select(o_idx, n, day)

    def select(self, o_idx: int, n: int, day: int) -> None:
        """One selection round in one origin."""
        rec = self.scenario.recruitment
        for _ in range(math.ceil(n * rec.applicants_per_place)):
            w = Worker(self, o_idx, day, State.POOL)
            w.set_timer(POOL_TIMEOUT, day + rec.pool_wait_days)
            self.pool[o_idx].append(w)
        self.pool[o_idx] = [w for w in self.pool[o_idx] if w.state is State.POOL]
        eligible = [
            w
            for w in self.pool[o_idx]
            if rec.age_min <= w.age0 + (day - w.created) / YEAR <= rec.age_max
            and w.aptitude >= rec.aptitude_min
        ]
        eligible.sort(key=lambda w: -w.aptitude)
        lead = self.lead[o_idx]
        for w in eligible[:n]:
            w.selected = day
            w.cancel_timer()
            self.charge_fees(w)
            w.move(State.TRAINING, day)
            days = round(lead * self.random.uniform(0.8, 1.2))
            w.set_timer(TRAINING_END, day + max(days, 1))

    # ---- dated events --------------------------------------------------------------------------
    def active(self, ev: Any, day: int) -> bool:
        """Whether a dated event is in force on a run day."""
        end = getattr(ev, "end", None)
        last = self.scenario.day(end) if end is not None else self.n_days
        return self.scenario.day(ev.date) <= day <= last

    def apply_events(self, day: int) -> None:
        """Border changes and flights starting today; today's hazard multipliers."""
        self.flight_seats = [0.0] * len(self.origins)
        for ev in self.starting.get(day, []):
            if isinstance(ev, BorderEvent):
                which = (
                    range(len(self.origins))
                    if ev.corridor == "all"
                    else [self.origins.index(ev.corridor)]
                )
                for o in which:
                    if ev.direction in ("in", "both"):
                        self.seats_in[o] = ev.seats_per_day
                    if ev.direction in ("out", "both"):
                        self.seats_out[o] = ev.seats_per_day
            elif isinstance(ev, FlightEvent):
                self.flight_seats[self.origins.index(ev.corridor)] += ev.seats
        mult: dict[str, list[list[float]]] = {}
        for ev in self.scenario.events:
            if not isinstance(ev, HazardEvent) or not self.active(ev, day):
                continue
            table = mult.setdefault(
                ev.hazard, [[1.0] * len(self.sector_share) for _ in self.origins]
            )
            for o, name in enumerate(self.origins):
                if ev.origins is not None and name not in ev.origins:
                    continue
                for s, sname in enumerate(self.scenario.sectors):
                    if ev.sectors is None or sname in ev.sectors:
                        table[o][s] *= ev.multiplier
        self._mult = mult

    # ---- borders -------------------------------------------------------------------------------
    def queue_return(self, w: Worker, day: int) -> None:
        """A worker joins the back of the return queue of its corridor."""
        if w.in_return_queue:
            return
        w.in_return_queue = True
        w.queued = day
        self.return_queues[w.origin].append(w)
        self.waiting_home[w.origin] += 1

    def leave_return_queue(self, w: Worker) -> None:
        """A worker no longer waits for a seat (its place is skipped when reached)."""
        if w.in_return_queue:
            self.waiting_home[w.origin] -= 1
        w.in_return_queue = False
        w.queued = NEVER

    def borders(self, day: int) -> None:
        """Fill today's seats in from the entry queues and seats home from the return queues."""
        n_o = len(self.origins)
        arriving = []
        for o in range(n_o):
            total = self.seats_in[o] * self.scale + self.in_carry[o]
            seats = math.floor(total + 1e-9)
            self.in_carry[o] = total - seats
            q = self.entry_queues[o]
            while seats > 0 and q:
                arriving.append(q.popleft())
                seats -= 1
        for w in arriving:
            if w.entered is NEVER:
                w.entered = day
                w.start_contract(0, day)
            else:
                w.start_contract(w.stage, day)
        leaving = []
        for o in range(n_o):
            total = (self.seats_out[o] + self.flight_seats[o]) * self.scale + self.out_carry[o]
            seats = math.floor(total + 1e-9)
            self.out_carry[o] = total - seats
            q = self.return_queues[o]
            while seats > 0 and q and self.waiting_home[o] > 0:
                w = q.popleft()
                if not w.in_return_queue:
                    continue
                w.in_return_queue = False
                self.waiting_home[o] -= 1
                leaving.append(w)
                seats -= 1
        for w in leaving:
            w.depart(day)

    # ---- the day ---------------------------------------------------------------------------------
    def step(self) -> None:
        """One day: events, recruitment, every worker's step, borders, records."""
        day = self.day
        self.apply_events(day)
        self.recruit(day)
        self.agents.do("step")
        self.borders(day)
        self.datacollector.collect(self)
        self.day += 1

    def run(self) -> DockingModel:
        """Run every day of the scenario."""
        while self.day < self.n_days:
            self.step()
        return self


def count_states(model: DockingModel) -> Counter:
    """The DataCollector's reporter: workers by (state, origin), and the destitute by origin."""
    c: Counter = Counter()
    for w in model.agents:
        c[(w.state, w.origin)] += 1
        if w.destitute:
            c[("destitute", w.origin)] += 1
    return c


def stocks(model: DockingModel) -> np.ndarray:
    """Workers by day, state and origin, ``[day, state, origin]``, like tmpsim's records.

    Live states come from the DataCollector's daily counts; terminal states (whose workers were
    removed from the model) are the running sum of the flows into them.
    """
    n_o = len(model.origins)
    out = np.zeros((model.n_days, len(State), n_o), dtype=np.int64)
    for day, c in enumerate(model.datacollector.model_vars["counts"]):
        for key, v in c.items():
            if key[0] != "destitute":
                out[day, int(key[0]), key[1]] += v
    into = np.zeros((model.n_days, len(State), n_o), dtype=np.int64)
    for day, flows in enumerate(model.flows):
        for (_, new, origin), v in flows.items():
            if new in GONE:
                into[day, int(new), origin] += v
    gone = [int(s) for s in GONE]
    out[:, gone, :] = np.cumsum(into[:, gone, :], axis=0)
    return out


def destitute(model: DockingModel) -> np.ndarray:
    """Destitute workers by day and origin, ``[day, origin]``."""
    out = np.zeros((model.n_days, len(model.origins)), dtype=np.int64)
    for day, c in enumerate(model.datacollector.model_vars["counts"]):
        for key, v in c.items():
            if key[0] == "destitute":
                out[day, key[1]] += v
    return out
