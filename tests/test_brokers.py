"""Brokers and the destination choice on tiny hand-built markets (``origins_toy``), exact counts."""

from __future__ import annotations

import numpy as np
import pytest
from origins_toy import FEB, JAN, MAR, run, toy
from pydantic import ValidationError

from tmpsim.model import brokers as bk
from tmpsim.model.destination_choice import probabilities, split_exact, utilities
from tmpsim.scenario.origins_schema import Choice, OriginsConfig


def test_both_open_splits_choosers_three_three_one():
    _, (jan,) = run(toy(), [JAN])
    assert jan.entrants.tolist() == [700]
    assert jan.chose.tolist() == [[300, 300, 100]]
    assert jan.departed.tolist() == [[100, 100]]
    assert jan.queue.tolist() == [[200, 200]]


def test_a_closure_diverts_the_queue_to_the_other_destination():
    cfg = toy()
    cfg["destinations"]["X"]["borders"] = [{"date": "2019-03-01", "open_share": 0.0}]
    _, (jan, feb, mar) = run(cfg, [JAN, FEB, MAR])
    assert feb.queue.tolist() == [[400, 400]]
    # March: X has no seats; its 400 queued choose again with the 700 new entrants, between Y
    # (weight 3) and home (weight 1): 1,100 × 3/4 = 825 to Y, 275 home.
    assert mar.released.tolist() == [400]
    assert mar.chose.tolist() == [[0, 825, 275]]
    assert mar.departed.tolist() == [[0, 100]]
    assert mar.queue.tolist() == [[0, 400 + 825 - 100]]


def test_fees_rise_with_scarcity_and_stop_at_the_cap():
    cfg = toy(**{"brokers.fee_scarcity_elasticity": 1.0})
    cfg["fee_caps"] = [{"origin": "A", "destination": "Y", "amount": 1500, "date": "2019-01-01"}]
    _, (jan, feb) = run(cfg, [JAN, FEB])
    # January: empty queues, fee = base. February: 200 waiting for 100 seats, scarcity 1, so X
    # asks 1,000 × 2 = 2,000 and Y the cap of 1,500.
    assert (jan.fee_paid / jan.departed).tolist() == [[1000.0, 1000.0]]
    assert (feb.fee_paid / feb.departed).tolist() == [[2000.0, 1500.0]]


def test_scarcity_is_measured_against_the_stated_months_of_seats():
    cfg = toy(**{"brokers.fee_scarcity_elasticity": 1.0, "brokers.scarcity_months": 0.5})
    _, (_, feb) = run(cfg, [JAN, FEB])
    # 200 waiting against half a month of 100 seats: scarcity 200 / 50 - 1 = 3, fee 1,000 × 4.
    assert (feb.fee_paid / feb.departed).tolist() == [[4000.0, 4000.0]]


def test_an_unlicensed_broker_ignores_a_cap_that_binds_only_the_licensed():
    cfg = toy(**{"brokers.licensed_share": 0.0, "brokers.caps_bind_unlicensed": False})
    cfg["fee_caps"] = [{"origin": "A", "destination": "X", "amount": 300, "date": "2019-01-01"}]
    _, (jan,) = run(cfg, [JAN])
    assert (jan.fee_paid / jan.departed).tolist() == [[1000.0, 1000.0]]
    cfg["brokers"]["licensed_share"] = 1.0
    _, (jan,) = run(cfg, [JAN])
    assert (jan.fee_paid / jan.departed).tolist() == [[300.0, 1000.0]]


def test_a_no_fee_rule_means_no_fee_and_no_debt():
    cfg = toy(**{"origins.A.savings_months": 0.0, "brokers.interest_per_year": 0.12})
    cfg["fee_caps"] = [{"origin": "A", "destination": "X", "amount": 0, "date": "2019-01-01"}]
    _, (jan,) = run(cfg, [JAN])
    assert jan.fee_paid.tolist() == [[0.0, 100 * 1000.0]]
    # Y: the whole fee borrowed for the 6 training months at 12%: 1,000 × 1.06 each.
    assert jan.debt[0, 0] == 0.0
    assert jan.debt[0, 1] == pytest.approx(100 * 1060.0)


