"""The employer keeps up the worker without work by rule (``programme.employer_upkeep``).

The shelter case of tests/test_lifecycle.py (eight trainees, nothing remitted is saved, three
shelter places from day 5, the border home open from day 12 with two seats a day), where the job
comes with a bed. The living cost is 15,218.75 a month, 500 a day, and subsistence 30,437.5, 1,000
a day (a month is 30.4375 days). Agents 0 and 1 are stranded when their contracts end on day 1,
with 3,000 and nothing saved; agent 2 is dismissed on day 2 and, unless told otherwise, finds an
employer on day 4; the others keep working.
"""

from __future__ import annotations

import pytest
from helpers import build, file_hazard, ids, scenario_file, set_timers, steps

from tmpsim.kinds import Hazard, Timer
from tmpsim.scenario import ScenarioError, load_scenario
from tmpsim.states import State

LIVING = 15218.75  # 500 a day
SUBSISTENCE = 30437.5  # 1,000 a day
WHO = ids(0, 1, 2)


def upkeep(*states: str) -> dict:
    return {"states": list(states), "source": "test"}


def run_case(overrides: dict, savings: list[float], job_found: bool = True) -> tuple:
    """The case with ``overrides``; savings of 0-2 at the start and settled after each day."""
    sim = build(
        "shelter",
        {
            "programme.housing_with_job": True,
            "money.living_cost_per_month": LIVING,
            "money.subsistence_cost_per_month": SUBSISTENCE,
            **overrides,
        },
    )  # invariants checked every day
    set_timers(sim, Timer.CONTRACT_END, [1, 1] + [999] * 6)
    sim.pop.savings[WHO] = savings  # constant while at work: all above living costs is remitted
    left = []
    for day in range(sim.n_days):
        sim.step(day)
        if day == 1:
            file_hazard(sim, ids(2), Hazard.DISMISSAL, 2)
        if day == 2 and job_found:  # after the move that redrew its hazards
            file_hazard(sim, ids(2), Hazard.JOB_FINDING, 4)
        sim.money.settle(WHO, day)
        left.append(sim.pop.savings[WHO].tolist())
    return sim, left


def run_renting_case(kept: str, move_in_months: int, savings: list[float]) -> tuple:
    """The case with the upkeep in state ``kept``, renting at the subsistence cost a month with
    ``move_in_months`` up front (no refusals, no reserve), grace cut to 3 days, no job found."""
    rental = {
        "rent_month": SUBSISTENCE, "move_in_months": move_in_months, "refusal_share": 0.0,
        "reserve_months": 0, "source": "test",
    }  # fmt: skip
    overrides = {
        "programme.employer_upkeep": upkeep(kept),
        "programme.private_rental": rental,
        "programme.grace_days": 3,
    }
    return run_case(overrides, savings, job_found=False)


def history(sim, flag: str) -> list[int]:
    return sim.recorder.flag_history[flag][:, 0].tolist()


def test_the_stranded_the_employer_keeps_up_need_no_bed_and_spend_the_living_cost():
    # With the upkeep while stranded, 0 and 1 keep the job's bed from day 1 and spend 500 a day:
    # 1, with nothing, is destitute at once and 0's 3,000 last to day 7, yet neither needs a
    # bed. 2 (10,000 saved), jobless (outside the upkeep), loses the bed on day 2 and needs one
    # until back at work on day 4, before the shelter opens. Day 12: 0 and 1 fly home.
    sim, left = run_case({"programme.employer_upkeep": upkeep("stranded")}, [3000.0, 0.0, 10000.0])
    n = sim.n_days
    assert history(sim, "needs_bed") == steps({2: 1, 4: 0}, n)
    assert history(sim, "sheltered") == [0] * n
    assert history(sim, "destitute") == steps({1: 1, 7: 2, 12: 0}, n)
    assert [s[0] for s in left[1:8]] == [3000.0, 2500.0, 2000.0, 1500.0, 1000.0, 500.0, 0.0]
    assert sim.pop.state[0] == State.RETURNED and sim.pop.exited[0] == 12
    # Without it, every series is the shelter case's: 0 and 1 need a bed from day 1 and 2 from
    # day 2 to 4; the shelter houses 0 and 1 from day 5 to their flight. At 1,000 a day, 0's
    # savings last to day 4.
    sim, left = run_case({}, [3000.0, 0.0, 10000.0])
    assert history(sim, "needs_bed") == steps({1: 2, 2: 3, 4: 2, 12: 0}, n)
    assert history(sim, "sheltered") == steps({5: 2, 12: 0}, n)
    assert history(sim, "destitute") == steps({1: 1, 4: 2, 12: 0}, n)
    assert [s[0] for s in left[1:5]] == [3000.0, 2000.0, 1000.0, 0.0]


