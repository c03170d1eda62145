"""Renting a room privately after losing the job's bed (``programme.private_rental``).

The shelter case of tests/test_lifecycle.py (eight trainees, nothing remitted is saved, three
shelter places from day 5, the border home open from day 12 with two seats a day), where the job
comes with a bed. Rent and subsistence are 30,437.5 a month, 1,000 a day each (a month is
30.4375 days), and moving in costs two months' rent, 60,875. Agents 0 and 1 are stranded when
their contracts end on day 1, agent 2 is dismissed on day 2 and finds an employer on day 4; the
others keep working.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from helpers import build, file_hazard, ids, scenario_file, set_timers, steps

from tmpsim.kinds import Hazard, Timer
from tmpsim.results import build_result
from tmpsim.scenario import ScenarioError, load_scenario
from tmpsim.states import State

MONTH = 30437.5  # 1,000 a day
RENTAL = {
    "rent_month": MONTH, "move_in_months": 2, "refusal_share": 0.0, "reserve_months": 0,
    "source": "test",
}  # fmt: skip
MOVE_IN = 60875.0
SAVINGS = [70875.0, 50000.0, 100000.0]  # above, below and above the move-in cost
WHO = ids(0, 1, 2)


def start_case(rental: dict | None):
    """The case with ``rental`` (None: no private rental), before its first day."""
    overrides = {"programme.housing_with_job": True, "money.subsistence_cost_per_month": MONTH}
    if rental is not None:
        overrides["programme.private_rental"] = rental
    sim = build("shelter", overrides)  # invariants checked every day
    set_timers(sim, Timer.CONTRACT_END, [1, 1] + [999] * 6)
    sim.pop.savings[WHO] = SAVINGS  # constant while at work: all above living costs is remitted
    return sim


def run_case(rental: dict | None, days: int | None = None) -> tuple:
    """Run the case's first ``days`` (default all); savings of 0-2 settled each day."""
    sim = start_case(rental)
    savings = []
    for day in range(sim.n_days if days is None else days):
        sim.step(day)
        if day == 1:
            file_hazard(sim, ids(2), Hazard.DISMISSAL, 2)
        if day == 2:  # after the move that redrew its hazards
            file_hazard(sim, ids(2), Hazard.JOB_FINDING, 4)
        sim.money.settle(WHO, day)
        savings.append(sim.pop.savings[WHO].tolist())
    return sim, savings


def history(sim, flag: str) -> list[int]:
    return sim.recorder.flag_history[flag][:, 0].tolist()


def test_those_who_can_pay_rent_and_need_a_bed_only_when_destitute():
    # Day 1: 0 and 1 are stranded. 0 has 70,875, pays 60,875 to move in and rents: 10,000 left
    # at 2,000 a day (subsistence and rent), destitute on day 6, when the room is lost and a bed
    # needed. 1 has 50,000, below the move-in cost: needs a bed at once, takes a place on day 5
    # and spends 1,000 a day. Day 2: 2 is dismissed and rents (100,000 - 60,875 = 39,125), pays
    # 2,000 a day until back at work on day 4 (35,125), then stops renting and needs nothing.
    # Day 12: 0 and 1 fly home (the 50,000 ticket takes what 1 has left).
    sim, savings = run_case(RENTAL)
    n = sim.n_days
    assert history(sim, "renting") == steps({1: 1, 2: 2, 4: 1, 6: 0}, n)
    assert history(sim, "needs_bed") == steps({1: 1, 6: 2, 12: 0}, n)
    assert history(sim, "sheltered") == steps({5: 1, 6: 2, 12: 0}, n)
    assert history(sim, "destitute") == steps({6: 1, 12: 0}, n)
    rent_paid = [s[0] for s in savings[1:7]]
    assert rent_paid == [10000.0, 8000.0, 6000.0, 4000.0, 2000.0, 0.0]
    assert [s[1] for s in savings[1:12]] == [50000.0 - 1000.0 * d for d in range(11)]
    assert [s[2] for s in savings[1:6]] == [100000.0, 39125.0, 37125.0, 35125.0, 35125.0]
    pop = sim.pop
    assert not pop.renting[: pop.n].any()
    assert pop.state[2] == State.EMPLOYED and pop.cost[2] == sim.money.living_day
    result = build_result(sim, with_agents=False)
    assert result.metric("renting").tolist() == [float(v) for v in history(sim, "renting")]
    assert result.summary["peak_renting"] == 2.0
    assert result.summary["peak_renting_date"] == "2019-01-03"


def test_a_renter_spends_subsistence_and_rent_until_the_room_is_lost():
    sim, _ = run_case(RENTAL, days=2)
    pop = sim.pop
    assert pop.renting[0] and pop.cost[0] == 2000.0  # the rent on top of subsistence
    assert not pop.renting[1] and pop.cost[1] == 1000.0
    assert pop.t_money[0] == 6  # 10,000 left after moving in, at 2,000 a day
    for day in range(2, 7):
        sim.step(day)
    assert pop.destitute[0] and not pop.renting[0] and pop.needs_bed[0]
    assert pop.cost[0] == 1000.0  # no room, no rent: subsistence only


def test_those_refused_by_every_landlord_need_a_bed_as_without_private_rental():
    # refusal_share 1: 0 and 2 can pay but are refused: nobody rents and every series is the
    # one without private rental (its draws come from a stream of its own).
    refused, savings = run_case({**RENTAL, "refusal_share": 1.0})
    before, savings_before = run_case(None)
    n = refused.n_days
    assert history(refused, "renting") == [0] * n
    assert history(refused, "needs_bed") == steps({1: 2, 2: 3, 4: 2, 12: 0}, n)
    assert history(refused, "sheltered") == steps({5: 2, 12: 0}, n)
    for flag in ("needs_bed", "sheltered", "destitute"):
        assert history(refused, flag) == history(before, flag), flag
    assert savings == savings_before  # nothing paid to move in
    assert savings[1][0] == SAVINGS[0]
    assert np.array_equal(refused.recorder.stocks, before.recorder.stocks)


