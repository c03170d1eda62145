"""The sending market's split is run once per scenario and kept for its next runs.

An ensemble's worker runs one scenario at many seeds: the market (its own seed and scale) gives
the same split each time, so the second run takes the kept one instead of running it again.
"""

from __future__ import annotations

import numpy as np
import pytest

from tmpsim.model import recruitment
from tmpsim.model.host_market import host_split
from tmpsim.scenario import load_scenario
from tmpsim.scenario.schema import Scenario
from tmpsim.simulation import Simulation

FLAGSHIP = "japan-titp-covid"


def with_market(sc: Scenario, **changes: object) -> Scenario:
    """The scenario with its ``origins_market`` changed."""
    return sc.model_copy(update={"origins_market": sc.origins_market.model_copy(update=changes)})


def test_runs_of_one_scenario_share_its_market_and_others_do_not() -> None:
    sc = load_scenario(FLAGSHIP)
    recruitment._MARKETS.clear()
    first = Simulation(sc, seed=1, scale=0.002).recruitment.market
    again = Simulation(sc, seed=2, scale=0.003).recruitment.market
    assert again is first  # not run again for another seed and scale
    fresh = host_split(sc.origins_market, sc, Simulation(sc, scale=0.002).demand_total)
    assert np.array_equal(first.shares, fresh.shares)  # the kept split is the market's own
    assert np.array_equal(first.fee, fresh.fee, equal_nan=True)
    with pytest.raises(ValueError, match="read-only"):
        first.shares[0, 0] = 0.5  # shared by runs: nobody may change it

    other = with_market(sc, scale=sc.origins_market.scale / 2)
    assert Simulation(other, seed=1, scale=0.002).recruitment.market is not first


def test_only_the_last_few_scenarios_are_kept() -> None:
    sc = load_scenario(FLAGSHIP)
    recruitment._MARKETS.clear()
    for k in range(recruitment._MARKETS_KEPT + 2):
        Simulation(with_market(sc, seed=100 + k), scale=0.002)
    assert len(recruitment._MARKETS) == recruitment._MARKETS_KEPT
