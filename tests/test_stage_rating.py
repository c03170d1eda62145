"""A stage open only under a rated supervising organisation, and offers decided ahead of the end.

Exact cases for ``routes.next_stage.excellent`` (the share rated by date, the organisations rated
by their proactivity, the next stage closed to the others) and ``routes.plan_lead_days`` (the
employer's offer reads the unfilled places of the month end that long before), plus the
decisions recorded as daily metrics ``route_<name>``.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest
from helpers import FLAGSHIP, build, daily, run_days, scenario_file, set_timers
from pydantic import ValidationError
from test_routes import chooser, people, spec

from tmpsim.kinds import Timer
from tmpsim.model.routes import TurningPoint, rated_excellent
from tmpsim.scenario import ScenarioError, load_scenario
from tmpsim.scenario.routes_schema import Excellent
from tmpsim.states import State

D = dt.date
RATED = {"stage": "3", "share": {"2017-11-01": 0.0, "2019-07-04": 0.5}, "source": "test"}


def test_the_rated_share_is_linear_between_its_dates_and_held_outside():
    ex = Excellent.model_validate(RATED)
    assert ex.share_on(D(2017, 1, 1)) == 0.0
    assert ex.share_on(D(2017, 11, 1)) == 0.0
    half = D(2017, 11, 1) + dt.timedelta(days=(D(2019, 7, 4) - D(2017, 11, 1)).days // 2)
    assert (D(2019, 7, 4) - D(2017, 11, 1)).days == 610  # so ``half`` is exactly half-way
    assert ex.share_on(half) == 0.25
    assert ex.share_on(D(2019, 7, 4)) == 0.5
    assert ex.share_on(D(2025, 1, 1)) == 0.5


def test_the_rated_are_the_top_share_of_the_proactivity_law():
    support = np.array([0.10, 0.7499, 0.7501, 0.99])
    # Mean 0.5 and concentration 2: the uniform law, whose top quarter starts at 0.75.
    assert rated_excellent(support, 0.25, 0.5, 2.0).tolist() == [False, False, True, True]
    assert not rated_excellent(support, 0.0, 0.5, 2.0).any()
    assert rated_excellent(support, 1.0, 0.5, 2.0).all()
    # Any law: the share rated in a large sample is the share asked for.
    rng = np.random.default_rng(3)
    sample = rng.beta(0.35 * 4, 0.65 * 4, 200_000)
    assert abs(rated_excellent(sample, 0.473, 0.35, 4.0).mean() - 0.473) < 0.005


def test_the_rated_stage_is_closed_to_the_others_and_no_other_stage_is():
    base = spec().next_stage.model_dump()
    ch = chooser(spec(next_stage={**base, "excellent": RATED}))
    end, day = TurningPoint.CONTRACT_END, D(2021, 1, 1)
    assert not ch.open_routes(end, day, people(stage=1, excellent=False))[0, 1]
    assert ch.open_routes(end, day, people(stage=1, excellent=True))[0, 1]
    assert ch.open_routes(end, day, people(stage=0, excellent=False))[0, 1]  # stage 2: no rating
    assert ch.open_routes(end, day, people(stage=1))[0, 1]  # no rating given: all are rated
    plain = chooser()  # without the rule the rating does not matter
    assert plain.open_routes(end, day, people(stage=1, excellent=False))[0, 1]


def test_bad_rating_rules_say_what_is_wrong():
    base = spec().next_stage.model_dump()
    with pytest.raises(ValueError, match="unknown stage '4'"):
        chooser(spec(next_stage={**base, "excellent": {**RATED, "stage": "4"}}))
    with pytest.raises(ValidationError, match="not a date"):
        Excellent.model_validate({**RATED, "share": {"July 2019": 0.5}})
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        Excellent.model_validate({**RATED, "share": {"2019-07-04": 1.5}})
    with pytest.raises(ValidationError, match="Extra inputs"):
        Excellent.model_validate({**RATED, "licensed": 1232})


def _rated_toy(share: float):
    """The routes toy: ten trainees end stage 1 on day 3; continuing wins where it is open.

    Stage 2 needs the rating; the organisations' proactivity is 0.05, 0.15, ..., 0.95 under the
    uniform law, so a share of one half rates the five above 0.5. Without a ticket, a seat or an
    open bridge (it opens on day 9), the only other way is irregular.
    """
    over = {
        "supervision.proactivity_mean": 0.5,
        "supervision.proactivity_concentration": 2.0,
        "routes.next_stage.intercept": 50,
        "routes.next_stage.excellent": {
            "stage": "2",
            "share": {"2020-01-01": share},
            "source": "t",
        },
    }
    sim = build("routes", over)
    sim.pop.proactivity[:10] = np.arange(10) / 10 + 0.05
    set_timers(sim, Timer.CONTRACT_END, [3] * 10)
    return run_days(sim)


def test_only_trainees_of_rated_organisations_continue_day_by_day():
    sim = _rated_toy(0.5)
    assert daily(sim, State.EMPLOYED) == [10] * 3 + [5] * 22
    assert daily(sim, State.IRREGULAR) == [0] * 3 + [5] * 22
    assert (sim.pop.stage[:10] == np.repeat([0, 1], 5)).all()  # the five most proactive
    # The decisions, as daily metrics by route: all on day 3.
    extras = sim.recorder.extras
    assert extras["route_next_stage"].sum(axis=1).tolist() == [0] * 3 + [5] + [0] * 21
    assert extras["route_irregular"].sum(axis=1).tolist() == [0] * 3 + [5] + [0] * 21
    assert extras["route_home"].sum() == 0
    assert extras["route_next_stage_2"].sum() == 5 and extras["route_next_stage_1"].sum() == 0
    assert daily(_rated_toy(0.0), State.EMPLOYED) == [10] * 3 + [0] * 22
    assert daily(_rated_toy(1.0), State.EMPLOYED) == [10] * 25


def test_keeping_ones_place_in_the_return_queue_is_not_a_new_decision():
    over = {"routes.home.ticket_paid_by_sponsor": True, "routes.bridges": []}
    sim = build("routes", over)
    set_timers(sim, Timer.CONTRACT_END, [3] * 10)
    run_days(sim)
    # Home chosen on day 3 (no seat: stranded), then kept at the reviews of days 8, 13, 18, 23.
    assert daily(sim, State.STRANDED) == [0] * 3 + [10] * 22
    home = sim.recorder.extras["route_home"].sum(axis=1)
    assert home.tolist() == [0] * 3 + [10] + [0] * 21


def test_the_offer_reads_the_unfilled_places_of_the_plans_month_end():
    places = {"keep_offer": 1.0, "source": "test"}
    sim = build("routes", {"routes.plan_lead_days": 40, "behaviour.unfilled_places": places})
    v = sim.vacancies
    v.measured_days, v.measured, v.unfilled = [30, 59], [0.2, 0.8], 0.8
    assert v.offer_chance(69) == 0.5  # 40 days before is day 29: nothing measured yet
    assert v.offer_chance(70) == pytest.approx(0.5 + 0.5 * 0.2, rel=1e-15)  # day 30's share
    assert v.offer_chance(98) == pytest.approx(0.6, rel=1e-15)
    assert v.offer_chance(99) == pytest.approx(0.5 + 0.5 * 0.8, rel=1e-15)  # day 59's share
    now = build("routes", {"behaviour.unfilled_places": places}).vacancies
    now.measured_days, now.measured, now.unfilled = [30], [0.2], 0.8
    assert now.offer_chance(31) == pytest.approx(0.9, rel=1e-15)  # no lead: today's share


def test_each_month_end_keeps_its_measured_share():
    places = {"keep_offer": 1.0, "source": "test"}
    over = {
        "end": "2020-02-05",
        "recruitment.demand": {2020: 366.0},
        "behaviour.unfilled_places": places,
    }
    sim = run_days(build("routes", over))
    # One month end (2020-01-31, day 30): a month of demand and no entries (no seats in).
    assert sim.vacancies.measured_days == [30]
    assert sim.vacancies.measured == [1.0] == [sim.vacancies.unfilled]


def test_the_flagship_rates_3go_organisations_from_the_act():
    sc = load_scenario(FLAGSHIP)
    rule = sc.routes.next_stage.excellent
    assert rule is not None and rule.stage == "3"
    assert rule.share_on(D(2017, 11, 1)) < 0.05 < rule.share_on(D(2019, 7, 4))
    assert sc.routes.plan_lead_days > 0


def kept(**change) -> dict:
    """The routes toy with employers' demand after a base year and kept places (fresh dicts)."""
    return {**_kept(), **change}


