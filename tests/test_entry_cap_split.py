"""The host's entry cap shared across corridors in proportion to those waiting on each.

The scenario ``entry`` with two origins: demand of 10 entries a day, A 80% and B 20%, and a
2-day lead time, so the pipeline at the start holds 16 trainees from A and 4 from B; all are
cleared on day 1 and wait behind the closed border until run day 8, when it opens under a cap.
"""

from __future__ import annotations

import numpy as np
from helpers import build, run_days, set_timers

from tmpsim.kinds import Timer

ORIGIN = {
    "fee_mean": 0,
    "borrow_share": 0,
    "debt_mean": 0,
    "runaway_rate_per_year": 0,
    "training_days": 1,
    "clearance_days": 1,
}


def entries_by_day_and_origin(events: list[dict], cap: int = 5, seats: int = 5) -> dict:
    """Run the two-origin case; entries per run day, ``{day: (A, B)}``."""
    sim = build(
        "entry",
        {
            "origins": {
                "A": {**ORIGIN, "demand_share": {2019: 0.8}},
                "B": {**ORIGIN, "demand_share": {2019: 0.2}},
            },
            "recruitment": {"demand": {2019: 3652.5}, "training_dropout": 0},
            "borders": {"seats_in_per_day": seats, "seats_out_per_day": 0},
            "events": [
                {"type": "recruitment", "date": "2019-01-01", "multiplier": 0},
                {
                    "type": "border",
                    "date": "2019-01-01",
                    "corridor": "all",
                    "direction": "in",
                    "seats_per_day": 0,
                },
                {
                    "type": "border",
                    "date": "2019-01-09",
                    "corridor": "all",
                    "direction": "in",
                    "seats_per_day": seats,
                },
                {"type": "entry_cap", "date": "2019-01-09", "per_day": cap},
                *events,
            ],
        },
    )
    origin = sim.pop.origin[: sim.pop.n]
    assert np.bincount(origin).tolist() == [16, 4]
    set_timers(sim, Timer.TRAINING_END, [1] * 20)
    run_days(sim)
    entered = sim.pop.entered[: sim.pop.n]
    out = {}
    for day in np.unique(entered[entered >= 0]):
        came = origin[entered == day]
        out[int(day)] = (int((came == 0).sum()), int((came == 1).sum()))
    return out


def test_the_cap_is_shared_in_proportion_to_those_waiting():
    # 16 and 4 waiting, 5 a day: 4 and 1 a day (not 3 and 2, as sharing in proportion to the
    # corridors' seats bounded by the queue, min(5, 16) : min(5, 4), would give).
    assert entries_by_day_and_origin([]) == {8: (4, 1), 9: (4, 1), 10: (4, 1), 11: (4, 1)}


def test_a_corridor_closed_to_new_entries_holds_its_queue_while_the_other_enters():
    # B closed from the start: A takes the whole cap; B enters once its corridor opens.
    closed = {
        "type": "border",
        "date": "2019-01-09",
        "corridor": "B",
        "direction": "in",
        "seats_per_day": 0,
    }
    reopened = {
        "type": "border",
        "date": "2019-01-15",
        "corridor": "B",
        "direction": "in",
        "seats_per_day": 5,
    }
    assert entries_by_day_and_origin([closed, reopened]) == {
        8: (5, 0),
        9: (5, 0),
        10: (5, 0),
        11: (1, 0),
        14: (0, 4),
    }
