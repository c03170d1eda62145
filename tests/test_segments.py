"""Segments: groups of workers whose terms differ within an origin (tests/scenarios/segments.yaml).

Origin A's workers are domestic workers (a quarter of its entries; women only, no runaways, the
employer pays the ticket home, longer training) or others; origin B has only others.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import scenario_file

from tmpsim.grouping import ALL, group_table
from tmpsim.kinds import HAZARDS_BY_STATE, Hazard
from tmpsim.model.segments import IMPLICIT
from tmpsim.results import build_agents, build_series_table
from tmpsim.scenario import load_scenario
from tmpsim.simulation import Simulation
from tmpsim.states import STOCK_METRICS, State

DOMESTIC_A, OTHER_A, DOMESTIC_B, OTHER_B = range(4)  # profiles: origin * 2 + segment


@pytest.fixture(scope="module")
def finished() -> Simulation:
    return Simulation(load_scenario(scenario_file("segments")), seed=2, check=True).run()


def _start() -> Simulation:
    return Simulation(load_scenario(scenario_file("segments")), seed=2)


def test_the_initial_stock_is_drawn_segment_by_segment() -> None:
    sim = _start()
    pop, n = sim.pop, sim.pop.n
    host = pop.state[:n] == State.EMPLOYED
    profile = pop.profile[:n][host]
    assert np.bincount(profile, minlength=4).tolist() == [10, 20, 0, 30]
    np.testing.assert_array_equal(pop.origin[:n][host], profile // 2)
    np.testing.assert_array_equal(pop.segment[:n][host], profile % 2)
    # female_share is set by the domestic segment (1) over the origins' (0).
    assert pop.female[:n][host][profile == DOMESTIC_A].all()
    assert not pop.female[:n][host][profile != DOMESTIC_A].any()


def test_a_segment_term_acts_only_on_its_segment() -> None:
    sim = _start()
    ids = np.flatnonzero(sim.pop.state[: sim.pop.n] == State.EMPLOYED)
    rates = sim.hazards.rates(ids, State.EMPLOYED, 0)
    runaway = rates[:, HAZARDS_BY_STATE[State.EMPLOYED].index(Hazard.RUNAWAY)]
    domestic = sim.pop.segment[ids] == 0
    assert domestic.sum() == 10
    assert (runaway[domestic] == 0).all()  # the segment's rate: no runaways
    assert (runaway[~domestic] == 0.5 / 365.25).all()  # the origin's rate, no debt
    # The ticket home: the domestic segment's (0, the employer pays) or the origin's.
    assert sim.money.ticket.tolist() == [0, 100, 0, 50000]
    assert sim.recruitment.lead.tolist() == [70, 40, 40, 40]  # A's domestic train 60 days


def test_entries_follow_the_segment_shares(finished) -> None:
    places = np.sum(list(finished.recruitment.places.values()), axis=0)
    assert places[DOMESTIC_B] == 0
    # A's demand (half of 400 a year) split a quarter / three quarters, each a lead time ahead.
    assert abs(places[OTHER_A] / places[DOMESTIC_A] - 3) < 0.1
    assert abs(places[[DOMESTIC_A, OTHER_A]].sum() / places[OTHER_B] - 1) < 0.05
    pop, n = finished.pop, finished.pop.n
    entered = pop.entered[:n] >= 0
    domestic = (pop.segment[:n] == 0) & entered
    assert domestic.sum() > 20 and pop.female[:n][domestic].all()
    assert not pop.female[:n][entered & ~domestic].any()
    # Nobody in the domestic segment ever ran away; others did.
    assert not (pop.state[:n][pop.segment[:n] == 0] == State.IRREGULAR).any()
    assert (pop.state[:n][pop.segment[:n] == 1] == State.IRREGULAR).sum() > 10


def test_counts_by_segment_add_up_to_the_series_every_day(finished) -> None:
    groups = group_table(finished).to_pandas()
    series = build_series_table(finished).to_pandas()
    assert set(groups["segment"]) == {"domestic", "other", ALL}
    by_segment = groups[groups["segment"] != ALL]
    assert (by_segment[["sector", "stage"]] == ALL).all().all()
    assert by_segment["date"].nunique() == finished.n_days == 365
    summed = by_segment.groupby(["date", "metric", "origin"])["value"].sum()
    want = series.set_index(["date", "metric", "origin"])["value"]
    assert len(summed) == 365 * len(STOCK_METRICS) * 3  # every day, stock metric and origin
    np.testing.assert_array_equal(summed.to_numpy(), want[summed.index].to_numpy())
    domestic = by_segment[(by_segment["segment"] == "domestic") & (by_segment["origin"] == "B")]
    assert (domestic["value"] == 0).all() and summed.sum() > 0
    # The last day: the counts are those of the agents.
    pop, n = finished.pop, finished.pop.n
    last = by_segment[by_segment["date"] == by_segment["date"].max()]
    for segment, code in (("domestic", 0), ("other", 1)):
        for origin, o in (("A", 0), ("B", 1)):
            mine = (pop.segment[:n] == code) & (pop.origin[:n] == o)
            row = last[(last["segment"] == segment) & (last["origin"] == origin)]
            for metric, states in STOCK_METRICS.items():
                got = row[row["metric"] == metric]["value"].item()
                assert got == np.isin(pop.state[:n][mine], [int(s) for s in states]).sum()


def test_a_programme_without_segments_has_one_implicit_segment() -> None:
    sim = Simulation(load_scenario(scenario_file("mini")), seed=1, scale=0.2).run()
    n = sim.pop.n
    assert sim.segments == [IMPLICIT] and len(sim.profiles) == sim.n_origins
    assert not sim.pop.segment[:n].any()
    np.testing.assert_array_equal(sim.pop.profile[:n], sim.pop.origin[:n])
    assert sim.recorder.segment_stocks.size == 0  # one segment: its stocks are the series'
    np.testing.assert_array_equal(sim.recorder.segment_counts[:, :, 0], sim.recorder.counts)
    assert set(group_table(sim).column("segment").to_pylist()) == {ALL}


def test_the_agents_table_names_the_segment_only_where_there_are_segments(finished) -> None:
    table = build_agents(finished).table()
    segment = np.array(table.column("segment").to_pylist())
    np.testing.assert_array_equal(
        segment, np.array(finished.segments)[finished.pop.segment[: finished.pop.n]]
    )
    plain = Simulation(load_scenario(scenario_file("mini")), seed=1, scale=0.1)
    assert "segment" not in build_agents(plain).table().column_names


def test_the_fee_lever_restates_each_segments_own_fees() -> None:
    """worker_fee_share reaches fees set by a segment entry (Singapore's other domestic workers)."""
    from tmpsim.model.segments import profiles
    from tmpsim.policy.levers import apply_levers

    base = profiles(load_scenario("singapore-work-permit"))
    half = profiles(apply_levers("singapore-work-permit", {"worker_fee_share": 0.5}))
    for before, after in zip(base, half, strict=True):
        assert after.terms.fee_mean == before.terms.fee_mean / 2
        assert after.terms.debt_mean == before.terms.debt_mean / 2
    other_mdw = next(p for p in base if p.initial_stock == {"permit": 17200})
    assert other_mdw.terms.fee_mean == 2500  # the origin's is 3000
