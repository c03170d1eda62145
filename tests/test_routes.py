"""Route choice at the turning points: each rule that opens or closes a route, and the logit."""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pytest
from pydantic import ValidationError

from tmpsim.model.routes import People, RouteChooser, RoutesSpec, TurningPoint
from tmpsim.scenario.routes_schema import Bridge

D = dt.date
SECTORS = ["construction", "agriculture", "textiles"]
STAGES = ["1", "2", "3"]


def spec(**change) -> RoutesSpec:
    data = {
        "savings_unit": 100000,
        "debt_unit": 160000,
        "home": {"ticket": 60000, "coef": {"savings": 0.5, "debt": -1.0}, "source": "assumed"},
        "next_stage": {"intercept": 1.0, "coef": {"offer": 2.0}, "source": "assumed"},
        "irregular": {"intercept": -3.0, "coef": {"network": 1.0}, "source": "assumed"},
        "onward": [
            {
                "name": "skilled_worker",
                "start": "2019-04-01",
                "at": ["contract_end", "stranded", "status_expiry"],
                "after_stage": "2",
                "fields": ["construction", "agriculture"],
                "intercept": 0.5,
                "source": "assumed",
            }
        ],
        "bridges": [
            {
                "name": "cannot_return",
                "start": "2020-05-21",
                "end": "2023-03-31",
                "months": 6,
                "working": False,
                "at": ["stranded", "status_expiry"],
                "source": "assumed",
            }
        ],
        "job_changes": [
            {
                "name": "special_job_change",
                "start": "2020-04-17",
                "at": ["dismissal"],
                "intercept": 0.2,
                "source": "assumed",
            }
        ],
    }
    data.update(change)
    return RoutesSpec.model_validate(data)


def chooser(s: RoutesSpec | None = None, visit=(False, False, True)) -> RouteChooser:
    return RouteChooser(s or spec(), STAGES, SECTORS, [None, None, D(2018, 7, 1)], list(visit))


def people(n: int = 1, **values) -> People:
    base = {
        "savings": 0.0,
        "debt": 0.0,
        "language": 0.0,
        "network": 0.0,
        "age": 25.0,
        "years_left": 0.0,
        "support": 0.0,
        "information": 0.0,
        "offer": 0.0,
        "sector": 0,
        "stage": 0,
        "completed": -1,
        "seat": False,
        "passed_exam": True,
    }
    base.update(values)
    return People(**{k: np.full(n, v) for k, v in base.items()})


def test_no_savings_and_no_seat_bridges():
    ch = chooser()
    p = people()  # stranded in the first stage: no seat, no savings, no completed stage
    prob = ch.probabilities(TurningPoint.STRANDED, D(2020, 8, 1), p)[0]
    names = dict(zip(ch.names, prob, strict=True))
    assert names["home"] == 0 and names["next_stage"] == 0 and names["skilled_worker"] == 0
    assert names["special_job_change"] == 0  # only on dismissal
    bridge = 1 / (1 + math.exp(-3.0))  # utilities: bridge 0, irregular -3
    assert names["cannot_return"] == pytest.approx(bridge, abs=1e-15)
    assert names["irregular"] == pytest.approx(1 - bridge, abs=1e-15)
    pick = ch.choose(TurningPoint.STRANDED, D(2020, 8, 1), p, np.array([0.5]))
    assert ch.names[pick[0]] == "cannot_return"
    assert ch.names[ch.choose(TurningPoint.STRANDED, D(2020, 8, 1), p, np.array([0.99]))[0]] == (
        "irregular"
    )


def test_bridging_status_ends_on_its_date():
    ch = chooser()
    bridge = ch.spec.bridges[0]
    assert bridge.grant(D(2023, 1, 15), renewal=False) == (D(2023, 3, 31), False)
    start = D(2020, 6, 1)
    assert bridge.grant(start, renewal=True) == (start + dt.timedelta(days=182), False)
    # Decided after the measure's end on a choice made while it lasted: its own length.
    late = D(2023, 4, 10)
    assert bridge.grant(late, renewal=False) == (late + dt.timedelta(days=182), False)
    col = ch.index("cannot_return")
    for date, is_open in ((D(2020, 5, 20), False), (D(2020, 5, 21), True), (D(2023, 3, 31), True)):
        assert ch.open_routes(TurningPoint.STATUS_EXPIRY, date, people())[0, col] == is_open
    # After its end nobody can renew it: those whose status runs out choose among the rest.
    prob = ch.probabilities(TurningPoint.STATUS_EXPIRY, D(2023, 4, 1), people())[0]
    assert prob[col] == 0 and prob[ch.index("irregular")] == 1.0