def _kept() -> dict:
    return {
        "recruitment.demand": {2019: 365.25},
        "recruitment.demand_response": {"base_year": 2019, "elasticity": 0.0, "source": "test"},
        "behaviour.runaway_labour_market": {"index": {2019: 1.0}, "reference": 1.0, "source": "t"},
        "behaviour.unfilled_places": {"kept_share": 0.5, "source": "test"},
    }


def test_moves_onward_after_the_base_year_owe_half_a_place_each():
    sim = build("routes", kept())  # starts 2020-01-01, after the base year 2019
    v = sim.vacancies
    assert v.kept_from == 0
    v.on_move(np.arange(5, dtype=np.int64), State.OTHER_STATUS, 3)
    v.on_move(np.arange(4, dtype=np.int64), State.RETURNED, 3)  # going home keeps no place
    assert v.owed == 2.5
    later = build(
        "routes",
        kept(
            **{
                "recruitment.demand": {2019: 365.25, 2020: 365.25},
                "recruitment.demand_response.base_year": 2020,
            }
        ),
    )
    later.vacancies.on_move(np.arange(5, dtype=np.int64), State.OTHER_STATUS, 3)
    assert later.vacancies.kept_from == 366 and later.vacancies.owed == 0.0  # 2020: base year


def test_a_round_fills_the_places_owed_less_split_by_its_places():
    sim = build("routes", kept())
    v = sim.vacancies
    v.owed = 7.6
    fill = np.array([10], dtype=np.int64)  # the toy has one profile
    assert v.take_kept_places(fill, 4).tolist() == [3]
    assert v.owed == pytest.approx(0.6, abs=1e-12)
    assert sim.recorder.extras["places_kept"][0].tolist() == [7.0]
    assert v.take_kept_places(fill, 5).tolist() == [10]  # less than a place owed: none taken
    v.owed = 25.0
    assert v.take_kept_places(fill, 6).tolist() == [0] and v.owed == 15.0  # at most the round's
    # Split over several profiles in proportion to their places, largest remainders first.
    v.profile_origin = np.zeros(3, dtype=np.int64)
    v.owed = 5.0
    assert v.take_kept_places(np.array([6, 3, 1]), 7).tolist() == [3, 1, 1]  # 3, 2, 0 taken