def test_scenarios_without_private_rental_have_no_renting_metric():
    sim, _ = run_case(None)
    result = build_result(sim, with_agents=False)
    assert "renting" not in result.metric_names
    assert "peak_renting" not in result.summary


BAD = {
    "negative rent": ({"rent_month": -1}, "rent_month", "greater than or equal to 0"),
    "share above one": ({"refusal_share": 1.5}, "refusal_share", "less than or equal to 1"),
    "negative months": ({"move_in_months": -2}, "move_in_months", "greater than or equal to 0"),
    "unknown key": ({"deposit": 1}, "deposit", "unknown key"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_private_rental_names_the_file_its_key_and_the_reason(case, tmp_path):
    change, key, reason = BAD[case]
    data = yaml.safe_load(scenario_file("shelter").read_text(encoding="utf-8"))
    data["programme"]["housing_with_job"] = True
    data["programme"]["private_rental"] = {**RENTAL, **change}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert str(path) in text and f"programme.private_rental.{key}: " in text and reason in text


def test_private_rental_needs_a_source_and_a_bed_with_the_job():
    without_source = {k: v for k, v in RENTAL.items() if k != "source"}
    with pytest.raises(ScenarioError, match=r"programme.private_rental.source: Field required"):
        load_scenario(
            scenario_file("shelter"),
            {"programme.housing_with_job": True, "programme.private_rental": without_source},
        )
    with pytest.raises(ScenarioError, match="private_rental applies where the job comes with a"):
        load_scenario(scenario_file("shelter"), {"programme.private_rental": RENTAL})


def test_the_daily_check_finds_renting_where_it_cannot_be():
    sim, _ = run_case(RENTAL, days=2)  # 0 rents, 1 needs a bed, the others work
    civil, pop = sim.civil, sim.pop
    assert civil.check() is None
    pop.needs_bed[0] = True
    assert "rents a room privately and needs a shelter bed" in civil.check()
    pop.needs_bed[0] = False
    pop.destitute[0] = True
    assert "someone destitute still rents" in civil.check()
    pop.destitute[0] = False
    pop.renting[3] = True  # at work, with the job's bed
    assert "not without work in the host" in civil.check()
    pop.renting[3] = pop.renting[0] = False  # 0 lost the job's bed and has nowhere to go
    assert "neither rents nor needs a bed" in civil.check()


def test_those_who_fly_home_the_day_their_stay_ends_rent_nothing():
    # Agent 3's contract ends on day 13, with 100,000 saved, when the border is open and nobody
    # else waits: it leaves that day and never rents (without the day's-end decision it would
    # pay 60,875 to move in on its last day). Its savings at leaving are the same with and
    # without private rental.
    left = []
    for rental in (RENTAL, None):
        sim = start_case(rental)
        set_timers(sim, Timer.CONTRACT_END, [1, 1, 999, 13] + [999] * 4)
        sim.pop.savings[3] = 100000.0
        for day in range(sim.n_days):
            sim.step(day)
        assert sim.pop.state[3] == State.RETURNED and sim.pop.exited[3] == 13
        assert not sim.pop.renting[3]
        left.append(float(sim.pop.savings[3]))
        if rental is not None:  # 0 rents as in the first case (2 keeps its job); 3 never
            assert history(sim, "renting") == steps({1: 1, 6: 0}, sim.n_days)
    assert left[0] == left[1]


def test_a_renter_who_loses_the_room_with_a_day_left_is_destitute_the_next_day():
    # Agent 0 starts with 71,875: 11,000 after moving in on day 1, at 2,000 a day. On day 6,
    # 1,000 short of the day's spending, it is destitute and loses the room; with the rent gone,
    # the 1,000 left is a day's subsistence: no longer destitute, until it runs out on day 7
    # (its day of destitution filed again, not lost). It needs a bed from day 6.
    sim = start_case(RENTAL)
    sim.pop.savings[0] = 71875.0
    left = []
    for day in range(9):
        sim.step(day)
        if day == 1:
            file_hazard(sim, ids(2), Hazard.DISMISSAL, 2)
        if day == 2:
            file_hazard(sim, ids(2), Hazard.JOB_FINDING, 4)
        sim.money.settle(ids(0), day)
        left.append(float(sim.pop.savings[0]))
    assert left[5:9] == [3000.0, 1000.0, 0.0, 0.0]
    assert history(sim, "destitute")[:9] == steps({7: 1}, 9)
    assert history(sim, "renting")[:9] == steps({1: 1, 2: 2, 4: 1, 6: 0}, 9)
    assert sim.pop.needs_bed[0] and sim.pop.destitute[0]


def test_only_those_with_a_reserve_after_moving_in_rent():
    # With a month of rent and subsistence in reserve (60,875 more), 0 (70,875) and 2 (100,000)
    # cannot rent: everyone without work needs a bed, as without private rental; 2 with 121,750
    # can.
    sim, _ = run_case({**RENTAL, "reserve_months": 1})
    assert history(sim, "renting") == [0] * sim.n_days
    sim = start_case({**RENTAL, "reserve_months": 1})
    sim.pop.savings[2] = 121750.0
    for day in range(3):
        sim.step(day)
        if day == 1:
            file_hazard(sim, ids(2), Hazard.DISMISSAL, 2)
    assert sim.pop.renting[2] and not sim.pop.renting[0]
