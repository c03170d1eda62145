"""Route choice wired into the simulation: exact toy cases for each rule, and the invariants.

``tests/scenarios/routes.yaml``: ten trainees whose one-month stage ends on a day the tests set, in
a closed world (no seats), with no savings; a bridging status for those who cannot return from
day 9 to day 19 (2020-01-10..2020-01-20) and an onward status in the field ``farm`` only. Utilities
of -50 make a route all but impossible, so every count below is exact.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from helpers import (
    FLAGSHIP,
    assert_population_identity,
    build,
    daily,
    run_days,
    scenario_file,
    set_timers,
    steps,
)

from tmpsim.kinds import Timer
from tmpsim.results import metric_arrays
from tmpsim.scenario import load_scenario
from tmpsim.scenario.loader import ScenarioError
from tmpsim.simulation import Simulation
from tmpsim.states import STRANDED_SPLIT, State

S = State
# A second origin like the routes scenario's A, with no demand and no money of its own.
TWIN = {
    "initial_stock": {"1": 10},
    "demand_share": {2020: 0.0},
    **{k: 0 for k in ("fee_mean", "borrow_share", "debt_mean", "return_ticket")},
    "runaway_rate_per_year": 0,
}


def test_no_savings_and_no_seat_bridges_and_the_bridge_ends_on_its_date():
    sim = build("routes")
    farm = int((sim.pop.sector[:10] == sim.sector_index["farm"]).sum())
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)  # 2020-01-10, the bridge's first day
    run_days(sim, range(15))
    assert (sim.pop.savings[:10] == 0).all()
    assert int(sim.pop.stranded[:10].sum()) == 10  # granted because they cannot return
    run_days(sim)
    # Bridged on day 9; the status ends with the measure on day 19 (2020-01-20), whatever its
    # six months; on day 20 they decide again: only the onward status (in its field) or
    # irregular is open (no ticket, bridge over).
    assert daily(sim, S.SPECIAL_IDLE) == [0] * 9 + [10] * 11 + [0] * 5
    assert daily(sim, S.OTHER_STATUS) == [0] * 20 + [farm] * 5
    assert daily(sim, S.IRREGULAR) == [0] * 20 + [10 - farm] * 5
    assert_population_identity(sim)


def test_onward_status_needs_the_same_field():
    sim = build("routes")
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)
    run_days(sim)
    farm = sim.pop.sector[:10] == sim.sector_index["farm"]
    assert 0 < farm.sum() < 10  # both fields present: the rule is tested both ways
    assert (sim.pop.state[:10][farm] == S.OTHER_STATUS).all()
    assert (sim.pop.state[:10][~farm] == S.IRREGULAR).all()


def test_the_stranded_wait_then_take_the_bridge_when_it_opens():
    over = {"routes.home.ticket_paid_by_sponsor": True, "routes.bridges.0.intercept": 50}
    sim = build("routes", over)
    set_timers(sim, Timer.CONTRACT_END, [3] * 10)  # before the bridge: home means waiting
    run_days(sim)
    # Stranded from day 3; reviews every 5 days: day 8 the bridge is not open yet (keep waiting),
    # day 13 it is (taken), and it ends with the measure on day 19.
    assert daily(sim, S.STRANDED)[:20] == [0] * 3 + [10] * 10 + [0] * 7
    assert daily(sim, S.SPECIAL_IDLE) == [0] * 13 + [10] * 7 + [0] * 5
    # Day 20: back to waiting for a seat (the ticket is paid), or for farm the onward status.
    farm = sim.pop.sector[:10] == sim.sector_index["farm"]
    assert (sim.pop.state[:10][~farm] == S.STRANDED).all()
    assert np.isin(sim.pop.state[:10][farm], [S.STRANDED, S.OTHER_STATUS]).all()
    assert daily(sim, S.IRREGULAR) == [0] * 25


def test_with_a_seat_home_is_taken_and_the_bridge_is_closed():
    over = {"routes.home.ticket_paid_by_sponsor": True, "borders.seats_out_per_day": 5}
    sim = build("routes", over)
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)
    run_days(sim)
    assert daily(sim, S.RETURNED) == [0] * 9 + [5] + [10] * 15
    assert daily(sim, S.SPECIAL_IDLE) == [0] * 25


RESIT = {
    "routes.next_stage.intercept": 0,
    "routes.next_stage.after_failed_exam": ["2"],
    "routes.onward.0.at": ["contract_end"],
    "routes.onward.0.fields": ["farm", "mill"],
    "routes.onward.0.needs_exam": True,
    "routes.bridges": [],
}


@pytest.mark.parametrize(("exam_pass", "onward", "resit"), [(1.0, 10, 0), (0.0, 0, 10)])
def test_the_exam_sends_passers_on_and_those_who_fail_to_a_year_of_resits(exam_pass, onward, resit):
    """The routes open at a contract end follow the exam: passed, the onward status (the
    stage "2" of resits closed; irregular work at -50 is all but impossible); failed, stage "2"."""
    sim = build("routes", {**RESIT, "routes.exam_pass": exam_pass})
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)
    run_days(sim)
    assert daily(sim, S.OTHER_STATUS) == [0] * 9 + [onward] * 16
    assert daily(sim, S.EMPLOYED) == [10] * 9 + [resit] * 16
    assert (sim.pop.stage[:10] == (1 if resit else 0)).all()
    assert_population_identity(sim)


@pytest.mark.parametrize("stage", ["1", "3"])
def test_a_stage_of_resits_must_be_a_later_stage(stage):
    with pytest.raises(ScenarioError, match=f"after_failed_exam: '{stage}' is not a stage after"):
        build("routes", {**RESIT, "routes.next_stage.after_failed_exam": [stage]})


def test_scenarios_with_routes_may_not_keep_the_rules_they_replace():
    with pytest.raises(ScenarioError, match="routes section replaces"):
        load_scenario(FLAGSHIP, {"programme.onward": [{"after_stage": "2", "prob": 0.1}]})


@pytest.mark.parametrize(
    "key", ["origins.Vietnam.continue_prob", "programme.stages.1.continue_prob"]
)
def test_scenarios_with_routes_refuse_a_continue_prob_they_would_not_read(key):
    value = {"1": 0.8} if key.startswith("origins") else 0.2
    with pytest.raises(ScenarioError, match=f"decides who goes on.*{key}.*remove it"):
        load_scenario(FLAGSHIP, {key: value})


def test_the_backlog_gives_up_at_the_stated_rate():
    over = {"backlog": {"give_up_per_year": 2.0, "after_days": 10, "source": "test"}}
    sim = build("routes", over)
    n = 20000
    new = sim.add_agents(n)
    sim.pop.origin[new] = 0
    sim.move(new[: n // 2], S.AWAITING_ENTRY)  # cleared on day -1: waiting 10 days by day 9
    sim.borders.queue_entry(new[: n // 2])
    sim.day = 20
    sim.move(new[n // 2 :], S.AWAITING_ENTRY)  # cleared on day 20: not yet in the backlog
    sim.borders.queue_entry(new[n // 2 :])
    sim.backlog.month_end(30)  # January: exposed from day 9 to day 30
    gave_up = np.count_nonzero(sim.pop.state[new] == S.DROPPED)
    assert np.count_nonzero(sim.pop.state[new[n // 2 :]] == S.DROPPED) == 0
    p = 1 - np.exp(-2.0 * 21 / 365.25)
    assert abs(gave_up - p * n / 2) < 4 * np.sqrt(n / 2 * p * (1 - p))
    assert not sim.pop.in_entry_queue[new][sim.pop.state[new] == S.DROPPED].any()


def test_flagship_with_routes_keeps_the_invariants_every_day():
    sc = load_scenario(FLAGSHIP)
    assert sc.routes is not None
    sim = Simulation(sc, seed=2, scale=0.01, check=True)
    run_days(sim, range(sc.day(dt.date(2021, 3, 31)) + 1))  # through the bridges' first year
    assert_population_identity(sim)
    taken = sim.routes.taken
    assert taken["bridge"].sum() > 0 and taken["onward"].sum() > 0


def _renewing(over: dict) -> Simulation:
    """The routes toy with one one-month stage renewed where the rules allow (continuing wins)."""
    base = {
        "end": "2020-03-31",
        "programme.stages": [{"name": "1", "months": 1}],
        "routes.next_stage.intercept": 50,
        "routes.onward": [],
        "routes.bridges": [],
    }
    sim = build("routes", {**base, **over})
    sim.pop.entered[:10] = 0
    set_timers(sim, Timer.CONTRACT_END, [3] * 10)
    return run_days(sim)


def test_the_last_stage_is_renewed_as_often_as_the_rules_allow():
    sim = _renewing({"programme.renewals": 2, "programme.renewal_prob": 1.0})
    # Renewed on day 3 and day 33 (30-day contracts); on day 63 no renewal is left, and without
    # a ticket or a seat only irregular is open.
    assert (sim.pop.renewals[:10] == 2).all()
    assert daily(sim, S.EMPLOYED)[:63] == [10] * 63
    assert daily(sim, S.IRREGULAR)[62:64] == [0, 10]


def test_a_renewal_must_fit_the_longest_stay_and_be_offered():
    capped = _renewing(
        {"programme.renewals": 5, "programme.renewal_prob": 1.0, "programme.max_stay_years": 0.14}
    )  # 51 days: the day-3 renewal ends on day 33, the next would end on day 63
    assert (capped.pop.renewals[:10] == 1).all()
    assert daily(capped, S.IRREGULAR)[32:34] == [0, 10]
    never = _renewing({"programme.renewals": 5, "programme.renewal_prob": 0.0})
    assert (never.pop.renewals[:10] == 0).all()
    assert daily(never, S.IRREGULAR)[2:4] == [0, 10]


def test_the_stay_cap_lever_applies_to_the_flagship():
    from tmpsim.policy.levers import apply_levers

    sc = apply_levers(load_scenario(FLAGSHIP), {"remove_stay_cap": 0.5})
    assert sc.routes is not None and sc.programme.renewals == 50


def test_two_origins_differing_only_in_the_earnings_gap_continue_as_the_logit_says():
    # Origins A and B alike but for the country whose income they are compared with: a year's
    # pay of 600,000 yen in 2020 is below China's GDP per capita and above Myanmar's.
    n = 4000
    twin = {**TWIN, "initial_stock": {"1": n}}
    over = {
        "currency": "JPY",
        "origins.A.initial_stock": {"1": n},
        "origins.B": twin,
        "routes.earnings_gap": {
            "reference": 0.5,
            "countries": {"A": "China", "B": "Myanmar"},
            "source": "test",
        },  # fmt: skip
        "routes.home.ticket_paid_by_sponsor": True,
        "routes.next_stage.intercept": 0.0,
        "routes.next_stage.coef": {"earnings_gap": 1.0},
    }
    sim = build("routes", over)
    set_timers(sim, Timer.CONTRACT_END, [3] * (2 * n))  # before the bridge opens
    run_days(sim, range(5))
    gap = sim.routes.gap[:, 0]
    pay = 12 * 50000 / 106.775  # 2020: yen per US dollar (exchange_rates.csv)
    assert gap == pytest.approx(np.log(pay / np.array([10408.7, 1490.2])) - 0.5, abs=1e-3)
    for k in range(2):
        who = sim.pop.origin[: 2 * n] == k
        went_on = np.count_nonzero(sim.pop.stage[: 2 * n][who] == 1)
        p = 1 / (1 + np.exp(-gap[k]))  # next stage against home (utility 0): the only routes
        assert abs(went_on - p * n) < 4 * np.sqrt(n * p * (1 - p))
        assert np.count_nonzero(sim.pop.state[: 2 * n][who] == S.STRANDED) == n - went_on


def test_the_compatriots_share_is_counted_by_origin():
    sim = build("routes", {"origins.B": {**TWIN, "initial_stock": {"1": 5}}})
    # At the start all 15 hold the programme's status: nobody has moved on.
    assert sim.routes.peers_onward().tolist() == [0.0, 0.0]
    sim.recorder.counts[S.OTHER_STATUS, 1] += 15  # by hand: B's 5 holders and 15 moved on
    assert sim.routes.peers_onward().tolist() == [0.0, 0.75]
    sim.recorder.counts[:, 0] = 0  # an origin with nobody in the host counts zero, not NaN
    assert sim.routes.peers_onward().tolist() == [0.0, 0.75]


def test_compatriots_on_an_onward_status_draw_others_to_it(monkeypatch):
    # Origins A and B alike; at the status expiry of day 20 B's compatriots are all on the
    # onward status (share one), A's none. With an intercept of -50 and a coefficient of 100 on
    # that share, the onward status is all but certain for B's people in its field, and below
    # irregular (-40) for A's.
    over = {
        "origins.B": TWIN,
        "routes.irregular.intercept": -40,
        "routes.onward.0.intercept": -50,
        "routes.onward.0.coef": {"peers_onward": 100},
    }
    sim = build("routes", over)
    assert sim.routes.uses_peers
    set_timers(sim, Timer.CONTRACT_END, [9] * 20)  # all bridged on day 9, expiring on day 20
    run_days(sim, range(20))
    monkeypatch.setattr(sim.routes, "peers_onward", lambda: np.array([0.0, 1.0]))
    run_days(sim, [20])
    state, origin = sim.pop.state[:20], sim.pop.origin[:20]
    farm = sim.pop.sector[:20] == sim.sector_index["farm"]
    assert 0 < farm[origin == 1].sum() < 10
    assert (state[(origin == 1) & farm] == S.OTHER_STATUS).all()
    assert (state[(origin == 1) & ~farm] == S.IRREGULAR).all()  # no onward status outside it
    assert (state[origin == 0] == S.IRREGULAR).all()


def test_scenarios_without_the_compatriots_feature_do_not_compute_it():
    sim = build("routes")
    assert not sim.routes.uses_peers


# A special job at contract end that everyone takes (utility 50 against the bridge's 0), for
# half a month (15 days: from day 9 to day 24), whose test is held every 4 days from the route's
# start on day 1 (rounds on days 5, 9, 13, 17, ...) and moves passers to ``skilled``.
def _tested(pass_rate: float, processing_days: int, **over) -> Simulation:
    job = {
        "name": "other_field", "start": "2020-01-02", "months": 0.5, "at": ["contract_end"],
        "intercept": 50, "source": "test",
        "test": {"onward": "skilled", "rounds_per_year": 365.25 / 4, "pass_rate": pass_rate,
                 "processing_days": processing_days, "source": "test"},
    }  # fmt: skip
    sim = build("routes", {"routes.job_changes": [job], **over})
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)
    return run_days(sim)


def test_those_who_pass_the_special_jobs_test_move_on_after_processing():
    sim = _tested(1.0, 2)
    # Granted on day 9 (a round's own day: the first round after the grant is day 13); passed
    # there, the new status 2 days later, whatever the field (the test is the new field's).
    assert daily(sim, S.SPECIAL_WORKING) == [0] * 9 + [10] * 6 + [0] * 10
    assert daily(sim, S.OTHER_STATUS) == [0] * 15 + [10] * 10
    assert sim.recorder.extras["route_skilled"][15].sum() == 10
    assert not sim.pop.moving_on[:10].any() and (sim.pop.route_of[:10] == -1).all()
    assert_population_identity(sim)


def test_without_a_pass_in_time_the_special_job_runs_its_length():
    # Nobody passes, or the new status would come on the status's last day (13 + 11 = 24):
    # both reach its end on day 24 and decide then (the onward status in its field, farm;
    # irregular for the others).
    for sim in (_tested(0.0, 2), _tested(1.0, 11)):
        farm = int((sim.pop.sector[:10] == sim.sector_index["farm"]).sum())
        assert daily(sim, S.SPECIAL_WORKING) == [0] * 9 + [10] * 15 + [0]
        assert daily(sim, S.OTHER_STATUS) == [0] * 24 + [farm]
        assert daily(sim, S.IRREGULAR) == [0] * 24 + [10 - farm]


def test_passers_decide_as_at_the_status_end_while_the_onward_status_is_closed():
    # The onward status opens on day 19: on day 15 it is closed, so the passers decide as at
    # their status's end (the bridge, open to day 19, is the only way left).
    sim = _tested(1.0, 2, **{"routes.onward.0.start": "2020-01-20"})
    assert daily(sim, S.SPECIAL_IDLE)[14:20] == [0] + [10] * 5
    assert daily(sim, S.OTHER_STATUS)[:20] == [0] * 20


def _renewable_job(renewable: bool, at: list[str], start: str, contract_end: int) -> Simulation:
    """A special job for 3 days (0.1 month) that everyone takes where offered (utility 50),
    open from ``start`` to day 15 or, opening late, to day 29; the onward status all but shut.
    """
    job = {
        "name": "kept_on", "start": start, "end": "2020-01-16" if start < "2020-01-10"
        else "2020-01-30", "months": 0.1, "at": at, "renewable": renewable, "intercept": 50,
        "source": "test",
    }  # fmt: skip
    sim = build("routes", {"routes.job_changes": [job], "routes.onward.0.intercept": -50})
    set_timers(sim, Timer.CONTRACT_END, [contract_end] * 10)
    return run_days(sim)


def test_holders_of_a_renewable_special_job_renew_it_while_it_is_in_force():
    # Taken on day 5, renewed on days 8, 11 and 14; on day 17 the route is closed (its end is
    # day 15) and the bridge (open from day 9 to day 19) is the way left, to day 20.
    sim = _renewable_job(True, ["contract_end"], "2020-01-03", 5)
    assert daily(sim, S.SPECIAL_WORKING) == steps({5: 10, 17: 0}, 25)
    assert daily(sim, S.SPECIAL_IDLE) == steps({17: 10, 20: 0}, 25)
    assert sim.recorder.extras["route_kept_on"][[5, 8, 11, 14]].sum(axis=1).tolist() == [10] * 4
    # Not renewable: the job is not offered at its end (day 8), before the bridge opens.
    sim = _renewable_job(False, ["contract_end"], "2020-01-03", 5)
    assert daily(sim, S.SPECIAL_WORKING) == steps({5: 10, 8: 0}, 25)


def test_a_renewable_special_job_is_open_at_a_status_end_to_its_holders_only():
    # Bridged on day 9 (the job opens on day 12); at the bridge's end (day 20) the job is in
    # force but renews only its own holders: none takes it. Offered at every status's end, it
    # is taken by all then.
    sim = _renewable_job(True, ["contract_end"], "2020-01-13", 9)
    assert daily(sim, S.SPECIAL_IDLE) == steps({9: 10, 20: 0}, 25)
    assert daily(sim, S.SPECIAL_WORKING) == [0] * 25
    sim = _renewable_job(True, ["contract_end", "status_expiry"], "2020-01-13", 9)
    assert daily(sim, S.SPECIAL_WORKING) == steps({20: 10}, 25)


def test_a_test_must_lead_to_an_onward_route():
    job = {
        "name": "x",
        "at": ["dismissal"],
        "source": "t",
        "test": {"onward": "nowhere", "rounds_per_year": 3, "pass_rate": 0.5, "source": "t"},
    }
    with pytest.raises(ScenarioError, match=r"test.onward 'nowhere' is not an onward route"):
        load_scenario(scenario_file("routes"), {"routes.job_changes": [job]})


def test_a_bridge_with_a_last_status_keeps_its_holders_past_the_measures_end():
    # The measure ends on day 19; the holders' status runs out with it (day 20) and they get
    # one last status of 3 days (0.1 month), without deciding; on day 23 they decide with the
    # bridge closed (the onward status in its field, farm; irregular for the others).
    sim = build("routes", {"routes.bridges.0.last_months": 0.1})
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)
    run_days(sim)
    farm = int((sim.pop.sector[:10] == sim.sector_index["farm"]).sum())
    assert daily(sim, S.SPECIAL_IDLE) == [0] * 9 + [10] * 14 + [0] * 2
    assert daily(sim, S.OTHER_STATUS) == [0] * 23 + [farm] * 2
    assert sim.recorder.extras["route_cannot_return"][20:].sum() == 0  # no new decision
    with pytest.raises(ScenarioError, match="last_months needs the measure's end"):
        load_scenario(scenario_file("routes"), {"routes.bridges.0.end": None,
                                                "routes.bridges.0.last_months": 4})  # fmt: skip


def test_a_wound_down_bridge_lapses_at_each_holders_own_expiry():
    # The bridge from day 2 (2020-01-03) to day 29 (2020-01-30), 15 days (0.5 month), wound down
    # from day 19 (2020-01-20): from then every grant runs 6 days (0.2 month) and is the last,
    # but renewals to day 21 (2020-01-22) may be renewed once more. Pairs of people reach their
    # contract's end on days 2, 5, 8, 12 and 22 and take the bridge (nothing else is open).
    # - day 2: renewed on day 17 (before the wind-down) for 15 days, to day 31, past the end
    #   (not cut); out after the end without a last status, they get it on day 32, without a
    #   decision: 6 days, out on day 38;
    # - day 5: renewed on day 20 (to day 21: renewable) to day 25, then on day 26 the last, to
    #   day 31: out on day 32;
    # - day 8: renewed on day 23, the last (to day 28): on day 29 the bridge is still in force
    #   but closed to them: out on day 29;
    # - day 12: renewed on day 27, the last: out on day 33;
    # - day 22: granted anew in the wind-down, the last: out on day 28.
    # Before, every status was cut at the end (day 29) and everyone got the last status of 6
    # days on day 30: all ten out together on day 36.
    wind_down = {
        "end": "2020-02-10",
        "routes.onward.0.intercept": -50,  # nothing but the bridge while it is open
        "routes.bridges.0.start": "2020-01-03",
        "routes.bridges.0.end": "2020-01-30",
        "routes.bridges.0.months": 0.5,
        "routes.bridges.0.last_months": 0.2,
        "routes.bridges.0.wind_down": "2020-01-20",
        "routes.bridges.0.wind_down_renewable_until": "2020-01-22",
    }
    sim = build("routes", wind_down)
    set_timers(sim, Timer.CONTRACT_END, [2, 2, 5, 5, 8, 8, 12, 12, 22, 22])
    run_days(sim)
    held = {2: 2, 5: 4, 8: 6, 12: 8, 22: 10, 28: 8, 29: 6, 32: 4, 33: 2, 38: 0}
    assert daily(sim, S.SPECIAL_IDLE) == steps(held, 41)
    decided = sim.recorder.extras["route_cannot_return"].sum(axis=1)
    # Grants and renewals by decision (the last status of day 32 is given without one).
    assert np.flatnonzero(decided).tolist() == [2, 5, 8, 12, 17, 20, 22, 23, 26, 27]
    assert (decided[decided > 0] == 2).all()
    assert sim.pop.had_last[:10].all()
    assert_population_identity(sim)


def _two_forms(measure: str | None, processing_days: int = 0) -> Simulation:
    """The wound-down bridge of the test above in two forms, the second taken at its expiry.

    The first form is offered at a contract's end, the second at a status's end: ten people
    reach their contract's end on day 5, take the first for 15 days and, on day 20, the second.
    """
    forms = {
        "end": "2020-02-10",
        "routes.onward.0.intercept": -50,
        "routes.bridges": [
            {"name": name, "start": "2020-01-03", "end": "2020-01-30", "months": 0.5,
             "last_months": 0.2, "wind_down": "2020-01-20",
             "wind_down_renewable_until": "2020-01-22", "working": False, "at": [at],
             "intercept": 0, "measure": measure, "source": "test"}
            for name, at in (("first_form", "contract_end"), ("second_form", "status_expiry"))
        ],
    }  # fmt: skip
    if processing_days:
        forms["routes.processing"] = {"days": processing_days, "source": "test"}
    sim = build("routes", forms)
    set_timers(sim, Timer.CONTRACT_END, [5] * 10)
    return run_days(sim)


def test_a_bridge_of_the_same_measure_renews_the_status_held():
    # One measure: taking the second form on day 20 (to day 21: renewable) renews the status,
    # to day 25, and may be renewed once more, the last, on day 26 (to day 31): out on day 32.
    sim = _two_forms("cannot_return")
    assert daily(sim, S.SPECIAL_IDLE) == steps({5: 10, 32: 0}, 41)
    # Two measures: the second form is granted anew in the wind-down, the last: out on day 26.
    sim = _two_forms(None)
    assert daily(sim, S.SPECIAL_IDLE) == steps({5: 10, 26: 0}, 41)
    assert sim.pop.had_last[:10].all()


def test_a_renewal_through_another_form_of_the_measure_waits_for_no_decision():
    # A change of status takes 3 days to decide: the first form, chosen on day 5, is held from
    # day 8 to day 22. On day 23 (after day 21: the last) one measure renews it at once, to day
    # 28; two measures make it a new grant, decided on day 26, to day 31. Those who then choose
    # the onward status (two farm workers) keep the special status while it is decided (3 days).
    sim = _two_forms("cannot_return", processing_days=3)
    assert daily(sim, S.SPECIAL_IDLE) == steps({8: 10, 29: 2, 32: 0}, 41)
    sim = _two_forms(None, processing_days=3)
    assert daily(sim, S.SPECIAL_IDLE) == steps({8: 10, 32: 2, 35: 0}, 41)


def test_bridges_of_one_measure_must_share_their_dates():
    two = [
        {"name": name, "start": "2020-01-10", "end": end, "months": 6, "working": False,
         "at": ["contract_end"], "intercept": 0, "measure": "m", "source": "test"}
        for name, end in (("a", "2020-01-20"), ("b", "2020-01-25"))
    ]  # fmt: skip
    with pytest.raises(ScenarioError, match=r"b: end 2020-01-25 differs from 2020-01-20 of a"):
        load_scenario(scenario_file("routes"), {"routes.bridges": two})


def _renewing_bridge(renew_with_seat: bool) -> Simulation:
    """Bridged on day 9 for 3 days (0.1 month), seats home from day 12, the ticket paid.

    Returned the day they choose home (the seats are there).
    """
    over = {
        "routes.home.ticket_paid_by_sponsor": True,
        "routes.bridges.0.intercept": 50,
        "routes.onward.0.intercept": -50,  # home or the bridge: nothing else
        "routes.bridges.0.months": 0.1,
        "routes.bridges.0.renew_with_seat": renew_with_seat,
        "events": [{"type": "border", "date": "2020-01-13", "corridor": "all",
                    "direction": "out", "seats_per_day": 100}],
    }  # fmt: skip
    sim = build("routes", over)
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)
    return run_days(sim)


def test_holders_renew_a_bridge_whatever_the_seat_where_the_rule_says_so():
    # Without the rule the bridge is closed to those with a seat: on day 12, when the status
    # runs out and seats are there, everyone goes home.
    sim = _renewing_bridge(False)
    assert daily(sim, S.SPECIAL_IDLE) == [0] * 9 + [10] * 3 + [0] * 13
    assert daily(sim, S.RETURNED) == [0] * 12 + [10] * 13
    # With it they renew on days 12, 15 and 18 (the last to the measure's end, day 19), then
    # go home on day 20.
    sim = _renewing_bridge(True)
    assert daily(sim, S.SPECIAL_IDLE) == [0] * 9 + [10] * 11 + [0] * 5
    assert daily(sim, S.RETURNED) == [0] * 20 + [10] * 5
    assert sim.recorder.extras["route_cannot_return"][[9, 12, 15, 18]].sum(axis=1).tolist() == [
        10, 10, 10, 10
    ]  # fmt: skip


def test_a_share_of_those_choosing_an_onward_status_first_hold_one_while_papers_are_ready():
    # At the bridge's end (day 20) the farm workers choose the onward status (the only way but
    # irregular); all of them (share 1) hold a working status for 3 days (0.1 month) first and
    # take the onward status on day 23 without deciding again.
    prep = {"months": 0.1, "share": 1.0, "source": "test"}
    sim = build("routes", {"routes.onward.0.preparation": prep})
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)
    run_days(sim)
    farm = int((sim.pop.sector[:10] == sim.sector_index["farm"]).sum())
    assert daily(sim, S.SPECIAL_WORKING) == [0] * 20 + [farm] * 3 + [0] * 2
    assert daily(sim, S.OTHER_STATUS) == [0] * 23 + [farm] * 2
    assert sim.recorder.extras["route_skilled"].sum() == farm  # counted once, when chosen
    # With share 0 the move is at once, as without a preparation.
    sim = build("routes", {"routes.onward.0.preparation": {**prep, "share": 0.0}})
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)
    run_days(sim)
    assert daily(sim, S.OTHER_STATUS) == [0] * 20 + [farm] * 5


PROCESSING = {"routes.processing": {"days": 3, "source": "test"}}


def test_a_chosen_status_is_held_once_decided_and_the_old_one_kept_meanwhile():
    sim = build("routes", PROCESSING)
    farm = int((sim.pop.sector[:10] == sim.sector_index["farm"]).sum())
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)
    run_days(sim, range(10))
    assert int(sim.pop.stranded[:10].sum()) == 10  # unable to return from the choice on
    run_days(sim, range(10, 25))
    # Chosen on day 9, decided on day 12: at work under the old status meanwhile (the count of
    # the programme's status), then the bridge to its end on day 19. On day 20 the farm
    # workers choose the onward status (decided on day 23); irregular is no status: at once.
    assert daily(sim, S.EMPLOYED) == [10] * 12 + [0] * 13
    assert daily(sim, S.SPECIAL_IDLE) == [0] * 12 + [10] * 8 + [farm] * 3 + [0] * 2
    assert daily(sim, S.OTHER_STATUS) == [0] * 23 + [farm] * 2
    assert daily(sim, S.IRREGULAR) == [0] * 20 + [10 - farm] * 5
    assert_population_identity(sim)


def test_a_status_decided_after_its_measure_ended_is_granted_for_its_length():
    sim = build("routes", PROCESSING | {"end": "2020-03-31"})
    set_timers(sim, Timer.CONTRACT_END, [18] * 10)  # chosen a day before the measure ends
    run_days(sim)
    # Decided on day 21, after the measure: six months, past the run's end.
    assert daily(sim, S.SPECIAL_IDLE) == [0] * 21 + [10] * (sim.n_days - 21)


def test_renewing_the_status_held_is_at_once():
    over = PROCESSING | {
        "routes.bridges.0.end": None,
        "routes.bridges.0.months": 0.2,  # six days
        "routes.onward.0.intercept": -50,
    }
    sim = build("routes", over)
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)
    run_days(sim)
    # Granted on day 12 for six days; renewed on day 18 and day 24 without a gap.
    assert daily(sim, S.SPECIAL_IDLE) == [0] * 12 + [10] * 13


def test_who_left_while_the_status_was_decided_is_not_granted_it():
    sim = build("routes", PROCESSING)
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)
    run_days(sim, range(11))
    gone = np.arange(3)
    sim.move(gone, S.IRREGULAR)  # left on day 10, their decision still pending
    run_days(sim, range(11, 15))
    assert (sim.pop.state[gone] == S.IRREGULAR).all()
    assert (sim.pop.state[3:10] == S.SPECIAL_IDLE).all()
    assert (sim.pop.pending[:10] == -1).all()  # no decision left pending, granted or not


@pytest.mark.parametrize("days", [0, 400, "a month"])
def test_processing_days_out_of_range_are_refused(days):
    with pytest.raises(ScenarioError, match="routes.processing.days"):
        build("routes", {"routes.processing": {"days": days, "source": "test"}})


def test_the_stranded_are_split_by_whether_they_work_day_by_day():
    """At work while the bridge is decided, out of work on the idle bridge, then gone."""
    sim = build("routes", PROCESSING)
    farm = int((sim.pop.sector[:10] == sim.sector_index["farm"]).sum())
    set_timers(sim, Timer.CONTRACT_END, [9] * 10)
    run_days(sim)
    m = metric_arrays(sim)
    at_work, out_of_work = (m[k].sum(axis=1).tolist() for k in STRANDED_SPLIT)
    # Chosen on day 9: still employed (flagged) until the bridge is decided on day 12; idle on
    # it to its end on day 19; on day 20 the others go irregular (no longer stranded) and the
    # farm workers wait, idle, for the onward status decided on day 23.
    assert at_work == [0] * 9 + [10] * 3 + [0] * 13
    assert out_of_work == [0] * 12 + [10] * 8 + [farm] * 3 + [0] * 2
    assert (m["stranded_at_work"] + m["stranded_out_of_work"] == m["stranded"]).all()