def test_places_kept_are_demand_met_not_unfilled():
    sim = build("routes", kept(end="2020-02-05"))
    demand = float(sim.recruitment.daily_demand_between(0, 31).sum())
    assert demand == pytest.approx(31.0, rel=1e-12)  # a place a day in January
    aw, emp = int(State.AWAITING_ENTRY), int(State.EMPLOYED)
    sim.recorder.flows[10, aw, emp, 0] = 11  # eleven entries on day 10
    assert sim.vacancies.measure(30) == pytest.approx(1 - 11 / 31, rel=1e-12)
    sim.recorder.extras["places_kept"][5, 0] = 10.0  # ten places kept filled on day 5
    assert sim.vacancies.measure(30) == pytest.approx(1 - 11 / 21, rel=1e-12)


def test_a_round_with_every_place_kept_selects_nobody():
    def selected_in_run(owed: float) -> int:
        sim = build("routes", kept(end="2020-02-05"))
        sim.vacancies.owed = owed
        first = sim.pop.n  # the applicants of the run come after the initial population
        run_days(sim)
        return int((sim.pop.selected[first : sim.pop.n] >= 0).sum())

    assert selected_in_run(0.0) > 0
    assert selected_in_run(1e9) == 0


@pytest.mark.parametrize(
    ("block", "key", "reason"),
    [
        ("      licensed: 1232\n", "routes.next_stage.excellent.licensed", "unknown key"),
        ('      share: {"July 2019": 0.5}\n', "routes.next_stage.excellent", "not a date"),
    ],
)
def test_a_bad_rating_rule_in_a_file_names_its_line_and_key(tmp_path, block, key, reason):
    text = scenario_file("routes").read_text(encoding="utf-8")
    rule = '    excellent:\n      stage: "2"\n      source: test\n'
    rule += block if "share" in block else block + '      share: {"2020-01-01": 0.5}\n'
    old = '  next_stage: {intercept: -50, source: "test"}\n'
    assert old in text
    new = '  next_stage:\n    intercept: -50\n    source: "test"\n' + rule
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert re.search(rf"{re.escape(str(path))}:\d+: {re.escape(key)}", message), message
    assert reason in message
