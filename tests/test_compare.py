"""Paired comparisons (common random numbers) and the ``tmpsim compare`` / ``tmpsim levers`` CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tmpsim.cli import app
from tmpsim.policy import LEVERS
from tmpsim.policy.compare import (
    METRICS,
    MIN_BASE_AGENTS,
    compare,
    mean_interval,
    measure,
    paired_effect,
)
from tmpsim.scenario import load_scenario
from tmpsim.simulation import Simulation

runner = CliRunner()


def small() -> dict[str, Any]:
    """A one-year programme with a border shock in the middle (a few hundred agents)."""
    return {
        "name": "small",
        "start": "2020-01-01",
        "end": "2020-12-31",
        "origins": {
            "A": {
                "initial_stock": {"work": 300},
                "demand_share": {2020: 1.0},
                "fee_mean": 500000,
                "borrow_share": 0.8,
                "debt_mean": 450000,
                "runaway_rate_per_year": 0.05,
                "training_days": 60,
                "clearance_days": 30,
            }
        },
        "sectors": {"all": {"share": 1.0, "dismissal_rate_per_year": 0.1}},
        "programme": {"name": "p", "stages": [{"name": "work", "months": 12}], "grace_days": 30},
        "recruitment": {"demand": {2020: 300}},
        "money": {"wage_per_month": 150000, "initial_savings_mean": 10000},
        "borders": {"seats_in_per_day": 50, "seats_out_per_day": 50},
        "events": [
            {
                "type": "border",
                "date": "2020-04-01",
                "corridor": "all",
                "direction": "both",
                "seats_per_day": 0.2,
            },
            {
                "type": "border",
                "date": "2020-09-01",
                "corridor": "all",
                "direction": "both",
                "seats_per_day": 50,
            },
        ],
    }


@pytest.fixture(scope="module")
def welfare() -> Any:
    return compare(small(), {"welfare": {"welfare_eligible": True}}, seeds=[1, 2, 3], scale=1.0)


def test_intervals_stay_inside_what_is_possible() -> None:
    # The case of the issue: a variant that removes everything, on a base of about 3,000.
    base = np.array([2900.0, 3300.0, 2800.0, 3040.0])
    effect = paired_effect(base, np.zeros(4), scale=1.0)
    assert effect.difference == -base.mean()
    assert -base.mean() <= effect.low <= effect.high <= 0
    assert effect.relative == -1.0 and effect.rel_low == -1.0 and effect.rel_high == -1.0
    assert "rough" in effect.note  # 4 runs < 10
    # Noisy small counts: a t interval would reach below -100%; the bootstrap cannot.
    rng = np.random.default_rng(3)
    for _ in range(50):
        b = rng.poisson(40, 3).astype(float)
        v = rng.poisson(5, 3).astype(float)
        e = paired_effect(b, v, scale=1.0)
        assert e.low >= -b.mean() and e.high >= e.low
        assert e.rel_low >= -1.0
        lo, hi = mean_interval(v)[1:]
        assert 0 <= lo <= hi and v.min() <= lo and hi <= v.max()


def test_bootstrap_interval_lies_between_the_extreme_paired_differences() -> None:
    base = np.array([10.0, 12.0, 9.0, 11.0, 13.0, 8.0, 10.0, 12.0, 11.0, 9.0])
    diffs = np.array([1.0, -2.0, 0.5, 3.0, -1.0, 2.0, 0.0, 1.0, -0.5, 2.5])
    e = paired_effect(base * 100, base * 100 + diffs * 10, scale=1.0)
    assert diffs.min() * 10 <= e.low < e.difference < e.high <= diffs.max() * 10
    assert e.note == ""  # 10 runs: no warning
    again = paired_effect(base * 100, base * 100 + diffs * 10, scale=1.0)
    assert again == e  # the bootstrap is seeded


def test_relative_change_only_on_a_base_that_supports_it() -> None:
    base = np.full(10, 20.0)  # 20 people at scale 1: fewer than 30 simulated agents
    small = paired_effect(base, base / 2, scale=1.0)
    assert np.isnan(small.relative) and f"base < {MIN_BASE_AGENTS} agents" in small.note
    assert small.difference == -10.0
    big = paired_effect(base * 100, base * 50, scale=1.0)
    assert big.relative == pytest.approx(-0.5)
    scaled = paired_effect(base * 100, base * 50, scale=0.01)  # 2,000 people = 20 agents
    assert np.isnan(scaled.relative)
    zero_at_times = paired_effect(np.array([0.0, 0.0, 500, 0.0]), np.zeros(4), scale=1.0)
    assert np.isnan(zero_at_times.relative) and "reaches 0" in zero_at_times.note
    # Zero in 14 draws of 20 (the lever halves the rest): about 0.7^20 of the resamples draw
    # only zeros, which have no ratio; the relative interval is still the halving.
    sparse = np.r_[np.full(6, 1000.0), np.zeros(14)]
    rare = paired_effect(sparse, sparse / 2, scale=1.0)
    assert rare.relative == pytest.approx(-0.5)
    assert rare.rel_low == pytest.approx(-0.5) and rare.rel_high == pytest.approx(-0.5)
    means = paired_effect(base, base * 2, scale=0.01, count=False)  # a mean per person
    assert means.relative == pytest.approx(1.0)
    one = paired_effect(np.array([5.0]), np.array([3.0]))
    assert np.isnan(one.low) and one.note == "1 run: no interval"


def test_runs_hold_every_metric_for_every_seed_and_variant(welfare: Any) -> None:
    runs = welfare.runs
    assert set(runs.variant) == {"base", "welfare"}
    assert sorted(runs.seed.unique()) == [1, 2, 3]
    assert set(runs.metric) == {m.key for m in METRICS}
    assert len(runs) == 2 * 3 * len(METRICS)


def test_paired_differences_are_exactly_zero_where_the_lever_does_not_reach(welfare: Any) -> None:
    table = welfare.table().set_index("metric")
    for key in (
        "person_days_stranded",
        "missing",
        "workers_served",
        "person_years_worked",
        "years_separated",
        "mean_debt_at_return",
    ):
        row = table.loc[key]
        assert row.difference == 0 and row.low == 0 and row.high == 0, key
    need = table.loc["shelter_nights_needed"]
    assert need.base > 0 and need.value == 0 and need.difference == -need.base
    assert need.relative == -1.0


def test_table_matches_the_runs(welfare: Any) -> None:
    table = welfare.table().set_index("metric")
    runs = welfare.runs[welfare.runs.metric == "peak_destitute"].pivot(
        index="seed", columns="variant", values="value"
    )
    effect = paired_effect(runs["base"].to_numpy(), runs["welfare"].to_numpy(), scale=1.0)
    row = table.loc["peak_destitute"]
    assert (row.difference, row.low, row.high) == pytest.approx(
        (effect.difference, effect.low, effect.high)
    )
    assert row.low >= -row.base
    assert row.base == pytest.approx(runs["base"].mean())


def test_a_variant_equal_to_the_base_differs_by_nothing() -> None:
    result = compare(small(), [{"charter_flights": 0}], seeds=2, scale=1.0)
    assert result.variants == ["charter_flights=0"]
    table = result.table()
    assert (table.difference == 0).all()


def test_measure_counts_the_run_and_a_window() -> None:
    sim = Simulation(load_scenario(small()), seed=1, scale=1.0).run()
    whole = measure(sim)
    spring = measure(sim, (pd.Timestamp("2020-04-01").date(), pd.Timestamp("2020-06-30").date()))
    assert whole["person_days_stranded"] >= spring["person_days_stranded"] > 0
    assert whole["workers_served"] >= spring["workers_served"] > 0
    n = sim.pop.n
    entered = sim.pop.entered[:n]
    assert whole["workers_served"] == int((entered != np.iinfo(np.int32).min).sum())
    # Separated from family all the time spent in the host, working or not.
    assert whole["years_separated"] >= whole["person_years_worked"] > 0


def test_scale_is_undone_in_the_figures() -> None:
    sim = Simulation(load_scenario(small()), seed=1, scale=0.5).run()
    figures = measure(sim)
    served = int((sim.pop.entered[: sim.pop.n] != np.iinfo(np.int32).min).sum())
    assert figures["workers_served"] == served / 0.5


def test_compare_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one variant"):
        compare(small(), {}, seeds=1, scale=1.0)
    with pytest.raises(ValueError, match="reserved"):
        compare(small(), {"base": {"welfare_eligible": True}}, seeds=1, scale=1.0)


# ---- command line ------------------------------------------------------------------------------


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small(), sort_keys=False))
    return path


def test_cli_compare_prints_a_table_and_writes_the_runs(small_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = runner.invoke(
        app,
        [
            "compare",
            str(small_file),
            "--lever",
            "welfare_eligible",
            "--lever",
            "charter_flights=30,worker_fee_share=0",
            "--seeds",
            "2",
            "--scale",
            "1",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "welfare_eligible  vs  base" in result.output
    assert "worker_fee_share=0+charter_flights=30" in result.output
    assert "shelter-nights needed" in result.output and "95% interval" in result.output
    runs = pd.read_csv(out / "runs.csv")
    assert set(runs.variant) == {
        "base",
        "welfare_eligible",
        "worker_fee_share=0+charter_flights=30",
    }
    table = pd.read_csv(out / "table.csv")
    assert len(table) == 2 * len(METRICS)


def test_cli_compare_window_and_confidence_are_kept_with_the_comparison(
    small_file: Path, tmp_path: Path
) -> None:
    """--from/--to bound the table and the figures, and the folder says which days and level."""
    import json

    out = tmp_path / "cmp"
    window = ("--from", "2020-04-01", "--to", "2020-06-30", "--confidence", "0.9")
    result = compare_welfare(small_file, "--seeds", "2", *window, "--quiet", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "2020-04-01..2020-06-30" in result.output and "90% interval" in result.output
    assert "peak needing a bed (people)" in result.output
    assert "mean debt at return (currency units)" in result.output
    info = json.loads((out / "comparison.json").read_text())
    assert info["window"] == ["2020-04-01", "2020-06-30"] and info["confidence"] == 0.9
    from tmpsim.reports.comparison import folder_figures

    figure = folder_figures(out)["compare-stranded"]
    days = {x for trace in figure["data"] for x in trace["x"]}
    assert min(days)[:10] == "2020-04-01" and max(days)[:10] == "2020-06-30"


def test_cli_compare_a_variant_file_on_the_same_seeds(small_file: Path, tmp_path: Path) -> None:
    """A variant written as a file (a shelter the city opens) beside a lever, paired."""
    variant = tmp_path / "city.yaml"
    variant.write_text(
        "extends: small.yaml\nshelters: [{name: city, capacity: 100000}]\n", encoding="utf-8"
    )
    out = tmp_path / "cmp"
    args = ("--variant", str(variant), "--seeds", "2", "--quiet", "--out", str(out))
    result = compare_welfare(small_file, *args)
    assert result.exit_code == 0, result.output
    assert "city  vs  base" in result.output and "welfare_eligible  vs  base" in result.output
    assert "each seed's parameters: the scenario's values" in " ".join(result.output.split())
    table = pd.read_csv(out / "table.csv").set_index(["variant", "metric"])
    city = table.loc["city"]
    # A shelter changes where people sleep, not who is stranded (the same draws).
    assert city.loc["person_days_stranded", "difference"] == 0
    assert city.loc["unmet_shelter_nights", "value"] == 0
    twice = compare_welfare(small_file, "--variant", str(variant), "--variant", str(variant))
    assert twice.exit_code == 2 and "a variant named 'city' is already given" in twice.output
    none = runner.invoke(app, ["compare", str(small_file), "--posterior", "-l", "welfare"])
    assert none.exit_code == 2 and "Traceback" not in none.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lever", "welfare"], "did you mean welfare_eligible"),
        ([], "name at least one --lever or --variant"),
        (
            ["--lever", "welfare_eligible", "--seeds", "0"],
            "--seeds must be from 1 to 10,000, got 0",
        ),
        (["--lever", "welfare_eligible", "--from", "2031-01-01"], "outside the run"),
        (["--lever", "welfare_eligible", "--from", "soon"], "expected a date"),
    ],
)
def test_cli_compare_errors_are_clear(small_file: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["compare", str(small_file), *args, "--scale", "1"])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def compare_welfare(small_file: Path, *args: str) -> Any:
    """``tmpsim compare`` of the small scenario with welfare eligibility, at full scale."""
    return runner.invoke(
        app, ["compare", str(small_file), "--lever", "welfare_eligible", "--scale", "1", *args]
    )


def test_a_users_file_alone_is_not_an_unfinished_comparison(small_file: Path, tmp_path: Path):
    """Only a folder bearing the mark a comparison leaves while written may be written over."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "scenario.yaml").write_text("my own notes")
    result = compare_welfare(small_file, "--out", str(out))
    assert result.exit_code == 2 and "holding other files" in result.output
    assert (out / "scenario.yaml").read_text() == "my own notes"


