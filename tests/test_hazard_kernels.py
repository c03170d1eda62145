"""The compiled rates give the NumPy rates to the bit, in every state, mode and scenario.

``numpy_rates`` is the NumPy expression of each hazard's daily rate, operation by operation, as
the model defines it (docs/ODD.md, section 7). ``Hazards.rates`` computes the same in one
compiled pass (``rates_kernel``); any difference, even in the last bit, would change the draws.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tmpsim.engine.population import NEVER
from tmpsim.kinds import HAZARD_NAMES, HAZARDS_BY_STATE, Hazard, Timer
from tmpsim.model.hazards import YEAR
from tmpsim.scenario import load_scenario
from tmpsim.scenario.schema import HazardEvent
from tmpsim.simulation import Simulation
from tmpsim.states import State

SCENARIOS = ["japan-titp-covid", "japan-esd-2027-covid", "gulf-kafala-covid"]
MODES = ["forbidden", "on_dismissal", "free"]


def change_wait(sim: Simulation, ids: np.ndarray, day: int) -> np.ndarray:
    """Days until each agent has been with its employer long enough to change."""
    tenure = day - sim.pop.contract_start[ids].astype(np.int64)
    return np.maximum(np.ceil(sim.hazards.change_after[sim.pop.sector[ids]] - tenure), 0.0)


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
    rate = sup.job_search_rate_per_year / YEAR * hearing * help_
    jc = sim.scenario.programme.job_change
    if jc.needs_sponsor_consent:
        rate = rate * jc.sponsor_consent_prob
    return rate


def numpy_rates(sim: Simulation, ids: np.ndarray, state: State, day: int) -> np.ndarray:
    """Each hazard's daily rate of ``ids`` in ``state`` on ``day``, with NumPy."""
    hz, pop, tl = sim.hazards, sim.pop, sim.timeline
    beh, jc = sim.scenario.behaviour, sim.scenario.programme.job_change
    mode = sim.rules["job_change_mode"]
    origin, sector = pop.origin[ids], pop.sector[ids]
    kinds = HAZARDS_BY_STATE[state]
    out = np.zeros((ids.size, len(kinds)))

    def times(r, kind):
        table = tl.multiplier_table(HAZARD_NAMES[kind], day)
        if table is None:
            return r
        return r * table if isinstance(table, float) else r * table[origin, sector]

    wait = change_wait(sim, ids, day)
    for j, kind in enumerate(kinds):
        if kind is Hazard.DISMISSAL:
            r = times(hz.dismissal_base[sector], kind)
        elif kind is Hazard.RUNAWAY:
            e = beh.runaway_debt_elasticity
            r = hz.runaway_base[origin] * (1 + e * (pop.debt[ids] / hz.wage_year))
            r = r / (1 + e * hz.debt_ref[origin])
            if hz.use_stage:
                r = r * hz.runaway_by_stage[pop.stage[ids]]
            if state not in (State.EMPLOYED, State.SPECIAL_WORKING):
                r = r * np.full(ids.size, beh.runaway_no_income_factor)
            elif mode == "free":
                allowed = wait <= 0 if state is State.EMPLOYED else True
                r = r * np.broadcast_to(1 - jc.runaway_diverted * allowed, ids.shape)
            r = times(r, kind)
            market = beh.runaway_labour_market
            if market is not None and market.elasticity != 0:
                r = r * market.factor(sim.scenario.date(day).year)
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
            r = times(np.full(ids.size, rate / YEAR), kind)
        elif kind is Hazard.APPREHENSION:
            r = times(np.full(ids.size, beh.apprehension_rate_per_year / YEAR), kind)
            r = np.where(pop.queued[ids] != NEVER, 0.0, r)
        elif kind is Hazard.CANCELLATION:
            if hz.cancel_rate == 0:
                continue
            r = np.where(pop.female[ids], hz.cancel_rate, hz.cancel_rate - hz.cancel_rate_f)
            r = times(r, kind)
            r = np.where(pop.timer_kind[ids] == int(Timer.CANCEL), 0.0, r)
        else:  # VOLUNTARY_CHANGE
            if mode != "free" or jc.voluntary_rate_per_year == 0:
                continue
            r = np.where(wait <= 0, jc.voluntary_rate_per_year / YEAR, 0.0)
        out[:, j] = r
    return out


