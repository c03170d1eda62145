"""The dated counts of the pandemic's dismissals and the script that compares the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, load_script

from tmpsim.validation.rundata import from_tidy

COUNTS = ROOT / "src" / "tmpsim" / "data" / "observed" / "checks" / "covid_dismissals.csv"


@pytest.fixture(scope="module")
def script():
    return load_script(ROOT / "scripts" / "dismissal_counts.py")


@pytest.fixture(scope="module")
def cohort_script():
    return load_script(ROOT / "scripts" / "dismissed_cohort.py")


def _run(rep: int, dismissed_per_day: float, jobless: float, route_per_day: float):
    """A run from 2020-01-01 to 2021-01-31 with constant daily flows and a constant stock."""
    dates = pd.date_range("2020-01-01", "2021-01-31").date
    rows = [
        {"date": d, "metric": m, "origin": "all", "value": v}
        for d in dates
        for m, v in (
            ("dismissals", dismissed_per_day),
            ("jobless", jobless),
            ("route_employment_maintenance", route_per_day),
        )
    ]
    return from_tidy(pd.DataFrame(rows), f"x point 0 rep={rep}", "Japan", lambda: None)


def test_the_counts_file_keeps_a_source_and_words_for_every_row():
    counts = pd.read_csv(COUNTS)
    assert {"date", "indicator", "value", "bound", "source", "quote_or_basis"} <= set(counts)
    assert counts["source"].str.startswith("https://").all()
    assert counts["quote_or_basis"].str.len().gt(10).all()
    assert set(counts["bound"]) <= {"exact", "approx", "lower", "date_uncertain"}
    assert pd.to_datetime(counts["date"]).max() < pd.Timestamp(
        "2023-01-01"
    )  # no outcome after 2022


def test_paired_excess_and_route_totals_are_counted_by_hand(script):
    # With the rule 3 dismissals a day, without it 1: from 2020-02-01 to 2020-02-10 the rule
    # adds 2 x 10 = 20; the route's 4 a day from the run's first day (2020-01-01) to 2020-01-10
    # make 40, in the run with the rule only. The cohort's rows are dismissed_cohort.py's.
    with_rule = [_run(1, 3.0, 50.0, 4.0), _run(0, 3.0, 50.0, 4.0)]
    without = [_run(0, 1.0, 30.0, 0.0), _run(1, 1.0, 30.0, 0.0)]
    day = pd.Timestamp("2020-02-10")
    assert script.model_figures(with_rule, without, "dismissed_covid_cumulative", day).tolist() == [
        20,
        20,
    ]
    route = script.model_figures(
        with_rule, without, "job_changes_support_measure_cumulative", pd.Timestamp("2020-01-10")
    )
    assert route.tolist() == [40, 40]
    # Granted 7 days after the choice: by 2020-01-10 only the choices of 01-01..01-03 hold it.
    granted = script.model_figures(
        with_rule, without, "job_changes_support_measure_cumulative", pd.Timestamp("2020-01-10"), 7
    )
    assert granted.tolist() == [12, 12]
    for cohort in ("lost_job_in_host", "lost_job_still_without"):
        assert script.model_figures(with_rule, without, cohort, day) is None


def test_the_processing_days_come_from_the_folders_scenario(script, tmp_path):
    # A run folder's scenario.yaml is the resolved scenario: the flagship's 41.6 days round to
    # 42; a scenario without a time to decide grants at once.
    from helpers import FLAGSHIP, scenario_file

    from tmpsim.scenario import load_scenario, to_yaml

    (tmp_path / "scenario.yaml").write_text(to_yaml(load_scenario(FLAGSHIP)), encoding="utf-8")
    assert script.processing_days(tmp_path) == 42
    plain = load_scenario(scenario_file("stranding"))
    (tmp_path / "scenario.yaml").write_text(to_yaml(plain), encoding="utf-8")
    assert script.processing_days(tmp_path) == 0


def test_unpaired_folders_are_refused(script, monkeypatch):
    runs = {"a": [_run(0, 1, 1, 1), _run(1, 1, 1, 1)], "b": [_run(0, 1, 1, 1)]}
    monkeypatch.setattr(script, "_by_rep", lambda folder: runs[str(folder)])
    with pytest.raises(SystemExit, match="2 runs with the rule, 1 without"):
        script.compare(Path("a"), Path("b"), pd.read_csv(COUNTS))


def test_the_table_has_the_model_beside_each_count(script, monkeypatch):
    runs = {
        "a": [_run(0, 2, 10, 1), _run(1, 2, 10, 1)],
        "b": [_run(0, 1, 10, 0), _run(1, 1, 10, 0)],
    }
    monkeypatch.setattr(script, "_by_rep", lambda folder: runs[str(folder)])
    table = script.compare(Path("a"), Path("b"), pd.read_csv(COUNTS))
    row = table[
        (table.indicator == "dismissed_covid_cumulative") & (table.date == "2020-10-02")
    ].iloc[0]
    assert row["model"] == (pd.Timestamp("2020-10-02") - pd.Timestamp("2020-02-01")).days + 1
    assert np.isclose(row["ratio"], row["model"] / 3861, atol=1e-3)
    assert table[table.indicator.str.startswith("lost_job")]["model"].isna().all()


@pytest.mark.parametrize("rate, dismissed", [(0.0, 0), (3650.0, 10)])
def test_the_cohort_of_the_dismissed_is_followed_to_a_later_day(cohort_script, rate, dismissed):
    # Ten trainees behind a closed border, no job search: at ten dismissals a day each (per
    # year 3,650) all ten are dismissed on run day 1 and are still looking on day 20; with no
    # dismissals the cohort is empty.
    from helpers import scenario_file

    import tmpsim
    from tmpsim.simulation import Simulation

    sc = tmpsim.load_scenario(
        scenario_file("stranding"), [f"sectors.only.dismissal_rate_per_year={rate}"]
    )
    found = cohort_script.cohort(Simulation(sc, seed=1), first=1, last=10, on=20)
    assert found["dismissed in the window, in the host with a status at its end"] == dismissed
    assert found["of them on the day: without work, looking for an employer"] == dismissed
    assert found["of them on the day: at work"] == 0
    assert found["of them on the day: gone (home, another status)"] == 0
