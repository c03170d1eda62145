"""The legal ways out as mechanisms: exact toy cases for each rule.

- the runaway hazard falls where a legal onward route is open in the person's field, and rises
  while the way home is closed (``behaviour.runaway_legal_route``);
- employers' demand after the table's base year follows the labour-market index
  (``recruitment.demand_response``), and those waiting to enter fill vacancies
  (``recruitment.backlog_fill_days``);
- bridged people stop counting as stranded once a seat home is there for them (all of a corridor
  at once, or as far as its seats reach: ``routes.seat_rule``);
- with ``next_stage.after_bridge`` the next stage opens when a bridge runs out for someone who
  completed the stage.

The toy world is ``tests/scenarios/routes.yaml`` (ten trainees, closed borders, no savings).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from helpers import build, run_days, set_timers
from test_routes import chooser, people, spec

from tmpsim.kinds import HAZARDS_BY_STATE, Hazard, Timer
from tmpsim.model.routes import TurningPoint
from tmpsim.scenario.loader import ScenarioError
from tmpsim.states import State

RUNAWAY_COLUMN = HAZARDS_BY_STATE[State.EMPLOYED].index(Hazard.RUNAWAY)

LEGAL = {
    "origins.A.runaway_rate_per_year": 0.365,
    "behaviour.runaway_legal_route": {"relief": 0.25, "home_closed": 0.5, "source": "test"},
    "routes.onward.0.start": "2020-01-05",
    "routes.onward.0.end": "2020-01-14",
    "borders.seats_out_per_day": 5,
    "events": [
        {"type": "border", "date": "2020-01-20", "corridor": "A", "direction": "out",
         "seats_per_day": 0},
    ],
}  # fmt: skip


def _runaway(sim, day: int) -> np.ndarray:
    """Daily runaway rate of the ten employed trainees on ``day``."""
    ids = np.arange(10, dtype=np.int64)
    return sim.hazards.rates(ids, State.EMPLOYED, day)[:, RUNAWAY_COLUMN]


def test_runaway_pull_falls_with_an_open_legal_route_and_rises_when_the_way_home_closes():
    sim = build("routes", LEGAL)
    farm = sim.pop.sector[:10] == sim.sector_index["farm"]
    assert 0 < farm.sum() < 10  # both fields present
    base = 0.365 / 365.25
    before, open_, after, closed = (_runaway(sim, d) for d in (2, 6, 16, 21))
    assert (before == base).all()
    # The onward route (2020-01-05..14) is open only in farm: a quarter of the pull goes there.
    assert (open_[farm] == base * 0.75).all() and (open_[~farm] == base).all()
    assert (after == base).all()  # the route closed again on 2020-01-15
    # From 2020-01-20 no seats home for origin A: everyone's pull is half as high again.
    assert (closed == base * 1.5).all()


def test_the_legal_route_changes_are_dates_the_hazards_redraw_on():
    sim = build("routes", LEGAL)
    days = sorted(d for d, evs in sim.timeline.regime_changes.items() if evs)
    assert days == [4, 14, 19]  # onward opens, onward closes (the day after its end), border


def test_without_the_section_nothing_changes():
    sim = build("routes", {"origins.A.runaway_rate_per_year": 0.365})
    assert (_runaway(sim, 6) == 0.365 / 365.25).all()
    assert (sim.timeline.home_closed_push(6) == 1).all()
    assert (sim.timeline.legal_route_relief(6) == 1).all()


DEMAND = {
    "recruitment.demand": {2019: 1000, 2020: 0},
    "recruitment.demand_response": {"base_year": 2019, "elasticity": 2.0, "source": "test"},
    "behaviour.runaway_labour_market": {"index": {2019: 1.6, 2020: 1.2}, "source": "test"},
}


def test_demand_after_the_base_year_follows_the_labour_index():
    sim = build("routes", DEMAND)
    assert sim.demand_total(2019) == 1000.0
    assert sim.demand_total(2020) == pytest.approx(1000.0 * 0.75**2, rel=1e-15)
    assert sim.demand_total(2021) == pytest.approx(1000.0 * 0.75**2, rel=1e-15)  # index held
    assert sim.demand_total(2018) == 1000.0  # before the table: its first year


def test_demand_response_errors_say_what_is_missing():
    bad = {**DEMAND, "behaviour.runaway_labour_market": None}
    with pytest.raises(ScenarioError, match="demand_response: needs behaviour"):
        build("routes", bad)
    bad = {**DEMAND, "recruitment.demand_response": {"base_year": 2017}}
    with pytest.raises(ScenarioError, match="base_year: 2017 is not a year"):
        build("routes", bad)


def test_those_waiting_to_enter_fill_vacancies():
    sim = build("routes", {"recruitment.backlog_fill_days": 365})
    rec = sim.recruitment
    assert rec.rec.selection_interval_days == 7
    # 365 waiting, over a year of rounds of seven days: seven places a round are theirs (whole
    # places: 52 waiting stand for 0.997 of a place, none; 53 for one).
    assert rec.places_left(np.array([10, 3]), np.array([365, 0])).tolist() == [3, 3]
    assert rec.places_left(np.array([10, 3]), np.array([1000, 53])).tolist() == [0, 2]
    assert rec.places_left(np.array([10, 3]), np.array([0, 0])).tolist() == [10, 3]


def test_bridged_people_stop_counting_as_stranded_once_a_seat_is_there():
    sim = build("routes")
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)  # bridged on day 9: they cannot return
    run_days(sim, range(12))
    assert (sim.pop.state[:10] == State.SPECIAL_IDLE).all()
    sim.routes.month_end(11)  # no seats: still unable to return
    assert int(sim.pop.stranded[:10].sum()) == 10
    assert int(sim.lifecycle.stranded.counts.sum()) == 10
    sim.borders.seats_out[:] = 100  # seats home again: they stay by choice
    sim.routes.month_end(11)
    assert int(sim.pop.stranded[:10].sum()) == 0
    assert int(sim.lifecycle.stranded.counts.sum()) == 0
    assert (sim.pop.state[:10] == State.SPECIAL_IDLE).all()  # still on the bridge


def test_bridged_people_stop_counting_only_as_far_as_the_seats_reach():
    sim = build("routes", {"routes.seat_rule": "seat_capacity"})
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)  # bridged on day 9: they cannot return
    run_days(sim, range(12))
    wait = sim.routes.spec.seat_wait_days
    b = sim.borders
    # Seats for 3.5 people within the wait, beyond a queue of none: 3 whole people.
    b.seats_out[:] = 3.5 / (wait * sim.scale)
    assert sim.routes.seat_room().tolist()[0] == 3
    sim.routes.month_end(11)
    assert sim.pop.stranded[:10].tolist() == [False] * 3 + [True] * 7  # in the order they came
    assert int(sim.lifecycle.stranded.counts.sum()) == 7
    sim.routes.month_end(11)  # the next month end: three more
    assert int(sim.pop.stranded[:10].sum()) == 4
    b.waiting_home[:] = 3  # a queue that takes the seats: nobody more
    assert sim.routes.seat_room().tolist()[0] == 0
    sim.routes.month_end(11)
    assert int(sim.pop.stranded[:10].sum()) == 4
    assert (sim.pop.state[:10] == State.SPECIAL_IDLE).all()  # still on the bridge
    with pytest.raises(ScenarioError, match="routes.seat_rule"):
        build("routes", {"routes.seat_rule": "by_corridor"})


def test_next_stage_opens_after_a_bridge_only_for_those_who_completed_the_stage():
    date = dt.date(2021, 6, 1)
    ns = {"intercept": 1.0, "coef": {"offer": 2.0}, "after_bridge": True, "source": "assumed"}
    ch = chooser(spec(next_stage=ns))
    done = people(2, stage=1, completed=np.array([1, 0]))  # completed 2号 / dismissed in it
    opened = ch.open_routes(TurningPoint.STATUS_EXPIRY, date, done)[:, ch.index("next_stage")]
    assert opened.tolist() == [True, False]
    ch = chooser()  # without after_bridge the next stage opens only at contract end
    opened = ch.open_routes(TurningPoint.STATUS_EXPIRY, date, done)[:, ch.index("next_stage")]
    assert opened.tolist() == [False, False]


def test_the_next_stage_after_a_bridge_in_the_toy_world():
    over = {
        "routes.next_stage.after_bridge": True,
        "routes.next_stage.intercept": 50,
        "routes.onward": [],
    }
    sim = build("routes", over)
    set_timers(sim, Timer.CONTRACT_END, [2] * 10)  # before the bridge opens: the next stage
    run_days(sim, range(5))
    assert (sim.pop.state[:10] == State.EMPLOYED).all() and (sim.pop.stage[:10] == 1).all()
    sim2 = build("routes", {**over, "routes.next_stage.intercept": -50})
    set_timers(sim2, Timer.CONTRACT_END, [9] * 10)  # bridged on day 9, bridge ends day 19
    sim2.routes.chooser.intercept[1] = 50.0  # by the bridge's end the next stage is wanted
    run_days(sim2)
    assert (sim2.pop.state[:10] == State.EMPLOYED).all() and (sim2.pop.stage[:10] == 1).all()
    assert int(sim2.pop.route_of[:10].max()) == -1


def test_the_host_currency_fall_raises_the_runaway_pull():
    market = {
        "index": {2019: 1.6},
        "reference": 1.6,
        "elasticity": 0.8,
        "host_per_usd": {2019: 100.0, 2020: 100.0, 2021: 100.0, 2022: 125.0},
        "currency_reference_year": 2019,
        "currency_elasticity": 2.0,
        "source": "test",
    }
    sim = build("routes", {"behaviour.runaway_labour_market": market})
    lm = sim.scenario.behaviour.runaway_labour_market
    assert lm.factor(2019) == 1.0 and lm.factor(2021) == 1.0
    assert lm.factor(2022) == pytest.approx(1.25**2, rel=1e-15)  # a quarter fewer dollars a yen
    assert lm.factor(2030) == lm.factor(2022)  # held after the series
    with pytest.raises(ScenarioError, match="currency_elasticity needs host_per_usd"):
        build("routes", {"behaviour.runaway_labour_market": {**market, "host_per_usd": {}}})