def _wound_down(**change) -> Bridge:
    """The bridge wound down from 2022-05-31 (6 months, then 4), ending 2022-11-01."""
    data = {
        **spec().bridges[0].model_dump(),
        "end": "2022-11-01",
        "last_months": 4,
        "wind_down": "2022-05-31",
        "wind_down_renewable_until": "2022-06-29",
    }
    return Bridge.model_validate(data | change)


def test_a_wound_down_bridge_runs_each_status_its_length_and_then_the_last():
    bridge = _wound_down()
    days = dt.timedelta
    # Before the wind-down: six months (183 days), not cut at the end of 2022-11-01.
    assert bridge.grant(D(2022, 5, 30), renewal=True) == (D(2022, 5, 30) + days(182), False)
    # From it: four months (122 days); renewals to 2022-06-29 may be renewed once more.
    assert bridge.grant(D(2022, 5, 31), renewal=True) == (D(2022, 5, 31) + days(121), False)
    assert bridge.grant(D(2022, 6, 29), renewal=True) == (D(2022, 6, 29) + days(121), False)
    assert bridge.grant(D(2022, 6, 30), renewal=True) == (D(2022, 6, 30) + days(121), True)
    assert bridge.grant(D(2022, 6, 1), renewal=False) == (D(2022, 6, 1) + days(121), True)
    # After the end (a decision that waited, or the holders' last): four months, the last.
    assert bridge.grant(D(2022, 11, 20), renewal=True) == (D(2022, 11, 20) + days(121), True)
    # Without the wind-down the same bridge is cut at its end, as before.
    plain = _wound_down(wind_down=None, wind_down_renewable_until=None)
    assert plain.grant(D(2022, 8, 1), renewal=True) == (D(2022, 11, 1), False)
    assert plain.grant(D(2022, 11, 2), renewal=False) == (D(2022, 11, 2) + days(121), True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"last_months": None}, "wind_down needs last_months"),
        ({"wind_down": "2020-05-01"}, "wind_down 2020-05-01 is before start 2020-05-21"),
        (
            {"wind_down": "2022-11-02", "wind_down_renewable_until": None},
            "wind_down 2022-11-02 is after end 2022-11-01",
        ),
        ({"wind_down": None}, "wind_down_renewable_until needs wind_down"),
        (
            {"wind_down_renewable_until": "2022-05-30"},
            "wind_down_renewable_until 2022-05-30 is not between wind_down 2022-05-31 and end",
        ),
        ({"wind_down": "2022-06"}, "wind_down"),
    ],
)
def test_a_wind_down_is_checked(change, message):
    with pytest.raises(ValidationError, match=message):
        _wound_down(**change)


def test_a_measure_for_one_nationality_is_open_to_its_people_only():
    """A bridge with ``origins`` (one nationality's emergency measure) opens only to them."""
    bridges = [
        {
            "name": "emergency",
            "start": "2021-05-28",
            "months": 6,
            "working": True,
            "only_without_seat": False,
            "at": ["contract_end", "status_expiry"],
            "origins": ["Myanmar"],
            "source": "assumed",
        }
    ]
    ch = RouteChooser(
        spec(bridges=bridges), STAGES, SECTORS, [None, None, D(2018, 7, 1)],
        [False, False, True], ["Vietnam", "Myanmar"],
    )  # fmt: skip
    col = ch.index("emergency")
    p = people(3, seat=True)
    p.origin = np.array([0, 1, 1])
    opened = ch.open_routes(TurningPoint.CONTRACT_END, D(2021, 6, 1), p)[:, col]
    assert opened.tolist() == [False, True, True]  # a seat home does not close it
    assert not ch.open_routes(TurningPoint.CONTRACT_END, D(2021, 5, 27), p)[:, col].any()
    prob = ch.probabilities(TurningPoint.CONTRACT_END, D(2021, 6, 1), p)
    assert prob[0, col] == 0 and prob[1, col] > 0 and prob[1, col] == prob[2, col]
    with pytest.raises(ValueError, match=r"route emergency: unknown origin\(s\) \['Myanmar'\]"):
        RouteChooser(
            spec(bridges=bridges), STAGES, SECTORS, [None, None, D(2018, 7, 1)],
            [False, False, True], ["Vietnam"],
        )  # fmt: skip
    with pytest.raises(ValueError, match="route emergency: is for some origins, but no origins"):
        chooser(spec(bridges=bridges))


