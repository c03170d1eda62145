"""The stock metrics by sector and by stage add up to the series' figures."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

import tmpsim
from tmpsim.grouping import ALL, group_table
from tmpsim.results import build_series_table
from tmpsim.scenario import load_scenario
from tmpsim.simulation import Simulation


def test_sectors_and_stages_add_up_to_the_series() -> None:
    sim = Simulation(load_scenario("japan-titp-covid"), seed=4, scale=0.002).run()
    groups = group_table(sim).to_pandas()
    series = build_series_table(sim).to_pandas()
    assert set(groups["sector"]) == {*sim.sectors, ALL}
    assert set(groups["stage"]) == {*sim.stage_names, ALL}
    assert set(groups["segment"]) == {ALL}  # no segments: one implicit segment, not split
    by_sector = groups[groups["stage"] == ALL]
    summed = by_sector.groupby(["date", "metric", "origin"])["value"].sum()
    want = series.set_index(["date", "metric", "origin"])["value"]
    common = summed.index.intersection(want.index)
    assert len(common) == len(summed)  # every stock metric, day and origin of the series
    np.testing.assert_allclose(summed[common], want[common], rtol=0, atol=1e-6)
    assert by_sector["value"].sum() > 0
    by_stage = groups[groups["sector"] == ALL]
    assert by_stage["date"].nunique() == len(sim.month_ends)
    summed = by_stage.groupby(["date", "metric", "origin"])["value"].sum()
    np.testing.assert_allclose(summed, want[summed.index], rtol=0, atol=1e-6)
    # The programme's status holders by stage are the monthly stage metrics of the series.
    holders = by_stage[(by_stage["metric"] == "programme_stock") & (by_stage["origin"] == ALL)]
    for name in sim.stage_names:
        got = holders[holders["stage"] == name].set_index("date")["value"]
        metric = series[
            (series["metric"] == f"programme_stock_stage_{name}") & (series["origin"] == ALL)
        ].set_index("date")["value"]
        assert len(got) == len(sim.month_ends) and got.sum() > 0
        np.testing.assert_allclose(got, metric[got.index], rtol=0, atol=1e-6)
    assert pc.min(group_table(sim).column("value")).as_py() >= 0


def test_the_run_folder_holds_the_groups(tmp_path) -> None:
    result = tmpsim.run("japan-titp-covid", seed=4, scale=0.002, out=tmp_path / "run", agents=False)
    assert "groups.parquet" in result.run_info["files"]
    again = tmpsim.Result.read(tmp_path / "run")
    assert again.groups_table.equals(result.groups_table)
    groups = again.groups_table.to_pandas()
    day = groups[(groups["metric"] == "employed") & (groups["origin"] == ALL)]
    day = day[(day["stage"] == ALL) & (day["date"] == day["date"].max())]
    assert day["value"].sum() == again.metric("employed").iloc[-1]
