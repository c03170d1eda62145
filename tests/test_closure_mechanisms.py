"""What a closure does beyond the seats: orders carried, workers kept on, origins' own stops,
and what recruits pay and owe (rural savings, a second intermediary, accredited brokers).

On the one-broker toy market (``origins_toy``): 700 entrants a month choose X, Y (weight 3 each
while a seat is certain) or home (weight 1); each destination has 100 seats a month; recruits
never give up; fees are 1,000 US dollars and loans carry no interest.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from origins_toy import FEB, JAN, MAR, run, toy
from pydantic import ValidationError

from tmpsim.corridors.config import (
    CorridorsConfig,
    CorridorsError,
    border_rules,
    load_corridors,
    origin_stops,
    stay_extensions,
    with_border_rules,
)
from tmpsim.corridors.simulate import simulate
from tmpsim.model.origin_inputs import fx_per_usd, gdp_per_capita_usd, rural_income_usd
from tmpsim.model.sending_market import SendingMarket, carried_orders
from tmpsim.scenario.origins_schema import (
    BorderWindow,
    OriginsConfig,
    OriginStop,
    StayExtension,
)

APR = dt.date(2019, 4, 30)


def toy_corridors(**over) -> CorridorsConfig:
    """The toy market as a corridors configuration over 2019, no spin-up."""
    return CorridorsConfig.model_validate(
        {"first_year": 2019, "last_year": 2019, "spinup_years": 0, "market": toy(**over)}
    )


# ---- orders held back by a border rule -------------------------------------------------------
def test_a_quarantine_cap_binds_and_the_orders_held_back_enter_when_it_lifts():
    # 28 quarantine places held 14 days each: 2 entries a day into X in March. Orders stay valid
    # a mean of 2 months (half are kept each month) and are all offered again at once.
    cfg = toy(**{"destinations.X.order_validity_months": 2.0})
    cfg["destinations"]["X"]["borders"] = [
        {"date": "2019-03-01", "end": "2019-04-01", "quarantine_places": 28, "quarantine_days": 14}
    ]
    _, (_, _, mar, apr) = run(cfg, [JAN, FEB, MAR, APR])
    # March: 62 of X's 100 orders are filled; the 38 held back wait, half of them kept (19).
    assert mar.departed.tolist() == [[62, 100]]
    assert mar.backlog.tolist() == [19.0, 0.0]
    # April: the cap is gone; X offers its 100 and the 19 carried; the queue fills them.
    assert apr.seats.tolist() == [119, 100]
    assert apr.departed.tolist() == [[119, 100]]
    assert apr.backlog.tolist() == [0.0, 0.0]


def test_without_a_validity_orders_held_back_are_lost():
    cfg = toy()
    cfg["destinations"]["X"]["borders"] = [
        {"date": "2019-03-01", "end": "2019-04-01", "cap_per_day": 2}
    ]
    _, (_, _, mar, apr) = run(cfg, [JAN, FEB, MAR, APR])
    assert mar.backlog.tolist() == [0.0, 0.0]
    assert apr.departed.tolist() == [[100, 100]]


def test_carried_orders_are_offered_again_over_the_release_months():
    # As above (19 carried after March), offered again over 2 months and still half kept.
    cfg = toy(
        **{
            "destinations.X.order_validity_months": 2.0,
            "destinations.X.order_release_months": 2.0,
        }
    )
    cfg["destinations"]["X"]["borders"] = [
        {"date": "2019-03-01", "end": "2019-04-01", "cap_per_day": 2}
    ]
    may = dt.date(2019, 5, 31)
    _, (*_, mar, apr, mayr) = run(cfg, [JAN, FEB, MAR, APR, may])
    assert mar.backlog[0] == 19.0
    # April: 100 + 19 / 2 = 109.5 seats, 109 whole (the half seat carried as a fraction);
    # the 9.5 not yet offered are half kept.
    assert apr.departed[0, 0] == 109
    assert apr.backlog[0] == 4.75
    # May: 100 + 4.75 / 2 + 0.5 = 102.875: 102.
    assert mayr.departed[0, 0] == 102


def test_open_orders_that_find_no_recruit_are_lost_not_carried():
    nominal, seats = np.array([100.0, 100.0]), np.array([100.0, 40.0])
    # X open, only 70 ready: 30 lost. Y capped at 40 and filled: 60 carried.
    out = carried_orders(nominal, nominal, seats, np.array([70.0, 40.0]))
    assert out.tolist() == [0.0, 60.0]


# ---- stay extensions -------------------------------------------------------------------------
def test_an_extension_keeps_the_workers_whose_employers_cannot_replace_them():
    cfg = toy_corridors(**{"destinations.X.contract_months": 50})
    rules = {"X": [BorderWindow(date=dt.date(2019, 2, 1), end=dt.date(2019, 4, 1), open_share=0)]}
    kept = {"X": [StayExtension(date=dt.date(2019, 2, 1))]}
    with_ext = simulate(with_border_rules(cfg, rules, kept), 1.0, 1)
    without = simulate(with_border_rules(cfg, rules), 1.0, 1)
    # February: X is closed, so no replacement can come: nobody whose contract ends leaves X
    # (100 / 50 = 2 would); Y is open and loses its 2 as usual.
    assert without.returns[1, 0].tolist() == [2, 2]
    assert with_ext.returns[1, 0].tolist() == [0, 2]
    assert with_ext.stock[1, 0, 0] == 100
    # April: X open again, its contracts end as before (100 / 50 = 2).
    assert with_ext.returns[3, 0, 0] == 2


def test_under_a_cap_the_share_kept_is_the_share_of_seats_held_back():
    cfg = toy(**{"destinations.X.contract_months": 50})
    cfg["destinations"]["X"]["borders"] = [{"date": "2019-02-01", "cap_per_day": 2}]
    cfg["destinations"]["X"]["stay_extensions"] = [{"date": "2019-02-01"}]
    _, (_, feb) = run(cfg, [JAN, FEB])
    # February: 56 of 100 seats (28 days x 2): 44% held back, so 44% of ending contracts kept.
    assert feb.return_share.tolist() == [[pytest.approx(0.56), 1.0]]


# ---- the origin's own border -----------------------------------------------------------------
def test_an_origin_flight_stop_keeps_its_recruits_home_and_its_workers_abroad():
    cfg = toy()
    cfg["origins"]["A"]["stops"] = [
        {"date": "2019-02-01", "end": "2019-03-01", "departures_share": 0, "returns_share": 0.5}
    ]
    _, (jan, feb, mar) = run(cfg, [JAN, FEB, MAR])
    # February: nobody can fly out; the 400 queued are released and, with no destination
    # reachable, they and the 700 new entrants stay home. Half of those due home can fly.
    assert feb.departed.tolist() == [[0, 0]]
    assert feb.released.tolist() == [400]
    assert feb.chose.tolist() == [[0, 0, 1100]]
    assert feb.return_share.tolist() == [[0.5, 0.5]]
    # March: flights again, as in January.
    assert mar.departed.tolist() == jan.departed.tolist() == [[100, 100]]


def test_permit_and_flight_stops_in_force_together_multiply():
    cfg = toy()
    cfg["origins"]["A"]["stops"] = [
        {"date": "2019-01-01", "departures_share": 0.5, "returns_share": 0.5},
        {"date": "2019-01-01", "departures_share": 0.5, "returns_share": 0.4},
    ]
    market = SendingMarket(OriginsConfig.model_validate(cfg), 2019, 2020)
    depart, back = market.pools.stops_on(JAN)
    assert depart.tolist() == [0.25]
    assert back.tolist() == [pytest.approx(0.2)]


# ---- what recruits pay and owe ---------------------------------------------------------------
def test_rural_savings_change_the_debt_by_the_hand_computed_sum():
    base = {"origins.A.savings_months": 3.0, "origins.A.patience_months": 1e9}
    _, (gdp_month,) = run(toy(**base), [JAN])
    _, (rural_month,) = run(toy(**base, **{"origins.A.savings_base": "rural_income"}), [JAN])
    # Vietnam's rural income in 2019, linear between the sourced 19.2 million dong (2012) and
    # 41.76 million (2020): 19.2 + (41.76 - 19.2) x 7/8 = 38.94 million a year.
    fx = float(fx_per_usd("VND", np.array([2019]))[0])
    rural_savings = 3 * 38_940_000 / fx / 12
    gdp_savings = 3 * float(gdp_per_capita_usd("Vietnam", np.array([2019]))[0]) / 12
    assert rural_income_usd("Vietnam", np.array([2019]))[0] == pytest.approx(38_940_000 / fx)
    # 200 departed at a fee of 1,000, no interest: each owes 1,000 - savings.
    assert gdp_month.debt.sum() == pytest.approx(200 * (1000 - gdp_savings))
    assert rural_month.debt.sum() == pytest.approx(200 * (1000 - rural_savings))
    assert rural_month.debt.sum() - gdp_month.debt.sum() == pytest.approx(
        200 * (gdp_savings - rural_savings)
    )
    assert rural_month.borrowers.sum() == 200


def test_savings_above_the_fee_leave_no_debt_and_no_borrower():
    _, (jan,) = run(toy(**{"origins.A.savings_months": 24.0}), [JAN])
    assert jan.debt.sum() == 0 and jan.borrowers.sum() == 0


def test_a_second_intermediary_adds_its_share_times_its_amount():
    cfg = toy(**{"brokers.other_intermediaries": {"A": {"X": {"share": 0.25, "amount": 400.0}}}})
    _, (jan,) = run(cfg, [JAN])
    # X: 1,000 to the broker + 0.25 x 400 to others; Y: 1,000.
    assert (jan.fee_paid / np.maximum(jan.departed, 1)).tolist() == [[1100.0, 1000.0]]


def test_only_licensed_brokers_serve_a_licensed_only_destination():
    cfg = toy(**{"brokers.licensed_share": 0.0, "brokers.licensed_only": ["X"]})
    _, (jan,) = run(cfg, [JAN])
    # The one broker is unlicensed: X is out of the choice set, Y and home share the 700 3:1.
    assert jan.chose.tolist() == [[0, 525, 175]]


# ---- strict validation ------------------------------------------------------------------------
def test_rule_files_name_file_line_and_field():
    cfg = load_corridors("asia-corridors")
    head = "destination,from,to,status,source,quote_or_basis,note,accessed\n"
    with pytest.raises(CorridorsError, match=r"ext.csv:2: destination: 'Mars'"):
        stay_extensions(cfg, head + "Mars,2020-01-01,,assumed,,,,x", "ext.csv")
    with pytest.raises(CorridorsError, match=r"ext.csv:2: .*before"):
        stay_extensions(cfg, head + "Taiwan,2021-01-01,2020-01-01,assumed,,,,x", "ext.csv")
    with pytest.raises(CorridorsError, match=r"ext.csv:2: status"):
        stay_extensions(cfg, head + "Taiwan,2021-01-01,,,,,,x", "ext.csv")
    head = "origin,from,to,departures_share,returns_share,status,source,quote_or_basis,note\n"
    with pytest.raises(CorridorsError, match=r"stops.csv:2: .*departures_share"):
        origin_stops(cfg, head + "Nepal,2020-01-01,,1.5,1,assumed,,,", "stops.csv")
    with pytest.raises(CorridorsError, match=r"stops.csv:2: origin: 'Atlantis'"):
        origin_stops(cfg, head + "Atlantis,2020-01-01,,0,1,assumed,,,", "stops.csv")


def test_schema_errors_are_clear():
    with pytest.raises(ValidationError, match="before"):
        OriginStop(date=dt.date(2020, 2, 1), end=dt.date(2020, 1, 1))
    with pytest.raises(ValidationError, match="quarantine_places and quarantine_days go together"):
        BorderWindow(date=dt.date(2020, 1, 1), quarantine_places=100)
    with pytest.raises(ValidationError, match="quarantine_places unset"):
        BorderWindow(
            date=dt.date(2020, 1, 1),
            open_share=0,
            origins=["A"],
            quarantine_places=100,
            quarantine_days=14,
        )
    assert BorderWindow(
        date=dt.date(2020, 1, 1), cap_per_day=50, quarantine_places=280, quarantine_days=14
    ).entries_per_day == pytest.approx(20.0)
    with pytest.raises(ValidationError, match=r"other_intermediaries.A.Z: no broker of A serves"):
        OriginsConfig.model_validate(
            toy(**{"brokers.other_intermediaries": {"A": {"Z": {"share": 0.1, "amount": 1}}}})
        )
    with pytest.raises(ValidationError, match=r"licensed_only: unknown destination"):
        OriginsConfig.model_validate(toy(**{"brokers.licensed_only": ["Z"]}))
    with pytest.raises(ValidationError, match="order_validity_months"):
        OriginsConfig.model_validate(toy(**{"destinations.X.order_validity_months": 0}))
    with pytest.raises(ValidationError, match="savings_base"):
        OriginsConfig.model_validate(toy(**{"origins.A.savings_base": "wealth"}))
    # A rule is named by its list and position (the crackdown after a fee cap is crackdowns.0).
    caps = [{"origin": "A", "destination": "X", "amount": 1, "date": "2019-01-01"}]
    bad = {"fee_caps": caps, "crackdowns": [{"origin": "B", "date": "2019-01-01"}]}
    with pytest.raises(ValidationError, match=r"crackdowns\.0: origin 'B' is not one of"):
        OriginsConfig.model_validate({**toy(), **bad})
    bad = {"fee_caps": [*caps, {**caps[0], "destination": "Z"}]}
    with pytest.raises(ValidationError, match=r"fee_caps\.1: destination 'Z' is not one of"):
        OriginsConfig.model_validate({**toy(), **bad})
    # A currency or country without its sourced series is refused with its key path, not met
    # as a KeyError (a traceback from tmpsim corridors run) once the market starts.
    for over, message in (
        ({"origins.A.currency": "VDN"}, "origins.A.currency: .*no series for 'VDN'"),
        ({"destinations.X.currency": "YEN"}, "destinations.X.currency: .*no series for 'YEN'"),
        ({"origins.A.country": "Vietnm"}, "origins.A.country: .*no series for 'Vietnm'"),
        (
            {"origins.A.country": "Nepal", "origins.A.savings_base": "rural_income"},
            "origins.A.savings_base: .*rural_income.csv: no series for 'Nepal'",
        ),
    ):
        with pytest.raises(ValidationError, match=message):
            OriginsConfig.model_validate(toy(**over))
    with pytest.raises(KeyError, match="rural_income.csv: no series for 'Atlantis'"):
        rural_income_usd("Atlantis", np.array([2019]))


def test_the_shipped_rules_are_read():
    cfg = load_corridors("asia-corridors")
    ext = stay_extensions(cfg)
    assert [(e.date, e.end) for e in ext["Korea EPS"]][-1] == (
        dt.date(2020, 12, 31),
        dt.date(2021, 12, 31),
    )
    assert ext["Taiwan"][0].date == dt.date(2020, 3, 17) and ext["Taiwan"][0].end is None
    stops = origin_stops(cfg)
    first = stops["Vietnam"][0]
    assert (first.date, first.departures_share) == (dt.date(2020, 3, 25), 0.0)
    assert stops["Indonesia"][0].end == dt.date(2020, 7, 29)
    taiwan = border_rules(cfg)["Taiwan"]
    reopened = [w for w in taiwan if w.date == dt.date(2021, 11, 3)][0]
    assert reopened.entries_per_day == pytest.approx(1700 / 14)  # centralized quarantine beds


def test_the_tables_carry_the_orders_held_back_and_the_share_with_debt():
    from tmpsim.corridors.tables import flows_table

    cfg = toy_corridors(**{"destinations.X.order_validity_months": 2.0})
    rules = {"X": [BorderWindow(date=dt.date(2019, 3, 1), end=dt.date(2019, 4, 1), cap_per_day=2)]}
    flows = flows_table(simulate(with_border_rules(cfg, rules), 1.0, 1)).to_pandas()
    carried = flows[(flows.metric == "orders_carried") & (flows.destination == "X")]
    assert carried.set_index("date").value[dt.date(2019, 3, 31)] == 19.0
    share = flows[flows.metric == "debt_share"]
    assert share.value.tolist() == [1.0, 1.0]  # fees of 1,000 above 3 months of GDP per capita