def test_onward_status_needs_the_completed_stage_in_the_same_field():
    ch = chooser()
    col = ch.index("skilled_worker")
    p = people(3, completed=1, stage=1)
    p.sector = np.array([0, 1, 2])  # construction, agriculture: status exists; textiles: not
    opened = ch.open_routes(TurningPoint.CONTRACT_END, D(2021, 1, 1), p)[:, col]
    assert opened.tolist() == [True, True, False]
    first_stage_only = people(completed=0)
    assert not ch.open_routes(TurningPoint.STRANDED, D(2021, 1, 1), first_stage_only)[0, col]
    before = ch.open_routes(TurningPoint.CONTRACT_END, D(2019, 3, 31), people(completed=1))
    assert not before[0, col]


def test_home_needs_the_ticket_and_waits_without_a_seat():
    ch = chooser()
    date = D(2020, 8, 1)
    seat_poor = people(seat=True, savings=50000.0)
    seat_rich = people(seat=True, savings=60000.0)
    assert not ch.open_routes(TurningPoint.STRANDED, date, seat_poor)[0, 0]
    assert ch.open_routes(TurningPoint.STRANDED, date, seat_rich)[0, 0]
    # Without a seat, home is still open: it means waiting in the return queue.
    no_seat_rich = people(seat=False, savings=60000.0)
    assert ch.open_routes(TurningPoint.CONTRACT_END, date, no_seat_rich)[0, 0]
    paid = chooser(spec(home={"ticket_paid_by_sponsor": True, "source": "x"}))
    assert paid.open_routes(TurningPoint.STRANDED, date, seat_poor)[0, 0]
    # With a seat, the bridge for those who cannot return is closed.
    assert not ch.open_routes(TurningPoint.STRANDED, date, seat_rich)[0, ch.index("cannot_return")]


def test_next_stage_rules():
    ch = chooser()
    end = TurningPoint.CONTRACT_END
    assert ch.open_routes(end, D(2021, 1, 1), people(stage=0))[0, 1]
    assert not ch.open_routes(TurningPoint.DISMISSAL, D(2021, 1, 1), people(stage=0))[0, 1]
    assert not ch.open_routes(end, D(2021, 1, 1), people(stage=2))[0, 1]  # no stage after the last
    assert not ch.open_routes(end, D(2018, 6, 30), people(stage=1))[0, 1]  # stage 3 not yet there
    assert ch.open_routes(end, D(2018, 7, 1), people(stage=1))[0, 1]
    assert not ch.open_routes(end, D(2021, 1, 1), people(stage=0, passed_exam=False))[0, 1]
    strict = chooser(spec(next_stage={"visit_deferred_when_closed": False, "source": "x"}))
    # Stage 3 needs a home visit: without a seat it is closed unless the visit can be deferred.
    assert not strict.open_routes(end, D(2021, 1, 1), people(stage=1))[0, 1]
    assert strict.open_routes(end, D(2021, 1, 1), people(stage=1, seat=True))[0, 1]
    assert strict.open_routes(end, D(2021, 1, 1), people(stage=0))[0, 1]  # stage 2: no visit


