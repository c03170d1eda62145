"""Compiled kernels of the hazards module, each with its NumPy reference.

``rates_kernel`` computes every hazard's daily rate for agents in one state (its reference:
``rates_reference``, the model's formulas as NumPy expressions); ``draw_kernel`` turns the rates
and random numbers into filed events (its reference: ``draw_reference``). The tests hold each
kernel to its reference bit for bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from tmpsim.engine.calendar import file_entries
from tmpsim.engine.jit import njit
from tmpsim.engine.population import NEVER
from tmpsim.kinds import HAZARD_NAMES, HAZARDS_BY_STATE, Hazard, State, Timer

if TYPE_CHECKING:
    from tmpsim.model.hazards import Hazards
    from tmpsim.simulation import Simulation

# The kinds as plain integers: numba compiles module-level integers in as constants.
_NONE = int(Hazard.NONE)  # a column that stays zero; a filed event that only redraws
_DISMISSAL = int(Hazard.DISMISSAL)
_RUNAWAY = int(Hazard.RUNAWAY)
_JOB_FINDING = int(Hazard.JOB_FINDING)
_SWITCH = int(Hazard.STATUS_SWITCH)
_APPREHENSION = int(Hazard.APPREHENSION)
_CANCELLATION = int(Hazard.CANCELLATION)
_VOLUNTARY = int(Hazard.VOLUNTARY_CHANGE)
_CANCEL_TIMER = int(Timer.CANCEL)
_NEVER = int(NEVER)


class RateAgents(NamedTuple):
    """The agent fields the rates read (the population's current arrays)."""

    profile: np.ndarray  # origin and segment (``tmpsim.model.segments``)
    sector: np.ndarray
    stage: np.ndarray
    debt: np.ndarray
    female: np.ndarray
    queued: np.ndarray
    timer_kind: np.ndarray
    contract_start: np.ndarray
    language: np.ndarray
    network: np.ndarray
    proactivity: np.ndarray
    dismissed: np.ndarray
    employer_changes: np.ndarray  # voluntary changes made (``Lifecycle.voluntary_change``)


# A stage's limit on voluntary changes when it has none: beyond any count one byte holds.
NO_LIMIT = 256


class RateConstants(NamedTuple):
    """What the rates have in common for the whole run (from the scenario)."""

    job: tuple  # job finding's float32 constants (see ``rates_kernel``)
    dismissal_base: np.ndarray  # by sector, per day
    runaway_base: np.ndarray  # by profile, per day
    debt_ref: np.ndarray  # mean debt burden at departure, by profile
    by_stage: np.ndarray  # runaway factor by stage
    use_stage: bool  # whether any stage factor differs from one
    wage_year: float
    elasticity: float  # runaway's debt elasticity
    change_after: np.ndarray  # days with one employer before a change is allowed, by sector
    cancel_female: float  # cancellation rate per day of a woman, of a man
    cancel_male: float
    limit_changes: bool  # whether voluntary changes are limited (``job_change.max_changes*``)
    change_limit: np.ndarray  # the most voluntary changes, by stage (read only with limit_changes)


class RatePlan(NamedTuple):
    """What the rates of one state on one day have in common (see ``Hazards._plans_of``)."""

    kinds: np.ndarray  # hazard of each column (NONE: stays zero today)
    mult: np.ndarray  # event multipliers by column, profile and sector
    value: np.ndarray  # constant rates by column
    special: float  # sum of the special job-change routes' multipliers open today
    job_mode: int  # job finding: 0 no route, 1 jobless (own and special routes), 2 special only
    job_open: int  # the programme's own route: 0 closed, 1 after a dismissal, 2 open to all
    job_mult_kind: int  # the job-finding multiplier: 0 none, 1 one number, 2 by origin and sector
    factor_mode: int  # runaway: 0 no state factor, 1 ``factor``, 2 by the right to change
    factor: float
    diverted: float
    need_tenure: bool
    market: float
    use_market: bool


# The kernels take these bundles as plain tuples (numba reads a tuple's items as cheaply as
# separate arguments, a NamedTuple's more slowly) and unpack them in the fields' order.


@njit(cache=True)
def draw_kernel(
    ids: np.ndarray,
    rates: np.ndarray,
    total: np.ndarray,
    live: np.ndarray,
    pending: np.ndarray,
    expo: np.ndarray,
    unif: np.ndarray,
    kinds: np.ndarray,
    day: int,
    hazard_kind: np.ndarray,
    calendar: tuple,
    n_free: int,
) -> int:  # pragma: no cover
    """File each live agent's next stochastic event; cancel the others' (returns free blocks).

    The ``j``-th live agent waits ``ceil(expo[j] / total)`` days (at least one, at most 1e8) for
    the hazard whose share of the cumulated rates first reaches ``unif[j]``. Where its rates
    change before that (``pending``, empty if never) it is filed for that day with ``Hazard.NONE``
    instead, to be drawn again then.
    """
    field, n_days, first, last, fill, count, agent, nxt, free = calendar  # Calendar.arrays()
    n_kinds = kinds.size
    j = 0
    n_filed = 0
    filed = np.empty(ids.size, dtype=np.int64)
    when = np.empty(ids.size, dtype=np.int64)
    for k in range(ids.size):
        i = ids[k]
        if not live[k]:
            field[i] = -1
            continue
        tot = total[k]
        u = unif[j]
        pick = 0
        if tot > 0.0:
            wait = np.ceil(expo[j] / tot)
            cum = 0.0
            for c in range(n_kinds):
                cum += rates[k, c]
                if u > cum / tot:
                    pick += 1
        else:  # only a coming change of rates: nothing can happen before it
            wait = np.inf
        j += 1
        wait = min(max(wait, 1.0), 1e8)
        kind = kinds[min(pick, n_kinds - 1)]
        if pending.size and pending[k] < wait:
            wait = pending[k]
            kind = _NONE
        hazard_kind[i] = kind
        filed[n_filed] = i
        when[n_filed] = day + np.int64(wait)
        n_filed += 1
    return file_entries(
        filed[:n_filed],
        when[:n_filed],
        field,
        n_days,
        first,
        last,
        fill,
        count,
        agent,
        nxt,
        free,
        n_free,
    )


@njit(cache=True)
def rates_kernel(
    ids: np.ndarray,
    day: int,
    agents: RateAgents,
    plan: RatePlan,
    const: RateConstants,
    out: np.ndarray,
    total: np.ndarray,
    pending: np.ndarray,
    live: np.ndarray,
) -> int:  # pragma: no cover
    """Write the daily rate of each hazard (column) of each agent of ``ids`` (row) to ``out``.

    Also each agent's total rate (the columns added in order), where ``need_tenure`` the days
    until it may change employer if still ahead (``pending``, else infinity: its rates change
    then), and whether anything can happen to it (``live``: a positive total or a change ahead).
    Returns how many are live. With ``limit_changes`` an agent who has made the voluntary
    changes ``change_limit`` allows may not change employer, and waits for no right
    to change (``pending`` infinity).

    ``kinds[c]`` is the hazard of column ``c`` (0: the column stays zero), ``mult[c]`` its
    multiplier by profile and sector (ones where no event applies; multiplying by one changes
    nothing), ``value[c]`` its constant rate (status switch, apprehension, voluntary change).

    The operations and their order are those of the NumPy expressions the tests hold the kernel
    to, so the rates are the same to the bit:

    - dismissal: the sector's base rate, times the multiplier;
    - job finding (``job_mode`` 0: no route open, the column stays zero): the rate of hearing of
      and being helped to an employer (``job``: the float32 constants of ``Hazards`` and the
      agent's float32 language, network and supervisor's proactivity; float32 arithmetic, as the
      attributes are stored), times the routes open: with ``job_mode`` 1 (jobless) one for the
      programme's own route where open (``job_open`` 0: closed, 1: after a dismissal, 2: to
      all) plus ``special`` (the special routes' multipliers), in float64, times the
      multiplier; with ``job_mode`` 2 ``special`` only, in float32 until a multiplier by origin
      and sector (``job_mult_kind`` 1: one number, in float32; 2: by origin and sector);
    - runaway: the profile's base times (1 + elasticity x debt burden) over its reference,
      times the stage factor (``use_stage``), the state's factor (``factor_mode`` 1: ``factor``;
      2: one minus ``diverted`` once the agent may change employer, which ``need_tenure`` must
      then ask for), the multiplier (the events' times the legal ways out: a closed way home
      by origin, an open onward route by sector for the employed) and the labour-market factor
      times the unfilled places' pull (``use_market``);
    - status switch: the constant times the multiplier;
    - apprehension: the constant times the multiplier, zero for someone already caught;
    - cancellation: the female or male rate times the multiplier, zero while one is pending;
    - voluntary change: the constant once the agent may change employer (long enough with the
      employer and, with ``limit_changes``, a change left), else zero.
    """
    (
        profile_of, sector_of, stage_of, debt, female, queued, timer_kind, contract_start,
        language, network, proactivity, dismissed, employer_changes,
    ) = agents  # fmt: skip
    (
        kinds, mult, value, special, job_mode, job_open, job_mult_kind, factor_mode, factor,
        diverted, need_tenure, market, use_market,
    ) = plan  # fmt: skip
    (
        job, dismissal_base, runaway_base, debt_ref, by_stage, use_stage, wage_year, elasticity,
        change_after, cancel_female, cancel_male, limit_changes, change_limit,
    ) = const  # fmt: skip
    n_cols = kinds.size
    n_live = 0
    for k in range(ids.size):
        i = ids[k]
        o = profile_of[i]
        s = sector_of[i]
        allowed = False
        wait = 0.0
        if need_tenure:  # long enough with the employer to change (job-change mode free)
            if limit_changes and employer_changes[i] >= change_limit[stage_of[i]]:
                pending[k] = np.inf  # no change left: none allowed, none to wait for
            else:
                tenure = np.float64(day - np.int64(contract_start[i]))
                wait = max(np.ceil(change_after[s] - tenure), 0.0)
                allowed = wait <= 0
                pending[k] = wait if wait > 0 else np.inf
        tot = 0.0
        for c in range(n_cols):
            kind = kinds[c]
            r = 0.0
            if kind == _DISMISSAL:
                r = dismissal_base[s] * mult[c, o, s]
            elif kind == _RUNAWAY:
                burden = debt[i] / wage_year
                r = runaway_base[o] * (1 + elasticity * burden) / (1 + elasticity * debt_ref[o])
                if use_stage:
                    r = r * by_stage[stage_of[i]]
                if factor_mode == 1:
                    r = r * factor
                elif factor_mode == 2:
                    r = r * (1 - diverted * (1.0 if allowed else 0.0))
                r = r * mult[c, o, s]
                if use_market:
                    r = r * market
            elif kind == _JOB_FINDING and job_mode != 0:
                own_info, level, base, w_lang, w_net, floor, lift, per_day, consent, p = job
                lang = language[i]
                if own_info:
                    lang = max(lang, level)
                hearing = min(np.float32(1.0), base + w_lang * lang + w_net * network[i])
                rate = per_day * hearing * (floor + lift * proactivity[i])
                if consent:
                    rate = rate * p
                if job_mode == 1:
                    own = job_open == 2 or job_open == 1 and dismissed[i]
                    r = np.float64(rate) * ((1.0 if own else 0.0) + special) * mult[c, o, s]
                else:
                    r32 = rate * np.float32(special)
                    if job_mult_kind == 1:
                        r32 = r32 * np.float32(mult[c, o, s])
                    r = np.float64(r32)
                    if job_mult_kind == 2:
                        r = r * mult[c, o, s]
            elif kind == _SWITCH:
                r = value[c] * mult[c, o, s]
            elif kind == _APPREHENSION:
                if queued[i] == _NEVER:
                    r = value[c] * mult[c, o, s]
            elif kind == _CANCELLATION:
                if timer_kind[i] != _CANCEL_TIMER:
                    r = (cancel_female if female[i] else cancel_male) * mult[c, o, s]
            elif kind == _VOLUNTARY:
                if allowed:
                    r = value[c]
            out[k, c] = r
            tot += r
        total[k] = tot
        live[k] = tot > 0 or wait > 0
        n_live += live[k]
    return n_live


# ---- references ----------------------------------------------------------------------------
def draw_reference(
    rates: np.ndarray,
    total: np.ndarray,
    live: np.ndarray,
    pending: np.ndarray,
    expo: np.ndarray,
    unif: np.ndarray,
    kinds: np.ndarray,
    day: int,
) -> tuple[np.ndarray, np.ndarray]:
    """What ``draw_kernel`` files, with NumPy: (kind, day) of each agent, day -1 if not live.

    A live agent waits ``ceil(expo / total)`` days (at least 1, at most 1e8) for the first hazard
    whose share of the cumulated rates reaches its uniform number; a change of rates due sooner
    (``pending``) replaces it by a redraw (``Hazard.NONE``) on that day.
    """
    n = total.size
    kind = np.zeros(n, dtype=np.int8)
    when = np.full(n, -1, dtype=np.int64)
    tot = total[live]
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = np.where(tot > 0, np.ceil(expo / tot), np.inf)
        share = np.cumsum(rates[live], axis=1) / tot[:, None]
    wait = np.minimum(np.maximum(wait, 1.0), 1e8)
    pick = np.where(tot > 0, (unif[:, None] > share).sum(axis=1), 0)
    k = kinds[np.minimum(pick, kinds.size - 1)]
    if pending.size:
        sooner = pending[live] < wait
        wait = np.where(sooner, pending[live], wait)
        k = np.where(sooner, _NONE, k)
    kind[live] = k
    when[live] = day + wait.astype(np.int64)
    return kind, when


def change_wait(hz: Hazards, ids: np.ndarray, day: int) -> np.ndarray:
    """Days until each agent may change employer voluntarily (zero if it may, or never will).

    The days until it has been with its employer long enough; zero for an agent who has made
    the most voluntary changes allowed (``changes_left``), whose right never comes.
    """
    tenure = day - hz.sim.pop.contract_start[ids].astype(np.int64)
    wait = np.maximum(np.ceil(hz.change_after[hz.sim.pop.sector[ids]] - tenure), 0.0)
    return np.where(changes_left(hz, ids), wait, 0.0)


def changes_left(hz: Hazards, ids: np.ndarray) -> np.ndarray:
    """Whether each agent may still make a voluntary change (``job_change.max_changes*``)."""
    pop = hz.sim.pop
    if hz.change_limit is None:
        return np.ones(ids.size, dtype=bool)
    return pop.employer_changes[ids] < hz.change_limit[pop.stage[ids]]


def job_rate(sim: Simulation, ids: np.ndarray) -> np.ndarray:
    """Daily rate of finding an employer with the programme's own help and information."""
    pop, sup, info = sim.pop, sim.scenario.supervision, sim.scenario.information
    lang = pop.language[ids]
    if info.own_language_info:
        lang = np.maximum(lang, info.own_language_level)
    hearing = np.minimum(
        1.0, info.base + info.language_weight * lang + info.network_weight * pop.network[ids]
    )
    help_ = sup.proactivity_floor + (1 - sup.proactivity_floor) * pop.proactivity[ids]
    rate = sup.job_search_rate_per_year / 365.25 * hearing * help_
    jc = sim.scenario.programme.job_change
    if jc.needs_sponsor_consent:
        rate = rate * jc.sponsor_consent_prob
    return rate


def rates_reference(hz: Hazards, ids: np.ndarray, state: State, day: int) -> np.ndarray:
    """Each hazard's daily rate of ``ids`` in ``state`` on ``day``, with NumPy (``rates_kernel``).

    One column per hazard of the state (``HAZARDS_BY_STATE``), zero where a route is closed.
    """
    sim = hz.sim
    pop, tl = sim.pop, sim.timeline
    beh, jc = sim.scenario.behaviour, sim.scenario.programme.job_change
    mode = sim.rules["job_change_mode"]
    profile, sector = pop.profile[ids], pop.sector[ids]
    kinds = HAZARDS_BY_STATE[state]
    out = np.zeros((ids.size, len(kinds)))

    def times(r, kind):
        table = tl.multiplier_table(HAZARD_NAMES[kind], day)
        if table is None:
            return r
        return r * table if isinstance(table, float) else r * table[profile, sector]

    wait = change_wait(hz, ids, day)
    allowed = (wait <= 0) & changes_left(hz, ids)  # may change employer now (mode free)
    for j, kind in enumerate(kinds):
        if kind is Hazard.DISMISSAL:
            r = times(hz.dismissal_base[sector], kind)
        elif kind is Hazard.RUNAWAY:
            e = beh.runaway_debt_elasticity
            r = hz.runaway_base[profile] * (1 + e * (pop.debt[ids] / hz.wage_year))
            r = r / (1 + e * hz.debt_ref[profile])
            if hz.use_stage:
                r = r * hz.runaway_by_stage[pop.stage[ids]]
            if state not in (State.EMPLOYED, State.SPECIAL_WORKING):
                r = r * np.full(ids.size, beh.runaway_no_income_factor)
            elif mode == "free":
                free = allowed if state is State.EMPLOYED else True
                r = r * np.broadcast_to(1 - jc.runaway_diverted * free, ids.shape)
            # The events' table (by profile and sector) times the legal ways out (by origin, and
            # by sector if employed).
            mult = np.ones((len(sim.profiles), len(sim.sectors)))
            table = tl.multiplier_table(HAZARD_NAMES[kind], day)
            if table is not None:
                mult[:] = table
            mult *= tl.home_closed_push(day)[hz.profile_origin][:, None]
            if state is State.EMPLOYED:
                mult *= tl.legal_route_relief(day)[None, :]
            r = r * mult[profile, sector]
            market = beh.runaway_labour_market
            factor = 1.0
            if market is not None and market.active:
                factor = market.factor(sim.scenario.date(day).year)
            pull = sim.vacancies.runaway_factor()  # places left unfilled
            if market is not None and market.active or pull != 1.0:
                r = r * (factor * pull)
        elif kind is Hazard.JOB_FINDING:
            if state is not State.JOBLESS:
                open_ = False
            elif mode == "forbidden":
                open_ = np.zeros(ids.size, bool)
            else:
                open_ = np.ones(ids.size, bool) if mode == "free" else pop.dismissed[ids].copy()
            special = sum(e.rate_multiplier for e in tl.job_change_routes(state, day))
            if special == 0 and not np.any(open_):
                continue
            r = times(job_rate(sim, ids) * (open_ + special), kind)
        elif kind is Hazard.STATUS_SWITCH:
            rate = tl.status_switch_rate(state, day)
            if rate == 0:
                continue
            r = times(np.full(ids.size, rate / 365.25), kind)
        elif kind is Hazard.APPREHENSION:
            r = times(np.full(ids.size, beh.apprehension_rate_per_year / 365.25), kind)
            r = np.where(pop.queued[ids] != NEVER, 0.0, r)
        elif kind is Hazard.CANCELLATION:
            if hz.cancel_rate == 0:
                continue
            r = np.where(pop.female[ids], hz.cancel_rate, hz.cancel_rate - hz.cancel_rate_f)
            r = times(r, kind)
            r = np.where(pop.timer_kind[ids] == int(Timer.CANCEL), 0.0, r)
        else:  # VOLUNTARY_CHANGE
            rate = jc.voluntary_rate_per_year
            if jc.needs_sponsor_consent:  # the employer left must release the worker
                rate *= jc.sponsor_consent_prob
            if mode != "free" or rate == 0:
                continue
            r = np.where(allowed, rate / 365.25, 0.0)
        out[:, j] = r
    return out
