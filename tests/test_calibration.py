"""Calibration: recovering a known parameter, reproducibility, spec checks, the flagship."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import tmpsim_cli

import tmpsim
from tmpsim.calibration.optimise import calibrate
from tmpsim.calibration.problem import CalibrationError, build_problem
from tmpsim.scenario import ScenarioError

TRUE_RUNAWAY = 0.08
SYNTHETIC = {
    "name": "synthetic",
    "description": "One corridor whose trainees run away at a known rate, for calibration tests.",
    "start": "2019-01-01",
    "end": "2020-12-31",
    "origins": {
        "A": {
            "initial_stock": {"1": 1500, "2": 1500},
            "demand_share": {2019: 1.0},
            "fee_mean": 500000,
            "borrow_share": 0.5,
            "debt_mean": 400000,
            "runaway_rate_per_year": 0.03,  # the value as written is wrong on purpose
        }
    },
    "sectors": {"all": {"share": 1.0, "dismissal_rate_per_year": 0.0}},
    "programme": {
        "name": "synthetic programme",
        "stages": [{"name": "1", "months": 12, "continue_prob": 0.8}, {"name": "2", "months": 24}],
    },
    "recruitment": {"demand": {2019: 1500}},
    "money": {"wage_per_month": 160000},
    "events": [
        {
            "type": "hazard",
            "date": "2019-01-01",
            "end": "2019-12-31",
            "hazard": "dismissal",
            "multiplier": 1.0,
        },
        {
            "type": "hazard",
            "date": "2020-06-01",
            "end": "2020-12-31",
            "hazard": "dismissal",
            "multiplier": 1.0,
        },
    ],
    "calibration": {
        "seed": 3,
        "trials": 12,
        "batch": 4,
        "startup_trials": 4,
        "scale": 1.0,
        "seeds": [11],
        "parameters": [
            {
                "name": "runaway",
                "paths": ["origins.A.runaway_rate_per_year"],
                "low": 0.01,
                "high": 0.3,
                "log": True,
            },
        ],
        "targets": [{"indicator": "missing_year"}],
    },
}


def write_scenario(folder: Path, data: dict) -> Path:
    path = folder / "synthetic.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> tuple[Path, Path]:
    """The synthetic scenario and 'observed' runaways made by the model at the true rate."""
    folder = tmp_path_factory.mktemp("synthetic")
    scenario = write_scenario(folder, SYNTHETIC)
    rows = []
    runs = [
        tmpsim.run(
            scenario,
            seed=s,
            scale=1.0,
            agents=False,
            overrides={"origins.A.runaway_rate_per_year": TRUE_RUNAWAY},
        )
        for s in (1, 2, 3)
    ]
    for year in (2019, 2020):
        counts = []
        for r in runs:
            m = r.metric("missing")
            counts.append(m[pd.to_datetime(m.index).year == year].sum())
        rows.append(f"{year}-12-31,missing_year,all,{np.mean(counts)},synthetic (3 seeds)")
    observed = folder / "observed.csv"
    observed.write_text("date,indicator,origin,value,source\n" + "\n".join(rows) + "\n")
    return scenario, observed


def test_recovers_a_known_runaway_rate(synthetic, tmp_path):
    scenario, observed = synthetic
    result = calibrate(scenario, tmp_path / "out", observed_files=[observed], workers=0)
    best = result.best["runaway"]
    assert abs(best - TRUE_RUNAWAY) / TRUE_RUNAWAY < 0.2, best
    assert result.base_loss is not None and result.best_loss < result.base_loss
    assert len(result.trials) == 12 and result.trials.loc[0, "runaway"] == 0.03
    written = yaml.safe_load((tmp_path / "out" / "best.yaml").read_text())
    assert written["paths"]["origins.A.runaway_rate_per_year"] == pytest.approx(best)
    calibrated = tmpsim.load_scenario(tmp_path / "out" / "scenario.yaml")
    assert calibrated.origins["A"].runaway_rate_per_year == pytest.approx(best)
    fit = pd.read_csv(tmp_path / "out" / "fit.csv")
    assert set(fit["date"]) == {"2019-12-31", "2020-12-31"}
    assert (tmp_path / "out" / "diagnostics.png").stat().st_size > 0


def test_same_seed_same_trials_on_any_number_of_workers(synthetic):
    scenario, observed = synthetic
    kwargs = {"observed_files": [observed], "trials": 4, "batch": 2}
    inline = calibrate(scenario, workers=0, **kwargs).trials
    pooled = calibrate(scenario, workers=2, **kwargs).trials
    pd.testing.assert_frame_equal(inline.drop(columns="seconds"), pooled.drop(columns="seconds"))
    other = calibrate(scenario, workers=0, seed=99, **kwargs).trials
    assert not np.allclose(other["runaway"].iloc[1:], inline["runaway"].iloc[1:])


def test_scale_parameters_multiply_and_the_variant_trims_events(tmp_path):
    data = copy.deepcopy(SYNTHETIC)
    data["calibration"]["parameters"].append(
        {
            "name": "more",
            "paths": ["events.0.multiplier", "events.1.multiplier"],
            "low": 0.5,
            "high": 4,
            "scale": True,
        }
    )
    data["events"][1]["multiplier"] = 2.0
    data["calibration"]["variant"] = {"start": "2019-01-01", "end": "2020-03-31"}
    data["sources"] = {"events.0.multiplier": "first", "events.1.multiplier": "second"}
    problem = build_problem(write_scenario(tmp_path, data))
    built = problem.scenario({"runaway": 0.1, "more": 3.0}, variant=False)
    assert [e["multiplier"] for e in built["events"]] == [3.0, 6.0]
    assert built["origins"]["A"]["runaway_rate_per_year"] == 0.1
    trimmed = tmpsim.load_scenario(problem.scenario({"runaway": 0.1, "more": 3.0}))
    assert str(trimmed.end) == "2020-03-31" and len(trimmed.events) == 1
    assert trimmed.sources == {"events.0.multiplier": "first"}  # the dropped event's source goes
    # Only observations the shortened runs cover are targets: 2019, not 2020.
    assert list(problem.observed["date"].dt.year.unique()) == [2019]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c["parameters"][0].update(paths=["origins.A.runaway_rate"]),
            "origins.A.runaway_rate: origins.A: no key 'runaway_rate' (did you mean",
        ),
        (lambda c: c["targets"][0].update(indicator="missing_yaer"), "did you mean missing_year"),
        (lambda c: c["targets"][0].update(origins=["Z"]), "origin(s) ['Z'] not in the scenario"),
        (lambda c: c["parameters"][0].update(paths=["programme.name"]), "is not a number"),
    ],
)
def test_spec_errors_name_the_key(tmp_path, change, message):
    data = copy.deepcopy(SYNTHETIC)
    change(data["calibration"])
    with pytest.raises(CalibrationError) as err:
        build_problem(write_scenario(tmp_path, data))
    assert message in str(err.value)


def test_impossible_range_is_rejected_when_the_scenario_loads(tmp_path):
    data = copy.deepcopy(SYNTHETIC)
    data["calibration"]["parameters"][0].update(low=0.5, high=0.1)
    with pytest.raises(ScenarioError, match="impossible range"):
        tmpsim.load_scenario(write_scenario(tmp_path, data))


def test_flagship_declares_a_checked_calibration_and_marks_what_it_calibrates():
    problem = build_problem("japan-titp-covid")
    spec = problem.spec
    assert spec.window is not None and spec.window.end.year == 2020
    late = problem.observed[problem.observed["date"] > pd.Timestamp(spec.window.end)]
    # The essay's count and its source's count of the unemployed among them, both 2021-01-21.
    assert set(late["indicator"]) <= {"stranded", "stranded_out_of_work"}
    assert set(late["date"]) == {pd.Timestamp("2021-01-21")}
    sources = tmpsim.load_scenario("japan-titp-covid").sources
    for p in spec.parameters:
        for path in p.paths:
            if path.startswith("calibration."):
                continue
            keys = [k for k in sources if path == k or path.startswith(k + ".")]
            assert keys, path
            assert sources[max(keys, key=len)].startswith("calibrated:"), path


def test_cli_without_calibration_section_fails_cleanly(tmp_path):
    data = copy.deepcopy(SYNTHETIC)
    del data["calibration"]
    path = write_scenario(tmp_path, data)
    proc = tmpsim_cli("calibrate", str(path), "--out", str(tmp_path / "o"))
    assert proc.returncode != 0
    assert "no calibration: section" in proc.stderr and "Traceback" not in proc.stderr


def test_origin_continue_prob_replaces_the_stage_value():
    data = copy.deepcopy(SYNTHETIC)
    del data["calibration"]
    data["origins"]["B"] = copy.deepcopy(data["origins"]["A"])
    for name, p in (("A", 1.0), ("B", 0.0)):
        origin = data["origins"][name]
        origin.update(
            runaway_rate_per_year=0.0,
            initial_stock={"1": 200},
            demand_share={2019: 0.5},
            continue_prob={"1": p},
        )
    data["end"] = "2020-06-30"
    agents = tmpsim.run(data, seed=1, scale=1.0).agents
    initial = agents[agents["entered"] < pd.Timestamp("2019-01-01")]
    by_origin = initial.groupby("origin")["stage"].apply(set)
    assert by_origin["A"] == {"2"}  # all went on to stage 2
    assert by_origin["B"] == {"1"}  # none did


def test_only_fits_the_named_parameters_and_rejects_unknown_names():
    full = build_problem("japan-titp-covid")
    part = build_problem("japan-titp-covid", only=["runaway_legal_route", "dismissal_labour_need"])
    assert [p.name for p in part.parameters] == ["runaway_legal_route", "dismissal_labour_need"]
    assert len(full.parameters) > 2
    # The others keep the scenario's values: the trial scenario at the base values is the same.
    assert part.scenario(part.base_values()) == full.scenario(full.base_values())
    with pytest.raises(CalibrationError, match="runaway_form_2019_04"):
        build_problem("japan-titp-covid", only=["runaway_form_2019_04"])


def test_holdout_keeps_only_earlier_observations_and_drops_emptied_targets():
    full = build_problem("japan-titp-covid")
    held = build_problem("japan-titp-covid", holdout_from=dt.date(2020, 1, 1))
    assert held.observed["date"].max() < pd.Timestamp("2020-01-01")
    assert full.observed["date"].max() >= pd.Timestamp("2020-01-01")
    # The stranded tally exists only from 2020: its target goes, the others keep their weights.
    assert "stranded:all" in full.targets and "stranded:all" not in held.targets
    assert {k: full.targets[k] for k in held.targets} == held.targets
    early = full.observed[full.observed["date"] < pd.Timestamp("2020-01-01")]
    assert len(held.observed) == len(early)


def test_cli_rejects_a_holdout_that_is_not_a_date(tmp_path):
    path = write_scenario(tmp_path, copy.deepcopy(SYNTHETIC))
    proc = tmpsim_cli("calibrate", str(path), "--holdout-from", "2020-13-01")
    assert proc.returncode == 2
    assert "--holdout-from must be a date" in proc.stderr and "Traceback" not in proc.stderr
