"""What users take away: Result.metric, monthly CSV and workbook, headline figures, plots."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from helpers import scenario_file, tmpsim_inprocess

import tmpsim
from tmpsim.reports.export import NOTES_SHEET, SHEETS, monthly_table, monthly_values
from tmpsim.reports.glossary import ScenarioWords, summary_rows, term
from tmpsim.scenario import ScenarioError

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[tmpsim.Result, Path]:
    out = tmp_path_factory.mktemp("exports") / "run"
    overrides = {
        "currency": "XYZ",
        "headlines": [
            {
                "name": "stranded_march",
                "label": "Stranded, March 2020 mean",
                "metric": "stranded",
                "start": "2020-03-01",
                "end": "2020-03-31",
                "reference": 50,
                "reference_date": "2020-03-15",
                "reference_label": "observed: about 50",
                "source": "a hand-made count",
            },
            {
                "name": "too_late",
                "label": "x",
                "metric": "stranded",
                "start": "2030-01-01",
                "end": "2030-01-31",
            },
        ],
    }
    result = tmpsim.run(scenario_file("mini"), seed=5, scale=0.5, out=out, overrides=overrides)
    return result, out


# ---- Result -----------------------------------------------------------------------------------


def test_metric_is_a_series_with_a_datetime_index(run) -> None:
    result, _ = run
    stranded = result.metric("stranded")
    assert isinstance(stranded.index, pd.DatetimeIndex) and stranded.name == "stranded"
    day = result.series[(result.series.metric == "stranded") & (result.series.origin == "all")]
    on = day[day.date == dt.date(2020, 7, 21)]["value"].item()
    assert stranded.loc["2020-07-21"] == on
    monthly = stranded.resample("MS").mean()
    assert len(monthly) == 24 and monthly.index[0] == pd.Timestamp("2019-01-01")
    assert result.metric("stranded", "A").sum() + result.metric("stranded", "B").sum() == (
        pytest.approx(stranded.sum())
    )


def test_metric_errors_name_what_exists(run) -> None:
    result, _ = run
    with pytest.raises(KeyError, match="metrics are"):
        result.metric("stranding")
    with pytest.raises(KeyError, match="origins are: A, B, all"):
        result.metric("stranded", "C")


def test_result_shows_a_summary_in_jupyter(run) -> None:
    result, _ = run
    html = result._repr_html_()
    assert "mini" in html and "seed 5" in html and "scale 0.5" in html
    assert "Stranded, March 2020 mean" in html and "XYZ" in html
    assert "mini" in repr(result) and len(repr(result)) < 200


# ---- headline figures from the scenario ----------------------------------------------------------


def test_headlines_are_the_metrics_mean_over_their_window(run) -> None:
    result, _ = run
    march = result.metric("stranded").loc["2020-03"]
    assert result.summary["stranded_march"] == pytest.approx(march.mean(), abs=1e-3)
    assert "too_late" not in result.summary  # window outside the run


def test_headlines_can_be_a_windows_peak_or_total() -> None:
    window = {"start": "2020-04-01", "end": "2020-09-30"}
    heads = [
        {"name": "peak_beds", "label": "Peak beds", "metric": "stranded", "stat": "max", **window},
        {"name": "bed_days", "label": "Bed-days", "metric": "stranded", "stat": "sum", **window},
        {"name": "mean_beds", "label": "Mean beds", "metric": "stranded", **window},
        {"name": "home", "label": "Home", "metric": "returns", "stat": "sum", **window},
    ]
    result = tmpsim.run(scenario_file("mini"), scale=0.5, overrides={"headlines": heads})
    beds = result.metric("stranded").loc["2020-04-01":"2020-09-30"]
    assert beds.max() > 0
    assert result.summary["peak_beds"] == pytest.approx(beds.max(), abs=1e-3)
    assert result.summary["bed_days"] == pytest.approx(beds.sum(), abs=1e-3)
    assert result.summary["mean_beds"] == pytest.approx(beds.mean(), abs=1e-3)
    rows = dict(summary_rows(result.summary, result.scenario))
    assert rows["Bed-days"].endswith("person-days") and rows["Peak beds"].endswith("people")
    assert rows["Home"].endswith(" people")  # a flow's total: not "people per day"


def test_a_headline_on_an_unknown_metric_is_a_clear_error() -> None:
    bad = [
        {"name": "x", "label": "x", "metric": "strandd", "start": "2020-01-01", "end": "2020-01-31"}
    ]
    with pytest.raises(KeyError, match="strandd"):
        tmpsim.run(scenario_file("mini"), scale=0.1, overrides={"headlines": bad}, agents=False)
    with pytest.raises(ScenarioError, match="reference_date"):
        tmpsim.load_scenario(
            scenario_file("mini"),
            {"headlines": [{**bad[0], "metric": "stranded", "reference": 3}]},
        )


# ---- monthly tables ------------------------------------------------------------------------------


def test_monthly_values_follow_the_glossary(run) -> None:
    result, _ = run
    long = monthly_values(result.series).set_index(["month", "origin", "metric"])["value"]
    stranded = result.metric("stranded")
    assert long[("2020-06", "all", "stranded")] == pytest.approx(stranded.loc["2020-06"].mean())
    entries = result.metric("new_entries", "A")
    assert long[("2019-05", "A", "new_entries")] == pytest.approx(entries.loc["2019-05"].sum())
    stage = result.metric("programme_stock_stage_1")  # recorded on month ends only
    assert long[("2020-02", "all", "programme_stock_stage_1")] == stage.loc["2020-02-29"]


def test_monthly_csv_is_wide_and_matches_the_series(run, tmp_path: Path) -> None:
    result, folder = run
    code, out, err = tmpsim_inprocess("export", str(folder), "--out", str(tmp_path), "--xlsx")
    assert code == 0, err
    csv = pd.read_csv(tmp_path / "monthly.csv", encoding="utf-8-sig")
    assert list(csv.columns[:2]) == ["month", "origin"]
    assert len(csv) == 24 * 3 and list(csv["origin"].unique()) == ["all", "A", "B"]
    words = ScenarioWords.of(result.scenario)
    heading = term("stranded").heading(words.label("stranded"))
    june = csv[(csv.month == "2020-06") & (csv.origin == "all")][heading].item()
    assert june == pytest.approx(result.metric("stranded").loc["2020-06"].mean(), abs=0.05)
    money = [c for c in csv.columns if c.startswith("money sent home")]
    assert money == ["money sent home (monthly total, XYZ)"]
    assert not any("1e" in str(v) for v in csv.iloc[0])


def test_workbook_has_a_sheet_per_group_and_notes_with_sources(run, tmp_path: Path) -> None:
    result, folder = run
    code, _, err = tmpsim_inprocess("export", str(folder), "--out", str(tmp_path), "--xlsx")
    assert code == 0, err
    book = openpyxl.load_workbook(tmp_path / "monthly.xlsx", read_only=True)
    assert book.sheetnames[:2] == [NOTES_SHEET, "Headline figures"]
    assert set(SHEETS.values()) <= set(book.sheetnames)
    notes = [row for row in book[NOTES_SHEET].iter_rows(values_only=True)]
    flat = " ".join(str(v) for row in notes for v in row if v is not None)
    assert "whatever bridging status" in flat  # the caveat of stranded
    assert "seed" in flat and "XYZ" in flat and "a hand-made count" in flat
    assert "assumed (test scenario)" in flat  # the scenario's own sources
    sheets = pd.read_excel(tmp_path / "monthly.xlsx", sheet_name=None)
    words = ScenarioWords.of(result.scenario)
    hardship = sheets["Hardship"]
    expected = monthly_table(result.series, words, "hardship")
    pd.testing.assert_frame_equal(
        hardship.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )
    headline = sheets["Headline figures"].set_index("figure")["value"]
    assert headline["Stranded, March 2020 mean"].endswith("people")


def test_daily_export_and_bad_arguments(run, tmp_path: Path) -> None:
    _, folder = run
    code, _, err = tmpsim_inprocess("export", str(folder), "--daily", "--out", str(tmp_path))
    assert code == 0, err
    daily = pd.read_csv(tmp_path / "series.csv")
    assert list(daily.columns) == ["date", "metric", "origin", "value"]
    code, _, err = tmpsim_inprocess("export", str(tmp_path / "nothing"))
    assert code == 2 and "not a run folder" in err
    code, _, err = tmpsim_inprocess("export", str(folder), "--daily", "--xlsx")
    assert code == 2 and "monthly" in err


# ---- plot on every kind of folder ------------------------------------------------------------


def pngs(folder: Path) -> list[str]:
    names = sorted(p.name for p in folder.glob("*.png"))
    for name in names:
        assert (folder / name).read_bytes().startswith(PNG)
    return names


def test_plot_a_comparison_folder(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    code, _, err = tmpsim_inprocess(
        "compare",
        str(scenario_file("mini")),
        "--lever",
        "welfare_eligible",
        "--seeds",
        "2",
        "--scale",
        "0.2",
        "--quiet",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert {"table.csv", "runs.csv", "daily.parquet", "comparison.json"} <= {
        p.name for p in out.iterdir()
    }
    assert "compare-stranded.png" in pngs(out / "figures")
    assert "difference-stranded.png" in pngs(out / "figures")
    info = json.loads((out / "comparison.json").read_text())
    assert info["seeds"] == [1, 2] and info["variants"] == ["welfare_eligible"]
    daily = pd.read_parquet(out / "daily.parquet")
    base = daily[(daily.variant == "base") & (daily.seed == 1) & (daily.metric == "stranded")]
    assert len(base) == 731 and np.isfinite(base["value"]).all()
    code, _, err = tmpsim_inprocess("plot", str(out), "--out", str(tmp_path / "again"))
    assert code == 0, err
    assert pngs(tmp_path / "again") == pngs(out / "figures")


@pytest.mark.slow
def test_plot_an_ensemble_folder(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    out = tmp_path / "ens"
    code, _, err = tmpsim_inprocess(
        "run",
        str(scenario_file("mini")),
        "--seeds",
        "2",
        "--scale",
        "0.2",
        "--workers",
        "1",
        "--quiet",
        "--out",
        str(out),
    )
    assert code == 0, err
    code, stdout, err = tmpsim_inprocess("plot", str(out))
    assert code == 0, err
    names = pngs(out / "figures")
    assert "band-stranded.png" in names and "effect-peak_stranded.png" in names
    assert "band-needs_bed.png" in names and "effect-peak_needs_bed.png" in names
    assert "effect-emergency_money_paid.png" in names


def test_plot_refuses_a_folder_of_no_kind(tmp_path: Path) -> None:
    code, _, err = tmpsim_inprocess("plot", str(tmp_path))
    assert code == 2 and "comparison folder" in err and "experiment folder" in err
