"""Invariants that must hold in every run: one state per agent, stocks equal the sum of flows per
state and origin, no negative counts, finite series, and the rules tying flags and queues to
states. Checked on the flagship (scale 0.005, full 2017-2023 window) and on every test scenario.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import (
    SCENARIOS,
    assert_population_identity,
    build,
    run_checked,
)

from tmpsim.results import build_result
from tmpsim.simulation import InvariantError
from tmpsim.states import State

TEST_SCENARIOS = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
# Flow metrics: people per day; everything else reported is a stock or a sum of money.
REQUIRED = [
    "programme_stock",
    "employed",
    "jobless",
    "stranded",
    "special_status",
    "irregular",
    "awaiting_entry",
    "destitute",
    "sheltered",
    "unmet_shelter_need",
    "new_entries",
    "returns",
    "missing",
]


def test_flagship_recount_matches_flows_every_day(flagship):
    sim, _, _ = flagship
    assert sim.check and sim.day == sim.n_days - 1  # check_invariants ran after every day
    assert_population_identity(sim)


def test_flagship_agent_rules_hold(flagship):
    _, _, problems = flagship
    assert problems == []


def test_flagship_series_finite_non_negative_and_totals_add_up(flagship):
    sim, result, _ = flagship
    s = result.series
    assert np.isfinite(s["value"]).all()
    assert (s["value"] >= 0).all(), s[s["value"] < 0].head()
    assert set(REQUIRED) <= set(s["metric"])
    by_origin = s[s.origin != "all"].groupby(["date", "metric"])["value"].sum()
    total = s[s.origin == "all"].set_index(["date", "metric"])["value"]
    np.testing.assert_allclose(total.loc[by_origin.index].to_numpy(), by_origin.to_numpy())
    # Every daily metric has one value per day and origin.
    daily = s[s.metric.isin(REQUIRED)].groupby(["metric", "origin"]).size()
    assert (daily == sim.n_days).all()


def test_flagship_nobody_is_stranded_while_borders_are_open(flagship):
    """Before the first closure, whoever wants to go home finds a seat the same day."""
    _, result, _ = flagship
    stranded = result.metric("stranded")
    before = stranded.loc[:"2020-03-24"]
    assert len(before) > 1000 and (before == 0).all()
    assert stranded.loc["2020-04-01":].max() > 0


def test_flagship_stocks_are_whole_people(flagship):
    """Stocks are counts of agents scaled back: whole multiples of 1/scale."""
    sim, result, _ = flagship
    s = result.series
    stocks = s[s.metric.isin(["programme_stock", "stranded", "destitute", "sheltered"])]["value"]
    agents = stocks * sim.scale
    np.testing.assert_allclose(agents, np.round(agents), atol=1e-6)


@pytest.mark.parametrize("name", TEST_SCENARIOS)
def test_test_scenarios_keep_invariants(name):
    """Each test scenario with random timings (as built) keeps every invariant, every day."""
    sim = build(name, seed=3)
    problems = run_checked(sim)
    assert problems == []
    assert_population_identity(sim)
    result = build_result(sim, with_agents=False)
    assert np.isfinite(result.series["value"]).all()
    assert (result.series["value"] >= 0).all()


def test_mini_scenario_exercises_the_states():
    """The mixed test scenario reaches every in-host state, so its invariants mean something."""
    sim = build("mini", seed=3)
    assert run_checked(sim) == []
    reached = sim.recorder.stocks.max(axis=(0, 2))
    for state in (
        State.JOBLESS,
        State.STRANDED,
        State.SPECIAL_IDLE,
        State.SPECIAL_WORKING,
        State.IRREGULAR,
        State.HOME_VISIT,
        State.RETURNED,
        State.OTHER_STATUS,
        State.DROPPED,
    ):
        assert reached[state] > 0, state.name
    assert sim.recorder.flag_history["destitute"].max() > 0
    assert sim.recorder.flag_history["sheltered"].max() > 0


def test_check_catches_an_agent_moved_behind_the_books():
    """The daily recount fails when an agent's state changes without a counted flow."""
    sim = build("stranding")
    sim.step(0)
    sim.pop.state[0] = State.RETURNED  # not through Simulation.move
    with pytest.raises(InvariantError, match="day 1: stocks from flows differ"):
        sim.step(1)


def test_check_catches_a_flag_set_behind_the_books():
    sim = build("stranding")
    sim.step(0)
    sim.pop.destitute[3] = True  # not through MoneyModule.make_destitute
    with pytest.raises(InvariantError, match="destitute counter differs"):
        sim.step(1)


def test_identity_helper_catches_a_lost_flow():
    """The identity check from outputs is not vacuous: drop one recorded flow and it fails."""
    sim = build("stranding")
    from tmpsim.kinds import Timer

    sim.lifecycle.set_timer(np.arange(10), Timer.CONTRACT_END, np.full(10, 2))
    for day in range(4):
        sim.step(day)
    assert_population_identity(sim)
    sim.recorder.flows[2, State.EMPLOYED, State.STRANDED, 0] -= 1
    with pytest.raises(AssertionError, match="stock != previous"):
        assert_population_identity(sim)


def test_check_catches_the_stranded_counted_in_the_wrong_state():
    sim = build("stranding")
    sim.step(0)
    by_state = sim.pop.flag_of("stranded").by_state
    by_state[State.EMPLOYED, 0] += 1  # not through the flag or a move
    by_state[State.STRANDED, 0] -= 1
    with pytest.raises(InvariantError, match="stranded counts by state differ"):
        sim.step(1)