def test_the_destitute_who_leave_the_upkeep_need_a_bed():
    # Upkeep while jobless only, 90 days' grace cut to 3: 2 is dismissed on day 2 with 1,000,
    # finds no employer and, kept up at 500 a day, is destitute on day 4 without needing a bed.
    # Its grace ends on day 5: stranded, outside the upkeep, it loses the bed and needs one (its
    # spending 1,000 a day, still destitute). 0 and 1, stranded on day 1, need beds from then;
    # the shelter's three places take all three on day 5, until 0 and 1 fly home on day 12 and
    # 2 on day 13.
    sim, left = run_case(
        {"programme.employer_upkeep": upkeep("jobless"), "programme.grace_days": 3},
        [30000.0, 30000.0, 1000.0],
        job_found=False,
    )
    n = sim.n_days
    assert [s[2] for s in left[2:7]] == [1000.0, 500.0, 0.0, 0.0, 0.0]
    assert history(sim, "destitute") == steps({4: 1, 13: 0}, n)
    assert history(sim, "needs_bed") == steps({1: 2, 5: 3, 12: 1, 13: 0}, n)
    assert history(sim, "sheltered") == steps({5: 3, 12: 1, 13: 0}, n)
    assert sim.pop.exited[2] == 13


def test_the_destitute_who_leave_the_upkeep_for_a_state_without_the_jobs_bed_need_one():
    # The job brings no bed (housing_with_job false): only the destitute need one. Upkeep while
    # jobless, grace cut to 3: 2 is dismissed on day 2 with 1,000 and, kept up at 500 a day, is
    # destitute on day 4 without needing a bed; stranded on day 5, outside the upkeep and still
    # destitute (no new destitution to hear: the move itself must ask for the bed), it needs one
    # and the shelter opening that day takes it, until its flight on day 13. 0 and 1 (30,000
    # each) never run out.
    sim, left = run_case(
        {
            "programme.housing_with_job": False,
            "programme.employer_upkeep": upkeep("jobless"),
            "programme.grace_days": 3,
        },
        [30000.0, 30000.0, 1000.0],
        job_found=False,
    )
    n = sim.n_days
    assert [s[2] for s in left[2:6]] == [1000.0, 500.0, 0.0, 0.0]
    assert history(sim, "destitute") == steps({4: 1, 13: 0}, n)
    assert history(sim, "needs_bed") == steps({5: 1, 13: 0}, n)
    assert history(sim, "sheltered") == steps({5: 1, 13: 0}, n)
    assert sim.pop.state[2] == State.RETURNED and sim.pop.exited[2] == 13


def test_the_daily_check_finds_the_destitute_without_a_bed_outside_the_upkeep():
    # As above to day 5, when 2, destitute, has left the upkeep and needs a bed; the check
    # refuses it once that need is dropped (as if the move had not asked for the bed).
    sim = build(
        "shelter",
        {
            "money.living_cost_per_month": LIVING,
            "programme.employer_upkeep": upkeep("jobless"),
            "programme.grace_days": 3,
        },
    )
    sim.pop.savings[WHO] = [30000.0, 30000.0, 1000.0]
    for day in range(6):
        sim.step(day)
        if day == 1:
            file_hazard(sim, ids(2), Hazard.DISMISSAL, 2)
    assert sim.pop.destitute[2] and sim.pop.needs_bed[2] and sim.civil.check() is None
    sim.civil.release(ids(2))
    assert sim.civil.check() == "someone destitute outside the employer's upkeep needs no bed"


def test_a_renter_taken_up_by_the_employer_stops_renting():
    # Private rental and upkeep while stranded: 2, dismissed on day 2 with 100,000, rents
    # (60,875 to move in, 2,000 a day with the rent) while jobless; its grace ends on day 5 and,
    # stranded, it is kept up: no rent, 500 a day from then (the move settles day 5 at 2,000).
    # 0 and 1, stranded from day 1, never rent.
    sim, left = run_renting_case("stranded", 2, [30000.0, 30000.0, 100000.0])
    n = sim.n_days
    assert history(sim, "renting") == steps({2: 1, 5: 0}, n)
    assert history(sim, "needs_bed") == [0] * n
    assert [s[2] for s in left[2:8]] == [39125.0, 37125.0, 35125.0, 33125.0, 32625.0, 32125.0]
    assert sim.pop.state[2] == State.RETURNED and sim.pop.exited[2] == 13