def test_a_stage_of_resits_opens_to_those_who_failed_and_the_onward_status_to_those_who_passed():
    """``after_failed_exam`` and ``needs_exam``: one exam at the end of stage "2" splits the ways.

    Passed: the onward status (it needs the exam) and not stage "3" (a year to sit it again);
    failed: stage "3" and not the onward status. Going home (the ticket saved) and irregular
    work stay open to all.
    """
    onward = [
        {
            "name": "skilled_worker",
            "at": ["contract_end"],
            "after_stage": "2",
            "fields": ["construction"],
            "needs_exam": True,
            "source": "assumed",
        }
    ]
    ch = chooser(
        spec(
            onward=onward,
            bridges=[],
            job_changes=[],
            next_stage={"after_failed_exam": ["3"], "source": "x"},
        )
    )
    end, date = TurningPoint.CONTRACT_END, D(2021, 1, 1)
    p = people(2, stage=1, completed=1, savings=60000.0, passed_exam=np.array([True, False]))
    opened = ch.open_routes(end, date, p)
    assert opened[:, ch.index("skilled_worker")].tolist() == [True, False]
    assert opened[:, ch.index("next_stage")].tolist() == [False, True]
    assert opened[:, ch.index("home")].all() and opened[:, ch.index("irregular")].all()
    # Stage "2" (not a stage of resits) still needs the exam passed.
    first = people(2, stage=0, passed_exam=np.array([True, False]))
    assert ch.open_routes(end, date, first)[:, ch.index("next_stage")].tolist() == [True, False]
    # A next stage that would end after the longest stay is closed, passed or failed.
    late = people(2, stage=1, completed=1, passed_exam=np.array([False, False]))
    late.next_fits = np.array([True, False])
    assert ch.open_routes(end, date, late)[:, ch.index("next_stage")].tolist() == [True, False]
    with pytest.raises(ValueError, match=r"after_failed_exam: \['1'\] are not stages after"):
        chooser(spec(next_stage={"after_failed_exam": ["1"], "source": "x"}))
    # Without needs_exam the onward status ignores the exam.
    plain = chooser(spec(onward=[{**onward[0], "needs_exam": False}], bridges=[], job_changes=[]))
    assert plain.open_routes(end, date, p)[:, plain.index("skilled_worker")].all()


def test_special_job_change_only_on_dismissal_from_its_date():
    ch = chooser()
    col = ch.index("special_job_change")
    assert ch.open_routes(TurningPoint.DISMISSAL, D(2020, 4, 17), people())[0, col]
    assert not ch.open_routes(TurningPoint.DISMISSAL, D(2020, 4, 16), people())[0, col]
    assert not ch.open_routes(TurningPoint.CONTRACT_END, D(2020, 5, 1), people())[0, col]


def varied_people(rng: np.random.Generator, n: int):
    """``n`` people with savings, debt, network, offer, stage, record, seat and sector drawn."""
    p = people(
        n,
        savings=rng.uniform(0, 300000, n),
        debt=rng.uniform(0, 800000, n),
        network=rng.uniform(0, 1, n),
        offer=rng.integers(0, 2, n).astype(float),
        stage=rng.integers(0, 3, n),
        completed=rng.integers(-1, 3, n),
        seat=rng.random(n) < 0.5,
    )
    p.sector = rng.integers(0, 3, n)
    return p


def test_logit_odds_follow_the_utilities_and_closed_routes_get_nothing():
    ch = chooser()
    rng = np.random.default_rng(5)
    n = 500
    p = varied_people(rng, n)
    prob = ch.probabilities(TurningPoint.CONTRACT_END, D(2021, 1, 1), p)
    opened = ch.open_routes(TurningPoint.CONTRACT_END, D(2021, 1, 1), p)
    assert np.allclose(prob.sum(axis=1), 1.0) and (prob[~opened] == 0).all()
    both = opened[:, 0] & opened[:, -1]
    v_home = 0.5 * p.savings / 100000 - p.debt / 160000
    v_irr = -3.0 + p.network
    assert np.allclose(prob[both, 0] / prob[both, -1], np.exp(v_home - v_irr)[both])
    u = rng.random(n)
    same = ch.choose(TurningPoint.CONTRACT_END, D(2021, 1, 1), p, u)
    assert (same == ch.choose(TurningPoint.CONTRACT_END, D(2021, 1, 1), p, u)).all()
    assert opened[np.arange(n), same].all()  # nobody takes a closed route


def test_bad_route_specs_say_what_is_wrong():
    with pytest.raises(ValidationError, match="source"):
        spec(irregular={"intercept": -3.0})
    with pytest.raises(ValidationError, match="end 2020-01-01 is before start"):
        spec(bridges=[{"name": "b", "start": "2020-05-21", "end": "2020-01-01", "months": 6,
                       "working": True, "at": ["stranded"], "source": "x"}])  # fmt: skip
    with pytest.raises(ValidationError, match="unique"):
        spec(job_changes=[{"name": "cannot_return", "at": ["dismissal"], "source": "x"}])
    with pytest.raises(ValidationError, match="coef"):
        spec(irregular={"coef": {"wealth": 1.0}, "source": "x"})
    with pytest.raises(ValueError, match="unknown field"):
        RouteChooser(
            spec(onward=[{"name": "o", "at": ["stranded"], "after_stage": "2", "fields": ["mining"],
                          "source": "x"}]),  # fmt: skip
            STAGES, SECTORS, [None] * 3, [False] * 3,
        )  # fmt: skip


