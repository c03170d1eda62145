"""Destinations' own border rules and what fee caps leave out, on the one-broker toy market.

The toy (``origins_toy``): 700 entrants a month choose X, Y (weight 3 each while a seat is
certain) or home (weight 1); each destination has 100 seats a month; recruits never give up.
"""

from __future__ import annotations

import datetime as dt

import pytest
from origins_toy import FEB, JAN, MAR, run, toy
from pydantic import ValidationError

from tmpsim.corridors.config import CorridorsError, border_rules, load_corridors
from tmpsim.model import brokers as bk
from tmpsim.scenario.origins_schema import OriginsConfig


def test_a_daily_cap_holds_entries_to_the_cap_times_the_days_of_the_month():
    cfg = toy()
    cfg["destinations"]["X"]["borders"] = [{"date": "2019-03-01", "cap_per_day": 2}]
    _, (jan, feb, mar) = run(cfg, [JAN, FEB, MAR])
    assert jan.departed.tolist() == feb.departed.tolist() == [[100, 100]]
    # March has 31 days: at most 62 enter X; Y keeps its 100 seats.
    assert mar.seats.tolist() == [62, 100]
    assert mar.departed.tolist() == [[62, 100]]
    assert mar.queue.tolist() == [[400 + 300 - 62, 400 + 300 - 100]]


def test_a_daily_cap_diverts_the_rest_of_the_queue_to_the_other_destination():
    # With a patience of 3 months, the chance of a seat is min(1, seats × 3 / (queued + 1)).
    cfg = toy(**{"origins.A.patience_months": 3.0})
    cfg["destinations"]["X"]["borders"] = [{"date": "2019-02-01", "cap_per_day": 1}]
    _, (jan, feb) = run(cfg, [JAN, FEB])
    # January: 300 / 300 / 100; 100 leave for each; a third of each remaining 200 give up.
    assert jan.queue.tolist() == [[134, 134]]
    # February: X has 28 seats: chance 28 × 3 / 135 = 0.6222; Y's is 1. The 700 split
    # 3 × 0.6222 : 3 : 1 = 1.867 : 3 : 1 (X's weight is exp(log 3 + log 0.6222)).
    w_x, w_y, w_home = 3 * 84 / 135, 3.0, 1.0
    total = w_x + w_y + w_home
    assert feb.chose.tolist() == [
        [round(700 * w_x / total), round(700 * w_y / total), round(700 * w_home / total)]
    ]
    assert feb.chose[0, 1] > feb.chose[0, 0]  # the capped destination loses choosers to Y
    assert feb.departed.tolist() == [[28, 100]]


def test_a_visa_stop_for_an_origin_releases_its_queue_like_a_closure():
    cfg = toy()
    cfg["destinations"]["X"]["borders"] = [
        {"date": "2019-03-01", "end": "2019-04-01", "open_share": 0, "origins": ["A"]}
    ]
    _, (_, _, mar) = run(cfg, [JAN, FEB, MAR])
    # As a closure of X (test_brokers): the 400 queued for X choose again with the 700 new.
    assert mar.released.tolist() == [400]
    assert mar.chose.tolist() == [[0, 825, 275]]
    assert mar.departed.tolist() == [[0, 100]]


def test_a_stop_must_be_a_stop_and_name_known_origins():
    cfg = toy()
    cfg["destinations"]["X"]["borders"] = [
        {"date": "2019-03-01", "open_share": 0.5, "origins": ["A"]}
    ]
    with pytest.raises(ValidationError, match="open_share must be 0"):
        OriginsConfig.model_validate(cfg)
    cfg["destinations"]["X"]["borders"] = [
        {"date": "2019-03-01", "open_share": 0, "origins": ["B"]}
    ]
    with pytest.raises(ValidationError, match=r"destinations.X.borders.0.origins: unknown"):
        OriginsConfig.model_validate(cfg)
    cfg["destinations"]["X"]["borders"] = [{"date": "2019-03-01", "cap_per_day": -1}]
    with pytest.raises(ValidationError, match="cap_per_day"):
        OriginsConfig.model_validate(cfg)


