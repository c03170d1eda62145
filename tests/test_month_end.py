"""The month-end pass (settle, sum debt and savings, count status holders) in one kernel."""

from __future__ import annotations

import numpy as np

import tmpsim
from tmpsim.engine.recorder import HOLDS_STATUS
from tmpsim.model.money import MoneyModule
from tmpsim.model.money_kernels import (
    MoneyAgents,
    month_end_ids_kernel,
    settle_kernel,
    settle_reference,
)
from tmpsim.scenario import load_scenario
from tmpsim.simulation import Simulation
from tmpsim.states import N_STATES, State

ACTIVE = np.array([s <= State.HOME_VISIT for s in State])
HOST = np.array([State.EMPLOYED <= s <= State.IRREGULAR for s in State])
HOLDS = np.isin(
    np.arange(N_STATES), [State.EMPLOYED, State.JOBLESS, State.HOME_VISIT, State.STRANDED]
)


def _holders(state, stage, origin, holds, n_stages: int, n_origins: int) -> np.ndarray:
    """Agents in a state that holds the status, counted by stage and origin (the reference)."""
    held = holds[state]
    flat = stage[held].astype(np.int64) * n_origins + origin[held]
    return np.bincount(flat, minlength=n_stages * n_origins).reshape(n_stages, n_origins)


def _tiny() -> dict[str, np.ndarray]:
    """Five agents of two origins: working with debt, jobless, in training, returned, irregular."""
    return {
        "state": np.array(
            [State.EMPLOYED, State.JOBLESS, State.TRAINING, State.RETURNED, State.IRREGULAR],
            dtype=np.int8,
        ),
        "money_t": np.array([0, 10, 0, 0, 30], dtype=np.int32),
        "debt": np.array([1000.0, 500.0, 200.0, 50.0, 0.0]),
        "savings": np.array([0.0, 100.0, 10.0, 7.0, 40.0]),
        "remitted": np.zeros(5),
        "income": np.array([100.0, 0.0, 0.0, 100.0, 60.0]),
        "cost": np.array([40.0, 20.0, 0.0, 0.0, 50.0]),
        "origin": np.array([0, 0, 1, 1, 1], dtype=np.int8),
        "stage": np.array([1, 0, 0, 2, 0], dtype=np.int8),
    }


def _random(seed: int, n: int, zeros: bool) -> dict[str, np.ndarray]:
    """``n`` agents of two origins in random states; with ``zeros`` some owe or earn nothing."""
    rng = np.random.default_rng(seed)
    a = {
        "state": rng.integers(0, N_STATES, n).astype(np.int8),
        "money_t": rng.integers(0, 60, n).astype(np.int32),
    }
    a["debt"] = rng.exponential(1000.0, n) * ((rng.random(n) < 0.7) if zeros else 1.0)
    a["savings"] = rng.exponential(300.0, n)
    a["remitted"] = rng.exponential(50.0, n)
    a["income"] = rng.exponential(80.0, n) * ((rng.random(n) < 0.6) if zeros else 1.0)
    a["cost"] = rng.exponential(40.0, n)
    a["origin"] = rng.integers(0, 2, n).astype(np.int8)
    a["stage"] = rng.integers(0, 3, n).astype(np.int8)
    return a


def _agents(a: dict[str, np.ndarray]) -> tuple:
    """The money fields of ``a`` as the kernels take them (``MoneyAgents`` as a tuple)."""
    return tuple(MoneyAgents(*(a[f] for f in MoneyAgents._fields)))


