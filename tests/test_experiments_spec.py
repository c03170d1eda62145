"""The experiment file is validated strictly, and designs give the points they promise."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import yaml
from test_experiments_support import TINY_SCENARIO, TMPSIM, write_sweep

from tmpsim.engine.rng import run_seed
from tmpsim.experiments import ExperimentError, load_experiment, parse_spec
from tmpsim.experiments.designs import make_points
from tmpsim.experiments.spec import load_spec


def tiny(parameters: dict, design: dict | None = None, **extra) -> dict:
    return {
        "name": "t",
        "scenario": TINY_SCENARIO,
        "scale": 1,
        "parameters": parameters,
        "design": design or {"type": "grid"},
        **extra,
    }


def test_unknown_parameter_path_is_rejected_naming_the_key():
    spec = tiny({"borders.seats_out_per_dya": {"values": [1, 2]}})
    with pytest.raises(ExperimentError, match=r"parameters\.borders\.seats_out_per_dya"):
        load_experiment(spec)


def test_unknown_intermediate_key_is_rejected_naming_the_key():
    spec = tiny({"bordres.seats_out_per_day": {"values": [1, 2]}})
    with pytest.raises(ExperimentError, match=r"parameters\.bordres\.seats_out_per_day.*no key"):
        load_experiment(spec)


def test_impossible_range_is_rejected_naming_the_key():
    spec = tiny(
        {"money.wage_per_month": {"low": 200000, "high": 100000}}, {"type": "lhs", "samples": 4}
    )
    with pytest.raises(ExperimentError, match=r"parameters\.money\.wage_per_month.*low .* below"):
        load_experiment(spec)


def test_range_outside_what_the_scenario_allows_is_rejected_naming_the_key():
    # borrow_share is a probability: 1.5 is impossible, found before any run starts.
    spec = tiny(
        {"origins.A.borrow_share": {"low": 0.2, "high": 1.5}}, {"type": "lhs", "samples": 4}
    )
    with pytest.raises(ExperimentError, match=r"parameters\.origins\.A\.borrow_share: value 1\.5"):
        load_experiment(spec)


def test_fixed_overrides_are_checked_too():
    spec = tiny({}, overrides={"borders.seats_out_per_day": -3})
    with pytest.raises(ExperimentError, match=r"overrides: .*seats_out_per_day"):
        load_experiment(spec)


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        ({"name": "t", "scenario": "x", "sedes": 3}, r"sedes: unknown key"),
        ({"name": "t", "scenario": "x", "seeds": 0}, r"seeds: Input should be greater than 0"),
        ({"name": "t", "scenario": "x", "scale": 0}, r"scale: "),
        (
            {
                "name": "t",
                "scenario": "x",
                "design": {"type": "sobol", "samples": 8},
                "parameters": {"a.b": {"values": [1, 2]}},
            },
            r"parameters\.a\.b: design sobol samples",
        ),
        (
            {
                "name": "t",
                "scenario": "x",
                "design": {"type": "lhs"},
                "parameters": {"a.b": {"low": 0, "high": 1}},
            },
            r"design\.samples: required",
        ),
        (
            {"name": "t", "scenario": "x", "parameters": {"a.b": {"low": 0, "high": 1}}},
            r"parameters\.a\.b: a grid needs values",
        ),
        (
            {
                "name": "t",
                "scenario": "x",
                "parameters": {"a.b": {"low": -1, "high": 1, "log": True, "num": 3}},
            },
            r"parameters\.a\.b.*log scale needs low > 0",
        ),
        (
            {"name": "t", "scenario": "x", "parameters": {"a.b": {"values": []}}},
            r"parameters\.a\.b\.values",
        ),
        ({"name": "t", "model": "not a function"}, r"model: expected"),
        (
            {"name": "t", "model": "subprocess:run"},
            r"model: subprocess:run is not a registered model .*tmpsim\.models",
        ),
        ({"name": "t", "scenario": "x", "seeds": 1e9}, r"seeds: Input should be less than"),
        ({"name": "t", "scenario": "x", "seeds": "10"}, r"seeds: expected a number"),
        (
            {
                "name": "t",
                "scenario": "x",
                "seeds": 10,
                "parameters": {f"p{i}.x": {"values": list(range(10))} for i in range(6)},
            },
            r"design: 1,000,000 points x 10 seeds = 10,000,000 runs, more than 100,000",
        ),
        ({"name": "t"}, r"scenario: required"),
        (
            {"name": "t", "scenario": "x", "parameters": {"a.b": {"values": [1], "name": "run"}}},
            r"reserved",
        ),
    ],
)
def test_bad_experiment_files_are_rejected_naming_the_key(data, pattern):
    with pytest.raises(ExperimentError, match=pattern):
        parse_spec(data, "exp.yaml")


def test_cli_rejects_a_bad_file_before_any_run_starts(tmp_path):
    path = write_sweep(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["parameters"]["money.wage_per_mnth"] = {"values": [1, 2]}
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    proc = subprocess.run(
        [TMPSIM, "experiment", "run", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "parameters.money.wage_per_mnth" in proc.stderr
    assert not out.exists()


def test_grid_is_the_product_of_the_values():
    spec = parse_spec(
        tiny({"a.x": {"values": [1, 2, 3]}, "a.y": {"low": 1, "high": 100, "num": 3, "log": True}})
    )
    points, sample, _ = make_points(spec)
    assert sample is None
    assert len(points) == 9
    assert [p["a.y"] for p in points[:3]] == pytest.approx([1.0, 10.0, 100.0])
    assert sorted({p["a.x"] for p in points}) == [1, 2, 3]


def test_latin_hypercube_covers_each_stratum_once_and_respects_integer_and_bounds():
    spec = parse_spec(
        tiny(
            {"a.x": {"low": 0, "high": 10}, "a.n": {"low": 1, "high": 5, "integer": True}},
            {"type": "lhs", "samples": 10},
        )
    )
    points, sample, problem = make_points(spec)
    xs = np.array([p["a.x"] for p in points])
    assert len(points) == 10 and sample.shape == (10, 2)
    assert sorted(np.floor(xs).astype(int)) == list(range(10))  # one point per tenth
    assert all(isinstance(p["a.n"], int) and 1 <= p["a.n"] <= 5 for p in points)
    again, _, _ = make_points(spec)
    assert again == points  # drawn from the experiment seed


def test_sobol_and_morris_designs_have_saltelli_and_trajectory_sizes():
    params = {
        "a.x": {"low": 0, "high": 1},
        "a.y": {"low": 0, "high": 1},
        "a.z": {"low": 1, "high": 10, "log": True},
    }
    sob = parse_spec(tiny(params, {"type": "sobol", "samples": 16}))
    points, sample, problem = make_points(sob)
    assert len(points) == 16 * (3 + 2)
    assert problem["bounds"][2] == pytest.approx([0.0, np.log(10)])
    assert all(1 <= p["a.z"] <= 10 for p in points)
    mor = parse_spec(tiny(params, {"type": "morris", "samples": 5, "levels": 4}))
    assert len(make_points(mor)[0]) == 5 * (3 + 1)


def test_run_seeds_derive_from_experiment_seed_and_index():
    crn = load_experiment(tiny({"money.wage_per_month": {"values": [1e5, 2e5]}}, seeds=3, seed=9))
    assert [r.seed for r in crn.runs] == [run_seed(9, rep) for _ in range(2) for rep in range(3)]
    own = load_experiment(
        tiny(
            {"money.wage_per_month": {"values": [1e5, 2e5]}},
            seeds=3,
            seed=9,
            common_random_numbers=False,
        )
    )
    assert [r.seed for r in own.runs] == [run_seed(9, i) for i in range(6)]
    assert len({r.seed for r in own.runs}) == 6


def test_unknown_outputs_and_origins_are_refused_before_any_run():
    with pytest.raises(ExperimentError, match=r"outputs\.origins: 'Atlantis' not an origin"):
        load_experiment(tiny({}, outputs={"origins": ["Atlantis"]}))
    with pytest.raises(
        ExperimentError, match=r"outputs\.summary: no figure 'peak_strandd' \(did you mean"
    ):
        load_experiment(tiny({}, outputs={"summary": ["peak_strandd"]}))
    with pytest.raises(ExperimentError, match=r"outputs\.series: no metric 'strand'"):
        load_experiment(tiny({}, outputs={"series": ["strand"]}))
    plan = load_experiment(tiny({}, outputs={"summary": ["peak_stranded"], "origins": ["A"]}))
    assert len(plan.runs) == 1


def test_a_parameter_given_twice_is_refused_with_both_lines(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(
        "name: t\nscenario: x\nparameters:\n  a.b: {values: [1]}\n  a.b: {values: [2]}\n"
    )
    with pytest.raises(
        ExperimentError, match=r"twice.yaml:5: parameters: key 'a.b' is given twice"
    ):
        load_spec(path)


def test_ensembles_accept_the_scenario_names_single_runs_accept(tmp_path):
    from tmpsim.experiments.experiment import ensemble_spec

    for name in ("my programme (2020)", " -- odd", "東京"):
        data = {**TINY_SCENARIO, "name": name}
        path = tmp_path / "named.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        assert ensemble_spec(str(path), 2).name.endswith("-ensemble")
