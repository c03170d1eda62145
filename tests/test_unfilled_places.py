"""Places left unfilled: exact toy cases for the share, the runaway pull and employers' offers.

The runaway toy (``tests/scenarios/runaway.yaml``: twenty employed trainees, no debt, a base
runaway rate of 0.1 a year) gets employers' demand of exactly one entry a day (365.25 a year),
so at the first month's end (2019-01-31, run day 30) 31 entries were wanted.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import build, run_days

from tmpsim.kinds import HAZARDS_BY_STATE, Hazard
from tmpsim.model.hazards import YEAR
from tmpsim.model.vacancies import unfilled_share
from tmpsim.scenario import ScenarioError
from tmpsim.states import State

BASE = 0.1 / YEAR
COL = HAZARDS_BY_STATE[State.EMPLOYED].index(Hazard.RUNAWAY)
PLACES = {
    "recruitment.demand": {2019: 365.25},
    "behaviour.unfilled_places": {
        "window_days": 365,
        "keep_offer": 0.5,
        "runaway_pull": 0.8,
        "source": "test",
    },
}


def _rates(sim, day: int) -> np.ndarray:
    """Daily runaway rate of the twenty trainees of the initial stock (all employed)."""
    who = np.arange(20, dtype=np.int64)
    return sim.hazards.rates(who, State.EMPLOYED, day)[:, COL]


def test_the_share_is_the_demand_that_entries_did_not_meet():
    assert unfilled_share(100.0, 25.0) == 0.75
    assert unfilled_share(100.0, 150.0) == 0.0  # more entries than demand: nothing unfilled
    assert unfilled_share(0.0, 5.0) == 0.0  # no demand: nothing unfilled


def test_the_first_month_end_measures_the_share_and_the_pull_follows():
    sim = build("runaway", PLACES)
    assert sim.recruitment.daily_demand(0).sum() == 1.0
    run_days(sim, range(30))
    assert sim.vacancies.unfilled == 0.0 and sim.vacancies.version == 0  # not measured yet
    assert (_rates(sim, 29) == BASE).all()
    run_days(sim, [30])  # 2019-01-31: 31 places wanted
    aw, emp = int(State.AWAITING_ENTRY), int(State.EMPLOYED)
    came = int(sim.recorder.flows[:31, aw, emp, :].sum())
    assert 0 < came < 31
    unfilled = 1 - came / 31
    assert sim.vacancies.unfilled == unfilled
    assert sim.vacancies.version == 1  # the factor changed: waiting times were redrawn
    employed = np.flatnonzero(sim.pop.state[:20] == State.EMPLOYED)
    rates = sim.hazards.rates(employed.astype(np.int64), State.EMPLOYED, 31)[:, COL]
    assert np.allclose(rates, BASE * (1 + 0.8 * unfilled), rtol=1e-15, atol=0)
    # No routes section: the offer starts from zero and rises half-way to one at most.
    assert sim.vacancies.offer_chance(31) == 0.5 * unfilled


def test_entries_recorded_in_the_window_fill_places():
    sim = build("runaway", PLACES)  # not run: the flows are the test's
    aw, emp = int(State.AWAITING_ENTRY), int(State.EMPLOYED)
    sim.recorder.flows[10, aw, emp, 0] = 7  # seven entered on day 10 ...
    sim.recorder.flow_today[aw, emp, 0] = 3  # ... and three on the month's last day
    assert sim.vacancies.measure(30) == 1 - 10 / 31
    at_half = build("runaway", PLACES, scale=0.5)  # at half scale each entry stands for two
    at_half.recorder.flows[10, aw, emp, 0] = 5
    assert at_half.vacancies.measure(30) == 1 - 10 / 31


def test_the_window_forgets_entries_and_demand_older_than_its_days():
    sim = build("runaway", {**PLACES, "behaviour.unfilled_places.window_days": 30})
    aw, emp = int(State.AWAITING_ENTRY), int(State.EMPLOYED)
    sim.recorder.flows[0, aw, emp, 0] = 30  # before the window of day 30 (days 1..30)
    sim.recorder.flows[1, aw, emp, 0] = 15
    assert sim.vacancies.measure(30) == 0.5


def test_employers_offer_more_as_places_stay_unfilled():
    sim = build("routes", {"behaviour.unfilled_places": PLACES["behaviour.unfilled_places"]})
    v = sim.vacancies
    assert v.offer_rate == sim.scenario.routes.offer_rate == 0.5
    assert v.offer_chance(0) == 0.5
    v.unfilled = 0.4
    assert v.offer_chance(0) == pytest.approx(0.5 + 0.5 * 0.5 * 0.4, rel=1e-15)
    # With keep_offer one and every place unfilled, every employer offers at contract end.
    sim = build("routes", {"behaviour.unfilled_places": {"keep_offer": 1.0, "source": "test"}})
    sim.vacancies.unfilled = 1.0
    who = np.arange(10, dtype=np.int64)
    sim.routes.contract_end(who, 5)
    ((_point, gathered, offer),) = sim.routes._today
    assert gathered.tolist() == who.tolist() and offer.all()


def test_without_the_section_nothing_changes():
    sim = build("runaway", {"recruitment.demand": {2019: 365.25}})
    run_days(sim, range(31))
    assert sim.vacancies.unfilled == 0.0 and sim.vacancies.version == 0
    assert (_rates(sim, 31) == BASE).all()
    assert sim.vacancies.runaway_factor() == 1.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"runaway_pull": 1.0}, "source"),
        ({"source": "x", "pull": 1.0}, "pull"),
        ({"source": "x", "keep_offer": 1.5}, "keep_offer"),
        ({"source": "x", "window_days": 7}, "window_days"),
    ],
)
def test_bad_keys_are_errors(value, message):
    with pytest.raises(ScenarioError, match=message):
        build("runaway", {"behaviour.unfilled_places": value})


def test_with_pull_while_closed_only_corridors_closed_to_entries_pull():
    closed = {
        **PLACES,
        "behaviour.unfilled_places": {
            **PLACES["behaviour.unfilled_places"], "pull_while_closed": True
        },
        "events": [
            {"type": "border", "date": "2019-01-20", "corridor": "A", "direction": "in",
             "seats_per_day": 0},
            {"type": "border", "date": "2019-02-10", "corridor": "A", "direction": "in",
             "seats_per_day": 100},
        ],
    }  # fmt: skip
    sim = build("runaway", closed)
    run_days(sim, range(31))  # 2019-01-31: the only corridor has been closed since 2019-01-20
    v = sim.vacancies
    assert v.closed == 1.0 and 0 < v.unfilled < 1
    assert v.runaway_factor() == 1 + 0.8 * v.unfilled
    assert v.offer_chance(0) == 0.5 * v.unfilled  # offers do not depend on the border
    run_days(sim, range(31, 59))  # 2019-02-28: open again since 2019-02-10
    assert v.closed == 0.0 and v.runaway_factor() == 1.0
    assert (_rates(sim, 59)[sim.pop.state[:20] == State.EMPLOYED] == BASE).all()
    # An entry cap of zero closes every corridor.
    sim.borders.entry_cap = 0
    assert v.closed_share(59) == 1.0


def test_employers_renew_more_as_places_stay_unfilled():
    """Without route choices, a last stage's renewal rises from ``renewal_prob`` toward one."""
    one_stage = {
        "origins.A.initial_stock": {"1": 20},
        "programme.stages": [{"name": "1", "months": 12}],
        "programme.renewals": 3,
        "programme.renewal_prob": 0.0,
    }
    keep_all = {"behaviour.unfilled_places": {"keep_offer": 1.0, "source": "test"}}
    sim = build("runaway", {**one_stage, **keep_all})
    v = sim.vacancies
    assert v.kept(0.0, 5) == 0.0  # nothing unfilled yet: the scenario's renewal_prob
    v.unfilled = 0.5
    assert v.kept(0.0, 5) == 0.5 and v.kept(0.2, 5) == pytest.approx(0.6, rel=1e-15)
    # Every place unfilled: every contract that ends is renewed.
    v.unfilled = 1.0
    who = np.arange(20, dtype=np.int64)
    sim.lifecycle.on_contract_end(who, 5)
    assert (sim.pop.renewals[who] == 1).all()
    assert (sim.pop.state[who] == State.EMPLOYED).all()
    # Without the section the renewal is the scenario's, whatever the share (none renews).
    plain = build("runaway", one_stage)
    plain.vacancies.unfilled = 1.0
    assert plain.vacancies.kept(0.0, 5) == 0.0
    plain.lifecycle.on_contract_end(who, 5)
    assert (plain.pop.renewals[who] == 0).all()
    assert not (plain.pop.state[who] == State.EMPLOYED).any()