def _kernel(
    a: dict[str, np.ndarray], ids: np.ndarray, day: int, interest: np.ndarray
) -> tuple[tuple[np.ndarray, ...], int]:
    """The month-end kernel over ``ids``: (remittances, debt, savings, holders by stage and
    origin) and ids kept; the counts by state, stage and origin go to ``a["by_state"]``."""
    remit, debt, savings = np.zeros(2), np.zeros(2), np.zeros(2)
    counts = np.zeros((N_STATES, 3, 2), dtype=np.int64)
    month = (a["state"], a["stage"], ACTIVE, HOST, remit, debt, savings, counts)
    kept = month_end_ids_kernel(ids, day, _agents(a), (interest, 0.5, 0.25), month)
    a["by_state"] = counts
    return (remit, debt, savings, counts[HOLDS].sum(axis=0)), kept


def _fused(a: dict[str, np.ndarray], day: int, interest: np.ndarray) -> tuple[np.ndarray, ...]:
    return _kernel(a, np.arange(a["state"].size, dtype=np.int64), day, interest)[0]


def _plain(a: dict[str, np.ndarray], day: int, interest: np.ndarray) -> tuple[np.ndarray, ...]:
    remit = np.zeros(2)
    ids = np.flatnonzero(ACTIVE[a["state"]])
    settle_kernel(ids, day, _agents(a), (interest, 0.5, 0.25), remit)
    o = a["origin"][ids]
    debt = np.bincount(o, weights=a["debt"][ids], minlength=2)
    host = HOST[a["state"][ids]]
    savings = np.bincount(o[host], weights=a["savings"][ids][host], minlength=2)
    return remit, debt, savings, _holders(a["state"], a["stage"], a["origin"], HOLDS, 3, 2)