@pytest.mark.parametrize(
    ("holds", "message"),
    [
        ("run", "holds a run; a comparison cannot go there"),
        ("experiment", "holds an experiment; a comparison cannot go there"),
        ("other", "a folder holding other files (not a comparison)"),
    ],
)
def test_cli_compare_will_not_write_into_another_folder(
    small_file: Path, tmp_path: Path, holds: str, message: str
) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    name = {"run": "run.json", "experiment": "experiment.json", "other": "notes.txt"}[holds]
    (out / name).write_text("{}")
    if holds == "run":
        (out / "series.parquet").write_bytes(b"")
    before = sorted(p.name for p in out.iterdir())
    result = compare_welfare(small_file, "--out", str(out))
    assert result.exit_code == 2 and message in result.output
    assert sorted(p.name for p in out.iterdir()) == before  # nothing written, nothing run


def test_cli_compare_with_one_seed_says_so_not_small_base(small_file: Path) -> None:
    result = compare_welfare(small_file, "--seeds", "1")
    assert result.exit_code == 0, result.output
    assert "n/a (1 seed)" in result.output and "n/a (small base)" not in result.output


def test_cli_compare_unknown_scenario() -> None:
    result = runner.invoke(app, ["compare", "no-such-programme", "--lever", "welfare_eligible"])
    assert result.exit_code != 0 and "not a shipped scenario" in result.output