def test_the_destitute_who_leave_the_upkeep_do_not_rent_even_when_renting_needs_nothing():
    # Private rental with nothing to move in and no reserve (no savings needed) and upkeep while
    # jobless, grace cut to 3. 0 and 1, stranded on day 1 with 30,000 (2,000 a day with the
    # rent), rent until their flight on day 12. 2, destitute from day 4 while kept up, loses the
    # job's bed on day 5, stranded: having nothing it cannot rent, though its savings of 0 cover
    # the 0 needed; it needs a bed, and the shelter opening that day takes it to day 13.
    sim, _ = run_renting_case("jobless", 0, [30000.0, 30000.0, 1000.0])
    n = sim.n_days
    assert history(sim, "renting") == steps({1: 2, 12: 0}, n)
    assert history(sim, "destitute") == steps({4: 1, 13: 0}, n)
    assert history(sim, "needs_bed") == steps({5: 1, 13: 0}, n)
    assert history(sim, "sheltered") == steps({5: 1, 13: 0}, n)


def test_employer_upkeep_names_states_without_work_once_with_a_source():
    path = scenario_file("shelter")
    with pytest.raises(ScenarioError, match=r"employer_upkeep.states.0: Input should be"):
        load_scenario(path, {"programme.employer_upkeep": upkeep("employed")})
    with pytest.raises(ScenarioError, match="named once each"):
        load_scenario(path, {"programme.employer_upkeep": upkeep("stranded", "stranded")})
    with pytest.raises(ScenarioError, match=r"employer_upkeep.source: Field required"):
        load_scenario(path, {"programme.employer_upkeep": {"states": ["stranded"]}})
    with pytest.raises(ScenarioError, match=r"employer_upkeep.states: List should have"):
        load_scenario(path, {"programme.employer_upkeep": upkeep()})


def test_private_rental_beside_the_upkeep_of_every_state_without_work_is_refused():
    # Nobody would ever rent: the section would be read and silently do nothing.
    path = scenario_file("shelter")
    rental = {
        "rent_month": SUBSISTENCE, "move_in_months": 2, "refusal_share": 0.0, "source": "test",
    }  # fmt: skip
    every = upkeep("jobless", "stranded", "special_idle")
    base = {"programme.housing_with_job": True, "programme.private_rental": rental}
    with pytest.raises(ScenarioError, match="private_rental applies to no one: employer_upkeep"):
        load_scenario(path, {**base, "programme.employer_upkeep": every})
    sc = load_scenario(path, {**base, "programme.employer_upkeep": upkeep("jobless", "stranded")})
    assert sc.programme.private_rental is not None


def test_welfare_pays_the_kept_up_only_what_they_spend():
    # Welfare eligible, upkeep while stranded: 0 and 1, stranded on day 1, spend the living cost
    # (500 a day) and welfare pays them just that, not subsistence (1,000 a day, whose surplus
    # of 500 a day the case would remit): 0 keeps its 3,000 and 1 its nothing until their flight
    # home on day 12, neither is ever destitute, and both have remitted what they had remitted
    # by the contract's end, as without welfare (where 0 lives on its savings instead).
    kept = {"programme.employer_upkeep": upkeep("stranded")}
    sim, left = run_case({**kept, "programme.welfare_eligible": True}, [3000.0, 0.0, 0.0])
    without, _ = run_case(kept, [3000.0, 0.0, 0.0])
    assert [s[0] for s in left[1:12]] == [3000.0] * 11
    assert [s[1] for s in left[1:12]] == [0.0] * 11
    assert sim.pop.remitted[ids(0, 1)].tolist() == without.pop.remitted[ids(0, 1)].tolist()
    assert history(sim, "destitute") == [0] * sim.n_days
    # 2, dismissed on day 2 and not kept up while jobless, needs the bed until its job on day 4.
    assert history(sim, "needs_bed") == steps({2: 1, 4: 0}, sim.n_days)
