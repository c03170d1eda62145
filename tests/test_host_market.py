"""A host scenario's split of entries across origins, taken from the sending market.

The toy market has two origins (Vietnam's and China's sourced series), one broker each and two
destinations paying in US dollars: the host (``Japan TITP``) and an alternative (``Korea``).
Fees are fixed (no spread, no scarcity pricing, no interest), so fees and debt at departure are
exact; the scenario is the flagship's, whose other origins the market does not have.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import scenario_file, tmpsim_inprocess
from origins_toy import toy_destination

from tmpsim.corridors.config import CorridorsError
from tmpsim.model.host_market import _market_split, host_split
from tmpsim.model.origin_inputs import fx_per_usd, gdp_per_capita_usd
from tmpsim.policy.levers import apply_levers
from tmpsim.reports.build import build_report
from tmpsim.reports.charts import origins_figures_of
from tmpsim.results import Result, write_run
from tmpsim.scenario import ScenarioError, load_scenario
from tmpsim.scenario.paths import set_path
from tmpsim.scenario.schema import DEBT_PER_FEE_MAX, OriginsMarketSpec
from tmpsim.simulation import Simulation

FLAGSHIP = "japan-titp-covid"
DEMAND = 2400.0  # the host's seats a year


def toy_yaml(tmp_path: Path, **over) -> Path:
    """Two origins, one broker each, the host and Korea; written as a corridors file."""
    origin = {
        "currency": "VND",
        "population": 12000,
        "entry_share_per_year": 1.0,  # 1,000 entrants a month
        "reference_year": 2019,
        "attractiveness_elasticity": 0.0,
        "patience_months": 1e9,
        "savings_months": 3,
    }
    market = {
        "origins": {
            "Vietnam": dict(origin),
            "China": {**origin, "currency": "CNY", "population": 6000},
        },
        "destinations": {"Japan TITP": toy_destination(), "Korea": toy_destination()},
        "brokers": {
            "per_origin": 1,
            "capacity_per_month": 1e6,
            "capacity_cv": 0.0,
            "base_fee": {
                "Vietnam": {"Japan TITP": 5000.0, "Korea": 1000.0},
                "China": {"Japan TITP": 5000.0, "Korea": 1000.0},
            },
            "fee_cv": 0.0,
            "interest_per_year": 0.0,
        },
        "choice": {"earnings": 1.0, "fee": 0.0, "network": 0.0, "seat": 1.0},
        "stochastic": False,
    }
    for key, value in over.items():
        set_path(market, key, value)
    cfg = {"first_year": 2019, "last_year": 2019, "spinup_years": 1, "market": market}
    path = tmp_path / "toy-corridors.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def market_on(path: Path) -> dict:
    """The flagship overlay that takes its origins' shares from the toy market at ``path``."""
    return {
        "origins_market": {
            "corridors": str(path),
            "scale": 1.0,
            "host": "Japan TITP",
            "source": "t",
        }
    }


def split(tmp_path: Path, **over):
    scenario = load_scenario(FLAGSHIP)
    spec = OriginsMarketSpec(
        corridors=str(toy_yaml(tmp_path, **over)), scale=1.0, host="Japan TITP", source="t"
    )
    return scenario, host_split(spec, scenario, lambda year: DEMAND)


def test_the_market_origins_share_what_the_others_leave_in_proportion_to_departures(tmp_path):
    scenario, s = split(tmp_path)
    names = list(scenario.origins)
    v, c = names.index("Vietnam"), names.index("China")
    assert s.covered[v] and s.covered[c] and not s.covered[names.index("Thailand")]
    np.testing.assert_allclose(s.shares.sum(axis=1), 1.0)
    for i, name in enumerate(names):  # origins the market lacks keep their table
        if not s.covered[i]:
            table = scenario.origins[name].demand_share
            years = sorted(table)
            fixed = np.interp(2019.5, [y + 0.5 for y in years], [table[y] for y in years])
            assert s.shares[0, i] == pytest.approx(fixed)
    j = s.run.destinations.index("Japan TITP")
    placed = s.run.departures[:12, :, j].sum(axis=0)  # 2019
    assert placed.sum() == DEMAND  # the host's seats are the scenario's demand
    assert s.shares[0, v] / s.shares[0, c] == pytest.approx(placed[0] / placed[1])
    assert placed[0] > placed[1]  # twice the people, more of them placed


