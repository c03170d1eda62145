"""Selection takes the best applicants of each origin, ties going to the earlier applicant."""

from __future__ import annotations

import numpy as np

from tmpsim.model.recruitment import best_by_origin


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
        by_day = np.array([r._demand_on(d) for d in range(r._demand.shape[0])])
        np.testing.assert_array_equal(r._demand, by_day)
