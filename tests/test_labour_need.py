"""Dismissals that follow the fall of employers' labour need, read exactly from the rates.

The tiny scenario ``runaway.yaml`` (twenty employed trainees, 2019-2020) is given a dismissal
rate of 0.1 a year, so an employed trainee's daily dismissal rate is exactly 0.1 / 365.25 times
the factor under test. The monthly index below is flat at 1.5 through January 2020, then falls
to 1.2 (February: the fall over twelve months is 1.5 / 1.2 = 1.25) and 1.0 (March: 1.5),
rises to 2.0 (April: above a year before, no fall) and is back at 1.5 from May (no fall).
With elasticity 2 the factors of January to May 2020 are 1, 1.5625, 2.25, 1, 1; dismissals are
drawn at the year's bound (2.25 all through 2020, 1 in 2019) and each one due is kept with
probability factor / bound (thinning), so the rate that acts is the bound times that share.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from helpers import build, file_hazard, ids, run_days, scenario_file, state_of

from tmpsim.kinds import HAZARDS_BY_STATE, Hazard
from tmpsim.model.hazards import YEAR
from tmpsim.results import build_result
from tmpsim.scenario import ScenarioError, load_scenario
from tmpsim.scenario.bounds import month_number
from tmpsim.states import State

BASE = 0.1 / YEAR
COL = HAZARDS_BY_STATE[State.EMPLOYED].index(Hazard.DISMISSAL)
START = dt.date(2019, 1, 1)
JAN, FEB, MAR, APR, MAY = (dt.date(2020, m, 15) for m in range(1, 6))


def day(date: dt.date) -> int:
    """Run day of a date in the tiny scenario."""
    return (date - START).days


def index() -> dict[str, float]:
    """The monthly index described in the module's docstring."""
    months = {f"2019-{m:02d}": 1.5 for m in range(1, 13)}
    later = {1: 1.5, 2: 1.2, 3: 1.0, 4: 2.0}
    months.update({f"2020-{m:02d}": later.get(m, 1.5) for m in range(1, 13)})
    return months


def need(elasticity: float, **more) -> dict:
    """Overrides: a dismissal rate of 0.1 a year and the labour-need rule."""
    rule = {"index": index(), "elasticity": elasticity, "source": "assumed (test)"}
    rule.update(more)
    return {
        "sectors.only.dismissal_rate_per_year": 0.1,
        "behaviour.dismissal_labour_need": rule,
    }