def test_fees_and_debt_at_departure_are_the_brokers_in_the_scenarios_currency(tmp_path):
    scenario, s = split(tmp_path)
    v = list(scenario.origins).index("Vietnam")
    yen = fx_per_usd("JPY", np.array([2019]))[0]
    savings = 3 * gdp_per_capita_usd("Vietnam", np.array([2019]))[0] / 12
    assert s.fee[0, v] == pytest.approx(5000.0 * yen)
    assert s.debt[0, v] == pytest.approx((5000.0 - savings) * yen)


def test_a_fee_cap_lowers_the_debt_at_departure_by_the_capped_amount(tmp_path):
    cap = {"origin": "Vietnam", "destination": "Japan TITP", "amount": 3600.0}
    _, free = split(tmp_path)
    scenario, capped = split(tmp_path, fee_caps=[{**cap, "date": "2010-01-01"}])
    v = list(scenario.origins).index("Vietnam")
    yen = fx_per_usd("JPY", np.array([2019]))[0]
    assert free.debt[0, v] - capped.debt[0, v] == pytest.approx((5000.0 - 3600.0) * yen)
    assert capped.fee[0, v] == pytest.approx(3600.0 * yen)


def test_a_network_abroad_raises_an_origins_share(tmp_path):
    _, flat = split(tmp_path)
    net = {"origins.Vietnam.network_elasticity": 1.0, "origins.Vietnam.network_scale": 100.0}
    scenario, grown = split(tmp_path, **net)
    v = list(scenario.origins).index("Vietnam")
    assert grown.shares[0, v] > flat.shares[0, v]


def test_closing_the_alternative_sends_its_queue_to_the_host(tmp_path):
    # Korea's seats bind; closing it leaves the host's seats as the only ones.
    closed = [{"date": "2010-01-01", "end": "2030-01-01", "open_share": 0.0}]
    _, open_ = split(tmp_path)
    _, shut = split(tmp_path, **{"destinations.Korea.borders": closed})
    k = open_.run.destinations.index("Korea")
    assert open_.run.departures[:, :, k].sum() > 0 and shut.run.departures[:, :, k].sum() == 0
    j = shut.run.destinations.index("Japan TITP")
    assert shut.run.departures[:12, :, j].sum() == DEMAND  # the host still fills its seats
    assert shut.run.queue[11, :, j].sum() > open_.run.queue[11, :, j].sum()


def test_people_are_conserved_between_pools_brokers_and_destinations(tmp_path):
    _, s = split(tmp_path)
    run = s.run
    stock = run.stock
    prev = np.concatenate([stock[:1] - run.departures[:1] + run.returns[:1], stock[:-1]])
    np.testing.assert_array_equal(stock, prev + run.departures - run.returns)
    assert (run.queue >= 0).all() and (stock >= 0).all()


def test_a_host_the_market_does_not_have_is_an_error(tmp_path):
    scenario = load_scenario(FLAGSHIP)
    spec = OriginsMarketSpec(corridors=str(toy_yaml(tmp_path)), host="Nowhere", source="t")
    with pytest.raises(CorridorsError, match="origins_market.host: 'Nowhere'"):
        host_split(spec, scenario, lambda year: DEMAND)


def test_a_market_the_run_cannot_take_is_an_error_not_a_traceback(tmp_path):
    # Met when the run builds its market: said under the key at fault, exit 2, as any bad
    # input is; a file that is not there is named under the key that names it.
    variant = tmp_path / "variant.yaml"
    run = ["run", str(variant), "--scale", "0.001", "--out", str(tmp_path / "run")]
    for key, value, reason in (
        ("host", "Japan", "origins_market.host: 'Japan' is not a destination of asia-corridors"),
        ("anchor_year", 2040, "origins_market.anchor_year: 2040 is outside the market's years"),
        ("corridors", "missing.yaml", "origins_market.corridors: missing.yaml: no such file"),
    ):
        variant.write_text(f"extends: {FLAGSHIP}\norigins_market:\n  {key}: {value}\n")
        code, _, err = tmpsim_inprocess(*run)
        assert code == 2 and reason in " ".join(err.split()), err


