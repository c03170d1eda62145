"""The day a special job's holders pass its test (``tmpsim.model.field_test``)."""

from __future__ import annotations

import numpy as np

from tmpsim.model.field_test import NEVER, move_days


def days(granted, ends=10_000, start=0, rounds=365.25 / 10, rate=1.0, processing=0, register=0,
         n=3, seed=0):  # fmt: skip
    rng = np.random.default_rng(seed)
    return move_days(granted, ends, start, rounds, rate, processing, register, n, rng)


def test_everyone_passes_the_first_round_after_the_grant():
    # Rounds every 10 days from day 100: 110, 120, ...; a round on the grant's day is not sat.
    assert days(100, start=100).tolist() == [110] * 3
    assert days(105, start=100).tolist() == [110] * 3
    assert days(110, start=100, processing=7).tolist() == [127] * 3
    assert days(3, start=100).tolist() == [110] * 3  # no round before the route's start
    # Registration closes 5 days before a round: granted on day 106, the round of day 110 is
    # closed (its registration ended on day 105), the next is sat.
    assert days(106, start=100, register=5).tolist() == [120] * 3
    assert days(104, start=100, register=5).tolist() == [110] * 3


def test_nobody_moves_who_would_move_on_the_status_end_or_after():
    assert days(100, ends=111, start=100).tolist() == [110] * 3
    assert days(100, ends=110, start=100).tolist() == [NEVER] * 3
    assert days(100, start=100, rate=0.0).tolist() == [NEVER] * 3


def test_the_rounds_sat_are_geometric():
    n, p = 200_000, 0.6
    got = days(0, rate=p, n=n, seed=4)
    rounds = got // 10
    for k in (1, 2, 3):
        share = (rounds == k).mean()
        want = p * (1 - p) ** (k - 1)
        assert abs(share - want) < 5 * np.sqrt(want * (1 - want) / n)


def test_the_draws_depend_only_on_the_seed():
    a, b = days(0, rate=0.3, n=50, seed=9), days(0, rate=0.3, n=50, seed=9)
    assert a.tolist() == b.tolist() and len(set(a.tolist())) > 1
