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


def entries_by_day_and_origin(
    events: list[dict], cap: int = 5, seats: int = 5, segments: bool = False
) -> dict:
    """Run the two-origin case; entries per run day, ``{day: (A, B)}``.

    With ``segments``, A's workers are all of segment ``x`` and B's of segment ``y``.
    """
    a, b = {**ORIGIN, "demand_share": {2019: 0.8}}, {**ORIGIN, "demand_share": {2019: 0.2}}
    if segments:
        a["segments"], b["segments"] = {"x": {"share": 1.0}}, {"y": {"share": 1.0}}
    sim = build(
        "entry-segments" if segments else "entry",
        {
            "origins": {"A": a, "B": b},
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


def y_cap(per_day: float | None, date: str = "2019-01-09") -> dict:
    return {"type": "entry_cap", "date": date, "segments": ["y"], "per_day": per_day}


def test_a_segment_with_a_cap_of_its_own_leaves_the_host_wide_cap_to_the_others():
    # y (all of B) 1 a day under its own cap; x (all of A) alone under the host-wide 5.
    got = entries_by_day_and_origin([y_cap(1)], segments=True)
    assert got == {8: (5, 1), 9: (5, 1), 10: (5, 1), 11: (1, 1)}


def test_lifting_a_segment_cap_returns_it_to_the_host_wide_cap():
    # From day 10 y shares the 5 again with x, by those waiting: 6 and 2 give 4 and 1.
    got = entries_by_day_and_origin([y_cap(1), y_cap(None, "2019-01-11")], segments=True)
    assert got == {8: (5, 1), 9: (5, 1), 10: (4, 1), 11: (2, 1)}


def test_segments_without_caps_of_their_own_enter_as_before():
    # Two segments, no cap of a segment: the same entries as one segment.
    assert entries_by_day_and_origin([], segments=True) == entries_by_day_and_origin([])