def test_show_checks_the_market_as_run_does(tmp_path):
    # `show` printed a scenario whose market no run could build (exit 0): the same check as
    # the run's, the same message and exit status, and nothing printed on stdout.
    variant = tmp_path / "variant.yaml"
    for key, value in (("host", "Japan"), ("anchor_year", 1990), ("corridors", "missing.yaml")):
        variant.write_text(f"extends: {FLAGSHIP}\norigins_market:\n  {key}: {value}\n")
        out = tmp_path / "run"
        ran = tmpsim_inprocess("run", str(variant), "--scale", "0.001", "--out", str(out))
        shown = tmpsim_inprocess("show", str(variant))
        assert ran[0] == shown[0] == 2 and shown[1] == ""
        assert f"origins_market.{key}: " in shown[2] and shown[2] == ran[2]
        assert not out.exists()
    # A market a run can build is shown as before.
    variant.write_text(f"extends: {FLAGSHIP}\norigins_market:\n  anchor_year: 2019\n")
    code, text, _ = tmpsim_inprocess("show", str(variant))
    assert code == 0 and "anchor_year: 2019" in text


def test_shock_refuses_a_replay_whose_market_no_run_can_build(tmp_path):
    # The replay of a base whose market names a host the configuration lacks.
    base = tmp_path / "base.yaml"
    market = {"host": "Japan", "fees": False, "source": "t"}
    base.write_text(f"extends: {scenario_file('mini')}\norigins_market: {market}\n")
    out = tmp_path / "replay.yaml"
    code, _, err = tmpsim_inprocess("shock", str(base), "--start", "2020-02-01", "--out", str(out))
    assert code == 2 and "the replay cannot be run: origins_market.host: 'Japan'" in err
    assert not out.exists()


def test_the_markets_fees_need_the_scenarios_currency_to_have_a_rate(tmp_path):
    # The market's fees are US dollars converted at the scenario currency's yearly rate: a
    # currency without a series is refused as the scenario is read, not met as a KeyError.
    mini = scenario_file("mini")  # no currency of its own: "currency units"
    market = market_on(toy_yaml(tmp_path))
    with pytest.raises(ScenarioError, match="currency: origins_market.fees converts .*'curr"):
        load_scenario(mini, market)
    market["origins_market"]["fees"] = False  # shares alone need no rate
    assert load_scenario(mini, market).origins_market is not None


def test_recruitment_takes_its_shares_from_the_market(tmp_path):
    path = toy_yaml(tmp_path)
    over = market_on(path)
    sim = Simulation(load_scenario(FLAGSHIP, over), seed=1, scale=0.001)
    rec = sim.recruitment
    assert rec.market.years[0] == 2019  # the toy's first year; the scenario's years before
    k = rec.market.years.tolist().index(2020)  # take the nearest
    np.testing.assert_allclose(rec.shares(dt.date(2020, 7, 2)), rec.market.shares[k], atol=1e-3)
    np.testing.assert_allclose(rec.shares(dt.date(2017, 7, 2)), rec.market.shares[0])


def test_a_run_folder_holds_the_markets_tidy_tables(tmp_path):
    path = toy_yaml(tmp_path)
    over = market_on(path)
    sim = Simulation(load_scenario(FLAGSHIP, over), seed=1, scale=0.001)
    sim.run()
    out = tmp_path / "run"
    write_run(sim, out, with_agents=False)
    flows = pd.read_parquet(out / "origins_flows.parquet")
    brokers = pd.read_parquet(out / "origins_brokers.parquet")
    assert set(flows["destination"]) >= {"Japan TITP", "Korea"}
    dep = flows[(flows.metric == "departures") & (flows.destination == "Japan TITP")]
    run = sim.recruitment.market.run
    j = run.destinations.index("Japan TITP")
    assert dep["value"].sum() == run.departures[:, :, j].sum() > 0
    shares = brokers[brokers.metric == "market_share"].groupby(["date", "origin", "destination"])
    np.testing.assert_allclose(shares["value"].sum(), 1.0)
    again = Result.read(out)  # listed in the manifest, checked and read back
    assert set(again.origins_tables) == {"origins_flows.parquet", "origins_brokers.parquet"}