def test_flagship_routes_section_fits_the_flagship():
    from tmpsim.scenario import load_scenario

    sc = load_scenario("japan-titp-covid")
    routes = sc.routes
    assert routes is not None
    stages = sc.programme.stages
    ch = RouteChooser(
        routes,
        [s.name for s in stages],
        list(sc.sectors),
        [s.available_from for s in stages],
        [s.home_visit_days > 0 for s in stages],
        list(sc.origins),
    )
    assert "specified_skilled_worker_i" in ch.names and "cannot_return_working" in ch.names
    assert "myanmar_emergency" in ch.names  # a measure for one nationality
    for r in [routes.home, routes.next_stage, routes.irregular, *ch.dated]:
        assert r.source.strip()


def test_people_from_reads_the_agent_arrays():
    from tmpsim.engine.population import Population
    from tmpsim.model.routes import people_from
    from tmpsim.simulation import Simulation

    pop = Population(4, Simulation.agent_fields())
    ids = pop.add(3)
    pop.savings[ids] = [0.0, 1.0, 2.0]
    pop.debt[ids] = [5.0, 6.0, 7.0]
    pop.proactivity[ids] = [0.1, 0.2, 0.3]
    pop.sector[ids] = [2, 1, 0]
    pop.age0[ids] = [20.0, 22.0, 30.0]
    pop.created[ids] = [0, 0, -365]
    pick = np.array([2, 0])
    ones = np.ones(2)
    p = people_from(pop, pick, 730, information=ones, seat=ones > 0, offer=ones, years_left=ones,
                    passed_exam=ones > 0, completed=np.array([1, -1]))  # fmt: skip
    assert p.age == pytest.approx([30.0 + 1095 / 365.25, 20.0 + 730 / 365.25])
    assert p.savings.tolist() == [2.0, 0.0] and p.debt.tolist() == [7.0, 5.0]
    assert p.support.tolist() == pytest.approx([0.3, 0.1]) and p.sector.tolist() == [0, 2]
    assert p.n == 2


def test_each_route_leads_to_its_state():
    from tmpsim.states import State

    ch = chooser()
    want = {
        "home": State.STRANDED,  # waits in the return queue until a seat
        "next_stage": State.EMPLOYED,
        "skilled_worker": State.OTHER_STATUS,
        "cannot_return": State.SPECIAL_IDLE,  # a bridge without work
        "special_job_change": State.SPECIAL_WORKING,
        "irregular": State.IRREGULAR,
    }
    got = ch.destinations(np.arange(len(ch.names)))
    assert {n: State(int(s)) for n, s in zip(ch.names, got, strict=True)} == want


def test_age_and_information_enter_the_utilities():
    ch = chooser(spec(irregular={"intercept": -3.0, "coef": {"age": -0.1, "information": 1.0},
                                 "source": "x"}))  # fmt: skip
    p = people(2, age=30.0)
    p.information = np.array([0.0, 1.0])
    prob = ch.probabilities(TurningPoint.STRANDED, D(2020, 8, 1), p)
    odds = prob[:, -1] / prob[:, ch.index("cannot_return")]
    assert odds == pytest.approx([math.exp(-6.0), math.exp(-5.0)])


def test_next_stage_intercept_by_the_stage_entered():
    ch = chooser(spec(next_stage={"by_stage": {"3": -2.0}, "source": "x"}))
    p = people(2, seat=True, savings=60000.0)
    p.stage = np.array([0, 1])  # entering stage 2 and stage 3
    prob = ch.probabilities(TurningPoint.CONTRACT_END, D(2021, 1, 1), p)
    odds = prob[:, 1] / prob[:, 0]  # next stage against home: utilities 0 + bonus vs 0.3
    assert odds == pytest.approx([math.exp(-0.3), math.exp(-2.3)])
    with pytest.raises(ValueError, match="unknown stage"):
        chooser(spec(next_stage={"by_stage": {"4": 1.0}, "source": "x"}))