def dismissal_rates(overrides: dict, on: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """Daily dismissal rate the twenty employed trainees are drawn at on a date, and the rate
    that acts (drawn rate times the share of due dismissals kept that month)."""
    sim = build("runaway", overrides)
    who = np.arange(sim.pop.n, dtype=np.int64)
    assert (sim.pop.state[who] == State.EMPLOYED).all()
    drawn = sim.hazards.rates(who, State.EMPLOYED, day(on))[:, COL]
    timeline = sim.timeline
    bound = timeline.labour_need_bound(day(on))
    if bound is None:
        return drawn, drawn
    kept = (timeline.labour_need_factor(day(on)) / bound)[sim.pop.segment[who], sim.pop.sector[who]]
    return drawn, drawn * kept


def test_dismissals_rise_by_the_fall_to_the_elasticity_and_only_while_it_lasts():
    expected = {JAN: 1.0, FEB: 1.25**2, MAR: 1.5**2, APR: 1.0, MAY: 1.0}
    for on, factor in expected.items():
        drawn, acting = dismissal_rates(need(2.0), on)
        assert np.allclose(drawn, 2.25 * BASE, rtol=1e-15, atol=0), on  # the year's bound
        assert np.allclose(acting, factor * BASE, rtol=1e-15, atol=0), on
    drawn, acting = dismissal_rates(need(2.0), dt.date(2019, 6, 1))
    assert np.array_equal(drawn, np.full(20, BASE)) and np.array_equal(acting, drawn)


def test_a_sectors_exposure_scales_the_rise_not_the_rate():
    overrides = need(2.0, exposure={"only": 0.5})
    bound = 1 + 0.5 * 1.25
    for on, factor in {MAR: bound, JAN: 1.0}.items():
        drawn, acting = dismissal_rates(overrides, on)
        assert np.allclose(drawn, bound * BASE, rtol=1e-15, atol=0)
        assert np.allclose(acting, factor * BASE, rtol=1e-15, atol=0)


def test_rates_change_on_the_first_of_january_when_the_years_bound_moves():
    changes = sorted(build("runaway", need(2.0)).timeline.regime_changes)
    assert changes == [day(dt.date(2020, 1, 1))]
    assert sorted(build("runaway", need(0.0)).timeline.regime_changes) == []


def test_months_without_the_index_a_year_before_take_factor_one():
    short = {k: v for k, v in index().items() if k >= "2019-03"}
    overrides = need(2.0)
    overrides["behaviour.dismissal_labour_need"]["index"] = short
    assert np.allclose(dismissal_rates(overrides, FEB)[1], BASE, rtol=1e-15, atol=0)
    assert np.allclose(dismissal_rates(overrides, MAR)[1], 2.25 * BASE, rtol=1e-15, atol=0)


class Uniforms:
    """A random stream whose first ``random`` call returns given numbers; no second call."""

    def __init__(self, stream: np.random.Generator, values: list[float]) -> None:
        self.stream, self.values = stream, values

    def random(self, n: int) -> np.ndarray:
        assert self.values is not None, "a second call for uniform numbers"
        assert n == len(self.values)
        out, self.values = np.array(self.values), None
        return out

    def exponential(self, scale: float, n: int) -> np.ndarray:
        return self.stream.exponential(scale, n)


def test_due_dismissals_are_kept_with_the_share_of_the_bound_and_the_others_drawn_again():
    """Four dismissals due on 2020-02-15 with uniforms 0.1, 0.69, 0.70, 0.99: the month keeps
    1.5625 / 2.25 = 0.694 of the bound, so the first two happen; the other two stay employed and
    draw again (no hazard left: no event). Four due on 2020-03-16, at the bound, all happen
    without a random number."""
    quiet = need(2.0)
    quiet.update(
        {"sectors.only.dismissal_rate_per_year": 0.0, "origins.A.runaway_rate_per_year": 0.0}
    )
    sim = build("runaway", quiet)
    feb, mar = day(FEB), day(dt.date(2020, 3, 16))
    run_days(sim, range(0, day(JAN) + 1))  # past 1 January, when everyone employed draws again
    file_hazard(sim, ids(0, 1, 2, 3), Hazard.DISMISSAL, feb)
    file_hazard(sim, ids(4, 5, 6, 7), Hazard.DISMISSAL, mar)
    sim.hazards.stream = Uniforms(sim.hazards.stream, [0.1, 0.69, 0.70, 0.99])
    run_days(sim, range(day(JAN) + 1, feb + 1))
    assert state_of(sim, ids(0, 1, 2, 3)) == [State.JOBLESS] * 2 + [State.EMPLOYED] * 2
    assert (sim.pop.t_hazard[[2, 3]] == -1).all()
    run_days(sim, range(feb + 1, mar + 1))
    assert state_of(sim, ids(4, 5, 6, 7)) == [State.JOBLESS] * 4
    assert state_of(sim, ids(2, 3)) == [State.EMPLOYED] * 2


def test_it_multiplies_with_a_dated_dismissal_event():
    overrides = need(2.0)
    overrides["events"] = [
        {
            "type": "hazard",
            "date": "2020-03-01",
            "end": "2020-03-31",
            "hazard": "dismissal",
            "multiplier": 3.0,
        }
    ]
    drawn, acting = dismissal_rates(overrides, MAR)
    assert np.allclose(drawn, 3 * 2.25 * BASE, rtol=1e-15, atol=0)
    assert np.allclose(acting, 3 * 2.25 * BASE, rtol=1e-15, atol=0)


def test_a_zero_elasticity_run_is_identical_to_a_run_without_the_key():
    def series(elasticity: float | None):
        rule = {"index": index(), "elasticity": elasticity, "source": "assumed (test)"}
        overrides = None if elasticity is None else {"behaviour.dismissal_labour_need": rule}
        return build_result(run_days(build("mini", overrides, seed=3)), with_agents=False).series

    plain = series(None)
    assert plain.equals(series(0.0))
    assert not plain.equals(series(2.0))  # the same run with the rule in force differs


@pytest.mark.parametrize(
    ("index_", "match"),
    [
        ({"2019-01": 1.0, "2019-03": 1.0}, "no value for 2019-02"),
        ({"2019-13": 1.0, "2020-01": 1.0}, "not a month written YYYY-MM"),
        ({"2019-01": 0.0, "2019-02": 1.0}, "greater than 0"),
    ],
)
def test_a_bad_index_is_refused_naming_the_month(index_, match):
    overrides = need(1.0)
    overrides["behaviour.dismissal_labour_need"]["index"] = index_
    with pytest.raises(ScenarioError, match=match):
        load_scenario(scenario_file("runaway"), overrides)


def test_an_unknown_sector_in_exposure_is_refused():
    with pytest.raises(ScenarioError, match="exposure: sector 'textiles' is not one of"):
        load_scenario(scenario_file("runaway"), need(1.0, exposure={"textiles": 2.0}))


def test_the_flagships_index_is_its_sourced_table_month_for_month():
    import csv

    import tmpsim

    table = Path(tmpsim.__file__).parent / "data" / "host" / "jobs_to_applicants_monthly.csv"
    with table.open(encoding="utf-8") as f:
        sourced = {r["month"]: float(r["value"]) for r in csv.DictReader(f) if r["host"] == "Japan"}
    flagship = load_scenario("japan-titp-covid").behaviour.dismissal_labour_need
    assert flagship.index == sourced and len(sourced) == 96


def test_a_segments_exposure_scales_its_rise_and_the_others_keep_theirs():
    """``segments.yaml`` (2019): the index is 1.5 through 2019-02 and 1.0 from 2019-03, so the
    fall over twelve months is 1.5 in March 2019 and, with elasticity 2, the rise 1.25. The
    domestic workers' exposure 0.4 gives them 1 + 0.4 x 1.25 = 1.5; the others 2.25. Every
    month of 2019 is drawn at that bound; January keeps none of the rise (no fall yet)."""
    months = {f"2018-{m:02d}": 1.5 for m in range(1, 13)}
    months.update({f"2019-{m:02d}": 1.5 if m < 3 else 1.0 for m in range(1, 13)})
    rule = {
        "index": months,
        "elasticity": 2.0,
        "exposure_segments": {"domestic": 0.4},
        "source": "assumed (test)",
    }
    overrides = {"sectors.only.dismissal_rate_per_year": 0.1}
    overrides["behaviour.dismissal_labour_need"] = rule
    sim = build("segments", overrides)
    who = np.arange(sim.pop.n, dtype=np.int64)
    employed = who[sim.pop.state[who] == State.EMPLOYED]
    domestic = sim.pop.segment[employed] == sim.timeline.segment_index["domestic"]
    assert domestic.sum() == 10 and (~domestic).sum() == 50
    timeline = sim.timeline
    start = sim.scenario.start
    for on, factors in {
        dt.date(2019, 3, 15): (1.5, 2.25),
        dt.date(2019, 1, 15): (1.0, 1.0),
    }.items():
        d = (on - start).days
        drawn = sim.hazards.rates(employed, State.EMPLOYED, d)[:, COL]
        kept = (timeline.labour_need_factor(d) / timeline.labour_need_bound(d))[
            sim.pop.segment[employed], sim.pop.sector[employed]
        ]
        bound = np.where(domestic, 1.5, 2.25) * BASE
        assert np.allclose(drawn, bound, rtol=1e-15, atol=0), on
        assert np.allclose(drawn * kept, np.where(domestic, *factors) * BASE, rtol=1e-15, atol=0)


def test_an_unknown_segment_in_exposure_is_refused():
    rule = need(1.0, exposure_segments={"domestic": 0.5})
    with pytest.raises(ScenarioError, match="exposure_segments: segment 'domestic' is not one of"):
        load_scenario(scenario_file("runaway"), rule)


def test_singapores_index_is_its_sourced_quarters_held_for_their_months():
    import csv

    import tmpsim

    table = Path(tmpsim.__file__).parent / "data" / "host"
    with (table / "job_vacancies_to_unemployed_quarterly.csv").open(encoding="utf-8") as f:
        quarters = {r["quarter_end"]: float(r["value"]) for r in csv.DictReader(f)}
    held = {}
    for end, value in quarters.items():
        year, month = map(int, end.split("-"))
        held.update({f"{year}-{m:02d}": value for m in (month - 2, month - 1, month)})
    rule = load_scenario("singapore-work-permit-covid").behaviour.dismissal_labour_need
    assert rule.index == held and len(quarters) == 25


def test_the_gulfs_index_is_its_sourced_counts_linear_between_them_and_held_after():
    """gulf-kafala-covid's index is the UAE's count of private-sector workers (thousands) at the
    sourced months, linear between two of them (rounded to a tenth) and held from the last to
    the run's end; it starts a year before the run, so every month of the run has its lag."""
    import csv

    import tmpsim

    table = Path(tmpsim.__file__).parent / "data" / "host" / "private_sector_workers_uae.csv"
    with table.open(encoding="utf-8") as f:
        counts = [(r["month"], float(r["value"])) for r in csv.DictReader(f)]

    sc = load_scenario("gulf-kafala-covid")
    rule = sc.behaviour.dismissal_labour_need
    index = {month_number(k): v for k, v in rule.index.items()}
    for (a, va), (b, vb) in zip(counts, counts[1:], strict=False):
        na, nb = month_number(a), month_number(b)
        for n in range(na, nb + 1):
            assert index[n] == round(va + (vb - va) * (n - na) / (nb - na), 1), (a, n)
    last = month_number(counts[-1][0])
    end = month_number(sc.end)
    assert all(index[n] == counts[-1][1] for n in range(last, end + 1))
    assert min(index) == month_number(counts[0][0]) and max(index) == end
    assert min(index) <= month_number(sc.start) - rule.lag_months
    # The fall over a year in December 2020: 5,094.4 / 4,799.2 thousand workers.
    assert rule.fall(month_number("2020-12")) == pytest.approx(5094.4 / 4799.2, rel=1e-12)