def test_fused_month_end_on_a_hand_built_population() -> None:
    interest = np.array([0.0, 0.001])
    a = _tiny()
    remit, debt, savings, counts = _fused(a, 30, interest)
    # Agent 0: surplus 60/day for 30 days, half repays (900 of 1000), a quarter is sent home
    # (450) and a quarter saved (450). Agent 1: 20/day from savings for 20 days. Agent 2 (origin
    # 1): no money moves, interest 0.1% a day for 30 days. Agent 3 has left: untouched. Agent 4
    # was settled today already: only summed.
    np.testing.assert_allclose(a["debt"], [100.0, 500.0, 206.0, 50.0, 0.0])
    np.testing.assert_allclose(a["savings"], [450.0, 0.0, 10.0, 7.0, 40.0])
    np.testing.assert_allclose(a["remitted"], [450.0, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(a["money_t"], [30, 30, 30, 0, 30])
    np.testing.assert_allclose(remit, [450.0, 0.0])
    np.testing.assert_allclose(debt, [600.0, 206.0])  # the returned agent's debt is not summed
    np.testing.assert_allclose(savings, [450.0, 40.0])  # training is not in the host
    # Status holders: agent 0 (stage 1, origin 0) and agent 1 (stage 0, origin 0).
    np.testing.assert_array_equal(counts, [[1, 0], [1, 0], [0, 0]])
    # By state, stage and origin: every agent in a state that still moves (not the returned).
    by_state = a["by_state"]
    assert by_state.sum() == 4 and by_state[State.RETURNED].sum() == 0
    assert by_state[State.TRAINING, 0, 1] == 1 and by_state[State.IRREGULAR, 0, 1] == 1


def test_fused_month_end_matches_settle_bincount_and_count_pairs() -> None:
    interest = np.array([0.0002, 0.0004])
    a = _random(3, 500, zeros=True)
    b = {k: v.copy() for k, v in a.items()}
    fused = _fused(a, 60, interest)
    plain = _plain(b, 60, interest)
    for x, y in zip(fused, plain, strict=True):
        np.testing.assert_array_equal(x, y)  # same sums in the same order: same bits
    for k in b:
        np.testing.assert_array_equal(a[k], b[k])


def test_month_end_counts_are_the_stage_stocks_recorded() -> None:
    sim = Simulation(load_scenario("japan-titp-covid"), seed=2, scale=0.002)
    day = min(d for d in sim.month_ends if d > 40)
    for d in range(day + 1):
        sim.step(d)
    pop = sim.pop
    n = pop.n
    recount = _holders(
        pop.state[:n], pop.stage[:n], pop.origin[:n], HOLDS_STATUS,
        len(sim.stage_names), sim.n_origins,
    )  # fmt: skip
    for i, name in enumerate(sim.stage_names):
        np.testing.assert_array_equal(
            sim.recorder.monthly[f"programme_stock_stage_{name}"][day], recount[i]
        )


def test_run_gives_the_same_series_as_the_plain_month_end(monkeypatch) -> None:
    fused = tmpsim.run("japan-titp-covid", seed=6, scale=0.002, agents=False)
    monkeypatch.setattr(MoneyModule, "month_end", MoneyModule.month_end_reference)
    plain = tmpsim.run("japan-titp-covid", seed=6, scale=0.002, agents=False)
    assert fused.series_table.equals(plain.series_table)
    assert fused.summary == plain.summary


def test_run_gives_the_same_series_with_the_numpy_move(monkeypatch) -> None:
    """The move's compiled pass (``enter_kernel``) against its NumPy reference, whole runs."""
    fused = tmpsim.run("japan-titp-covid", seed=6, scale=0.002, agents=False)
    monkeypatch.setattr(MoneyModule, "enter", MoneyModule.enter_reference)
    plain = tmpsim.run("japan-titp-covid", seed=6, scale=0.002, agents=False)
    assert fused.series_table.equals(plain.series_table)
    assert fused.summary == plain.summary


def test_settlement_kernel_matches_its_numpy_reference() -> None:
    interest = np.array([0.0002, 0.0004])
    a = _random(5, 2000, zeros=True)
    ids = np.flatnonzero(np.random.default_rng(1).random(2000) < 0.8)
    remit = np.zeros(2)
    d = (90 - a["money_t"][ids]).astype(np.float64)
    o = a["origin"][ids]
    want = settle_reference(
        d, a["debt"][ids], a["savings"][ids], a["income"][ids], a["cost"][ids], interest[o],
        0.5, 0.25,
    )  # fmt: skip
    settle_kernel(ids, 90, _agents(a), (interest, 0.5, 0.25), remit)
    np.testing.assert_array_equal(a["debt"][ids], want[0])
    np.testing.assert_array_equal(a["savings"][ids], want[1])
    assert (want[2] > 0).any() and (a["money_t"][ids] == 90).all()


def test_month_end_visits_exactly_the_active_agents() -> None:
    """After each month end the kept ids are the agents in an active state, ascending."""
    sim = Simulation(load_scenario("japan-titp-covid"), seed=3, scale=0.002)
    ends = sorted(d for d in sim.month_ends if d < 400)
    for d in range(ends[-1] + 1):
        sim.step(d)
        if d in sim.month_ends:
            pop = sim.pop
            expected = np.flatnonzero(sim.money._active_state[pop.state[: pop.n]])
            np.testing.assert_array_equal(sim.money._month_ids, expected)
            assert sim.money._seen == pop.n
    assert 0 < sim.money._month_ids.size < sim.pop.n  # some have left and are skipped


def test_month_end_ids_kernel_matches_the_full_pass() -> None:
    """Over a list holding the active agents, same sums, counts and balances as the full pass."""
    interest = np.array([0.0002, 0.0004])
    a = _random(4, 400, zeros=False)
    b = {k: v.copy() for k, v in a.items()}
    full = _fused(a, 60, interest)
    # Every agent of the first half plus the active ones of the second: a superset in order.
    ids = np.concatenate([np.arange(200), 200 + np.flatnonzero(ACTIVE[b["state"][200:]])])
    part, kept = _kernel(b, ids, 60, interest)
    for x, y in zip(full, part, strict=True):
        np.testing.assert_array_equal(x, y)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    np.testing.assert_array_equal(ids[:kept], np.flatnonzero(ACTIVE[a["state"]]))