def test_people_at_different_turning_points_decide_together_as_each_alone():
    ch = chooser()
    rng = np.random.default_rng(9)
    n = 400
    p = varied_people(rng, n)
    points = rng.integers(0, len(TurningPoint), n)
    u = rng.random(n)
    date = D(2021, 1, 1)
    together = ch.probabilities(points, date, p)
    chosen = ch.choose(points, date, p, u)
    for point in TurningPoint:
        at = points == point
        assert at.any()
        assert (together[at] == ch.probabilities(point, date, p)[at]).all()
        assert (chosen[at] == ch.choose(point, date, p, u)[at]).all()
    # Each kind of turning point opens its own routes: next stage only at a contract's end.
    assert not together[points != TurningPoint.CONTRACT_END, ch.index("next_stage")].any()
    job_change = together[:, ch.index("special_job_change")]
    assert not job_change[points != TurningPoint.DISMISSAL].any()
    assert job_change[points == TurningPoint.DISMISSAL].all()


# ---- the earnings gap (routes.earnings_gap) ------------------------------------------------


def test_two_people_differing_only_in_the_earnings_gap_choose_as_the_logit_says():
    gap = {"reference": 1.0, "source": "x"}
    s = spec(
        earnings_gap=gap,
        home={"ticket_paid_by_sponsor": True, "source": "x"},
        next_stage={"intercept": 0.5, "coef": {"earnings_gap": 0.8}, "source": "x"},
    )
    ch = chooser(s)
    p = people(2, seat=True)
    p.earnings_gap = np.array([-0.5, 1.25])  # e.g. a richer and a poorer home than the reference
    prob = ch.probabilities(TurningPoint.CONTRACT_END, D(2019, 6, 1), p)
    odds = prob[:, ch.index("next_stage")] / prob[:, ch.index("home")]
    assert odds == pytest.approx([math.exp(0.5 - 0.4), math.exp(0.5 + 1.0)], rel=1e-12)
    # Without the feature's values (None) everyone is at the reference gap.
    p.earnings_gap = None
    again = ch.probabilities(TurningPoint.CONTRACT_END, D(2019, 6, 1), p)
    assert again[:, 1] / again[:, 0] == pytest.approx([math.exp(0.5)] * 2, rel=1e-12)


def _series(name: str, key: str, column: str) -> dict[tuple[str, int], float]:
    import csv
    from importlib import resources

    text = (resources.files("tmpsim") / "data/origins" / name).read_text("utf-8")
    return {(r[key], int(r["year"])): float(r[column]) for r in csv.DictReader(text.splitlines())}


def test_the_earnings_gap_is_the_log_of_host_pay_over_home_income_in_dollars():
    from tmpsim.model.earnings_gap import earnings_gap_table
    from tmpsim.scenario.routes_schema import EarningsGap

    fx = _series("exchange_rates.csv", "currency", "per_usd")
    gdp = _series("gdp_per_capita.csv", "country", "gdp_per_capita_usd")
    spec_ = EarningsGap(reference=1.2, countries={"B": "Myanmar", "C": None}, source="x")
    years = np.array([2019, 2022, 2030])  # 2030: after both series, their last year's values
    got = earnings_gap_table(spec_, ["China", "B", "C"], "JPY", 136000.0, years)
    for j, y in enumerate([2019, 2022, 2025]):
        pay = 12 * 136000.0 / fx[("JPY", y)]
        assert got[0, j] == pytest.approx(math.log(pay / gdp[("China", y)]) - 1.2, rel=1e-12)
        assert got[1, j] == pytest.approx(math.log(pay / gdp[("Myanmar", y)]) - 1.2, rel=1e-12)
    assert (got[2] == 0).all()  # no series: at the reference
    assert got[0, 1] < got[0, 0]  # the yen's fall and China's rising income narrow the gap