@pytest.fixture(scope="module", params=SCENARIOS)
def sim(request) -> Simulation:
    """A small run of a bundled scenario with every agent attribute the rates read varied."""
    cancellations = [
        {"name": "any", "rate_per_year": 0.02},
        {"name": "pregnancy", "rate_per_year": 0.01, "females_only": True},
    ]
    sc = load_scenario(request.param, {"programme.cancellations": cancellations})
    # Job finding multiplied for everyone (one number), then also in one sector (a table),
    # from the day special job-change routes first open, if any.
    routes = [e.date for e in sc.events if e.type == "job_change"]
    first = min(routes) if routes else sc.start + dt.timedelta(days=300)
    extra = [
        HazardEvent(
            type="hazard",
            date=first,
            end=first + dt.timedelta(days=200),
            hazard="job_finding",
            multiplier=1.7,
        ),
        HazardEvent(
            type="hazard",
            date=first + dt.timedelta(days=100),
            end=first + dt.timedelta(days=300),
            hazard="job_finding",
            multiplier=0.3,
            sectors=[next(iter(sc.sectors))],
        ),
    ]
    sc = sc.model_copy(update={"events": [*sc.events, *extra]})
    s = Simulation(sc, seed=5, scale=0.002)
    pop, n = s.pop, s.pop.n
    rng = np.random.default_rng(11)
    pop.debt[:n] = rng.exponential(3e5, n) * (rng.random(n) < 0.6)
    pop.stage[:n] = rng.integers(0, len(s.scenario.programme.stages), n)
    pop.female[:n] = rng.random(n) < 0.4
    pop.dismissed[:n] = rng.random(n) < 0.5
    pop.queued[:n] = np.where(rng.random(n) < 0.3, 17, NEVER)
    pop.timer_kind[:n] = np.where(rng.random(n) < 0.3, int(Timer.CANCEL), 0)
    pop.contract_start[:n] = rng.integers(-900, s.n_days, n)
    pop.language[:n] = rng.random(n)
    pop.network[:n] = rng.random(n)
    pop.proactivity[:n] = rng.random(n)
    return s


@pytest.mark.parametrize("mode", MODES)
def test_compiled_rates_equal_numpy_rates_to_the_bit(sim: Simulation, mode: str) -> None:
    sim.rules["job_change_mode"] = mode
    ids = np.arange(sim.pop.n, dtype=np.int64)[::-1].copy()  # any order, not only ascending
    starts = [sim.scenario.day(e.date) for e in sim.scenario.events]
    days = sorted({*range(0, sim.n_days, 37), *(d for d in starts if 0 <= d < sim.n_days)})
    differing = []
    for day in days:
        for state in HAZARDS_BY_STATE:
            got, total, pending, live, n_live = sim.hazards._rates(ids, state, day)
            want = numpy_rates(sim, ids, state, day)
            assert got.shape == want.shape
            if not np.array_equal(got, want):
                differing.append((day, state.name))
            assert np.array_equal(total, got.sum(axis=1))
            if state is State.EMPLOYED and mode == "free":
                wait = change_wait(sim, ids, day)
                assert np.array_equal(pending, np.where(wait > 0, wait, np.inf))
                assert np.array_equal(live, (total > 0) | (wait > 0))
            else:
                assert pending.size == 0
                assert np.array_equal(live, total > 0)
            assert n_live == live.sum()
    assert not differing, differing[:10]


def test_some_rates_under_test_are_not_trivial(sim: Simulation) -> None:
    """The comparison above sees positive rates of every hazard some state can have."""
    sim.rules["job_change_mode"] = "free"
    ids = np.arange(sim.pop.n, dtype=np.int64)
    seen: set[Hazard] = set()
    for day in range(0, sim.n_days, 37):
        for state, kinds in HAZARDS_BY_STATE.items():
            positive = (sim.hazards.rates(ids, state, day) > 0).any(axis=0)
            seen |= {k for k, p in zip(kinds, positive, strict=True) if p}
    expected = {Hazard.DISMISSAL, Hazard.RUNAWAY, Hazard.JOB_FINDING, Hazard.APPREHENSION}
    expected.add(Hazard.CANCELLATION)
    if sim.scenario.programme.job_change.voluntary_rate_per_year > 0:
        expected.add(Hazard.VOLUNTARY_CHANGE)
    if any(e.type == "status_switch" for e in sim.scenario.events):
        expected.add(Hazard.STATUS_SWITCH)
    assert expected <= seen