def test_the_report_shows_the_markets_figures(tmp_path):
    path = toy_yaml(tmp_path)
    market = {"corridors": str(path), "scale": 1.0, "host": "Japan TITP", "source": "t"}
    sim = Simulation(load_scenario(FLAGSHIP, {"origins_market": market}), seed=1, scale=0.001)
    sim.run()
    out = tmp_path / "run"
    write_run(sim, out, with_agents=False)
    figures = origins_figures_of(out)
    assert set(figures) == {"origins_departures", "origins_fees", "origins_debt"}
    names = {trace["name"] for trace in figures["origins_departures"]["data"]}
    assert names == {"Vietnam", "China"}  # the toy market's origins
    html = build_report(out).read_text(encoding="utf-8")
    assert "origins_departures" in html and "Mean fee at departure to Japan TITP" in html
    assert origins_figures_of(tmp_path) == {}  # a folder without the market's tables


def test_the_report_says_when_the_markets_fees_are_not_the_runs(tmp_path):
    # With fees off the run's agents pay the origins' fee_mean: a figure titled as the fees
    # paid would be read as the run's (the flagship's Filipinos borrow; the market's owe 0).
    path = toy_yaml(tmp_path)
    # So would they with a worker's share of the fees below 1 (the employer pays the rest).
    for fees, share, says in ((True, 1.0, False), (False, 1.0, True), (True, 0.5, True)):
        market = {**market_on(path)["origins_market"], "fees": fees, "worker_fee_share": share}
        sim = Simulation(load_scenario(FLAGSHIP, {"origins_market": market}), seed=1, scale=0.001)
        out = tmp_path / f"run-{fees}-{share}"
        write_run(sim.run(), out, with_agents=False)
        figures = origins_figures_of(out)
        for key in ("origins_fees", "origins_debt"):
            title = figures[key]["layout"]["title"]["text"]
            assert ("not this run's" in title) == says, title


def test_a_share_of_the_markets_fees_needs_the_markets_fees(tmp_path):
    # With fees off the origins' fee_mean and debt_mean are paid: a share of the market's fees
    # would scale nothing, and 'the employer pays' would leave every fee as it was.
    market = {**market_on(toy_yaml(tmp_path))["origins_market"], "worker_fee_share": 0.5}
    assert load_scenario(FLAGSHIP, {"origins_market": market}).origins_market is not None
    with pytest.raises(ScenarioError, match=r"worker_fee_share 0.5 .*\(fees: false\)"):
        load_scenario(FLAGSHIP, {"origins_market": {**market, "fees": False}})
    # The lever scales the origins' terms there, and leaves the market's share alone.
    assert apply_levers(load_scenario(FLAGSHIP), {"worker_fee_share": 0.5}).origins_market


def test_the_fee_lever_scales_the_fees_the_market_hands_over(tmp_path):
    # With the market's fees, the origins' fee_mean and debt_mean are not read: the lever must
    # reach the market's fees, or "the employer pays all fees" leaves every debt as it was.
    base = load_scenario(FLAGSHIP, market_on(toy_yaml(tmp_path)))
    v = list(base.origins).index("Vietnam")
    day = (dt.date(2019, 7, 1) - base.start).days

    def terms(levers: dict) -> tuple[np.ndarray, np.ndarray]:
        sim = Simulation(apply_levers(base, levers), seed=1, scale=0.001)
        return sim.recruitment.fee_terms(day)

    (fee, ratio), (half, half_ratio) = terms({}), terms({"worker_fee_share": 0.5})
    assert fee[v] > 0 and half[v] == pytest.approx(fee[v] / 2)
    assert half_ratio[v] == pytest.approx(ratio[v])  # borrowers owe the same share of the fee
    zero = Simulation(apply_levers(base, {"worker_fee_share": 0}), seed=1, scale=0.001).run()
    assert zero.pop.fee[: zero.pop.n].sum() == zero.pop.debt0[: zero.pop.n].sum() == 0


