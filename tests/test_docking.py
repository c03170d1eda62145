"""Docking check: tmpsim and the per-agent Mesa model agree exactly where both are deterministic.

With every hazard at zero, fees without spread, no savings at the start, training of two days
(always rounded to two) and stages that always continue, every worker's path is fixed by the rules:
selection rounds, entry, contract ends, the queues home under limited seats and a flight, money at
return. Both implementations must then give the same counts every day and the same money at return.
(With demand only from 2020 nobody is in training at the start, whose remaining time is drawn.)
The statistical comparison at realistic settings is benchmarks/docking/compare.py.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from helpers import load_script

import tmpsim
from tmpsim.states import State

pytest.importorskip("mesa")

DOCKING = Path(__file__).resolve().parents[1] / "benchmarks" / "docking"


mm = load_script(DOCKING / "mesa_model.py")

ORIGIN = {
    "demand_share": {2020: 0.5},
    "age_mean": 25,
    "age_sd": 0,
    "fee_pay_share": 1.0,
    "fee_cv": 0.0,
    "borrow_share": 1.0,
    "runaway_rate_per_year": 0.0,
    "training_days": 1,
    "clearance_days": 1,
}

TINY = {
    "name": "docking-tiny",
    # No demand in 2019, so nobody is in training at the start (its length would be drawn).
    "start": "2019-12-29",
    "end": "2020-12-31",
    "origins": {
        "A": {**ORIGIN, "fee_mean": 500000, "debt_mean": 400000, "return_ticket": 50000},
        "B": {**ORIGIN, "fee_mean": 100000, "debt_mean": 80000, "return_ticket": 80000},
    },
    "sectors": {"only": {"share": 1.0, "dismissal_rate_per_year": 0.0}},
    "programme": {
        "name": "two short stages",
        "stages": [
            {"name": "1", "months": 2, "continue_prob": 1.0},
            {"name": "2", "months": 2},
        ],
    },
    "recruitment": {
        "demand": {2019: 0.0, 2020: 1826.25},  # 2020: five a day, 2.5 from each origin
        "applicants_per_place": 1.0,
        "age_min": 18,
        "age_max": 35,
        "training_dropout": 0.0,
    },
    "money": {
        "wage_per_month": 160000,
        "initial_savings_mean": 0.0,
        "remit_share": 0.5,
        "repay_share": 0.35,
    },
    "behaviour": {"apprehension_rate_per_year": 0.0},
    "borders": {"seats_in_per_day": 1000, "seats_out_per_day": 1000},
    "events": [
        # A: from July half a seat a day home (a seat every other day, by the carried fraction).
        {
            "type": "border",
            "date": "2020-07-01",
            "corridor": "A",
            "direction": "out",
            "seats_per_day": 0.5,
        },
        # B: closed from June, one repatriation flight in November.
        {
            "type": "border",
            "date": "2020-06-01",
            "corridor": "B",
            "direction": "out",
            "seats_per_day": 0,
        },
        {"type": "flight", "date": "2020-11-01", "corridor": "B", "seats": 20},
        # Entries stop for a month.
        {
            "type": "border",
            "date": "2020-09-01",
            "corridor": "all",
            "direction": "in",
            "seats_per_day": 0,
        },
        {
            "type": "border",
            "date": "2020-10-01",
            "corridor": "all",
            "direction": "in",
            "seats_per_day": 1000,
        },
    ],
}


@pytest.fixture(scope="module")
def both():
    sc = tmpsim.load_scenario(copy.deepcopy(TINY))
    sim = tmpsim.simulate(sc, seed=3, scale=1.0)
    model = mm.DockingModel(sc, seed=11, scale=1.0).run()
    return sim, model


def test_daily_counts_by_state_and_origin_are_identical(both):
    sim, model = both
    ours = sim.recorder.stocks.astype(np.int64)
    theirs = mm.stocks(model)
    assert ours.shape == theirs.shape
    for s in State:
        np.testing.assert_array_equal(theirs[:, int(s), :], ours[:, int(s), :], err_msg=s.name)
    # The case exercises what it is meant to: entries, contract ends, queues home, a flight.
    last = ours[-1]
    assert last[int(State.RETURNED)].sum() > 100
    assert last[int(State.STRANDED)].sum() > 20
    returned_b = ours[:, int(State.RETURNED), 1]
    flight = (np.datetime64("2020-11-01") - np.datetime64("2019-12-29")).astype(int)
    assert returned_b[flight] - returned_b[flight - 1] == 20


def test_contract_ends_and_destitution_are_identical(both):
    sim, model = both
    flows = sim.recorder.flows
    ended = flows[:, int(State.EMPLOYED), int(State.STRANDED), :].sum(axis=0)
    theirs = np.zeros(2, dtype=np.int64)
    for day_flows in model.flows:
        for (old, new, origin), v in day_flows.items():
            if old is State.EMPLOYED and new is State.STRANDED:
                theirs[origin] += v
    np.testing.assert_array_equal(theirs, ended)
    assert ended.sum() > 0
    ours = sim.recorder.flag_history["destitute"].astype(np.int64)
    np.testing.assert_array_equal(mm.destitute(model), ours)
    assert ours.max() > 0  # stranded long enough to spend their savings
    # Without special statuses, tmpsim's stranded flag is the Mesa model's stranded state.
    stranded = sim.recorder.flag_history["stranded"].astype(np.int64)
    np.testing.assert_array_equal(mm.stocks(model)[:, int(State.STRANDED), :], stranded)


def test_money_at_return_is_identical(both):
    sim, model = both
    pop = sim.pop
    back = np.flatnonzero(pop.state[: pop.n] == int(State.RETURNED))
    for field in ("debt", "savings"):
        ours = np.sort(getattr(pop, field)[back])
        theirs = np.sort([getattr(r, field) for r in model.returned])
        np.testing.assert_allclose(theirs, ours, rtol=1e-9, atol=1e-6, err_msg=field)
    # Debt is repaid in full within four months only where the fee was small enough.
    debt = np.array([r.debt for r in model.returned])
    assert (debt > 0).any() and (debt == 0).any()


def test_unsupported_parts_of_the_model_are_refused():
    sc = tmpsim.load_scenario("japan-titp-covid")
    with pytest.raises(mm.UnsupportedScenario, match="home_visit_days"):
        mm.DockingModel(sc, seed=1, scale=0.001)


def test_docking_scenario_is_supported():
    sc = tmpsim.load_scenario(DOCKING / "docking.yaml")
    mm.check_supported(sc)  # no exception
    assert sc.start.isoformat() == "2019-07-01" and sc.end.isoformat() == "2021-06-30"
