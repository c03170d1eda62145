"""Programme rules on tiny scenarios with exact expected outcomes, and the shipped programmes.

Each rule test builds a quiet world (no recruitment unless asked, every other rate zero) of a few
hundred workers and checks the day or the count the rule dictates: the two-week rule, pregnancy
found at the six-monthly medical, exit only with the sponsor's permit, job change only with the
sponsor's consent, voluntary job change only after N years with one employer (by field).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Any

import numpy as np
import pytest

import tmpsim
from tmpsim.engine.population import NEVER
from tmpsim.scenario import load_scenario
from tmpsim.simulation import Simulation
from tmpsim.states import State

YEAR = 365.25


def quiet(**changes: Any) -> dict[str, Any]:
    """A quiet world: 200 workers whose contracts are always renewed, every rate zero."""
    data: dict[str, Any] = {
        "name": "quiet",
        "start": "2020-01-01",
        "end": "2020-12-31",
        "origins": {
            "A": {
                "initial_stock": {"work": 200},
                "demand_share": {2020: 1.0},
                "female_share": 0.5,
                "fee_mean": 0.0,
                "borrow_share": 0.0,
                "debt_mean": 0.0,
                "runaway_rate_per_year": 0.0,
            }
        },
        "sectors": {"all": {"share": 1.0, "dismissal_rate_per_year": 0.0}},
        # One-year contracts always renewed: nobody leaves unless a rule sends them home.
        "programme": {
            "name": "p",
            "stages": [{"name": "work", "months": 12}],
            "renewals": 100,
            "renewal_prob": 1.0,
            "grace_days": 14,
        },
        "recruitment": {"demand": {2020: 0}},
        "supervision": {"job_search_rate_per_year": 0.0},
        "money": {"wage_per_month": 100000},
    }
    for path, value in changes.items():
        node = data
        keys = path.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return data


def dismiss_all_on(data: dict[str, Any], date: str) -> dict[str, Any]:
    """Everyone is dismissed the day after ``date`` (a two-day window of a huge dismissal rate)."""
    data = copy.deepcopy(data)
    data["sectors"]["all"]["dismissal_rate_per_year"] = 1e-9
    d = dt.date.fromisoformat(date)
    data.setdefault("events", []).append(
        {
            "type": "hazard",
            "date": date,
            "end": str(d + dt.timedelta(days=1)),
            "hazard": "dismissal",
            "multiplier": 1e15,
        }
    )
    return data


def run(data: dict[str, Any], seed: int = 1) -> Simulation:
    """Run a scenario dict at scale 1, checking the population identity every day."""
    return Simulation(load_scenario(data), seed=seed, scale=1.0, check=True).run()


def day_of(sim: Simulation, date: str) -> int:
    """Run day of a date."""
    return sim.scenario.day(dt.date.fromisoformat(date))


def flows_into(sim: Simulation, state: State) -> np.ndarray:
    """Agents entering ``state`` each day (from any other state)."""
    f = sim.recorder.flows.astype(np.int64)[:, :, int(state), :].sum(axis=2)
    f[:, int(state)] = 0
    return f.sum(axis=1)


def stock(sim: Simulation, state: State) -> np.ndarray:
    """Daily count of agents in ``state``."""
    return sim.recorder.stocks[:, int(state), :].sum(axis=1)


# ---- two-week rule (Hong Kong) ---------------------------------------------------------------


@pytest.mark.parametrize("grace", [14, 90])
def test_grace_period_after_dismissal_sends_everyone_home_on_its_last_day(grace: int) -> None:
    sim = run(dismiss_all_on(quiet(**{"programme.grace_days": grace}), "2020-03-01"))
    dismissed = day_of(sim, "2020-03-02")
    home = dismissed + grace
    returns = flows_into(sim, State.RETURNED)
    assert returns[home] == 200
    assert returns.sum() == 200
    jobless = stock(sim, State.JOBLESS)
    assert jobless[dismissed - 1] == 0
    assert (jobless[dismissed:home] == 200).all()
    assert jobless[home] == 0


def test_two_week_rule_in_the_hong_kong_scenario() -> None:
    sc = load_scenario("hongkong-fdh")
    assert sc.programme.grace_days == 14
    assert sc.programme.onward == []  # no path to another status, let alone permanence
    assert sc.programme.renewals >= 20 and sc.programme.max_stay_years is None


def test_dismissed_worker_who_finds_an_employer_in_the_grace_period_stays() -> None:
    data = dismiss_all_on(quiet(), "2020-03-01")
    data["supervision"] = {"job_search_rate_per_year": 1e6, "proactivity_floor": 1.0}
    data["information"] = {"base": 1.0}
    sim = run(data)
    assert flows_into(sim, State.RETURNED).sum() == 0
    assert sim.recorder.extras["job_changes"].sum() == 200
    assert stock(sim, State.EMPLOYED)[-1] == 200


# ---- pregnancy found at the six-monthly medical (Singapore) ---------------------------------


def _screening_world(**changes: Any) -> dict[str, Any]:
    data = quiet(**changes)
    data["origins"]["F"] = {**data["origins"]["A"], "female_share": 1.0}
    data["origins"]["M"] = {**data["origins"].pop("A"), "female_share": 0.0}
    data["origins"]["F"]["initial_stock"] = {"work": 100}
    data["origins"]["M"]["initial_stock"] = {"work": 100}
    data["origins"]["M"]["demand_share"] = {2020: 0.5}
    data["origins"]["F"]["demand_share"] = {2020: 0.5}
    return data


def test_pregnancy_cancels_the_permit_at_the_next_medical_and_only_for_women() -> None:
    data = _screening_world()
    data["programme"]["cancellations"] = [
        {
            "name": "pregnancy",
            "rate_per_year": 1e6,
            "females_only": True,
            "detection_interval_days": 182,
        }
    ]
    sim = run(data)
    pop, n = sim.pop, sim.pop.n
    women = pop.female[:n]
    start = pop.contract_start[:n].astype(np.int64)
    exited = pop.exited[:n].astype(np.int64)
    # Conceived on day 1 (a huge rate), found at the first medical after it: contract start plus
    # a whole number of 182-day intervals.
    medical = start + ((1 - start) // 182 + 1) * 182
    assert women.sum() == 100
    assert np.array_equal(exited[women], medical[women])
    assert (exited[~women] == NEVER).all()
    assert (pop.state[:n][women] == State.RETURNED).all()
    assert sim.recorder.extras["cancellations"].sum() == 100


def test_each_cancellation_rule_is_found_on_its_own_schedule() -> None:
    data = _screening_world()
    data["programme"]["cancellations"] = [
        {
            "name": "pregnancy",
            "rate_per_year": 1e6,
            "females_only": True,
            "detection_interval_days": 182,
        },
        {"name": "marriage_without_approval", "rate_per_year": 1e6, "detection_interval_days": 0},
    ]
    sim = run(data)
    pop, n = sim.pop, sim.pop.n
    women = pop.female[:n]
    start = pop.contract_start[:n].astype(np.int64)
    exited = pop.exited[:n].astype(np.int64)
    medical = start + ((1 - start) // 182 + 1) * 182
    # Men can only break the marriage rule: found at once, the day after breaking it (day 1, or
    # day 2 for a contract renewed on day 1).
    assert ((exited[~women] >= 2) & (exited[~women] <= 3)).all()
    # Women broke one rule or the other (once: a permit being cancelled is not cancelled
    # again), each found on its own schedule.
    at_once = (exited[women] >= 2) & (exited[women] <= 3)
    at_medical = exited[women] == medical[women]
    assert (at_once | at_medical).all()
    assert at_once.sum() > 20 and at_medical.sum() > 20


def test_singapore_rules_are_in_the_scenario() -> None:
    prog = load_scenario("singapore-work-permit").programme
    rules = {c.name: c for c in prog.cancellations}
    assert rules["pregnancy"].females_only and rules["pregnancy"].detection_interval_days == 182
    assert not rules["marriage_without_approval"].females_only
    assert prog.job_change.needs_sponsor_consent  # tied to one employer


# ---- sponsor-controlled exit and job change (kafala) ----------------------------------------


def _contracts_end_in_the_run(**changes: Any) -> dict[str, Any]:
    data = quiet(**changes)
    data["programme"].update(stages=[{"name": "work", "months": 6}], renewals=0)
    return data


def test_exit_needs_the_sponsors_permit() -> None:
    free = run(_contracts_end_in_the_run())
    kafala = run(
        _contracts_end_in_the_run(
            **{"programme.exit_needs_sponsor": True, "programme.sponsor_exit_delay_days": 30}
        )
    )
    n = free.pop.n
    # Without the rule every contract end is a return the same day (seats are plenty); the
    # contract end days are the same in both runs (common random numbers).
    assert (free.pop.state[:n] == State.RETURNED).all()
    assert (kafala.pop.state[:n] == State.RETURNED).all()
    delay = kafala.pop.exited[:n].astype(np.int64) - free.pop.exited[:n].astype(np.int64)
    assert delay.min() >= 1
    assert 20 < delay.mean() < 40  # exponential wait for the permit, mean 30 days
    # While waiting for the permit they count as stranded: wanting to go, unable to.
    assert stock(kafala, State.STRANDED).max() > 0 and stock(free, State.STRANDED).max() == 0


@pytest.mark.parametrize("consent, changed", [(0.0, 0), (1.0, 200)])
def test_job_change_needs_the_sponsors_consent(consent: float, changed: int) -> None:
    data = dismiss_all_on(quiet(), "2020-03-01")
    data["supervision"] = {"job_search_rate_per_year": 1e6, "proactivity_floor": 1.0}
    data["information"] = {"base": 1.0}
    data["programme"]["job_change"] = {
        "mode": "on_dismissal",
        "needs_sponsor_consent": True,
        "sponsor_consent_prob": consent,
    }
    sim = run(data)
    assert sim.recorder.extras["job_changes"].sum() == changed
    assert flows_into(sim, State.RETURNED).sum() == 200 - changed


def test_kafala_rules_are_in_the_scenario() -> None:
    prog = load_scenario("gulf-kafala").programme
    assert prog.exit_needs_sponsor and prog.sponsor_exit_delay_days > 0
    assert prog.job_change.needs_sponsor_consent and prog.job_change.sponsor_consent_prob < 1


# ---- job change after N years with one employer (Employment for Skill Development) ---------


def test_voluntary_job_change_only_after_the_years_of_each_field() -> None:
    data = quiet(**{"end": "2023-12-31"})
    data["origins"]["A"]["initial_stock"] = {}
    data["recruitment"] = {"demand": {2020: 300}, "applicants_per_place": 1.0}
    data["sectors"] = {
        "one_year": {"share": 0.5, "dismissal_rate_per_year": 0.0, "job_change_after_years": 1},
        "two_years": {"share": 0.5, "dismissal_rate_per_year": 0.0, "job_change_after_years": 2},
    }
    data["programme"]["job_change"] = {
        "mode": "free",
        "free_after_years": 5,
        "voluntary_rate_per_year": 1e6,
        "runaway_diverted": 0.5,
    }
    data["programme"].update(stages=[{"name": "work", "months": 120}], renewals=0)
    sim = run(data)
    pop, n = sim.pop, sim.pop.n
    worked = (pop.entered[:n] != NEVER) & (pop.state[:n] == State.EMPLOYED)
    entered = pop.entered[:n][worked].astype(np.int64)
    last_start = pop.contract_start[:n][worked].astype(np.int64)
    sector = pop.sector[:n][worked]
    last_day = sim.n_days - 1
    # The right starts once tenure reaches the field's years (rounded up to whole days); with a
    # huge rate each worker changes the next day, and the clock starts again with the new
    # employer: every change is exactly `period` days after the previous one.
    period = np.where(sector == 0, int(np.ceil(YEAR)) + 1, int(np.ceil(2 * YEAR)) + 1)
    changes = (last_day - entered) // period
    assert worked.sum() > 500 and (changes > 0).any() and (changes == 0).any()
    assert np.array_equal(last_start, entered + changes * period)
    assert sim.recorder.extras["job_changes"].sum() == changes.sum()


@pytest.mark.parametrize("consent", [0.0, 1.0])
def test_a_voluntary_change_needs_the_employers_consent_where_the_rules_say(consent) -> None:
    """With consent never given, nobody changes employer of their own accord; always given,
    the huge rate moves everyone once the right starts."""
    data = quiet(**{"end": "2021-12-31"})
    data["origins"]["A"]["initial_stock"] = {}
    data["recruitment"] = {"demand": {2020: 300}, "applicants_per_place": 1.0}
    data["programme"]["job_change"] = {
        "mode": "free",
        "free_after_years": 0.5,
        "voluntary_rate_per_year": 1e6,
        "needs_sponsor_consent": True,
        "sponsor_consent_prob": consent,
    }
    data["programme"].update(stages=[{"name": "work", "months": 120}], renewals=0)
    sim = run(data)
    changes = sim.recorder.extras["job_changes"].sum()
    assert (changes == 0) if consent == 0 else (changes > 300)


def test_esd_fields_have_one_or_two_years() -> None:
    sc = load_scenario("japan-esd-2027")
    after = {name: s.job_change_after_years for name, s in sc.sectors.items()}
    assert set(after.values()) == {1, 2}
    assert after["construction"] == 2 and after["agriculture"] == 1
    assert sc.programme.job_change.mode == "free"
    assert sc.start == dt.date(2027, 4, 1)


@pytest.mark.parametrize("exam_pass", [0.0, 1.0])
def test_esd_exam_sends_passers_to_ssw_and_the_others_to_a_fourth_year(exam_pass) -> None:
    """The shipped ESD scenario's exam: nobody who failed goes on to SSW (i), nobody who passed
    takes the fourth year (the starting stock's three years all end within the run)."""
    over = {"routes.exam_pass": exam_pass, "end": "2030-06-30"}
    sim = Simulation(load_scenario("japan-esd-2027", over), seed=1, scale=0.002).run()
    extras = sim.recorder.extras
    onward = extras["route_specified_skilled_worker_i"].sum()
    fourth = extras["route_next_stage_extension"].sum()
    home = extras["route_home"].sum()
    assert home > 0
    if exam_pass:
        assert onward > 0 and fourth == 0
    else:
        assert onward == 0 and fourth > 0
        assert (sim.pop.stage[: sim.pop.n] == 1).any()  # the extension held


def _shifted(item: Any, years: int) -> Any:
    """Scenario data with its dates, and the years in its names, moved by ``years``.

    Notes and sources are left out: the replay words them its own way.
    """
    if hasattr(item, "model_dump"):
        item = item.model_dump(mode="json")
    if isinstance(item, dict):
        out = {k: _shifted(v, years) for k, v in item.items() if k not in ("note", "source")}
        if isinstance(out.get("name"), str):
            out["name"] = re.sub(r"20\d\d", lambda m: str(int(m.group()) + years), out["name"])
        return out
    if isinstance(item, list):
        return [_shifted(v, years) for v in item]
    if isinstance(item, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", item):
        when = dt.date.fromisoformat(item)
        return when.replace(year=when.year + years).isoformat()
    return item


def test_esd_pandemic_replay_is_the_flagship_s_shock_ten_years_on() -> None:
    """ESD's pandemic replays the flagship's events of 2020-2023, its emergency fund and its
    special statuses (the bridges and the special job changes) with their values: a change of
    them in the flagship (a re-calibration, a corrected source) that the replay does not follow
    fails here instead of leaving the two apart unseen. The flagship's Myanmar-only measures
    are not part of the replayed shock."""
    flagship = load_scenario("japan-titp-covid")
    replay = load_scenario("japan-esd-2027-covid")
    assert [_shifted(ev, 10) for ev in flagship.events if ev.date.year <= 2023] == [
        _shifted(ev, 0) for ev in replay.events
    ]
    assert _shifted(flagship.emergency_funds, 10) == _shifted(replay.emergency_funds, 0)
    for part in ("bridges", "job_changes"):
        theirs = {r.name: r for r in getattr(flagship.routes, part)}
        mine = getattr(replay.routes, part)
        assert mine, part
        for route in mine:
            assert _shifted(theirs[route.name], 10) == _shifted(route, 0), (part, route.name)
        left_out = {name for name, r in theirs.items() if name not in {m.name for m in mine}}
        assert all(theirs[n].origins for n in left_out), left_out  # origin-specific only


# ---- the shipped programmes -------------------------------------------------------------------

PROGRAMMES = ["singapore-work-permit", "hongkong-fdh", "gulf-kafala", "japan-esd-2027"]
# Keys a pandemic variant may change: the shock and the responses to it.
VARIANT_KEYS = {"name", "description", "events", "sources", "shelters", "emergency_funds"}
# ... and, in the routes section, the dated special statuses the shock brings.
SHOCK_ROUTES = ("bridges", "job_changes")
# ... and, in behaviour, the labour market's path through the shock (employers' labour need).
SHOCK_BEHAVIOUR = ("dismissal_labour_need",)


@pytest.mark.parametrize("name", PROGRAMMES)
def test_pandemic_variant_is_the_same_programme_plus_dated_closures(name: str) -> None:
    base = load_scenario(name).model_dump(mode="json")
    covid = load_scenario(f"{name}-covid").model_dump(mode="json")
    assert base["events"] == [] or all(e["type"] == "rule" for e in base["events"])
    kinds = {e["type"] for e in covid["events"]}
    assert {"border"} <= kinds
    assert any(e["type"] == "border" and e["seats_per_day"] == 0 for e in covid["events"])
    drift = {k for k in base if k not in VARIANT_KEYS and base[k] != covid[k]}
    # A programme with route choice states the special statuses of the shock as its routes.
    if base.get("routes") is not None and covid["routes"] is not None:
        shock = set(SHOCK_ROUTES)
        keep = {k: v for k, v in base["routes"].items() if k not in shock}
        if keep == {k: v for k, v in covid["routes"].items() if k not in shock}:
            drift.discard("routes")
    calm = [
        {k: v for k, v in b["behaviour"].items() if k not in SHOCK_BEHAVIOUR} for b in (base, covid)
    ]
    if calm[0] == calm[1]:
        drift.discard("behaviour")
    assert drift == set(), f"{name}-covid differs from {name} in {sorted(drift)}"


@pytest.mark.parametrize("name", PROGRAMMES)
def test_every_programme_states_its_sources(name: str) -> None:
    sc = load_scenario(name)
    for key in ("programme.stages", "recruitment.demand", "money.wage_per_month"):
        assert any(k == key or k.startswith(key) for k in sc.sources), key
    assert any(k.startswith("origins") for k in sc.sources)


def test_hong_kong_calibration_reproduces_the_2019_stock() -> None:
    # hongkong_fdh.csv: 399,320 helpers at 2019-12-31 (Labour Department), from 385,141 at
    # 2018-10-31 (the initial stock).
    result = tmpsim.run(
        "hongkong-fdh", seed=3, scale=0.02, agents=False, overrides={"end": "2019-12-31"}
    )
    stock_2019 = result.metric("programme_stock").iloc[-1]
    assert abs(stock_2019 / 399_320 - 1) < 0.03
    philippines = result.metric("programme_stock", "Philippines").iloc[-1]
    assert abs(philippines / 219_073 - 1) < 0.04


def test_singapore_calibration_reproduces_the_domestic_worker_stock() -> None:
    # singapore_work_permit_mdw.csv: 261,800 migrant domestic workers at 2019-12 (CNA citing
    # official data), from 214,500 at 2013-12 (the initial stock).
    result = tmpsim.run(
        "singapore-work-permit", seed=3, scale=0.005, agents=False, overrides={"end": "2019-12-31"}
    )
    g = result.groups_table.to_pandas()
    last = g[(g.metric == "programme_stock") & (g.date == g.date.max()) & (g.origin == "all")]
    mdw = last[last.segment == "mdw"].value.item()
    assert abs(mdw / 261_800 - 1) < 0.08
    # Indonesia is one origin (its workers are domestic workers), not an origin per segment.
    assert "Indonesia" in set(result.series.origin) and not g.origin.str.contains("_").any()
