"""The runaway hazard's labour-market index and stage factors, read exactly from the rates.

The tiny scenario ``runaway.yaml`` has twenty trainees (ten in stage 1, ten in stage 2), no debt
and a base runaway rate of 0.1 a year, so an employed trainee's daily runaway rate is exactly
0.1 / 365.25 times the modifiers under test.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from helpers import build, file_hazard, ids, run_days, scenario_file

from tmpsim.kinds import HAZARDS_BY_STATE, Hazard
from tmpsim.model.events import Timeline
from tmpsim.model.hazards import YEAR
from tmpsim.results import build_result
from tmpsim.scenario import ScenarioError, load_scenario
from tmpsim.states import State

BASE = 0.1 / YEAR
COL = HAZARDS_BY_STATE[State.EMPLOYED].index(Hazard.RUNAWAY)
DAY_2019 = 100  # 2019-04-11
DAY_2020 = 400  # 2020-02-05


def market(elasticity: float, index: dict[int, float] | None = None, reference: float = 1.0):
    """Override setting the labour-market index (2019: 1, 2020: 2 unless given)."""
    return {
        "behaviour.runaway_labour_market": {
            "index": index or {2019: 1.0, 2020: 2.0},
            "reference": reference,
            "elasticity": elasticity,
        }
    }


def runaway_rates(overrides: dict | None, day: int) -> np.ndarray:
    """Daily runaway rate of the twenty employed trainees on a run day."""
    sim = build("runaway", overrides)
    who = np.arange(sim.pop.n, dtype=np.int64)
    assert (sim.pop.state[who] == State.EMPLOYED).all()
    return sim.hazards.rates(who, State.EMPLOYED, day)[:, COL]


def test_without_the_keys_the_rate_is_the_base_rate():
    for day in (DAY_2019, DAY_2020):
        assert np.array_equal(runaway_rates(None, day), np.full(20, BASE))


def test_elasticity_zero_or_index_at_reference_changes_nothing():
    for overrides in (market(0.0), market(1.0, {2019: 1.3, 2020: 1.3}, reference=1.3)):
        for day in (DAY_2019, DAY_2020):
            assert np.array_equal(runaway_rates(overrides, day), np.full(20, BASE))


def test_rate_doubles_when_the_index_doubles_with_elasticity_one():
    before = runaway_rates(market(1.0), DAY_2019)
    after = runaway_rates(market(1.0), DAY_2020)
    assert np.array_equal(before, np.full(20, BASE))
    assert np.allclose(after, 2 * BASE, rtol=1e-15, atol=0)


def test_elasticity_is_the_exponent_and_reference_the_level_of_factor_one():
    after = runaway_rates(market(0.5, reference=2.0), DAY_2020)
    before = runaway_rates(market(0.5, reference=2.0), DAY_2019)
    assert np.allclose(after, BASE, rtol=1e-15, atol=0)
    assert np.allclose(before, BASE * 0.5**0.5, rtol=1e-15, atol=0)


def test_years_outside_the_index_take_the_nearest_year():
    overrides = market(1.0, {2018: 4.0, 2019: 3.0})
    sc = load_scenario(scenario_file("runaway"), overrides)
    lm = sc.behaviour.runaway_labour_market
    assert (lm.value(2010), lm.value(2018), lm.value(2019), lm.value(2030)) == (4.0, 4.0, 3.0, 3.0)
    assert np.allclose(runaway_rates(overrides, DAY_2020), 3 * BASE, rtol=1e-15, atol=0)


def test_stage_factor_multiplies_the_rate_of_that_stage_only():
    sim = build("runaway", {"programme.stages.1.runaway_factor": 0.25})
    who = np.arange(sim.pop.n, dtype=np.int64)
    rates = sim.hazards.rates(who, State.EMPLOYED, DAY_2019)[:, COL]
    stage = sim.pop.stage[who]
    assert (stage == 0).sum() == 10 and (stage == 1).sum() == 10
    assert np.array_equal(rates[stage == 0], np.full(10, BASE))
    assert np.array_equal(rates[stage == 1], np.full(10, 0.25 * BASE))


def test_rates_are_redrawn_on_the_first_of_january_only_when_the_index_moves():
    def change_days(overrides):
        sim = build("runaway", overrides)
        timeline: Timeline = sim.timeline
        return sorted(timeline.regime_changes)

    jan_2020 = (dt.date(2020, 1, 1) - dt.date(2019, 1, 1)).days
    assert change_days(market(1.0)) == [jan_2020]
    assert change_days(market(0.0)) == []
    assert change_days(market(1.0, {2019: 1.5, 2020: 1.5})) == []
    assert change_days(None) == []


def test_a_zero_elasticity_run_is_identical_to_a_run_without_the_key():
    plain = build_result(run_days(build("mini", seed=3)), with_agents=False)
    zero = build_result(
        run_days(build("mini", market(0.0, {2019: 1.0, 2020: 0.5}), seed=3)), with_agents=False
    )
    assert plain.series.equals(zero.series)


def test_index_needs_positive_values_and_plausible_years():
    with pytest.raises(ScenarioError):
        load_scenario(scenario_file("runaway"), market(1.0, {2019: 0.0}))
    with pytest.raises(ScenarioError):
        load_scenario(scenario_file("runaway"), market(1.0, {19: 1.0}))


def test_index_with_a_missing_year_names_the_year():
    with pytest.raises(ScenarioError, match="no value for 2020"):
        load_scenario(scenario_file("runaway"), market(1.0, {2019: 1.0, 2021: 2.0}))


def test_missing_counts_trainees_only_and_became_irregular_everyone():
    """Two trainees and two holders of the special status leave on day 2: 失踪 counts two."""
    sim = build("runaway")
    run_days(sim, [0])
    sim.move(ids(2, 3), State.SPECIAL_IDLE)
    file_hazard(sim, ids(0, 1, 2, 3), Hazard.RUNAWAY, 2)
    run_days(sim, [1, 2])
    result = build_result(sim, with_agents=False)
    on_day_2 = result.series[
        (result.series.origin == "all") & (result.series.date == sim.scenario.date(2))
    ]
    counts = dict(zip(on_day_2.metric, on_day_2.value, strict=True))
    assert (counts["missing"], counts["became_irregular"]) == (2, 4)
    assert (sim.pop.state[:4] == State.IRREGULAR).all()
