"""Selection takes the best applicants of each origin, ties going to the earlier applicant."""

from __future__ import annotations

import numpy as np

from tmpsim.model.recruitment import (
    EligibilityRule,
    PoolAgents,
    best_by_origin,
    eligible_kernel,
    eligible_reference,
)
from tmpsim.scenario import load_scenario
from tmpsim.simulation import Simulation
from tmpsim.states import State


def _by_full_sort(cand, origin, aptitude, places) -> np.ndarray:
    """Reference: a stable sort by (origin, aptitude best first), then the first places[o]."""
    origin = origin.astype(np.int64)
    key = origin * 2.0 + (1.0 - aptitude.astype(np.float64))
    order = np.argsort(key, kind="stable")
    cand, origin = cand[order], origin[order]
    first = np.searchsorted(origin, np.arange(places.size))
    rank = np.arange(cand.size) - first[origin]
    return np.sort(cand[rank < places[origin]])


def test_best_by_origin_on_a_hand_built_pool() -> None:
    cand = np.array([10, 11, 12, 13, 14, 15, 16], dtype=np.int64)
    origin = np.array([0, 1, 0, 0, 1, 0, 2], dtype=np.int8)
    aptitude = np.array([0.5, 0.9, 0.8, 0.5, 0.2, 0.1, 0.7], dtype=np.float32)
    # Origin 0 has two places: 12 (0.8) first, then 10 and 13 tie at 0.5: the earlier, 10.
    # Origin 1 has more places than applicants; origin 2 has none.
    best = best_by_origin(cand, origin, aptitude, np.array([2, 5, 0]))
    np.testing.assert_array_equal(best, [10, 11, 12, 14])


def test_best_by_origin_is_the_full_sort_with_many_ties() -> None:
    rng = np.random.default_rng(11)
    for n in (0, 1, 7, 300, 5000):
        cand = np.sort(rng.choice(10 * n + 1, n, replace=False)).astype(np.int64)
        origin = rng.integers(0, 4, n).astype(np.int8)
        # Few distinct aptitudes: many ties at every cut-off.
        aptitude = (rng.integers(0, 20, n) / 20).astype(np.float32)
        for places in ([0, 0, 0, 0], [1, 2, 3, 4], [n, n, n, n], list(rng.integers(0, n + 2, 4))):
            p = np.array(places, dtype=np.int64)
            np.testing.assert_array_equal(
                best_by_origin(cand, origin, aptitude, p), _by_full_sort(cand, origin, aptitude, p)
            )


def test_demand_table_is_the_day_by_day_demand() -> None:
    from tmpsim.scenario import load_scenario, shipped_scenarios
    from tmpsim.simulation import Simulation

    for name in shipped_scenarios():
        r = Simulation(load_scenario(name), seed=1, scale=0.0005).recruitment
        by_day = np.array([r.demand_reference(d) for d in range(r._demand.shape[0])])
        np.testing.assert_array_equal(r._demand, by_day)


def test_eligible_kernel_keeps_the_pool_and_filters_as_numpy_does() -> None:
    """Pool compaction and eligibility in one pass equal the NumPy expressions."""
    rng = np.random.default_rng(8)
    n = 3000
    state = rng.integers(0, 3, n).astype(np.int8)
    age0 = rng.uniform(15, 45, n).astype(np.float32)
    created = rng.integers(-400, 200, n).astype(np.int32)
    aptitude = rng.random(n).astype(np.float32)
    aptitude[:50] = np.float32(0.3)  # at the floor, which float32 cannot hold exactly
    pool = np.sort(rng.choice(n, 2000, replace=False)).astype(np.int64)
    day = 250
    agents = PoolAgents(state, age0, created, aptitude)
    rule = EligibilityRule(18.0, 40.0, np.float32(0.3))
    members, eligible = eligible_reference(pool, day, agents, rule)
    cand = np.empty(pool.size, dtype=np.int64)
    kept, n_cand = eligible_kernel(pool, day, tuple(agents), tuple(rule), cand)
    np.testing.assert_array_equal(pool[:kept], members)
    np.testing.assert_array_equal(cand[:n_cand], eligible)
    assert 0 < n_cand < kept


def test_pool_holds_exactly_the_applicants_in_the_pool() -> None:
    """After each selection round the kept pool, less those just selected, is every POOL agent."""
    sim = Simulation(load_scenario("japan-titp-covid"), seed=4, scale=0.002)
    interval = sim.recruitment.rec.selection_interval_days
    rounds = 0
    for d in range(200):
        sim.step(d)
        if d % interval == 0:
            pool = sim.recruitment.pool
            assert np.all(np.diff(pool) > 0)
            still = pool[sim.pop.state[pool] == State.POOL]
            np.testing.assert_array_equal(
                still, np.flatnonzero(sim.pop.state[: sim.pop.n] == State.POOL)
            )
            rounds += 1
    assert rounds > 10