def test_the_expected_gap_is_the_mean_of_the_years_up_to_the_decision():
    from tmpsim.model.earnings_gap import earnings_gap_table
    from tmpsim.scenario.routes_schema import EarningsGap

    fx = _series("exchange_rates.csv", "currency", "per_usd")
    gdp = _series("gdp_per_capita.csv", "country", "gdp_per_capita_usd")

    def ratio(y: int) -> float:
        return math.log(12 * 136000.0 / fx[("JPY", y)] / gdp[("Indonesia", y)])

    spec_ = EarningsGap(reference=1.0, expectation_years=3, source="x")
    years = np.array([2012, 2020, 2022])
    got = earnings_gap_table(spec_, ["Indonesia"], "JPY", 136000.0, years)[0]
    # 2022: the mean of 2020, 2021 and 2022 (the yen's fall of 2022 counts for a third).
    assert got[2] == pytest.approx((ratio(2020) + ratio(2021) + ratio(2022)) / 3 - 1.0, rel=1e-12)
    assert got[1] == pytest.approx((ratio(2018) + ratio(2019) + ratio(2020)) / 3 - 1.0, rel=1e-12)
    # Before the series (2010, 2011) the first year's values stand in.
    assert got[0] == pytest.approx(ratio(2012) - 1.0, rel=1e-12)
    one = EarningsGap(reference=1.0, source="x")  # the default: the year's own gap
    now = earnings_gap_table(one, ["Indonesia"], "JPY", 136000.0, years)[0]
    assert now[2] == pytest.approx(ratio(2022) - 1.0, rel=1e-12)
    assert got[2] > now[2]  # remembering 2020-2021 softens the yen's fall of 2022


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"routes.next_stage.coef": {"earnings_gap": 1.0}},
            "routes.next_stage.coef.earnings_gap: the feature needs a routes.earnings_gap",
        ),
        (
            {"routes.earnings_gap": {"reference": 1.0, "countries": {"Z": "China"}, "source": "x"}},
            "routes.earnings_gap.countries: 'Z' is not an origin",
        ),
        (
            {"routes.earnings_gap": {"reference": 1.0, "source": "x"}},
            "routes.earnings_gap: origin 'A' has no series in tmpsim/data/origins/gdp_per_capita",
        ),
        (
            {"routes.earnings_gap": {"reference": 1, "countries": {"A": "Oz"}, "source": "x"}},
            "origin 'A' (countries: A: Oz) has no series",
        ),
        (
            {"routes.earnings_gap": {"reference": 1.0, "countries": {"A": None}, "source": "x"}},
            "currency: routes.earnings_gap converts the host's pay",
        ),
        (
            {"currency": "JPY", "routes.earnings_gap": {"countries": {"A": None}, "source": "x"}},
            "routes.earnings_gap.reference",
        ),
        (
            {"currency": "JPY", "routes.earnings_gap": {"reference": "high", "source": "x"}},
            "routes.earnings_gap.reference",
        ),
        (
            {"currency": "JPY", "routes.earnings_gap": {"reference": 1.0, "source": ""}},
            "routes.earnings_gap.source",
        ),
        (
            {
                "currency": "JPY",
                "routes.earnings_gap": {"reference": 1.0, "expectation_years": 0, "source": "x"},
            },
            "routes.earnings_gap.expectation_years",
        ),
        (
            {
                "currency": "JPY",
                "routes.earnings_gap": {"reference": 1.0, "expect_years": 3, "source": "x"},
            },
            "routes.earnings_gap.expect_years",
        ),
    ],
)
def test_bad_earnings_gap_input_is_refused_with_its_key(change, message):
    from helpers import scenario_file

    from tmpsim.scenario import load_scenario
    from tmpsim.scenario.loader import ScenarioError

    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenario(scenario_file("routes"), change)


def test_a_route_for_an_unknown_origin_is_refused_with_file_and_key(tmp_path):
    from tmpsim import ScenarioError
    from tmpsim.scenario import load_scenario

    path = tmp_path / "bad.yaml"
    path.write_text(
        "extends: japan-titp-covid\n"
        "routes:\n"
        "  bridges:\n"
        "    - {name: x, start: 2021-05-28, months: 6, working: true, at: [contract_end],\n"
        "       origins: [Atlantis], source: test}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert f"{path}:3: routes.bridges x: origins ['Atlantis'] are not origins" in text
    assert "'Myanmar'" in text  # the valid ones are listed


@pytest.mark.parametrize("n", [1, 3])
def test_deciders_are_writable_contiguous_arrays_whatever_the_inputs(n):
    """A value given for everyone comes out as the same kind of array as one given per person.

    The compiled choice is called through the version its first call chose (``Resolved``), so
    a decider's arrays must have the same types at every call: a broadcast (read-only) view for
    a single value would be another type than the writable array of a value per person.
    """
    ch = chooser()
    p = people(n)  # renew, excellent and route_of left out: filled in for everyone
    d = ch.deciders(TurningPoint.CONTRACT_END, p)
    for name, a in zip(d._fields, d, strict=True):
        assert a.flags.writeable and a.flags.c_contiguous, name
        assert a.shape[0] == n, name
    assert d.renew.dtype == np.bool_ and not d.renew.any()
    assert d.route_of.dtype == np.int64 and (d.route_of == -1).all()
