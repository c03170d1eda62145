"""Origin pools: networks, exchange rates and events at home move who sets out; nobody is lost."""

from __future__ import annotations

import csv
import datetime as dt
from importlib import resources

import numpy as np
import pytest
from origins_toy import JAN, toy

from tmpsim.corridors.config import load_corridors
from tmpsim.model.origin_inputs import fx_per_usd, gdp_per_capita_usd
from tmpsim.model.origin_pools import earnings_ratio, network_factor
from tmpsim.model.sending_market import SendingMarket
from tmpsim.scenario.origins_schema import OriginsConfig


def two_villages(**over) -> dict:
    """Two identical villages of Vietnam, with ample seats at X and Y."""
    cfg = toy(**over)
    cfg["origins"]["B"] = dict(cfg["origins"]["A"])
    cfg["brokers"]["base_fee"]["B"] = dict(cfg["brokers"]["base_fee"]["A"])
    for d in cfg["destinations"].values():
        d["demand_per_year"] = {2019: 120000}
    return cfg


def test_the_reference_year_gives_the_base_entry_rate():
    cfg = toy(**{"origins.A.attractiveness_elasticity": 1.0})
    market = SendingMarket(OriginsConfig.model_validate(cfg), 2019, 2020)
    assert market.step(JAN).entrants.tolist() == [700]


def test_a_network_raises_a_villages_departures():
    cfg = two_villages(**{"origins.A.network_elasticity": 1.0, "origins.A.network_scale": 1000})
    cfg["origins"]["B"].update(network_elasticity=1.0, network_scale=1000)
    cfg["choice"]["network"] = 0.5
    market = SendingMarket(OriginsConfig.model_validate(cfg), 2019, 2020)
    abroad = np.array([[0.0, 0.0], [500.0, 500.0]])  # B has 1,000 people abroad already
    month = market.step(JAN, abroad=abroad)
    # Entry doubles with (1 + 1000/1000) ** 1, and each destination's weight rises from 3 to
    # 3 × (1 + 0.5) ** 0.5 in the logit.
    assert month.entrants.tolist() == [700, 1400]
    w = 3 * 1.5**0.5
    assert month.chose[1].tolist() == [
        round(1400 * w / (2 * w + 1)),
        round(1400 * w / (2 * w + 1)),
        1400 - 2 * round(1400 * w / (2 * w + 1)),
    ]
    left = market.by_origin(month.departed).sum(axis=1)
    assert left[1] > 2 * left[0]
    assert left.tolist() == [600, month.chose[1, :2].sum()]


def test_an_exit_ban_keeps_its_share_at_home():
    cfg = toy()
    cfg["origins"]["A"]["events"] = [{"type": "exit_ban", "date": "2019-02-01", "share": 0.5}]
    market = SendingMarket(OriginsConfig.model_validate(cfg), 2019, 2020)
    jan, feb = market.step(JAN), market.step(dt.date(2019, 2, 28))
    assert (jan.entrants.tolist(), feb.entrants.tolist()) == ([700], [350])


def test_a_cost_of_staying_sends_more_abroad():
    cfg = toy()
    cfg["origins"]["A"]["events"] = [
        {"type": "stay_penalty", "date": "2019-01-01", "share": 1.0, "utility": float(np.log(2))}
    ]
    month = SendingMarket(OriginsConfig.model_validate(cfg), 2019, 2020).step(JAN)
    # Staying home's weight falls from 1 to 1/2: 700 × (3, 3, 0.5) / 6.5.
    assert month.chose.tolist() == [[323, 323, 54]]


def test_the_yen_fall_of_2022_shrinks_the_wage_gap():
    years = np.array([2021, 2022])
    fx = fx_per_usd("JPY", years)
    gdp = gdp_per_capita_usd("Vietnam", years)
    ratio = earnings_ratio(np.array([160000.0]), fx[:1], np.array([36.0]), np.array([0.4]), gdp[:1])
    ratio_22 = earnings_ratio(
        np.array([160000.0]), fx[1:], np.array([36.0]), np.array([0.4]), gdp[1:]
    )
    assert ratio_22[0, 0] / ratio[0, 0] == pytest.approx(fx[0] / fx[1] * gdp[0] / gdp[1])
    assert ratio_22[0, 0] < 0.8 * ratio[0, 0]  # 109.75 -> 131.50 yen a dollar, GDP +11%


def test_network_factor_is_one_without_anyone_abroad():
    f = network_factor(np.array([0.0, 1000.0]), np.array([1000.0, 1000.0]), np.array([0.7, 0.0]))
    assert f.tolist() == [1.0, 1.0]