def test_border_rules_csv_reads_caps_and_stops_and_rejects_unknown_origins():
    cfg = load_corridors("asia-corridors")
    head = "destination,from,to,open_share,cap_per_day,origins,status\n"
    rules = border_rules(
        cfg,
        head
        + "Korea EPS,2020-04-01,2021-11-30,1,50,,sourced\n"
        + "Korea EPS,2020-04-01,2021-11-30,0,,Philippines;Myanmar,sourced\n",
    )
    cap, stop = rules["Korea EPS"]
    assert (cap.cap_per_day, cap.origins) == (50.0, [])
    assert (stop.open_share, stop.origins) == (0.0, ["Philippines", "Myanmar"])
    with pytest.raises(CorridorsError, match=r"border_rules.csv:2: origins: \['Atlantis'\]"):
        border_rules(cfg, head + "Korea EPS,2020-04-01,,0,,Atlantis,sourced\n")


def test_the_shipped_korea_rules_are_the_sourced_stop_cap_and_visa_stop():
    rules = border_rules(load_corridors("asia-corridors"))["Korea EPS"]
    # Every origin stopped until October 2020, then 50 a day; two origins stopped throughout.
    assert [(w.open_share, w.cap_per_day, w.origins) for w in rules] == [
        (0.0, None, []),
        (1.0, 50.0, []),
        (0.0, None, ["Philippines", "Myanmar"]),
    ]
    assert [w.end for w in rules] == [
        dt.date(2020, 11, 1),
        dt.date(2021, 11, 30),
        dt.date(2021, 11, 30),
    ]


def test_a_no_fee_rule_leaves_what_it_does_not_cover():
    # The Philippine rule: no placement fee to Japan; training, medical and documents paid anyway.
    cfg = toy(**{"origins.A.savings_months": 0.0, "brokers.interest_per_year": 0.12})
    cfg["fee_caps"] = [{"origin": "A", "destination": "X", "amount": 0, "date": "2019-01-01"}]
    cfg["brokers"]["costs_outside_cap"] = {"A": {"X": {"training": 150.0, "medical": 50.0}}}
    _, (jan,) = run(cfg, [JAN])
    assert (jan.fee_paid / jan.departed).tolist() == [[200.0, 1000.0]]
    # Borrowed in full for the 6 training months at 12%: × 1.06.
    assert (jan.debt / jan.departed)[0].tolist() == pytest.approx([212.0, 1060.0])


def test_a_cap_binds_the_placement_fee_only():
    cfg = toy()
    cfg["fee_caps"] = [{"origin": "A", "destination": "X", "amount": 300, "date": "2019-01-01"}]
    cfg["brokers"]["costs_outside_cap"] = {"A": {"X": {"training": 100.0}, "Y": {"deposit": 7.0}}}
    _, (jan,) = run(cfg, [JAN])
    assert (jan.fee_paid / jan.departed).tolist() == [[400.0, 1007.0]]


def test_costs_outside_a_cap_need_a_broker_serving_the_destination():
    cfg = toy()
    del cfg["brokers"]["base_fee"]["A"]["Y"]
    cfg["brokers"]["costs_outside_cap"] = {"A": {"Y": {"training": 100.0}}}
    with pytest.raises(ValidationError, match=r"costs_outside_cap.A.Y: no broker of A serves Y"):
        OriginsConfig.model_validate(cfg)
    cfg["brokers"]["costs_outside_cap"] = {"Q": {"X": {"training": 100.0}}}
    with pytest.raises(ValidationError, match=r"costs_outside_cap: 'Q' is not an origin"):
        OriginsConfig.model_validate(cfg)


def test_interest_runs_while_a_recruit_waits_for_a_seat():
    over = {
        "origins.A.savings_months": 0.0,
        "brokers.interest_per_year": 0.12,
        "brokers.interest_while_queued": True,
    }
    _, (jan, feb) = run(toy(**over), [JAN, FEB])
    # January: empty queues, 6 training months: 1,000 × 1.06. February: 200 queued per 100
    # seats a month is a 2-month wait, so 8 months: 1,000 × 1.08.
    assert (jan.debt / jan.departed)[0].tolist() == pytest.approx([1060.0, 1060.0])
    assert (feb.debt / feb.departed)[0].tolist() == pytest.approx([1080.0, 1080.0])


def test_expected_wait_is_queue_over_seats_at_most_the_patience():
    import numpy as np

    wait = bk.expected_wait(np.array([0, 300, 300, 50]), np.array([100, 100, 0, 100]), 2.0)
    assert wait.tolist() == [[0.0, 2.0, 2.0, 0.5]]
