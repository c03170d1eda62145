"""Tiny hand-built scenarios with exact expected counts, day by day.

Each scenario in tests/scenarios/ is a quiet world (no recruitment, every stochastic rate zero)
with a handful of trainees; the tests set the days their contracts end (or file a dismissal on a
known day) through the simulation's public pieces, step the days, and compare every day's count
with a table computed by hand in the comments. Days are run days (0 = the scenario's start).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import (
    build,
    daily,
    daily_flow_into,
    file_hazard,
    ids,
    run_days,
    scenario_file,
    set_timers,
    state_of,
    steps,
)

from tmpsim.engine.population import NEVER
from tmpsim.kinds import Hazard, Timer
from tmpsim.results import build_result
from tmpsim.scenario import load_scenario
from tmpsim.scenario.loader import ScenarioError
from tmpsim.simulation import Simulation
from tmpsim.states import State

S = State


def run_days_after_ends(name: str, ends: list[int]):
    """Build ``name``, set the contract ends of agents 0.. to ``ends`` and run every day."""
    sim = build(name)
    set_timers(sim, Timer.CONTRACT_END, ends)
    return run_days(sim)


def test_quiet_world_has_no_events_of_its_own():
    """Without filed events, the ten trainees of the stranding case just keep working."""
    sim = build("stranding")
    assert sim.pop.n == 10
    assert (sim.pop.t_hazard[:10] == -1).all()  # every hazard rate is zero: nothing is drawn
    set_timers(sim, Timer.CONTRACT_END, [999] * 10)  # beyond the run
    run_days(sim)
    assert daily(sim, S.EMPLOYED) == [10] * sim.n_days


# Contract ends by agent id; the border opens for 3 seats a day on day 20.
STRANDING_ENDS = [21, 3, 10, 5, 3, 14, 8, 12, 6, 10]


def test_stranded_exactly_when_contracts_end_behind_a_closed_border():
    sim = build("stranding")
    set_timers(sim, Timer.CONTRACT_END, STRANDING_ENDS)
    run_days(sim, range(20))  # the border is still closed
    # Stranded at the end of each day: the number whose contract has ended by then.
    by_hand = steps({3: 2, 5: 3, 6: 4, 8: 5, 10: 7, 12: 8, 14: 9}, 20)
    assert daily(sim, S.STRANDED) == by_hand
    assert daily(sim, S.EMPLOYED) == [10 - n for n in by_hand]
    assert daily_flow_into(sim, S.RETURNED) == [0] * 20
    # Exactly those whose contract ended are stranded, queued on the day it ended.
    stranded = np.flatnonzero(sim.pop.state[:10] == S.STRANDED)
    assert stranded.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert sim.pop.queued[stranded].tolist() == [STRANDING_ENDS[i] for i in stranded]


def stranding_with_extension(days: int, share: float = 1.0):
    """The stranding case with contracts ending 2019-01-05..12 (run days 4..11) extended."""
    border = {"type": "border", "date": "2019-01-21", "corridor": "A", "direction": "out"}
    extension = {"type": "stay_extension", "date": "2019-01-05", "end": "2019-01-12"}
    events = [{**border, "seats_per_day": 3}, {**extension, "days": days, "share": share}]
    sim = build("stranding", {"events": events})
    set_timers(sim, Timer.CONTRACT_END, STRANDING_ENDS)
    return run_days(sim, range(20))


def test_contracts_ending_under_a_stay_extension_go_on_with_the_same_employer():
    # Contracts end on days 3 (agents 1 4), 5 (3), 6 (8), 8 (6), 10 (2 9), 12 (7), 14 (5) and
    # 21 (0). Those ending on days 4..11 go on ten more days: 3 to day 15, 8 to 16, 6 to 18,
    # 2 and 9 to day 20 (after this test's days); 1 4 (day 3) and 7 5 (days 12, 14) are not
    # covered. Stranded at the end of each day: 1 4 from day 3, 7 from 12, 5 from 14, 3 from
    # 15, 8 from 16, 6 from 18.
    sim = stranding_with_extension(days=10)
    by_hand = steps({3: 2, 12: 3, 14: 4, 15: 5, 16: 6, 18: 7}, 20)
    assert daily(sim, S.STRANDED) == by_hand
    assert daily(sim, S.EMPLOYED) == [10 - n for n in by_hand]
    extended = sim.recorder.extras["stays_extended"][:20, 0].tolist()
    assert extended == steps({5: 1, 6: 1, 7: 0, 8: 1, 9: 0, 10: 2, 11: 0}, 20)
    assert sim.pop.t_timer[[2, 9]].tolist() == [20, 20]


def test_a_contract_extended_into_the_window_again_is_extended_again():
    # Three days at a time: 3 ends on 5, 8, 11 (all inside days 4..11) and then 14; 8 on 6, 9,
    # 12; 6 on 8, 11, 14; 2 and 9 on 10, 13. Stranded: 1 4 from day 3, 7 and 8 from 12, 2 9
    # from 13, 5 3 6 from 14.
    sim = stranding_with_extension(days=3)
    assert daily(sim, S.STRANDED) == steps({3: 2, 12: 4, 13: 6, 14: 9}, 20)
    assert int(sim.recorder.extras["stays_extended"].sum()) == 3 + 2 + 2 + 2  # 3, 8, 6, 2 and 9


def test_a_stay_extension_nobody_is_kept_under_changes_nothing():
    sim = stranding_with_extension(days=10, share=0.0)
    assert daily(sim, S.STRANDED) == steps({3: 2, 5: 3, 6: 4, 8: 5, 10: 7, 12: 8, 14: 9}, 20)
    assert sim.recorder.extras["stays_extended"].sum() == 0


def dismissed_then_rehired(sim, agent: int, dismissed: int, found: int) -> None:
    """Run on with ``agent`` dismissed on day ``dismissed``, then taken on again on ``found``."""
    file_hazard(sim, ids(agent), Hazard.DISMISSAL, dismissed)
    run_days(sim, range(sim.day + 1, found))
    assert state_of(sim, ids(agent)) == [S.JOBLESS]
    file_hazard(sim, ids(agent), Hazard.JOB_FINDING, found)
    run_days(sim, range(found, found + 2))
    assert state_of(sim, ids(agent)) == [S.EMPLOYED]


def test_a_worker_rehired_after_a_dismissal_keeps_the_stay_extension():
    # Agent 3's contract (12 months) ends on day 4, inside the extension's window (days 3..5):
    # it goes on 40 days, to day 44. Dismissed on day 6, agent 3 finds a new employer on day 8
    # (a change allowed after a dismissal) for the rest of the contract: to day 44, not to the
    # contract's first end (day 4, so a month from the rehire: day 38).
    extension = {"type": "stay_extension", "date": "2019-01-04", "end": "2019-01-06", "days": 40}
    rules = {"events": [extension], "programme.job_change": {"mode": "on_dismissal"}}
    sim = build("dismissal", rules)
    sim.pop.contract_start[3] = 4 - 365
    set_timers(sim, Timer.CONTRACT_END, [999, 999, 999, 4] + [999] * 6)
    run_days(sim, range(5))
    assert sim.pop.t_timer[3] == 44
    dismissed_then_rehired(sim, 3, dismissed=6, found=8)
    assert sim.pop.timer_kind[3] == Timer.CONTRACT_END and sim.pop.t_timer[3] == 44
    assert sim.pop.contract_start[3] == 4 - 365


def test_a_worker_rehired_after_a_voluntary_change_and_a_dismissal_keeps_the_contracts_end():
    # Agent 3's contract (12 months) ends on day 50. It changes employer on day 2 (a new start,
    # the same end), is dismissed on day 5 and finds an employer on day 8 for the rest of the
    # contract: to day 50, not a whole stage from the change (day 2 + 365 = 367).
    rules = {"programme.job_change": {"mode": "free", "voluntary_rate_per_year": 0.0}}
    sim = build("dismissal", rules)
    sim.pop.contract_start[3] = 50 - 365
    set_timers(sim, Timer.CONTRACT_END, [999, 999, 999, 50] + [999] * 6)
    run_days(sim, range(2))
    file_hazard(sim, ids(3), Hazard.VOLUNTARY_CHANGE, 2)
    run_days(sim, range(2, 4))
    assert sim.pop.contract_start[3] == 2 and sim.pop.t_timer[3] == 50
    dismissed_then_rehired(sim, 3, dismissed=5, found=8)
    assert sim.pop.timer_kind[3] == Timer.CONTRACT_END and sim.pop.t_timer[3] == 50


def test_stranded_return_in_order_of_waiting_when_seats_open():
    sim = run_days_after_ends("stranding", STRANDING_ENDS)
    # Queue on day 20 by stranding day, then id: 1 4 | 3 | 8 | 6 | 2 9 | 7 | 5; agent 0 joins
    # on day 21 behind them. Three seats a day: day 20: 1 4 3; day 21: 8 6 2; day 22: 9 7 5;
    # day 23: 0.
    home_day = {1: 20, 4: 20, 3: 20, 8: 21, 6: 21, 2: 21, 9: 22, 7: 22, 5: 22, 0: 23}
    assert {i: int(sim.pop.exited[i]) for i in range(10)} == home_day
    assert daily(sim, S.STRANDED)[19:25] == [9, 6, 4, 1, 0, 0]
    assert daily_flow_into(sim, S.RETURNED)[18:25] == [0, 0, 3, 3, 3, 1, 0]
    assert daily(sim, S.RETURNED)[-1] == 10
    # The reported series says the same, at full scale (scale 1).
    result = build_result(sim, with_agents=False)
    stranded = result.metric("stranded").tolist()
    assert stranded == [float(v) for v in daily(sim, S.STRANDED)]
    assert result.metric("returns").sum() == 10.0
    assert result.summary["peak_stranded"] == 9.0
    assert result.summary["peak_stranded_date"] == "2019-01-15"
    # Person-days stranded, by hand from the table above.
    by_hand = sum(
        steps({3: 2, 5: 3, 6: 4, 8: 5, 10: 7, 12: 8, 14: 9, 20: 6, 21: 4, 22: 1, 23: 0}, 31)
    )
    assert result.summary["person_days_stranded"] == by_hand


def test_dismissal_grace_then_stranded_or_home():
    sim = build("dismissal")
    set_timers(sim, Timer.CONTRACT_END, [999] * 10)
    file_hazard(sim, ids(5, 1, 7), Hazard.DISMISSAL, 2)
    file_hazard(sim, ids(3, 0), Hazard.DISMISSAL, 4)
    run_days(sim)
    n = sim.n_days
    # Jobless for the 5-day grace period: 1 5 7 on days 2-6, 0 3 on days 4-8.
    assert daily(sim, S.JOBLESS) == steps({2: 3, 4: 5, 7: 2, 9: 0}, n)
    # Day 7: 1 5 7 want to go home, 2 seats: 1 and 5 fly, 7 is stranded for a day.
    # Day 9: 0 and 3 want to go home and fly at once.
    assert daily(sim, S.STRANDED) == steps({7: 1, 8: 0}, n)
    assert daily(sim, S.RETURNED) == steps({7: 2, 8: 3, 9: 5}, n)
    assert daily(sim, S.EMPLOYED) == steps({2: 7, 4: 5}, n, start=10)
    assert {i: int(sim.pop.exited[i]) for i in (0, 1, 3, 5, 7)} == {1: 7, 5: 7, 7: 8, 0: 9, 3: 9}
    assert sim.pop.dismissed[[0, 1, 3, 5, 7]].all()
    dismissals = sim.recorder.extras["dismissals"][:, 0]
    assert dismissals[2] == 3 and dismissals[4] == 2 and dismissals.sum() == 5


def test_grace_period_follows_a_rule_event():
    """A rule event shortening the grace period applies to dismissals from its date."""
    events = [{"type": "rule", "date": "2019-01-02", "grace_days": 2}]
    sim = build("dismissal", {"events": events})
    set_timers(sim, Timer.CONTRACT_END, [999] * 10)
    run_days(sim, range(2))  # a rule event redraws pending hazards on its day: file after it
    file_hazard(sim, ids(0), Hazard.DISMISSAL, 3)
    run_days(sim)
    assert daily(sim, S.JOBLESS) == steps({3: 1, 5: 0}, sim.n_days)
    assert int(sim.pop.exited[0]) == 5


def test_entry_queue_under_an_entry_cap_is_first_cleared_first_in():
    sim = build("entry")
    assert sim.pop.n == 10  # 5 entries a day * a 2-day lead time
    assert state_of(sim, np.arange(10)) == [S.TRAINING] * 10
    # Day each trainee is cleared to go (training over), by id.
    set_timers(sim, Timer.TRAINING_END, [4, 2, 2, 3, 9, 1, 1, 1, 6, 10])
    run_days(sim)
    n = sim.n_days
    assert sim.pop.n == 10  # recruitment stopped: nobody else
    # Queue while closed: 5 6 7 | 1 2 | 3 | 0 | 8. Cap 3 a day from day 8: 5 6 7; day 9:
    # 1 2 3 (4 joins behind 0 8); day 10: 0 8 4 (9 joins); day 11: 9.
    entered = {i: int(sim.pop.entered[i]) for i in range(10)}
    assert entered == {5: 8, 6: 8, 7: 8, 1: 9, 2: 9, 3: 9, 0: 10, 8: 10, 4: 10, 9: 11}
    assert daily(sim, S.AWAITING_ENTRY) == steps(
        {1: 3, 2: 5, 3: 6, 4: 7, 6: 8, 8: 5, 9: 3, 10: 1, 11: 0}, n
    )
    result = build_result(sim, with_agents=False)
    assert result.metric("new_entries").tolist() == [
        float(v) for v in steps({8: 3, 11: 1, 12: 0}, n)
    ]
    assert result.metric("awaiting_entry").tolist() == [
        float(v) for v in daily(sim, S.AWAITING_ENTRY)
    ]


def test_home_visit_between_stages():
    # Stage 1 ends on day 3 (agents 0 1), 6 (agent 2) and 10 (agent 3): a 5-day home visit,
    # back on day 8, 8, 11, 15; stage 2 lasts 30 days, then home on day 38, 38, 41, 45.
    sim = run_days_after_ends("home_visit", [3, 3, 6, 10])
    n = sim.n_days
    assert daily(sim, S.HOME_VISIT) == steps({3: 2, 6: 3, 8: 1, 10: 2, 11: 1, 15: 0}, n)
    assert daily(sim, S.RETURNED) == steps({38: 2, 41: 3, 45: 4}, n)
    assert daily(sim, S.EMPLOYED) == [
        4 - a - b for a, b in zip(daily(sim, S.HOME_VISIT), daily(sim, S.RETURNED), strict=True)
    ]
    assert sim.pop.stage[:4].tolist() == [1, 1, 1, 1]
    assert sim.pop.contract_start[:4].tolist() == [8, 8, 11, 15]
    result = build_result(sim, with_agents=False)
    # Home visitors keep the programme's status, and re-entering is not a new entry.
    assert result.metric("programme_stock").tolist() == [
        float(v) for v in steps({38: 2, 41: 1, 45: 0}, n, 4)
    ]
    assert result.metric("new_entries").sum() == 0.0


def test_home_visit_deferred_while_travel_is_closed():
    """With the outbound border shut the visit cannot happen: stage 2 starts at once."""
    closed = [{"type": "border", "date": "2019-01-01", "direction": "out", "seats_per_day": 0}]
    sim = build("home_visit", {"events": closed})
    set_timers(sim, Timer.CONTRACT_END, [3, 3, 6, 10])
    run_days(sim)
    n = sim.n_days
    assert daily(sim, S.HOME_VISIT) == [0] * n
    # Stage 2 (30 days) ends on day 33, 33, 36, 40; then stranded, nobody can fly.
    assert daily(sim, S.STRANDED) == steps({33: 2, 36: 3, 40: 4}, n)
    assert sim.pop.stage[:4].tolist() == [1, 1, 1, 1]


GRANT_ENDS = [2, 4, 7, 12, 25]


def test_special_status_granted_after_delay_then_lapses():
    # Stranded on day 2, 4, 7, 12, 25. The measure starts on day 5: those stranded then (0 1)
    # get the status on day 8; those stranded while it lasts, 3 days later (agent 2 on day 10,
    # agent 3 on day 15). Agent 4 is stranded after it ended (day 20) and gets nothing. The
    # status lasts 30 days and is not renewed (the measure is over): irregular on day 38, 40, 45.
    sim = run_days_after_ends("grant", GRANT_ENDS)
    n = sim.n_days
    assert daily(sim, S.STRANDED) == steps({2: 1, 4: 2, 7: 3, 8: 1, 10: 0, 12: 1, 15: 0, 25: 1}, n)
    assert daily(sim, S.SPECIAL_IDLE) == steps({8: 2, 10: 3, 15: 4, 38: 2, 40: 1, 45: 0}, n)
    assert daily(sim, S.IRREGULAR) == steps({38: 2, 40: 3, 45: 4}, n)
    assert state_of(sim, np.arange(5)) == [S.IRREGULAR] * 4 + [S.STRANDED]
    # The essay's count (stranded whatever bridging status they got) excludes overstayers.
    result = build_result(sim, with_agents=False)
    composite = steps({2: 1, 4: 2, 7: 3, 12: 4, 25: 5, 38: 3, 40: 2, 45: 1}, n)
    assert result.metric("stranded").tolist() == [float(v) for v in composite]
    assert result.metric("special_status").max() == 4.0


def test_special_status_renewed_while_the_measure_lasts():
    sim = build("grant", {"events.0.end": None})
    set_timers(sim, Timer.CONTRACT_END, GRANT_ENDS)
    run_days(sim)
    n = sim.n_days
    # Granted on day 8, 8, 10, 15 (as above) and 28 (agent 4: stranded on day 25); renewed.
    assert daily(sim, S.SPECIAL_IDLE) == steps({8: 2, 10: 3, 15: 4, 28: 5}, n)
    assert daily(sim, S.IRREGULAR) == [0] * n


@pytest.fixture
def cash_sims():
    """The cash case, and the same case with a payment of zero (same seed), up to day 5."""

    def make(amount: float):
        sim = build("cash", {"events.0.amount": amount})
        set_timers(sim, Timer.CONTRACT_END, [2, 3, 999, 999, 999, 999])
        file_hazard(sim, ids(2), Hazard.DISMISSAL, 1)
        run_days(sim, range(6))
        sim.money.settle(np.arange(sim.pop.n), 5)
        return sim

    return make(100000.0), make(0.0)


def test_cash_payment_reaches_exactly_the_listed_states(cash_sims):
    paid, control = cash_sims
    # On day 5: agents 0 1 stranded, agent 2 jobless, agents 3-5 employed (special_idle empty).
    assert state_of(paid, np.arange(6)) == [S.STRANDED, S.STRANDED, S.JOBLESS] + [S.EMPLOYED] * 3
    gain = paid.pop.savings[:6] - control.pop.savings[:6]
    np.testing.assert_allclose(gain, [100000, 100000, 100000, 0, 0, 0], atol=1e-6)
    cash = paid.recorder.extras["cash_paid"][:, 0]
    assert cash[5] == 300000.0 and cash.sum() == 300000.0
    assert control.recorder.extras["cash_paid"].sum() == 0.0


def test_shelter_houses_min_of_destitute_and_capacity_first_come_first_served():
    # No savings: destitute the day the contract ends. Ends on day 1 1 2 3 4 6 6 8; 3 places
    # from day 5; from day 12 two fly home a day in the order they were stranded, and freed
    # places go to the next destitute in line.
    sim = run_days_after_ends("shelter", [1, 1, 2, 3, 4, 6, 6, 8])
    n = sim.n_days
    destitute = steps({1: 2, 2: 3, 3: 4, 4: 5, 6: 7, 8: 8, 12: 6, 13: 4, 14: 2, 15: 0}, n)
    sheltered = steps({5: 3, 14: 2, 15: 0}, n)
    assert daily(sim, S.STRANDED) == destitute
    assert sim.recorder.flag_history["destitute"][:, 0].tolist() == destitute
    assert sim.recorder.flag_history["sheltered"][:, 0].tolist() == sheltered
    capacity = steps({5: 3}, n)
    assert sheltered == [min(d, c) for d, c in zip(destitute, capacity, strict=True)]
    result = build_result(sim, with_agents=False)
    unmet = [float(d - s) for d, s in zip(destitute, sheltered, strict=True)]
    assert result.metric("unmet_shelter_need").tolist() == unmet
    assert result.summary["peak_unmet_shelter_need"] == 5.0  # day 8: 8 destitute, 3 housed


def test_shelter_places_go_to_the_next_in_line():
    sim = build("shelter")
    set_timers(sim, Timer.CONTRACT_END, [1, 1, 2, 3, 4, 6, 6, 8])
    housed = {}
    for day in range(sim.n_days):
        sim.step(day)
        housed[day] = np.flatnonzero(sim.pop.sheltered[:8]).tolist()
    assert housed[4] == []
    assert housed[5] == [0, 1, 2]  # first destitute, first housed
    assert housed[12] == [2, 3, 4]  # 0 1 flew home; 3 4 took their places
    assert housed[13] == [4, 5, 6]
    assert housed[14] == [6, 7]


def test_a_womens_shelter_fills_from_the_women_in_line_and_the_others_from_everyone():
    # The shelter case with 1 place open to everyone and 2 for women (both from day 5).
    # Destitute in line order 0 1 2 3 4 5 6 7 (contract ends 1 1 2 3 4 6 6 8); women 1 3 4 7.
    # Day 5: the women's shelter takes 1 and 3, the other 0. From day 12 two fly home a day in
    # the order they were stranded: day 12: 0 1 leave, 4 (a woman) and 2 come in; day 13: 2 3
    # leave, 7 and 5; day 14: 4 5 leave, no woman waits, 6 comes in; day 15: 6 7 leave.
    shelters = [
        {"name": "npo", "capacity": 1, "start": "2019-01-06"},
        {"name": "women", "capacity": 2, "start": "2019-01-06", "sex": "female"},
    ]
    sim = build("shelter", {"shelters": shelters})
    sim.pop.female[:8] = [i in (1, 3, 4, 7) for i in range(8)]
    set_timers(sim, Timer.CONTRACT_END, [1, 1, 2, 3, 4, 6, 6, 8])
    housed, pools = {}, {}
    for day in range(sim.n_days):
        sim.step(day)
        housed[day] = np.flatnonzero(sim.pop.sheltered[:8]).tolist()
        pools[day] = sim.pop.shelter_pool[housed[day]].tolist()  # 0: open to everyone
    assert housed[4] == [] and housed[5] == housed[11] == [0, 1, 3]
    assert pools[5] == [0, 1, 1]
    assert housed[12] == [2, 3, 4] and pools[12] == [0, 1, 1]
    assert housed[13] == [4, 5, 7] and pools[13] == [1, 0, 1]
    assert housed[14] == [6, 7] and pools[14] == [0, 1]
    assert housed[15] == []
    # The women among those needing a bed (the destitute: no bed comes with the job) and among
    # the sheltered: 1 3 4 7 need one from days 1 3 4 8 and fly home on days 12 13 14 15.
    n = sim.n_days
    result = build_result(sim, with_agents=False)
    women_need = steps({1: 1, 3: 2, 4: 3, 8: 4, 12: 3, 13: 2, 14: 1, 15: 0}, n)
    women_housed = steps({5: 2, 14: 1, 15: 0}, n)
    assert result.metric("needs_bed_women").tolist() == [float(v) for v in women_need]
    assert result.metric("destitute_women").tolist() == [float(v) for v in women_need]
    assert result.metric("sheltered_women").tolist() == [float(v) for v in women_housed]
    unmet = [float(a - b) for a, b in zip(women_need, women_housed, strict=True)]
    assert result.metric("unmet_shelter_need_women").tolist() == unmet
    assert result.summary["peak_needs_bed_women"] == 4.0  # days 8-11
    assert result.summary["peak_needs_bed_women_date"] == "2019-01-09"
    # Day 4: 1 3 4 need a bed, the shelters open the next day (days 8-11: 4 need, 2 housed).
    assert result.summary["peak_unmet_shelter_need_women"] == 3.0
    assert result.summary["peak_unmet_shelter_need_women_date"] == "2019-01-05"
    assert sim.recorder.extras["shelter_capacity"][5:, 0].tolist() == [3.0] * (sim.n_days - 5)


def test_whom_a_shelter_takes_in_by_origin_segment_and_sex():
    """The table of whom each shelter that takes in only some houses, by [profile, female]."""
    shelters = [
        {"name": "home", "capacity": 10, "segments": ["mdw"], "sex": "female"},
        {"name": "temple", "capacity": 10, "origins": ["India", "Bangladesh"]},
        {"name": "ngo", "capacity": 10},
    ]
    sc = load_scenario("singapore-work-permit", {"shelters": shelters})
    sim = Simulation(sc, seed=1, scale=0.0005)
    civil = sim.civil
    assert [sim.civil.shelters[i].name for i in civil.restricted] == ["home", "temple"]
    assert civil.general == [2]
    origin = np.array([sim.origins[p.origin] for p in sim.profiles])
    segment = np.array([sim.segments[p.segment] for p in sim.profiles])
    home, temple = civil.takes_in
    assert home[:, 0].tolist() == [False] * len(origin)  # men: none
    assert home[:, 1].tolist() == (segment == "mdw").tolist()
    for sex in (0, 1):
        assert temple[:, sex].tolist() == np.isin(origin, ["India", "Bangladesh"]).tolist()


def test_a_shelter_must_name_origins_and_segments_the_scenario_has():
    with pytest.raises(ScenarioError, match=r"shelters.0.origins: 'B' is not an origin \(A\)"):
        build("shelter", {"shelters": [{"name": "temple", "capacity": 3, "origins": ["B"]}]})
    with pytest.raises(ScenarioError, match="shelters.0.segments: 'mdw' is not a segment"):
        build("shelter", {"shelters": [{"name": "home", "capacity": 3, "segments": ["mdw"]}]})
    with pytest.raises(ScenarioError, match="sex"):
        build("shelter", {"shelters": [{"name": "w", "capacity": 3, "sex": "women"}]})
    many = [{"name": f"w{i}", "capacity": 1, "sex": "female"} for i in range(128)]
    with pytest.raises(ScenarioError, match="128 shelters take in only some .* at most 127"):
        build("shelter", {"shelters": many})


def test_shelter_closing_sends_its_residents_back_to_the_line():
    """When places disappear nobody stays housed beyond them (sheltered <= capacity)."""
    sim = build("shelter", {"shelters.0.end": "2019-01-10", "events": []})
    set_timers(sim, Timer.CONTRACT_END, [1, 1, 2, 3, 4, 6, 6, 8])
    run_days(sim)
    n = sim.n_days
    assert sim.recorder.flag_history["sheltered"][:, 0].tolist() == steps({5: 3, 10: 0}, n)
    assert sim.recorder.flag_history["destitute"][:, 0].tolist() == steps(
        {1: 2, 2: 3, 3: 4, 4: 5, 6: 7, 8: 8}, n
    )


def test_friends_capacity_follows_employment():
    # Friends house 0.5 people per employed co-worker (rounded down); the stranded are the
    # destitute, so as contracts end capacity falls: 3 2 2 1 1 0 0 0 places on days 1-8.
    sim = build("shelter", {"shelters": [{"name": "friends", "per_employed": 0.5}]})
    set_timers(sim, Timer.CONTRACT_END, [1, 1, 2, 3, 4, 6, 6, 8])
    run_days(sim)
    capacity = np.floor(sim.recorder.extras["shelter_capacity"][:, 0] + 1e-9).astype(int)
    destitute = sim.recorder.flag_history["destitute"][:, 0]
    sheltered = sim.recorder.flag_history["sheltered"][:, 0]
    assert capacity[:9].tolist() == [4, 3, 2, 2, 1, 1, 0, 0, 0]
    assert sheltered.tolist() == np.minimum(destitute, capacity).tolist()
    assert sheltered[:9].tolist() == [0, 2, 2, 2, 1, 1, 0, 0, 0]


def test_where_the_job_comes_with_a_bed_the_stranded_need_one_whatever_their_savings():
    # The shelter case with savings enough for years: nobody is destitute. Where the job comes
    # with a bed, each stranded person needs one from the day the contract ends, takes the 3
    # places from day 5 in the order of need, and gives the place up on flying home (2 a day
    # from day 12): the counts of the destitution case. Without the rule nobody needs a bed.
    rich = {"money.initial_savings_mean": 10_000_000}
    counts = {}
    for rule in (True, False):
        sim = build("shelter", {**rich, "programme.housing_with_job": rule})
        set_timers(sim, Timer.CONTRACT_END, [1, 1, 2, 3, 4, 6, 6, 8])
        run_days(sim)
        history = sim.recorder.flag_history
        counts[rule] = {
            k: history[k][:, 0].tolist() for k in ("destitute", "needs_bed", "sheltered")
        }
        stranded = daily(sim, S.STRANDED)
    n = len(stranded)
    assert stranded == steps({1: 2, 2: 3, 3: 4, 4: 5, 6: 7, 8: 8, 12: 6, 13: 4, 14: 2, 15: 0}, n)
    assert counts[True]["destitute"] == [0] * n
    assert counts[True]["needs_bed"] == stranded
    assert counts[True]["sheltered"] == steps({5: 3, 14: 2, 15: 0}, n)
    assert counts[False] == {"destitute": [0] * n, "needs_bed": [0] * n, "sheltered": [0] * n}


def test_a_bed_needed_for_want_of_work_is_given_up_on_finding_work():
    # The dismissal case, where the job comes with a bed, two shelter places and savings for
    # years. 1 5 7 are dismissed on day 2 and need a bed (2 places: one waits); 5 finds a new
    # employer on day 4 and gives up the need, so the one waiting takes the freed place; 1 and
    # 7 fly home on day 7, when their grace period ends (2 seats a day), and need none.
    overrides = {
        "programme.housing_with_job": True,
        "money.initial_savings_mean": 10_000_000,
        "shelters": [{"name": "npo", "capacity": 2}],
    }
    sim = build("dismissal", overrides)
    set_timers(sim, Timer.CONTRACT_END, [999] * 10)
    file_hazard(sim, ids(5, 1, 7), Hazard.DISMISSAL, 2)
    run_days(sim, range(3))
    file_hazard(sim, ids(5), Hazard.JOB_FINDING, 4)  # after the move that redrew its hazards
    run_days(sim, range(3, sim.n_days))
    n = sim.n_days
    history = sim.recorder.flag_history
    assert daily(sim, S.EMPLOYED) == steps({2: 7, 4: 8}, n, start=10)
    assert history["destitute"][:, 0].tolist() == [0] * n
    assert history["needs_bed"][:, 0].tolist() == steps({2: 3, 4: 2, 7: 0}, n)
    assert history["sheltered"][:, 0].tolist() == steps({2: 2, 7: 0}, n)
    assert not sim.pop.needs_bed[5] and not sim.pop.sheltered[5]


FUND = {"name": "fund", "amount": 1_000_000, "budget_per_month": 12_175_000}  # 400,000 a day


def test_emergency_fund_pays_in_order_of_need_as_its_money_accrues():
    # No shelter and no seats: everyone is destitute from the day their contract ends (days
    # 1 1 2 3 4 6 6 8). The fund accrues 400,000 a day (12,175,000 over 30.4375 days) from day
    # 0 and pays 1,000,000 to the first in line whenever it has that much: on days 2, 4, 7, 9,
    # 12, 14, 17 and 19 (budget 1.2M, 1.0M, 1.2M, 1.0M, ...), each time to the next agent in
    # the order they became destitute, who is then no longer destitute.
    sim = build("shelter", {"shelters": [], "events": [], "emergency_funds": [FUND]})
    set_timers(sim, Timer.CONTRACT_END, [1, 1, 2, 3, 4, 6, 6, 8])
    paid_on = {}
    for day in range(sim.n_days):
        sim.step(day)
        for i in np.flatnonzero(sim.pop.emergency[:8]):
            paid_on.setdefault(int(i), day)
    destitute = sim.recorder.flag_history["destitute"][:, 0].tolist()
    assert destitute == [0, 2, 2, 3, 3, 3, 5, 4, 5, 4, 4, 4, 3, 3, 2, 2, 2, 1, 1, 0]
    assert paid_on == {0: 2, 1: 4, 2: 7, 3: 9, 4: 12, 5: 14, 6: 17, 7: 19}
    paid = sim.recorder.extras["emergency_paid"][:, 0]
    assert np.flatnonzero(paid).tolist() == [2, 4, 7, 9, 12, 14, 17, 19]
    assert paid.sum() == 8 * 1_000_000
    people = sim.recorder.extras["emergency_payments"][:, 0]  # one person paid on each day
    assert people.tolist() == [1.0 if d in (2, 4, 7, 9, 12, 14, 17, 19) else 0.0 for d in range(20)]


def test_a_fund_smaller_than_one_payment_still_pays_once_it_has_saved_one():
    # 2,000 a day (60,875 a month) against payments of 100,000: unspent money carries over up
    # to one payment, so the first destitute is paid on day 49, when 50 days have accrued
    # 100,000; capped at a month's budget the fund would never pay anyone.
    fund = {"name": "fund", "amount": 100_000, "budget_per_month": 60_875}
    sim = build(
        "shelter",
        {"end": "2019-03-31", "shelters": [], "events": [], "emergency_funds": [fund]},
    )
    set_timers(sim, Timer.CONTRACT_END, [1, 1, 2, 3, 4, 6, 6, 8])
    run_days(sim)
    paid = sim.recorder.extras["emergency_paid"][:, 0]
    assert np.flatnonzero(paid).tolist() == [49]
    assert paid[49] == 100_000
    destitute = sim.recorder.flag_history["destitute"][:, 0]
    assert destitute[48] == 8 and destitute[49] == 7 and destitute[-1] == 7


def test_half_scale_keeps_fractions_of_seats_and_reports_people():
    """At scale 0.5 the ten trainees are five agents and 3 seats a day are 1.5 agent-seats.

    The half seat carries to the next day: 1, 2, 1, 2 agents may fly on days 20-23. Stranded on
    days 3 (two), 5, 6 and 8; home on day 20 (1), 21 (2), 22 (1), 23 (1, the last one).
    Reported figures count people: each agent stands for two.
    """
    sim = build("stranding", scale=0.5)
    assert sim.pop.n == 5
    set_timers(sim, Timer.CONTRACT_END, [3, 3, 5, 6, 8])
    run_days(sim)
    assert daily_flow_into(sim, S.RETURNED)[19:25] == [0, 1, 2, 1, 1, 0]
    result = build_result(sim, with_agents=False)
    assert result.metric("programme_stock").iloc[0] == 10.0
    assert result.metric("returns").tolist()[19:25] == [0.0, 2.0, 4.0, 2.0, 2.0, 0.0]
    stranded = result.metric("stranded").tolist()
    assert stranded[:9] == [0.0, 0.0, 0.0, 4.0, 4.0, 6.0, 8.0, 8.0, 10.0]
    assert stranded[19:24] == [10.0, 8.0, 4.0, 2.0, 0.0]


def test_runaway_caught_again_waits_from_being_caught_and_flies_once():
    """A stranded worker who ran away left the return queue; caught, it queues again."""
    sim = build("stranding")  # invariants checked every day
    set_timers(sim, Timer.CONTRACT_END, [2, 2] + [999] * 8)
    run_days(sim, range(3))  # stranded (and queued) on day 2: entering a state redraws hazards
    file_hazard(sim, ids(0), Hazard.RUNAWAY, 5)
    run_days(sim, range(3, 6))
    assert state_of(sim, ids(0, 1)) == [S.IRREGULAR, S.STRANDED]
    file_hazard(sim, ids(0), Hazard.APPREHENSION, 8)
    run_days(sim)
    # Both fly on day 20, when seats open, each once: 1 (waiting since day 2), then 0 (day 8).
    assert daily_flow_into(sim, S.RETURNED)[18:22] == [0, 0, 2, 0]
    assert daily(sim, S.RETURNED)[-1] == 2
    assert sim.pop.exited[[0, 1]].tolist() == [20, 20]
    assert sim.pop.queued[[0, 1]].tolist() == [NEVER, NEVER]


def test_a_move_counts_settles_sets_rates_and_files_destitution():
    """One move does, for each agent, what the money rules say, and the stocks follow."""
    sim = build("stranding")  # invariants checked every day
    run_days(sim, range(3))
    pop, day = sim.pop, sim.day
    who = ids(0, 1, 2)
    sim.money.settle(who, day)
    burn = sim.money.subsist_day  # stranded without welfare: no income, subsistence spending
    pop.savings[who] = [0.0, 10.5 * burn, 3 * burn]
    debt = pop.debt[who].copy()
    before = sim.recorder.counts.copy()
    sim.move(who, S.STRANDED)
    assert pop.state[who].tolist() == [S.STRANDED] * 3
    assert pop.income[who].tolist() == [0.0] * 3 and pop.cost[who].tolist() == [burn] * 3
    assert pop.money_t[who].tolist() == [day] * 3
    assert pop.debt[who].tolist() == debt.tolist()  # settled already: nothing more accrues
    # Out of savings today: destitute now; the others on the day their savings run out.
    assert pop.destitute[who].tolist() == [True, False, False]
    assert pop.t_money[[1, 2]].tolist() == [day + 10, day + 3]
    assert sim.pop.flags["destitute"].counts[0] == 1
    assert (sim.recorder.counts - before)[[S.EMPLOYED, S.STRANDED], 0].tolist() == [-3, 3]
    assert sim.recorder.flow_today[S.EMPLOYED, S.STRANDED, 0] == 3
    # Back to work: earning again, nobody is destitute and no day of ruin is pending.
    sim.move(who, S.EMPLOYED)
    assert not pop.destitute[who].any() and pop.t_money[who].tolist() == [-1] * 3
    assert sim.pop.flags["destitute"].counts[0] == 0
    sim.check_invariants()
    assert sim.money.calendar.pop(day + 3).tolist() == []  # the old entry went stale


# Voluntary changes of employer at 1e6 a year (2,738 a day): an agent who may change does so on
# the next day (waiting more than a day has probability e^-2738). A dismissed worker finds an
# employer the next day the same way (job search at 1e6 a year, hearing >= information.base).
LIMITED = {"mode": "free", "voluntary_rate_per_year": 1e6}
FAST_SEARCH = {"supervision.job_search_rate_per_year": 1e6}

# Job changes each day (the series' job_changes) and voluntary changes each agent made, by hand,
# for each limit. Agent 9 is dismissed on day 1 (instead of changing), finds an employer on
# day 2 and changes voluntarily from day 3; agents 0-8 change on days 1, 2, ... up to the limit.
# Agents 0 and 1, at the limit, are dismissed on day 5 and find an employer on day 6: counted in
# the series, not against the limit, and they change voluntarily no more.
BY_LIMIT = {
    # day 1: 0-8 change; day 2: 9 finds a job; day 3: 9 changes; day 6: 0 and 1 find jobs
    1: ({1: 9, 2: 1, 3: 1, 4: 0, 6: 2, 7: 0}, [1] * 10),
    # day 2: 0-8 change again and 9 finds a job; days 3 and 4: 9 changes
    2: ({1: 9, 2: 10, 3: 1, 5: 0, 6: 2, 7: 0}, [2] * 10),
}


@pytest.mark.parametrize("limit", sorted(BY_LIMIT))
def test_voluntary_changes_stop_at_the_limit_and_changes_after_a_dismissal_do_not_count(
    limit, tmp_path
):
    job_change = {**LIMITED, "max_changes": limit}
    sim = build("dismissal", {"programme.job_change": job_change, **FAST_SEARCH})
    set_timers(sim, Timer.CONTRACT_END, [999] * 10)
    file_hazard(sim, ids(9), Hazard.DISMISSAL, 1)
    run_days(sim, range(4))
    assert sim.pop.t_hazard[[0, 1]].tolist() == [-1, -1]  # at the limit: nothing drawn
    file_hazard(sim, ids(0, 1), Hazard.DISMISSAL, 5)
    run_days(sim)
    n = sim.n_days
    series, made = BY_LIMIT[limit]
    result = build_result(sim)
    assert result.metric("job_changes").tolist() == [float(v) for v in steps(series, n)]
    assert sim.pop.employer_changes[:10].tolist() == made
    assert daily(sim, S.JOBLESS) == steps({1: 1, 2: 0, 5: 2, 6: 0}, n)
    assert daily(sim, S.EMPLOYED)[-1] == 10
    assert sim.pop.t_hazard[:10].tolist() == [-1] * 10  # nobody can change any more
    # agents.parquet says how many voluntary changes each made.
    result.write(tmp_path / "run")
    agents = pd.read_parquet(tmp_path / "run" / "agents.parquet")
    assert agents["employer_changes"].dtype == np.uint8
    assert agents["employer_changes"].tolist() == made


TWO_STAGES = [{"name": "1", "months": 12, "continue_prob": 1.0}, {"name": "2", "months": 12}]


@pytest.mark.parametrize("home_visit", [0, 2])
def test_a_limit_by_stage_counts_each_stage_from_none(home_visit):
    # One change in stage 1, two in stage 2. Everyone changes on day 1 (then at stage 1's
    # limit); every contract ends on day 3 and all go on to stage 2 (after a home visit of
    # ``home_visit`` days, through an open border), whose count starts from none: they change
    # on the two days after the new contract starts, then no more.
    stages = [TWO_STAGES[0], {**TWO_STAGES[1], "home_visit_days": home_visit}]
    job_change = {**LIMITED, "max_changes_by_stage": {"1": 1, "2": 2}}
    overrides = {"programme.stages": stages, "programme.job_change": job_change}
    sim = build("dismissal", {**overrides, "borders.seats_in_per_day": 100})
    set_timers(sim, Timer.CONTRACT_END, [3] * 10)
    run_days(sim)
    n = sim.n_days
    start = 3 + home_visit  # stage 2's contract starts
    series = {1: 10, 2: 0, start + 1: 10, start + 3: 0}
    assert build_result(sim).metric("job_changes").tolist() == [float(v) for v in steps(series, n)]
    assert sim.pop.stage[:10].tolist() == [1] * 10
    assert sim.pop.employer_changes[:10].tolist() == [2] * 10
    assert sim.pop.t_hazard[:10].tolist() == [-1] * 10  # nobody can change any more


def test_a_limit_over_the_stay_and_one_by_stage_cannot_both_be_given():
    job_change = {**LIMITED, "max_changes": 1, "max_changes_by_stage": {"1": 1}}
    with pytest.raises(ScenarioError, match="not both"):
        build("dismissal", {"programme.job_change": job_change})
    job_change = {**LIMITED, "max_changes_by_stage": {"2": 1}}
    with pytest.raises(ScenarioError, match="max_changes_by_stage names '2', not a stage"):
        build("dismissal", {"programme.job_change": job_change})


def test_without_a_limit_voluntary_changes_go_on_and_are_counted():
    sim = build("dismissal", {"programme.job_change": LIMITED})
    set_timers(sim, Timer.CONTRACT_END, [999] * 10)
    run_days(sim)
    n = sim.n_days
    # Everyone changes every day from day 1: 10 a day; each has changed on days 1 to n - 1.
    result = build_result(sim)
    assert result.metric("job_changes").tolist() == [0.0] + [10.0] * (n - 1)
    assert sim.pop.employer_changes[:10].tolist() == [n - 1] * 10
    assert "employer_changes" not in result.agents.columns  # only where changes are limited


# ---- exit amnesty ---------------------------------------------------------------------------


def stranding_with_amnesty(share: float = 1.0, end: str = "2019-01-22"):
    """The stranding case with agents 0-5 irregular from day 2 and agent 6 from day 6.

    The amnesty takes those irregular on 2019-01-06 (run day 5), from 2019-01-09 (day 8) to
    ``end``; the way home opens on day 20 with two seats a day.
    """
    border = {"type": "border", "date": "2019-01-21", "corridor": "A", "direction": "out"}
    amnesty = {"type": "exit_amnesty", "date": "2019-01-09", "end": end}
    amnesty |= {"states": ["irregular"], "eligible_on": "2019-01-06", "share": share}
    sim = build("stranding", {"events": [{**border, "seats_per_day": 2}, amnesty]})
    set_timers(sim, Timer.CONTRACT_END, [999] * 10)
    file_hazard(sim, ids(0, 1, 2, 3, 4, 5), Hazard.RUNAWAY, 2)
    file_hazard(sim, ids(6), Hazard.RUNAWAY, 6)
    return run_days(sim, range(sim.n_days))


def test_an_exit_amnesty_lets_those_irregular_before_it_queue_for_a_seat_until_it_ends():
    # Agents 0-5 are irregular on day 5 and queue home on day 8; agent 6, irregular from day 6,
    # may not. The border opens on day 20 with two seats a day: 0 1 leave on day 20, 2 3 on day
    # 21; the amnesty ends on day 21, so 4 and 5, still waiting on day 22, leave the queue and
    # stay irregular, as does 6.
    sim = stranding_with_amnesty()
    assert daily(sim, S.IRREGULAR) == steps({2: 6, 6: 7, 20: 5, 21: 3}, sim.n_days)
    assert daily_flow_into(sim, S.RETURNED) == steps({20: 2, 22: 0}, sim.n_days)
    assert daily(sim, S.EMPLOYED) == steps({2: 4, 6: 3}, sim.n_days, start=10)
    assert state_of(sim, ids(0, 1, 2, 3)) == [S.RETURNED] * 4
    assert state_of(sim, ids(4, 5, 6)) == [S.IRREGULAR] * 3
    assert sim.pop.in_return_queue[:10].sum() == 0
    assert (sim.pop.queued[[4, 5, 6]] == NEVER).all()


def test_an_exit_amnesty_that_lasts_lets_every_taker_home_and_none_taken_up_changes_nothing():
    # Ending on day 25, every taker leaves: two a day on days 20-22.
    sim = stranding_with_amnesty(end="2019-01-26")
    assert daily_flow_into(sim, S.RETURNED) == steps({20: 2, 23: 0}, sim.n_days)
    assert state_of(sim, ids(6)) == [S.IRREGULAR]
    sim = stranding_with_amnesty(share=0.0)
    assert daily(sim, S.IRREGULAR) == steps({2: 6, 6: 7}, sim.n_days)
    assert daily_flow_into(sim, S.RETURNED) == [0] * sim.n_days


def amnesty_case(
    end: str, extra: list | None = None, over: dict | None = None, caught=None, until=None
):
    """Agents 0-5 irregular from day 2; the amnesty of day 8 to ``end`` (eligible on day 5).

    ``extra``: more events; ``over``: more overrides; ``caught``: (agent, day) apprehended
    before the amnesty (filed once they are irregular); ``until``: run to that day only. The
    way home opens on day 20 with two seats a day.
    """
    border = {"type": "border", "date": "2019-01-21", "corridor": "A", "direction": "out"}
    amnesty = {"type": "exit_amnesty", "date": "2019-01-09", "end": end}
    amnesty |= {"states": ["irregular"], "eligible_on": "2019-01-06"}
    events = [{**border, "seats_per_day": 2}, amnesty, *(extra or [])]
    sim = build("stranding", {"events": events, **(over or {})})
    set_timers(sim, Timer.CONTRACT_END, [999] * 10)
    file_hazard(sim, ids(0, 1, 2, 3, 4, 5), Hazard.RUNAWAY, 2)
    run_days(sim, range(3))
    if caught is not None:
        file_hazard(sim, ids(caught[0]), Hazard.APPREHENSION, caught[1])
    return run_days(sim, None if until is None else range(3, until + 1))


def test_one_already_waiting_for_a_seat_is_no_taker_and_keeps_waiting_after_the_amnesty():
    # Agent 0, caught on day 6, waits for a seat before the amnesty; 1-5 take it up on day 8 and
    # lose it on day 15 (the amnesty ends on day 14), before any seat. Agent 0 keeps its place
    # and leaves alone on day 20.
    sim = amnesty_case("2019-01-15", caught=(0, 6))
    assert daily_flow_into(sim, S.RETURNED) == steps({20: 1, 21: 0}, sim.n_days)
    assert state_of(sim, ids(0)) == [S.RETURNED]
    assert state_of(sim, ids(1, 2, 3, 4, 5)) == [S.IRREGULAR] * 5
    assert not sim.pop.in_return_queue[:10].any()


def test_a_taker_who_waits_again_by_another_way_keeps_that_place_when_the_amnesty_ends():
    # Agent 1 takes the amnesty up on day 8; on day 10 it leaves the queue and joins it again
    # by another way (as one who ran away and was caught does), so the end of the amnesty on
    # day 15 takes its place from 2-5 only: it leaves on day 20, the first of the seats.
    sim = amnesty_case("2019-01-15", until=10)
    sim.borders.leave_return_queue(ids(1))
    sim.borders.queue_return(ids(1), 10)
    run_days(sim)
    assert daily_flow_into(sim, S.RETURNED) == steps({20: 1, 21: 0}, sim.n_days)
    assert state_of(sim, ids(1)) == [S.RETURNED]
    assert state_of(sim, ids(0, 2, 3, 4, 5)) == [S.IRREGULAR] * 5


def test_those_whose_amnesty_lapsed_can_be_caught_again():
    # Apprehension at 10 a day (nobody escapes for a day) from day 10, none before: 0-5 queue on
    # day 8 and are not caught while they wait; the amnesty lapses on day 15, they are caught
    # again within a day and wait again, and two a day leave from day 20.
    hold = {"type": "hazard", "date": "2019-01-01", "end": "2019-01-10", "hazard": "apprehension"}
    hold |= {"multiplier": 0.0}
    over = {"behaviour.apprehension_rate_per_year": 3652.5}
    sim = amnesty_case("2019-01-15", extra=[hold], over=over)
    assert daily_flow_into(sim, S.RETURNED) == steps({20: 2, 23: 0}, sim.n_days)
    assert state_of(sim, ids(0, 1, 2, 3, 4, 5)) == [S.RETURNED] * 6
    assert daily(sim, S.IRREGULAR) == steps({2: 6, 20: 4, 21: 2, 22: 0}, sim.n_days)


def test_an_exit_amnesty_whose_eligibility_day_is_after_it_starts_is_refused():
    amnesty = {"type": "exit_amnesty", "date": "2019-01-09", "end": "2019-01-20"}
    amnesty |= {"states": ["irregular"], "eligible_on": "2019-01-10"}
    with pytest.raises(ScenarioError, match="eligible_on"):
        load_scenario(scenario_file("stranding"), {"events": [amnesty]})
    with pytest.raises(ScenarioError, match="states"):
        load_scenario(scenario_file("stranding"), {"events": [{**amnesty, "states": ["employed"]}]})