def test_the_runaway_hazards_debt_reference_is_the_debt_the_markets_fees_leave(tmp_path):
    # The runaway rate is stated at the origin's mean debt at departure; with the market's
    # fees that is the market's debt (the origins' own debt_mean is then owed by nobody).
    over = market_on(toy_yaml(tmp_path))
    sc = load_scenario(FLAGSHIP, over)
    names = list(sc.origins)
    v, t = names.index("Vietnam"), names.index("Thailand")  # the toy has Vietnam, not Thailand
    sim = Simulation(sc, seed=1, scale=0.002)
    ref = sim.hazards.debt_ref * sim.hazards.wage_year  # flagship: one profile per origin
    m, viet = sim.recruitment.market, sc.origins["Vietnam"]
    # Each year's mean debt over everyone placed (the toy's fees leave a borrower well under
    # 1.5 times the fee), weighted by the year's entries from Vietnam.
    years = range(sc.start.year, sc.end.year + 1)
    k = [int(np.clip(y - m.years[0], 0, m.years.size - 1)) for y in years]
    weight = np.array([sim.demand_total(y) * m.shares[i, v] for y, i in zip(years, k, strict=True)])
    debt = m.debt[k, v]
    assert debt.min() < debt.max()  # the dollar fees move in yen: the years' weights matter
    assert ref[v] == pytest.approx((weight * debt).sum() / weight.sum())
    own = viet.fee_pay_share * viet.borrow_share * viet.debt_mean
    assert ref[v] != pytest.approx(own, rel=0.05)  # not the scenario's value
    thai = sc.origins["Thailand"]  # an origin the market lacks keeps its own
    assert ref[t] == pytest.approx(thai.fee_pay_share * thai.borrow_share * thai.debt_mean)
    # The origin's own debt_mean does not move it; without the market's fees it is the own.
    cheap = load_scenario(FLAGSHIP, {**over, "origins.Vietnam.debt_mean": 1000.0})
    again = Simulation(cheap, seed=1, scale=0.002).hazards
    assert again.debt_ref[v] * again.wage_year == pytest.approx(ref[v])
    no_fees = {"origins_market": {**over["origins_market"], "fees": False}}
    plain = Simulation(load_scenario(FLAGSHIP, no_fees), seed=1, scale=0.002).hazards
    assert plain.debt_ref[v] * plain.wage_year == pytest.approx(own)
    # And it is what the run's recruits owe at departure, on average.
    sim.run()
    n = sim.pop.n
    recruits = (sim.pop.origin[:n] == v) & (sim.pop.created[:n] > 0)
    assert recruits.sum() > 500
    assert sim.pop.debt0[:n][recruits].mean() == pytest.approx(ref[v], rel=0.05)


def test_the_fee_lever_keeps_the_debt_runaway_relation_where_the_market_sets_fees(tmp_path):
    # A worker with a given debt runs away as often after the lever as before: for an origin
    # the market prices (its reference is the market's debt, before the worker's share) and
    # for one it does not (its own terms are restated), whatever share of the fees is paid.
    base = load_scenario(FLAGSHIP, market_on(toy_yaml(tmp_path)))
    names = list(base.origins)
    v, t = names.index("Vietnam"), names.index("Thailand")

    def hazard_of_debt(sc) -> np.ndarray:  # base rate over (1 + e × reference): per unit debt
        hz = Simulation(sc, seed=1, scale=0.002).hazards
        e = sc.behaviour.runaway_debt_elasticity
        return hz.runaway_base / (1 + e * hz.debt_ref)

    before = hazard_of_debt(base)
    half = apply_levers(base, {"worker_fee_share": 0.5})
    assert half.origins_market.worker_fee_share == 0.5
    rate = [sc.origins["Vietnam"].runaway_rate_per_year for sc in (base, half)]
    assert rate[0] == rate[1]  # the market's debt, the reference, is not scaled by the lever
    after = hazard_of_debt(half)
    assert after[[v, t]] == pytest.approx(before[[v, t]])


def anchored(tmp_path: Path, anchor: int, **spec_over):
    scenario = load_scenario(FLAGSHIP)
    spec = OriginsMarketSpec(
        corridors=str(toy_yaml(tmp_path)),
        scale=1.0,
        host="Japan TITP",
        source="t",
        anchor_year=anchor,
        **spec_over,
    )
    return scenario, host_split(spec, scenario, lambda year: DEMAND)