def test_a_licence_crackdown_stops_unlicensed_brokers():
    cfg = toy(**{"brokers.licensed_share": 0.0})
    cfg["crackdowns"] = [{"origin": "A", "date": "2019-02-01"}]
    _, (jan, feb) = run(cfg, [JAN, FEB])
    assert jan.departed.sum() == 200
    assert feb.released.tolist() == [400]  # both queues lose their broker
    assert feb.chose.tolist() == [[0, 0, 1100]]
    assert feb.departed.sum() == 0 and feb.queue.sum() == 0


def test_cheaper_brokers_win_more_recruits():
    cfg = toy(
        **{"brokers.per_origin": 5, "brokers.fee_cv": 0.8, "brokers.recruit_quality_weight": 0.0}
    )
    market, (jan,) = run(cfg, [JAN])
    fee, joined = market.brokers.base_fee[:, 0], jan.joined[:, 0]
    assert joined.sum() == 300
    assert np.all(np.diff(joined[np.argsort(fee)]) <= 0)  # more recruits, the lower the fee
    assert joined[np.argmin(fee)] > joined[np.argmax(fee)]


def test_orders_never_exceed_ready_recruits_and_favour_quality():
    ready = np.array([[10, 0], [10, 5], [10, 5]])
    seats = bk.fill_orders(np.array([20, 100]), ready, np.array([0.9, 0.5, 0.1]), weight=1.0)
    assert np.all(seats <= ready)
    assert seats.sum(axis=0).tolist() == [20, 10]
    assert seats[0, 0] >= seats[1, 0] >= seats[2, 0]


def test_drawn_orders_reach_a_small_broker_in_proportion_to_its_ready_recruits():
    # One order a month between a broker with 10 ready and one with 1: split by largest
    # remainders the small one never wins it (0.09 of an order against 0.91), so a small origin's
    # brokers lost every contested order at small scales; drawn, it wins 1 in 11 on average.
    ready = np.array([[10], [1]])
    months = 2200
    exact = sum(bk.fill_orders(np.array([1]), ready, np.ones(2), 1.0) for _ in range(months))
    assert exact[1, 0] == 0
    rng = np.random.default_rng(1)
    drawn = sum(bk.fill_orders(np.array([1]), ready, np.ones(2), 1.0, rng) for _ in range(months))
    assert drawn.sum() == months and 150 < drawn[1, 0] < 250  # 200 expected, sd 13.5


def test_split_exact_keeps_every_person():
    p = np.array([[0.3, 0.3, 0.4], [1 / 3, 1 / 3, 1 / 3]])
    out = split_exact(np.array([10, 7]), p)
    assert out.tolist() == [[3, 3, 4], [3, 2, 2]]


def test_a_destination_without_seats_is_not_chosen():
    u = utilities(
        Choice(),
        np.array([[3.0, 3.0]]),
        np.zeros((1, 2)),
        np.zeros((1, 2)),
        np.array([[1.0, 0.0]]),
        np.zeros(2),
    )
    assert probabilities(u, np.zeros(1)).tolist() == [[0.75, 0.0, 0.25]]


def test_unknown_names_are_rejected_with_the_key():
    cfg = toy()
    cfg["brokers"]["base_fee"]["A"]["Z"] = 1.0
    with pytest.raises(ValidationError, match="brokers.base_fee.A: unknown destination"):
        OriginsConfig.model_validate(cfg)
    cfg = toy(**{"origins.A.currency": "XXX"})
    # Refused as the configuration is read (with its key), not once the market starts.
    with pytest.raises(ValidationError, match="origins.A.currency: .*no series for 'XXX'"):
        OriginsConfig.model_validate(cfg)


def test_recruits_wait_for_a_closed_destination_before_switching():
    cfg = toy(**{"origins.A.switch_months": 2.0})
    cfg["destinations"]["X"]["borders"] = [{"date": "2019-03-01", "open_share": 0.0}]
    _, (_, _, mar) = run(cfg, [JAN, FEB, MAR])
    # Half of X's 400 switch this month; the other half keep their place in the queue.
    assert mar.released.tolist() == [200]
    assert mar.chose.tolist() == [[0, 675, 225]]
    assert mar.queue.tolist() == [[200, 400 + 675 - 100]]
