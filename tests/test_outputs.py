"""The run folder contract (series, summary, run info, agents, resolved scenario) and scaling."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import scenario_file

import tmpsim
from tmpsim.scenario import load_scenario, scenario_hash
from tmpsim.states import STATE_NAMES

FILES = {
    "series.parquet",
    "summary.json",
    "run.json",
    "agents.parquet",
    "groups.parquet",
    "scenario.yaml",
}
DAILY = [
    "programme_stock", "employed", "jobless", "stranded", "special_status", "irregular",
    "awaiting_entry", "destitute", "sheltered", "unmet_shelter_need",
]  # fmt: skip
FLOWS = ["new_entries", "returns", "missing"]
SUMMARY = [
    "peak_stranded", "peak_stranded_date", "person_days_stranded", "peak_destitute",
    "peak_unmet_shelter_need", "mean_debt_at_return", "mean_savings_at_return", "missing",
]  # fmt: skip


@pytest.fixture(scope="module")
def mini_half(tmp_path_factory):
    """The mini test scenario at scale 0.5, written as a run folder."""
    out = tmp_path_factory.mktemp("mini_half")
    result = tmpsim.run(scenario_file("mini"), seed=2, scale=0.5, out=out)
    return result, out


def test_run_folder_has_the_five_files(mini_half):
    _, out = mini_half
    assert {p.name for p in out.iterdir()} == FILES


def test_series_schema_and_shape(mini_half):
    result, out = mini_half
    table = pq.read_table(out / "series.parquet")
    assert table.schema.names == ["date", "metric", "origin", "value"]
    assert table.schema.field("date").type == pa.date32()
    assert table.schema.field("metric").type == pa.string()
    assert table.schema.field("origin").type == pa.string()
    assert table.schema.field("value").type == pa.float64()
    s = table.to_pandas()
    assert isinstance(s["date"].iloc[0], dt.date)
    assert set(s["origin"]) == {"A", "B", "all"}
    n_days = result.scenario.n_days
    dates = pd.date_range("2019-01-01", "2020-12-31").date
    for metric in DAILY + FLOWS:
        for origin in ("A", "B", "all"):
            rows = s[(s.metric == metric) & (s.origin == origin)]
            assert len(rows) == n_days, (metric, origin)
            assert rows["date"].tolist() == list(dates)
    assert not s.duplicated(["date", "metric", "origin"]).any()
    # The file holds exactly what the Result holds.
    pd.testing.assert_frame_equal(s, result.series, check_dtype=False)


def test_series_metrics_are_consistent(mini_half):
    result, _ = mini_half
    m = result.metric
    np.testing.assert_allclose(m("unmet_shelter_need"), m("destitute") - m("sheltered"))
    assert (m("sheltered") <= m("destitute")).all()
    assert (m("special_status") <= m("stranded")).all()
    # The flows add up to the change of the stocks they feed.
    returned = m("state_returned")
    np.testing.assert_allclose(returned.diff().iloc[1:], m("returns").iloc[1:])


def test_summary_and_run_info(mini_half):
    result, out = mini_half
    summary = json.loads((out / "summary.json").read_text())
    assert summary == result.summary
    assert set(SUMMARY) <= set(summary)
    stranded = result.metric("stranded")
    assert summary["peak_stranded"] == stranded.max()
    assert summary["peak_stranded_date"] == str(stranded.idxmax().date())
    assert summary["person_days_stranded"] == pytest.approx(stranded.sum())
    assert summary["missing"] == pytest.approx(result.metric("missing").sum())
    info = json.loads((out / "run.json").read_text())
    assert info["scenario"] == "mini" and info["seed"] == 2 and info["scale"] == 0.5
    assert info["tmpsim_version"] == tmpsim.__version__
    assert info["wall_seconds"] >= 0
    assert info["scenario_hash"] == scenario_hash(load_scenario(scenario_file("mini")))
    assert info["agents_created"] == len(pd.read_parquet(out / "agents.parquet"))


def test_agents_file(mini_half):
    result, out = mini_half
    agents = pd.read_parquet(out / "agents.parquet")
    for col in ("state", "origin", "stage", "debt", "savings", "entered", "exited", "created"):
        assert col in agents.columns
    assert set(agents["state"]) <= set(STATE_NAMES)
    assert set(agents["origin"]) == {"A", "B"}
    assert set(agents["stage"]) <= {"1", "2", "3"}
    assert pd.api.types.is_datetime64_any_dtype(agents["entered"])
    assert (agents["debt"] >= 0).all() and (agents["savings"] >= 0).all()
    # Agents still in the pipeline have never entered; returned agents have an exit date.
    assert agents.loc[agents.state == "pool", "entered"].isna().all()
    assert agents.loc[agents.state == "returned", "exited"].notna().all()


def test_scenario_yaml_loads_back_identical(mini_half):
    result, out = mini_half
    again = load_scenario(out / "scenario.yaml")
    assert again == result.scenario
    assert scenario_hash(again) == result.run_info["scenario_hash"]


def test_scale_reports_full_population_figures(mini_half):
    """At scale 0.5 each agent stands for two people: stocks are agent counts divided by 0.5.

    Applicants never selected are counted in the series but are not agents: those still waiting
    are the pool, those who gave up are among the dropped (the run's information counts both).
    """
    result, out = mini_half
    agents = pd.read_parquet(out / "agents.parquet")
    last = result.series[result.series.date == dt.date(2020, 12, 31)]
    counts = agents["state"].value_counts().to_dict()
    counts["pool"] = counts.get("pool", 0) + result.run_info["applicants_waiting"]
    counts["dropped"] = counts.get("dropped", 0) + result.run_info["applicants_gave_up"]
    assert result.run_info["applicants_gave_up"] > 0
    for state, count in counts.items():
        row = last[(last.metric == f"state_{state}") & (last.origin == "all")]
        assert row["value"].item() == count / 0.5, state
    # The initial stocks (600 + 600 + 300 + 300 people) are reported as such on day one.
    assert result.metric("programme_stock").iloc[0] == 1800.0
    assert result.metric("programme_stock", "B").iloc[0] == 600.0


def test_scaled_run_resembles_the_full_run(mini_half):
    """A half-scale run reports figures of the same size as the full run (not half of them)."""
    half, _ = mini_half
    full = tmpsim.run(scenario_file("mini"), seed=2, agents=False)
    for metric in ("programme_stock", "employed"):
        f, h = full.metric(metric).mean(), half.metric(metric).mean()
        assert h == pytest.approx(f, rel=0.1), metric
    assert half.summary["agents_created"] < 0.6 * full.summary["agents_created"]


def test_python_api_result():
    result = tmpsim.run(scenario_file("stranding"), seed=1, agents=False)
    assert isinstance(result, tmpsim.Result)
    assert result.agents is None
    assert list(result.series.columns) == ["date", "metric", "origin", "value"]
    stock = result.metric("programme_stock")
    assert stock.index[0] == pd.Timestamp("2019-01-01") and len(stock) == 31
    assert stock.iloc[0] == 10.0
    sim = tmpsim.simulate(scenario_file("stranding"), seed=1)
    assert sim.day == sim.n_days - 1 and sim.pop.n == 10
    with pytest.raises(ValueError, match="scale must be between 0.0001 and 100"):
        tmpsim.run(scenario_file("stranding"), scale=0)


def test_write_run_writes_the_same_files_as_result_write(tmp_path):
    """Starting agents.parquet before the series are built changes no byte of any file."""
    from tmpsim.api import simulate
    from tmpsim.results import build_result, write_run

    sim = simulate(scenario_file("mini"), seed=3, scale=0.5)
    a = build_result(sim).write(tmp_path / "a")
    result = write_run(sim, tmp_path / "b")
    b = tmp_path / "b"
    assert {p.name for p in b.iterdir()} == FILES
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert result.agents_table.num_rows == sim.pop.n
    c = tmp_path / "c"
    write_run(sim, c, with_agents=False)
    assert {p.name for p in c.iterdir()} == FILES - {"agents.parquet"}
    assert (c / "series.parquet").read_bytes() == (a / "series.parquet").read_bytes()


def test_write_run_reraises_the_agents_writer_error(tmp_path, monkeypatch):
    """An error while writing agents.parquet in its thread reaches the caller, and nothing of
    the run is left: neither the target folder nor its staged copy."""
    from tmpsim.api import simulate
    from tmpsim.results import AgentsSnapshot, write_run

    def broken(self, path):
        raise OSError("disk full")

    monkeypatch.setattr(AgentsSnapshot, "write", broken)
    sim = simulate(scenario_file("mini"), seed=3, scale=0.5)
    with pytest.raises(OSError, match="disk full"):
        write_run(sim, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