def test_an_anchor_year_carries_the_scenarios_own_shares_by_the_markets_change(tmp_path):
    scenario, plain = split(tmp_path)
    _, anch = anchored(tmp_path, 2020)
    names = list(scenario.origins)
    v, c = names.index("Vietnam"), names.index("China")

    def own(name: str, year: int) -> float:  # the table at mid-year, as recruitment reads it
        t = scenario.origins[name].demand_share
        return float(np.interp(year + 0.5, [k + 0.5 for k in sorted(t)], [t[k] for k in sorted(t)]))

    years = list(anch.years)
    for y in (2019, 2020):  # before and at the anchor: the scenario's own ratio
        k = years.index(y)
        assert anch.shares[k, v] / anch.shares[k, c] == pytest.approx(
            own("Vietnam", y) / own("China", y)
        )
    k, a = years.index(2022), years.index(2020)  # after: times the market's change since
    change = (plain.shares[k, v] / plain.shares[a, v]) / (plain.shares[k, c] / plain.shares[a, c])
    assert anch.shares[k, v] / anch.shares[k, c] == pytest.approx(
        own("Vietnam", 2020) / own("China", 2020) * change
    )
    np.testing.assert_allclose(anch.shares.sum(axis=1), 1.0)
    with pytest.raises(CorridorsError, match="anchor_year: 2031 is outside"):
        anchored(tmp_path, 2031)


def test_the_hosts_own_closure_applies_in_the_market_only_when_asked(tmp_path):
    closed = [{"date": "2020-01-01", "end": "2021-01-01", "open_share": 0.0}]
    scenario = load_scenario(FLAGSHIP)
    path = toy_yaml(tmp_path, **{"destinations.Japan TITP.borders": closed})
    runs = {}
    for flag in (False, True):
        spec = OriginsMarketSpec(
            corridors=str(path), scale=1.0, host="Japan TITP", source="t", host_borders=flag
        )
        runs[flag] = host_split(spec, scenario, lambda year: DEMAND).run
    j = runs[True].destinations.index("Japan TITP")
    in_2020 = [i for i, m in enumerate(runs[True].months) if m.year == 2020]
    assert runs[False].departures[in_2020, :, j].sum() == DEMAND
    assert runs[True].departures[in_2020, :, j].sum() == 0


def test_a_year_with_nobody_placed_takes_the_next_year_with_placements():
    # Origins 0 and 1 in the market, 2 not: 2013 and 2015 closed; 2015 has no year after it.
    placed = np.array([[2.0, 2.0], [0.0, 0.0], [1.0, 3.0], [0.0, 0.0]])
    split = _market_split(placed, [0, 1, -1])
    assert split.tolist() == [
        [0.5, 0.5, 0.0],
        [0.25, 0.75, 0.0],  # recruited while closed, they leave with the next year's split
        [0.25, 0.75, 0.0],
        [0.25, 0.75, 0.0],  # none after: the year before
    ]


def test_a_markets_debt_held_to_the_bound_is_said_not_cut_silently(tmp_path):
    # The toy's borrowers owe the fee less three months' income (about 0.9 of it) over the
    # borrowing share: Vietnam's share halved to 0.5 puts the ratio near 1.8, above the bound.
    over = market_on(toy_yaml(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the flagship's own share leaves it under: no warning
        Simulation(load_scenario(FLAGSHIP, over), seed=1, scale=0.001)
    low = load_scenario(FLAGSHIP, {**over, "origins.Vietnam.borrow_share": 0.5})
    with pytest.warns(UserWarning, match=r"above 1.5 for Vietnam 1\.\d\d \(20\d\d\)") as caught:
        sim = Simulation(low, seed=1, scale=0.001)
    assert "China" not in str(caught[0].message)
    # It reports the largest ratio of the run's years and its year (the toy market has one year,
    # so every year has the same ratio and the first is named).
    v = list(low.origins).index("Vietnam")
    ratios = {}
    for year in range(low.start.year, low.end.year + 1):
        day = (dt.date(year, 7, 1) - low.start).days
        ratios[year] = sim.recruitment.fee_terms(day)[1][v]
    worst = max(ratios, key=ratios.get)  # the first of equal ones, as the warning's
    assert ratios[worst] > DEBT_PER_FEE_MAX
    assert f"Vietnam {ratios[worst]:.2f} ({worst})" in str(caught[0].message)
