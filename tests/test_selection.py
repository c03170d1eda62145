"""Selection takes the best applicants of each origin, ties going to the earlier applicant."""

from __future__ import annotations

import numpy as np

from tmpsim.model.applicants import StandbyPool
from tmpsim.model.recruitment import best_by_origin
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


def _applicants(joined: int, age0: list[float], aptitude: list[float], origin: list[int]) -> dict:
    n = len(age0)
    return {
        "age0": np.array(age0, dtype=np.float32),
        "aptitude": np.array(aptitude, dtype=np.float32),
        "origin": np.array(origin, dtype=np.int8),
        "sector": np.zeros(n, dtype=np.int8),
        "segment": np.zeros(n, dtype=np.int8),
        "joined": np.full(n, joined, dtype=np.int32),
    }


def test_standby_pool_selects_times_out_and_counts_exactly() -> None:
    """Eligibility by age on the day and aptitude; the selected and the timed-out leave."""
    pool = StandbyPool((2, 1, 1))
    # Day 0: four applicants. Day 7: three more (one joined aged 17.99: 18 four days later).
    pool.join(_applicants(0, [20, 45, 30, 25], [0.5, 0.9, 0.05, 0.1], [0, 0, 1, 1]))
    pool.join(_applicants(7, [17.99, 22, 39.98], [0.7, 0.3, 0.6], [1, 0, 0]))
    assert len(pool) == 7
    # Day 7, ages 18 to 40, aptitude at least 0.1: not the 45-year-old (1), not aptitude 0.05
    # (2), not the one aged 17.99 (4); the floor 0.1 is met by 0.1 in float32 (3).
    np.testing.assert_array_equal(pool.eligible(7, 18.0, 40.0, 0.1), [0, 3, 5, 6])
    # On day 11 the 17.99-year-old is 18.0009 (and the 39.98-year-old 39.991).
    np.testing.assert_array_equal(pool.eligible(10, 18.0, 40.0, 0.1), [0, 3, 5, 6])
    np.testing.assert_array_equal(pool.eligible(11, 18.0, 40.0, 0.1), [0, 3, 4, 5, 6])
    # On day 15 the 39.98-year-old is 40.002: out.
    np.testing.assert_array_equal(pool.eligible(15, 18.0, 40.0, 0.1), [0, 3, 4, 5])
    taken = pool.take(np.array([0, 5]))
    np.testing.assert_array_equal(taken["joined"], [0, 7])
    np.testing.assert_array_equal(taken["origin"], [0, 0])
    assert len(pool) == 5
    np.testing.assert_array_equal(pool.counts((2, 1, 1))[:, 0, 0], [2, 3])
    # Those who joined on day 0 and still wait (1, 2, 3) give up; the day-7 ones stay.
    gone = pool.give_up(0)
    np.testing.assert_array_equal(gone["aptitude"], np.float32([0.9, 0.05, 0.1]))
    np.testing.assert_array_equal(pool.gave_up[:, 0, 0], [1, 2])
    np.testing.assert_array_equal(pool.counts((2, 1, 1))[:, 0, 0], [1, 1])
    assert pool.give_up(0) == {}
    np.testing.assert_array_equal(pool.eligible(11, 18.0, 40.0, 0.1), [4, 6])
    # Compaction (many more applicants than the columns hold) keeps the waiting, in order.
    for day in range(8, 30):
        pool.join(_applicants(day, [30.0] * 500, [0.5] * 500, [1] * 500))
    assert len(pool) == 2 + 22 * 500
    first = pool.eligible(30, 18.0, 60.0, 0.1)[:2]
    np.testing.assert_array_equal(pool.columns["joined"][first], [7, 7])
    np.testing.assert_array_equal(pool.columns["age0"][first], np.float32([17.99, 39.98]))


def test_pool_counts_are_the_recorded_stocks() -> None:
    """Every day the pool's waiting applicants are the recorded pool stock, and no agent is in
    the pool state; those who gave up are part of the dropped stock (the checks recount both)."""
    sim = Simulation(load_scenario("japan-titp-covid"), seed=4, scale=0.002, check=True)
    for d in range(300):
        sim.step(d)
        waiting = sim.recruitment.outside()[State.POOL].sum(axis=(1, 2))
        np.testing.assert_array_equal(waiting, sim.recorder.counts[State.POOL])
        assert not (sim.pop.state[: sim.pop.n] == State.POOL).any()
    assert sim.recruitment.pool.gave_up.sum() > 0
    assert len(sim.recruitment.pool) > 0


def test_select_kernel_is_eligible_then_best_by_origin() -> None:
    """The compiled selection chooses the positions the NumPy steps choose, ties and gaps too."""
    from tmpsim.model.selection_kernels import Eligibility

    rng = np.random.default_rng(5)
    for n in (1, 9, 400, 6000):
        pool = StandbyPool((4, 1, 1))
        for day in range(0, 28, 7):
            # Few distinct aptitudes (ties at every cut-off), ages around the bounds.
            attrs = _applicants(
                day,
                list(rng.uniform(17.5, 41.0, n)),
                list(rng.integers(0, 10, n) / 10),
                list(rng.integers(0, 4, n)),
            )
            attrs["profile"] = attrs["origin"].astype(np.int16)
            pool.join(attrs)
        pool.take(np.flatnonzero(rng.random(pool.tail) < 0.3))  # gaps left by earlier rounds
        for places in ([0, 0, 0, 0], [1, 2, 3, 0], [n, n, n, n], list(rng.integers(0, n, 4))):
            p = np.array(places, dtype=np.int64)
            rule = Eligibility(30, 18.0, 40.0, np.float32(0.3))
            chosen, eligible = pool.select(rule, p)
            cand = pool.eligible(30, 18.0, 40.0, 0.3)
            assert eligible == cand.size
            c = pool.columns
            want = best_by_origin(cand, c["profile"][cand], c["aptitude"][cand], p)
            np.testing.assert_array_equal(chosen, want)


def test_selection_by_kernel_and_reference_gives_the_same_run(monkeypatch) -> None:
    """A run choosing with the NumPy reference has the same stocks as one with the kernel."""
    from tmpsim.model.recruitment import Recruitment

    def stocks() -> np.ndarray:
        sim = Simulation(load_scenario("japan-titp-covid"), seed=2, scale=0.005)
        return sim.run().recorder.stocks

    kernel = stocks()
    monkeypatch.setattr(Recruitment, "choose", Recruitment.choose_reference)
    np.testing.assert_array_equal(stocks(), kernel)


def test_kth_smallest_is_numpys_partition() -> None:
    from tmpsim.model.selection_kernels import kth_smallest

    rng = np.random.default_rng(5)
    cases = [np.array([3.0]), np.array([2.0, 1.0]), np.zeros(9), np.arange(50.0)[::-1]]
    for n in (3, 10, 101, 2000):
        cases += [rng.random(n), rng.integers(0, 4, n).astype(float), np.sort(rng.random(n))]
    for values in cases:
        before = values.copy()
        for k in sorted({0, values.size // 3, values.size // 2, values.size - 1}):
            assert kth_smallest(values, k) == np.partition(values, k)[k], (values.size, k)
        np.testing.assert_array_equal(values, before)  # the input is left as it was