def market_of_three(seed: int) -> SendingMarket:
    cfg = two_villages(**{"origins.A.patience_months": 6.0, "brokers.per_origin": 4})
    cfg["origins"]["B"]["patience_months"] = 3.0
    cfg["origins"]["C"] = dict(cfg["origins"]["A"], country="Philippines", currency="PHP")
    cfg["brokers"].update(fee_cv=0.5, capacity_per_month=60.0, capacity_cv=0.5, licensed_share=0.5)
    cfg["brokers"]["base_fee"]["C"] = {"Y": 300.0}
    cfg["destinations"]["X"]["demand_per_year"] = {2019: 2400}
    cfg["destinations"]["X"]["borders"] = [
        {"date": "2019-06-01", "end": "2019-10-01", "open_share": 0.0}
    ]
    cfg["crackdowns"] = [{"origin": "B", "date": "2019-08-01"}]
    cfg["stochastic"] = True
    return SendingMarket(OriginsConfig.model_validate(cfg), 2019, 2020, seed=seed)


def months(n: int) -> list[dt.date]:
    firsts = [dt.date(2019 + (m + 1) // 12, (m + 1) % 12 + 1, 1) for m in range(n)]
    return [f - dt.timedelta(days=1) for f in firsts]


def test_nobody_is_lost_or_counted_twice_across_destinations():
    market = market_of_three(seed=5)
    queue = market.by_origin(market.queue)
    for when in months(18):
        m = market.step(when)
        assert np.all(m.chose >= 0) and np.all(m.departed >= 0) and np.all(m.queue >= 0)
        assert np.array_equal(m.chose.sum(axis=1), m.entrants + m.released)
        assert np.array_equal(m.chose[:, :-1], market.by_origin(m.joined))
        now = market.by_origin(m.queue)
        flow = market.by_origin(m.joined - m.departed - m.gave_up)
        assert np.array_equal(now.sum(axis=1), queue.sum(axis=1) + flow.sum(axis=1) - m.released)
        assert np.all(m.departed.sum(axis=0) <= m.seats)
        assert m.chose[2, 0] == 0  # C's brokers do not serve X
        queue = now
        if dt.date(2019, 6, 1) <= when < dt.date(2019, 10, 1):
            assert m.departed[:, 0].sum() == 0 and m.queue[:, 0].sum() == 0
        if when >= dt.date(2019, 8, 1):
            unlicensed_b = (market.brokers.origin == 1) & ~market.brokers.licensed
            assert m.joined[unlicensed_b].sum() == 0 and m.departed[unlicensed_b].sum() == 0


def test_same_seed_same_counts():
    a, b, c = market_of_three(seed=9), market_of_three(seed=9), market_of_three(seed=10)
    runs = [[m.step(w).departed for w in months(6)] for m in (a, b, c)]
    assert all(np.array_equal(x, y) for x, y in zip(runs[0], runs[1], strict=True))
    assert not all(np.array_equal(x, z) for x, z in zip(runs[0], runs[2], strict=True))


@pytest.mark.parametrize(
    "name",
    [
        "exchange_rates.csv",
        "gdp_per_capita.csv",
        "destinations.csv",
        "fee_rules.csv",
        "border_rules.csv",
        "stocks_2019.csv",
        "intake_2020_2022.csv",
    ],
)
def test_every_figure_says_where_it_comes_from(name):
    text = (resources.files("tmpsim") / "data/origins" / name).read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert rows
    for i, row in enumerate(rows, start=2):
        status = row["status"]
        assert status in {"sourced", "derived", "assumed", "not found", "rule"}, (name, i)
        if status in {"sourced", "derived"}:
            assert row["source"] and row["quote_or_basis"], (name, i)
        else:
            assert row["note"], (name, i)  # the reason


def test_a_common_reference_value_compares_origins():
    cfg = toy(**{"origins.A.attractiveness_elasticity": 1.0})
    iv = SendingMarket(OriginsConfig.model_validate(cfg), 2019, 2020).step(JAN).inclusive_value
    cfg["origins"]["A"]["reference_value"] = float(iv[0] + np.log(2))
    month = SendingMarket(OriginsConfig.model_validate(cfg), 2019, 2020).step(JAN)
    assert month.entrants.tolist() == [350]  # half as attractive as the reference: half the entry


def test_the_bundled_corridors_configuration_runs_and_keeps_everyone():
    cfg = load_corridors("asia-corridors").market
    market = SendingMarket(cfg, 2019, 2020, seed=2)
    for when in months(3):
        m = market.step(when)
        assert np.array_equal(m.chose.sum(axis=1), m.entrants + m.released)
        assert np.all(m.departed.sum(axis=0) <= m.seats)
    unserved = [market.destinations.index(d) for d in ("Taiwan", "Hong Kong FDH", "Gulf")]
    assert market.by_origin(m.departed)[market.origins.index("Cambodia"), unserved].sum() == 0