def test_cli_levers_lists_every_lever() -> None:
    result = runner.invoke(app, ["levers", "--json"])
    assert result.exit_code == 0
    assert [d["name"] for d in json.loads(result.output)] == list(LEVERS)
    table = runner.invoke(app, ["levers"])
    assert table.exit_code == 0 and "charter_flights" in table.output


def test_cli_compare_on_a_full_disk_leaves_no_partial_file_and_no_comparison_json(
    small_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails halfway (ENOSPC) leaves no truncated file; comparison.json comes last.

    The folder without it is an unfinished comparison: ``tmpsim plot`` says so and the next
    comparison may be written over it.
    """
    import errno

    out = tmp_path / "cmp"
    real = pd.DataFrame.to_parquet

    def full_disk(self: pd.DataFrame, path: Any, *args: Any, **kwargs: Any) -> None:
        real(self, path, *args, **kwargs)
        with open(path, "r+b") as fh:  # as far as the disk had room
            fh.truncate(fh.seek(0, 2) // 2)
        raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] ...")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full_disk)
    result = compare_welfare(small_file, "--seeds", "2", "--quiet", "--out", str(out))
    assert result.exit_code == 2
    error = result.stderr.strip().splitlines()[-1]  # after the warning about few seeds
    assert error == f"error: {out / 'daily.parquet'}: No space left on device"
    left = sorted(p.name for p in out.iterdir())
    assert left == [".comparison-partial", "runs.csv", "table.csv"]  # whole, and the mark
    assert len(pd.read_csv(out / "table.csv")) == len(METRICS)
    plot = runner.invoke(app, ["plot", str(out)])
    assert plot.exit_code == 2 and "an unfinished comparison (no comparison.json" in plot.stderr

    monkeypatch.setattr(pd.DataFrame, "to_parquet", real)
    again = compare_welfare(small_file, "--seeds", "2", "--quiet", "--out", str(out))
    assert again.exit_code == 0, again.output
    assert (out / "comparison.json").is_file() and (out / "daily.parquet").is_file()
    # comparison.json is the last file written
    newest = max(out.rglob("*"), key=lambda p: p.stat().st_mtime_ns)
    assert newest.name == "comparison.json"
