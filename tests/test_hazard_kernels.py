"""The compiled rates give the NumPy rates to the bit, in every state, mode and scenario.

``rates_reference`` (beside the kernel) is the NumPy expression of each hazard's daily rate,
operation by operation, as the model defines it (docs/ODD.md, section 7). ``Hazards.rates``
computes the same in one compiled pass (``rates_kernel``); any difference, even in the last bit,
would change the draws. ``draw_kernel`` files what ``draw_reference`` computes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tmpsim.engine.calendar import Calendar
from tmpsim.engine.population import NEVER
from tmpsim.kinds import HAZARDS_BY_STATE, Hazard, Timer
from tmpsim.model.hazard_kernels import (
    change_wait,
    draw_kernel,
    draw_reference,
    rates_reference,
)
from tmpsim.scenario import load_scenario
from tmpsim.scenario.schema import HazardEvent
from tmpsim.simulation import Simulation
from tmpsim.states import State

# Bundled scenarios, and the limit on voluntary changes of employer (None: no limit; a whole
# number over the stay; a mapping by stage, where a stage not named has none).
CASES = [
    ("japan-titp-covid", None),
    ("japan-esd-2027-covid", None),
    ("gulf-kafala-covid", None),
    ("japan-esd-2027-covid", 2),
    ("japan-esd-2027-covid", {"esd": 1}),
]
MODES = ["forbidden", "on_dismissal", "free"]


def _case_id(case: tuple) -> str:
    name, limit = case
    return f"{name}-by-stage" if isinstance(limit, dict) else f"{name}-max{limit}"


@pytest.fixture(scope="module", params=CASES, ids=_case_id)
def sim(request) -> Simulation:
    """A small run of a bundled scenario with every agent attribute the rates read varied."""
    name, max_changes = request.param
    cancellations = [
        {"name": "any", "rate_per_year": 0.02},
        {"name": "pregnancy", "rate_per_year": 0.01, "females_only": True},
    ]
    overrides = {"programme.cancellations": cancellations}
    if isinstance(max_changes, dict):
        overrides["programme.job_change.max_changes_by_stage"] = max_changes
    elif max_changes is not None:
        overrides["programme.job_change.max_changes"] = max_changes
    sc = load_scenario(name, overrides)
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
    pop.employer_changes[:n] = rng.integers(0, 4, n)  # read only where changes are limited
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
            want = rates_reference(sim.hazards, ids, state, day)
            assert got.shape == want.shape
            if not np.array_equal(got, want):
                differing.append((day, state.name))
            assert np.array_equal(total, got.sum(axis=1))
            if state is State.EMPLOYED and mode == "free":
                wait = change_wait(sim.hazards, ids, day)
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


def test_no_voluntary_change_once_the_limit_is_reached(sim: Simulation) -> None:
    """Workers who made the voluntary changes allowed (over the stay, or in their stage) draw
    none, nor wait for the right."""
    sim.rules["job_change_mode"] = "free"
    limits = sim.hazards.change_limit
    ids = np.arange(sim.pop.n, dtype=np.int64)
    day = sim.n_days - 1
    rates, _, pending, _, _ = sim.hazards._rates(ids, State.EMPLOYED, day)
    voluntary = rates[:, list(HAZARDS_BY_STATE[State.EMPLOYED]).index(Hazard.VOLUNTARY_CHANGE)]
    tenure = day - sim.pop.contract_start[ids].astype(np.int64)
    settled = tenure >= sim.hazards.change_after[sim.pop.sector[ids]]
    made = sim.pop.employer_changes[ids]
    assert (voluntary[~settled] == 0).all()
    if sim.scenario.programme.job_change.voluntary_rate_per_year == 0:
        assert (voluntary == 0).all()
        return
    if limits is None:  # the count is not read: everyone settled may change
        assert (voluntary[settled] > 0).all()
        return
    by_stage = sim.scenario.programme.job_change.max_changes_by_stage
    if by_stage is not None:  # the stages not named have no limit
        named = np.isin(sim.pop.stage[ids], [0])  # the case names the first stage only
        assert named.any() and (~named).any()
    spent = made >= limits[sim.pop.stage[ids]]
    assert spent.any() and (~spent & settled).any() and (spent & ~settled).any()
    assert (voluntary[spent] == 0).all() and (pending[spent] == np.inf).all()
    assert (voluntary[~spent & settled] > 0).all()
    assert (pending[~spent & ~settled] < np.inf).all()
    # Nor are they diverted from running away: their runaway rate is the one without free
    # change; those who may change run away 1 - runaway_diverted as often.
    runaway = list(HAZARDS_BY_STATE[State.EMPLOYED]).index(Hazard.RUNAWAY)
    sim.rules["job_change_mode"] = "on_dismissal"
    tied = sim.hazards.rates(ids, State.EMPLOYED, day)[:, runaway]
    diverted = sim.scenario.programme.job_change.runaway_diverted
    assert np.array_equal(rates[spent, runaway], tied[spent])
    free = ~spent & settled
    assert (tied[spent] > 0).any() and (tied[free] > 0).any()
    assert np.allclose(rates[free, runaway], tied[free] * (1 - diverted), rtol=1e-12)


@pytest.mark.parametrize("with_pending", [False, True])
def test_draw_kernel_files_what_the_reference_draws(with_pending: bool) -> None:
    rng = np.random.default_rng(4)
    n, n_days, day = 500, 400, 7
    rates = rng.exponential(0.01, (n, 3)) * (rng.random((n, 3)) < 0.7)
    rates[:20] = 0.0  # nothing can happen to them (live only with a change ahead)
    total = rates.sum(axis=1)
    pending = np.where(rng.random(n) < 0.5, rng.integers(1, 300, n), np.inf)
    live = (total > 0) | (with_pending & (pending < np.inf))
    pending = pending if with_pending else np.empty(0)
    expo, unif = rng.exponential(1.0, live.sum()), rng.random(live.sum())
    kinds = np.array([Hazard.DISMISSAL, Hazard.RUNAWAY, Hazard.CANCELLATION], dtype=np.int8)
    ids = rng.permutation(n).astype(np.int64)
    field, hazard_kind = np.full(n, -5, np.int32), np.zeros(n, np.int8)
    cal = Calendar(n_days, field)
    cal.reserve(n)
    cal.n_free = draw_kernel(
        ids, rates, total, live, pending, expo, unif, kinds, day, hazard_kind, cal.arrays(),
        cal.n_free,
    )  # fmt: skip
    kind, when = draw_reference(rates, total, live, pending, expo, unif, kinds, day)
    assert np.array_equal(field[ids], when) and np.array_equal(hazard_kind[ids[live]], kind[live])
    assert (when[~live] == -1).all() and (when[live] > day).all()
    filed = sorted(i for d in range(n_days) for i in cal.pop(d).tolist())
    assert filed == sorted(ids[live & (when < n_days)].tolist())


def test_small_draws_in_the_reused_buffers_draw_what_fresh_arrays_do(monkeypatch) -> None:
    """A move's rates go to buffers kept between draws; the run is the same without them."""
    from tmpsim.model import hazards

    def run() -> Simulation:
        sim = Simulation(load_scenario("japan-titp-covid"), seed=3, scale=0.002)
        for day in range(400):
            sim.step(day)
        return sim

    kept = run()
    monkeypatch.setattr(hazards, "SCRATCH", 0)  # every draw in arrays of its own
    fresh = run()
    n = kept.pop.n
    assert n == fresh.pop.n
    for field in ("state", "t_hazard", "hazard_kind", "t_timer", "savings"):
        assert np.array_equal(getattr(kept.pop, field)[:n], getattr(fresh.pop, field)[:n]), field
