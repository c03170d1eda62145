"""Posteriors: file validated on load, ABC-SMC recovering a known posterior, ensembles over it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from test_calibration import SYNTHETIC

from tmpsim.calibration.spec import AbcSettings, FreeParameter
from tmpsim.calibration.toys import NormalMean
from tmpsim.experiments import load_experiment, run_experiment
from tmpsim.experiments.spec import ExperimentError
from tmpsim.experiments.storage import ExperimentDir
from tmpsim.uncertainty.posterior import (
    METADATA_KEY,
    Posterior,
    PosteriorError,
    draw_indices,
    load_posterior,
    scenario_posterior,
    write_posterior,
)

pytest.importorskip("pyabc")

META = {"scenario": "synthetic", "window": ["2019-12-31", "2020-12-31"], "distance": "d"}
META["generations"] = 3
META["method"] = "abc-smc"
PARAMS = [
    FreeParameter(name="runaway", paths=["origins.A.runaway_rate_per_year"], low=0.01, high=0.3)
]


def posterior(values=(0.05, 0.08, 0.1), weights=(0.25, 0.5, 0.25)) -> Posterior:
    return Posterior(pd.DataFrame({"runaway": list(values)}), np.array(weights), dict(META))


def raw_file(path, columns: dict, meta=META) -> None:
    table = pa.table(columns)
    if meta is not None:
        table = table.replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()})
    pq.write_table(table, path)


def test_a_written_posterior_loads_back(tmp_path):
    path = write_posterior(posterior(), tmp_path / "p.parquet")
    back = load_posterior(path, PARAMS)
    assert back.parameters == ["runaway"] and back.metadata == META
    np.testing.assert_allclose(back.weights, [0.25, 0.5, 0.25])
    assert back.mean()["runaway"] == pytest.approx(0.0775)


@pytest.mark.parametrize(
    ("columns", "meta", "message"),
    [
        ({"runaway": [0.05, 0.1], "weight": [1.2, -0.2]}, META, "weight of row 1 is negative"),
        ({"runaway": [0.05, 0.1], "weight": [0.5, float("nan")]}, META, "row 1 is not finite"),
        ({"runaway": [0.05, 0.1], "weight": [0.5, 0.4]}, META, "weights sum to 0.9, not 1"),
        (
            {"runaway": [0.05], "other": [1.0], "weight": [1.0]},
            META,
            "unknown parameter(s) 'other'",
        ),
        ({"runaway": ["a", "b"], "weight": [0.5, 0.5]}, META, "column 'runaway' has type string"),
        ({"runaway": [0.05, 0.9], "weight": [0.5, 0.5]}, META, "outside its declared range"),
        ({"runaway": [0.05]}, META, "no 'weight' column"),
        ({"runaway": [0.05], "weight": [1.0]}, None, "no posterior metadata"),
        ({"runaway": [0.05], "weight": [1.0]}, {"scenario": "x"}, "metadata lacks window"),
    ],
)
def test_a_bad_posterior_file_is_an_error_naming_file_and_problem(tmp_path, columns, meta, message):
    path = tmp_path / "bad.parquet"
    raw_file(path, columns, meta)
    with pytest.raises(PosteriorError) as err:
        load_posterior(path, PARAMS)
    assert str(path) in str(err.value) and message in str(err.value)


def test_draws_follow_the_weights_and_keep_earlier_draws():
    p = posterior(weights=(0.0, 0.9, 0.1))
    many = draw_indices(p, 2000, seed=5)
    assert 0 not in many and abs(np.mean(many == 1) - 0.9) < 0.03
    np.testing.assert_array_equal(draw_indices(p, 10, seed=5), many[:10])
    assert not np.array_equal(draw_indices(p, 50, seed=6), many[:50])


def test_abc_smc_recovers_a_conjugate_posterior():
    """Normal mean with known sigma, flat prior: the exact posterior is N(xbar, sigma^2/n).

    Tolerance: the mean within 0.1 (under half a posterior sd, about 4 Monte Carlo standard
    errors at an effective size above 100) and the sd within 25%.
    """
    from tmpsim.calibration.abc import run_abc

    toy = NormalMean(xbar=1.3, sigma=1.0, n=20)
    settings = AbcSettings(population=200, generations=6, batch=50)
    result = run_abc(toy, settings, seed=1, workers=0)
    post = result.posterior
    mean, sd = toy.exact()
    got_mean = post.mean()["mu"]
    x = post.values["mu"].to_numpy()
    got_sd = float(np.sqrt(np.dot(post.weights, (x - got_mean) ** 2)))
    assert post.effective_size() > 100
    assert abs(got_mean - mean) < 0.1, got_mean
    assert abs(got_sd / sd - 1) < 0.25, got_sd
    assert result.generations["epsilon"].is_monotonic_decreasing
    assert result.generations["epsilon"].iloc[-1] < 0.15


def test_abc_smc_gives_the_same_posterior_on_any_number_of_workers():
    from tmpsim.calibration.abc import run_abc

    settings = AbcSettings(population=20, generations=2, batch=8)
    inline = run_abc(NormalMean(), settings, seed=4, workers=0)
    pooled = run_abc(NormalMean(), settings, seed=4, workers=2)
    pd.testing.assert_frame_equal(inline.posterior.values, pooled.posterior.values)
    np.testing.assert_array_equal(inline.posterior.weights, pooled.posterior.weights)
    other = run_abc(NormalMean(), settings, seed=5, workers=0)
    assert not inline.posterior.values.equals(other.posterior.values)


class _MeanWithInertParameter(NormalMean):
    """The normal mean plus a parameter ``lag`` its simulation never reads (a log one)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.parameters.append(
            FreeParameter(name="lag", paths=["toy.lag"], low=0.1, high=10.0, log=True)
        )
        self.seen: set[float] = set()

    def simulate(self, values: dict[str, float], seed: int) -> np.ndarray:
        self.seen.add(values["lag"])
        return super().simulate(values, seed)


def test_prior_only_parameters_are_drawn_from_their_prior_not_proposed():
    from tmpsim.calibration.abc import run_abc

    toy = _MeanWithInertParameter()
    settings = AbcSettings(population=100, generations=2, batch=50, prior_only=["lag"])
    result = run_abc(toy, settings, seed=2, workers=0)
    post = result.posterior
    assert list(post.values.columns) == ["mu", "lag"]
    # Never proposed: every simulation got the middle of the range (1.0 on the log scale).
    assert len(toy.seen) == 1 and toy.seen.pop() == pytest.approx(1.0)
    lag = np.log10(post.values["lag"].to_numpy())
    # Log-uniform on 0.1..10: log10 uniform on -1..1 (mean 0, sd 0.577); 100 draws (the mean's
    # standard error 0.058, the sd's about 0.026).
    assert lag.min() >= -1 and lag.max() <= 1
    assert abs(lag.mean()) < 0.2 and abs(lag.std() - 1 / np.sqrt(3)) < 0.1
    assert abs(post.mean()["mu"] - 1.3) < 0.15
    assert post.metadata["prior_only"] == ["lag"]
    again = run_abc(_MeanWithInertParameter(), settings, seed=2, workers=0).posterior
    pd.testing.assert_frame_equal(post.values, again.values)


def test_prior_only_must_name_free_parameters():
    from tmpsim.calibration.abc import run_abc, split_prior_only
    from tmpsim.calibration.problem import CalibrationError

    settings = AbcSettings(population=10, generations=1, prior_only=["lagg"])
    with pytest.raises(
        CalibrationError, match=r"^calibration\.abc\.prior_only: lagg not among the free parameters"
    ):  # a CalibrationError: the command line shows its one line, no traceback
        run_abc(_MeanWithInertParameter(), settings, seed=2, workers=0)
    params = _MeanWithInertParameter().parameters
    with pytest.raises(CalibrationError, match=r"^calibration\.history_matching\.prior_only: x"):
        split_prior_only(params, ["x"], "history_matching")


def test_a_wider_proposal_kernel_changes_the_proposals_and_its_default_does_not():
    from tmpsim.calibration.abc import run_abc

    base = AbcSettings(population=20, generations=2, batch=8)
    default = run_abc(NormalMean(), base, seed=4, workers=0).posterior
    same = run_abc(
        NormalMean(), base.model_copy(update={"kernel_scaling": 1.0}), seed=4, workers=0
    ).posterior
    wide = run_abc(
        NormalMean(), base.model_copy(update={"kernel_scaling": 4.0}), seed=4, workers=0
    ).posterior
    pd.testing.assert_frame_equal(default.values, same.values)
    assert not default.values.equals(wide.values)
    assert wide.metadata["kernel_scaling"] == 4.0


def test_a_stated_first_tolerance_is_the_first_generations_and_the_quantile_follows():
    """Rejection ABC first (the stated tolerance, no prior sample), then SMC by the quantile."""
    from tmpsim.calibration.abc import run_abc

    settings = AbcSettings(population=20, generations=3, batch=8, first_tolerance=0.3)
    result = run_abc(NormalMean(), settings, seed=4, workers=0)
    eps = result.generations["epsilon"].to_numpy()
    assert eps[0] == 0.3
    assert eps[1] < 0.3 and eps[2] < eps[1]
    assert result.posterior.metadata["first_tolerance"] == 0.3
    # Every accepted particle of the first generation is within the stated tolerance: the
    # posterior of one generation is the prior draws within 0.3, equally weighted.
    one = run_abc(NormalMean(), settings.model_copy(update={"generations": 1}), seed=4, workers=0)
    np.testing.assert_allclose(one.posterior.weights, 1 / 20)
    with pytest.raises(ValueError, match="first_tolerance"):
        AbcSettings(first_tolerance=0)


@pytest.fixture(scope="module")
def scenario_with_posterior(tmp_path_factory):
    """The synthetic calibration scenario, its ABC-SMC posterior written beside it and named."""
    from tmpsim.calibration.abc import calibrate_posterior

    folder = tmp_path_factory.mktemp("posterior")
    data = copy.deepcopy(SYNTHETIC)
    data["end"] = "2019-12-31"
    data["origins"]["A"]["initial_stock"] = {"1": 300, "2": 300}
    data["recruitment"]["demand"] = {2019: 300}
    data["events"] = data["events"][:1]
    data["calibration"]["abc"] = {"population": 10, "generations": 1, "batch": 5}
    path = folder / "synthetic.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    observed = folder / "observed.csv"
    observed.write_text(
        "date,indicator,origin,value,source\n2019-12-31,missing_year,all,40,made up\n"
    )
    result = calibrate_posterior(path, folder / "abc", observed_files=[observed], workers=0)
    (folder / "synthetic.posterior.parquet").write_bytes(
        (folder / "abc" / "posterior.parquet").read_bytes()
    )
    data["calibration"]["posterior"] = "synthetic.posterior.parquet"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, result


def test_calibrate_posterior_writes_a_valid_file_with_its_metadata(scenario_with_posterior):
    path, result = scenario_with_posterior
    post = load_posterior(path.parent / "abc" / "posterior.parquet", PARAMS)
    assert len(post) == 10 and post.metadata["window"] == ["2019-12-31", "2019-12-31"]
    assert post.metadata["scenario"] == "synthetic" and post.metadata["generations"] == 1
    assert "rmsre" in post.metadata["distance"]
    assert (path.parent / "abc" / "posterior.png").stat().st_size > 0
    assert len(result.generations) == 1


def ensemble(path, seeds=6, **extra):
    spec = {"name": "e", "scenario": str(path), "seeds": seeds, "seed": 9, "scale": 1.0}
    spec["outputs"] = {"summary": ["peak_stranded"], "series": ["stranded"]}
    return load_experiment({**spec, **extra})


def test_an_ensemble_over_the_posterior_is_reproducible_and_worker_independent(
    scenario_with_posterior, tmp_path
):
    path, _ = scenario_with_posterior
    plan = ensemble(path)
    assert plan.draws is not None
    rows = [r.draw for r in plan.runs]
    assert rows == [r.draw for r in ensemble(path).runs]
    assert rows[:4] == [r.draw for r in ensemble(path, seeds=4).runs]
    post = plan.draws.posterior
    for r in plan.runs:
        value = plan.run_overrides(r)["origins.A.runaway_rate_per_year"]
        assert value == pytest.approx(post.values["runaway"].iloc[r.draw])
    run_experiment(plan, tmp_path / "w0", workers=0)
    run_experiment(ensemble(path), tmp_path / "w2", workers=2)
    a, b = ExperimentDir(tmp_path / "w0"), ExperimentDir(tmp_path / "w2")
    pd.testing.assert_frame_equal(a.outputs_frame(), b.outputs_frame())
    assert [a.records()[i]["draw"] for i in range(6)] == rows
    info = json.loads((tmp_path / "w0" / "uncertainty.json").read_text())
    assert info["bands"] == "parameter and stochastic uncertainty" and info["draws"] == rows
    drawn = pd.read_parquet(tmp_path / "w0" / "posterior_draws.parquet")
    assert drawn["draw"].tolist() == rows and drawn["rep"].tolist() == list(range(6))


def test_a_variant_in_another_folder_finds_the_posterior_its_base_names(
    scenario_with_posterior, tmp_path
):
    """The base's calibration.posterior is beside the base, not beside the variant."""
    from tmpsim.uncertainty.posterior import scenario_posterior

    path, _ = scenario_with_posterior
    mine = tmp_path / "mine"
    mine.mkdir()
    variant = mine / "variant.yaml"
    variant.write_text(f"extends: {path}\nshelters: [{{name: city, capacity: 10}}]\n")
    plan = ensemble(variant)
    assert plan.draws is not None and plan.draws.path == path.parent / "synthetic.posterior.parquet"
    shipped = mine / "flagship.yaml"
    shipped.write_text("extends: japan-titp-covid\nshelters: [{name: city, capacity: 10}]\n")
    found = scenario_posterior(shipped)
    assert found is not None and found.is_file()
    assert found.name == "japan-titp-covid.posterior.parquet" and found.parent != mine
    # Through a chain of files: the shipped one's bare name stays bare (found among the shipped),
    # a file's own posterior is named relative to each file that extends it, never absolute.
    (mine / "sub").mkdir()
    chain = mine / "sub" / "again.yaml"
    chain.write_text("extends: ../flagship.yaml\n")
    assert scenario_posterior(chain) == found
    deeper = mine / "sub" / "deeper.yaml"
    deeper.write_text("extends: ../variant.yaml\n")
    from tmpsim.scenario import load_scenario

    written = load_scenario(deeper).calibration.posterior
    assert not Path(written).is_absolute() and written.endswith("synthetic.posterior.parquet")
    assert scenario_posterior(deeper) == path.parent / "synthetic.posterior.parquet"


def test_a_comparison_over_the_posterior_pairs_each_seed_with_one_parameter_set(
    scenario_with_posterior, tmp_path
):
    from tmpsim.policy.compare import compare
    from tmpsim.uncertainty.posterior import draw_indices, scenario_posterior

    path, _ = scenario_with_posterior
    posterior = scenario_posterior(path)
    variants = {"welfare": {"welfare_eligible": True}}
    result = compare(path, variants, seeds=3, scale=1.0, posterior=posterior)
    rows = draw_indices(load_posterior(posterior, PARAMS), 3, 1).tolist()
    drawn = result.runs.drop_duplicates(["variant", "seed"]).pivot(
        index="seed", columns="variant", values="draw"
    )
    assert drawn["base"].tolist() == rows and drawn["welfare"].tolist() == rows
    again = compare(path, variants, seeds=3, scale=1.0, posterior=posterior)
    pd.testing.assert_frame_equal(result.runs, again.runs)
    plain = compare(path, variants, seeds=3, scale=1.0)
    assert "draw" not in plain.runs and plain.posterior is None
    # Each seed ran with its draw: the base's figures differ from the scenario's own values.
    drawn_values = result.runs.loc[result.runs.variant == "base", "value"].to_numpy()
    plain_values = plain.runs.loc[plain.runs.variant == "base", "value"].to_numpy()
    assert drawn_values.shape == plain_values.shape and (drawn_values != plain_values).any()
    result.write(tmp_path / "cmp")
    info = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert info["posterior"] == str(posterior) and info["bands"].startswith("parameter")


def test_no_posterior_means_seed_noise_only_and_a_missing_one_is_an_error(
    scenario_with_posterior, tmp_path
):
    path, _ = scenario_with_posterior
    plan = ensemble(path, posterior=False)
    assert plan.draws is None and all(r.draw is None for r in plan.runs)
    run_experiment(plan, tmp_path / "off", workers=0)
    info = json.loads((tmp_path / "off" / "uncertainty.json").read_text())
    assert info["bands"] == "stochastic (seed) uncertainty only"
    with pytest.raises(ExperimentError, match="drew from no posterior"):
        run_experiment(ensemble(path), tmp_path / "off", workers=0)
    data = yaml.safe_load(path.read_text())
    data["calibration"]["posterior"] = "nowhere.parquet"
    other = path.parent / "broken.yaml"
    other.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ExperimentError, match="nowhere.parquet: no such posterior file"):
        ensemble(other)


def test_coverage_counts_observations_inside_each_band():
    from tmpsim.uncertainty.coverage import coverage_table

    bands = pd.DataFrame(
        {
            "indicator": ["a", "a", "a", "b"],
            "observed": [100.0, 100.0, 100.0, 50.0],
            "simulated": [100.0, 110.0, 130.0, 50.0],
            "in_50": [True, False, False, True],
            "in_90": [True, True, False, True],
            "width_50": [0.1, 0.2, 0.3, 0.5],
            "width_90": [0.4, 0.5, 0.6, 1.0],
        }
    )
    table = coverage_table(bands).set_index("indicator")
    assert table.loc["a", ["n", "in_50", "in_90"]].tolist() == [3, 1, 2]
    assert table.loc["a", "width_50"] == pytest.approx(0.2)
    assert table.loc["a", "median_abs_rel_error"] == pytest.approx(0.1)
    assert table.loc["all", ["n", "in_50", "in_90"]].tolist() == [4, 2, 3]
    assert table.loc["all", "share_90"] == 0.75
    assert "all comparable" not in table.index  # one scope: no summary by scope


def test_coverage_counts_partial_indicators_apart_and_checks_they_are_not_exceeded():
    """An indicator the model simulates only part of gets its own summary and the check left."""
    from tmpsim.uncertainty.coverage import coverage_table

    bands = pd.DataFrame(
        {
            "indicator": ["a", "a", "p", "p", "p"],
            "scope": ["same", "same", "part", "part", "part"],
            "observed": [100.0, 100.0, 500.0, 500.0, 50.0],
            "simulated": [100.0, 120.0, 200.0, 480.0, 90.0],
            "lo_90": [90.0, 115.0, 150.0, 450.0, 80.0],
            "in_50": [True, False, False, True, False],
            "in_90": [True, False, False, True, False],
            "width_50": [0.1, 0.1, 0.1, 0.1, 0.1],
            "width_90": [0.2, 0.2, 0.2, 0.2, 0.2],
        }
    )
    table = coverage_table(bands).set_index("indicator")
    assert table.loc["p", "scope"] == "part" and table.loc["all", "scope"] == "mixed"
    assert table.loc["all comparable", ["n", "in_90"]].tolist() == [2, 1]
    assert table.loc["all partial", ["n", "in_90"]].tolist() == [3, 1]
    # 500 >= 150 and 500 >= 450 but 50 < 80: the model's band lies wholly above one statistic.
    assert table.loc["all partial", "not_above_90"] == pytest.approx(2 / 3)
    assert table.loc["all", "n"] == 5


def test_coverage_of_an_ensemble_against_observations(scenario_with_posterior, tmp_path):
    from helpers import tmpsim_cli

    from tmpsim.uncertainty.coverage import coverage

    path, _ = scenario_with_posterior
    plan = ensemble(path, seeds=4, posterior=False, outputs={"summary": ["peak_stranded"]})
    run_experiment(plan, tmp_path / "e", workers=0)
    obs = tmp_path / "obs.csv"
    obs.write_text(
        "date,indicator,origin,value,source\n"
        "2019-12-31,missing_year,all,1,far below any run\n"
        "2019-12-31,titp_stock,all,100000000,far above any run\n"
    )
    bands, table = coverage(tmp_path / "e", [obs])
    assert len(bands) == 2 and (~bands["in_90"]).all() and (bands["n_runs"] == 4).all()
    assert table.set_index("indicator").loc["all", "in_90"] == 0
    proc = tmpsim_cli("coverage", str(tmp_path / "e"), "--observed", str(obs))
    assert proc.returncode == 0, proc.stderr
    assert "seed) uncertainty only" in proc.stdout and "0 (0%)" in proc.stdout
    # Misses this far give a model error that widens the bands to hold both observations (the
    # observation of 1 counts only with the smallest observation lowered from its 100).
    args = ("--discrepancy-until", "2019-12-31", "--discrepancy-min-observed", "0")
    args += ("--out", str(tmp_path / "cov"))
    proc = tmpsim_cli("coverage", str(tmp_path / "e"), "--observed", str(obs), *args)
    assert proc.returncode == 0, proc.stderr
    assert "model discrepancy estimated up to 2019-12-31" in " ".join(proc.stdout.split())
    widened = pd.read_csv(tmp_path / "cov" / "bands.csv")
    assert widened["in_90"].all() and (widened["discrepancy"] > 1).all()


def test_cli_ensemble_says_what_its_bands_show(scenario_with_posterior, tmp_path):
    from helpers import tmpsim_cli

    path, _ = scenario_with_posterior
    common = ("run", str(path), "--seeds", "2", "--scale", "1", "--workers", "0", "--quiet")
    on = tmpsim_cli(*common, "--out", str(tmp_path / "on"))
    assert on.returncode == 0, on.stderr
    text = " ".join(on.stdout.split())
    assert "Bands show parameter and stochastic uncertainty" in text
    assert "synthetic.posterior.parquet" in text
    off = tmpsim_cli(*common, "--no-posterior", "--out", str(tmp_path / "off"))
    assert off.returncode == 0, off.stderr
    assert "Bands show stochastic (seed) uncertainty only" in " ".join(off.stdout.split())
    # The figures and the report say the same as the command (they said "chance alone").
    from tmpsim.reports.experiment import experiment_figures, load_experiment_data

    for folder, covers, across in (("on", "posterior", "runs"), ("off", "chance alone", "seeds")):
        data = load_experiment_data(tmp_path / folder)
        band = experiment_figures(data)["band-programme_stock"]
        assert covers in json.dumps(band["layout"]), folder
        assert f"band across {across}<br>" in band["layout"]["title"]["text"], folder
        assert covers in data.band_note
    bad = tmpsim_cli("calibrate", str(path), "--method", "mcmc")
    assert bad.returncode == 2
    assert "must be one of optuna-tpe, abc-smc, history-matching" in " ".join(bad.stderr.split())


def test_unset_posterior_and_abc_keys_leave_the_resolved_scenario_as_it_was():
    import tmpsim
    from tmpsim.scenario import load_scenario

    flagship = tmpsim.load_scenario("japan-titp-covid").model_dump(mode="json")
    for key in ("posterior", "abc"):
        flagship["calibration"].pop(key, None)
    unset = load_scenario(flagship).model_dump(mode="json")["calibration"]
    assert "posterior" not in unset and "abc" not in unset
    data = copy.deepcopy(flagship)
    data["calibration"]["posterior"] = "x.posterior.parquet"
    data["calibration"]["abc"] = {"population": 50}
    back = load_scenario(load_scenario(data).model_dump(mode="json")).calibration
    assert back.posterior == "x.posterior.parquet" and back.abc.population == 50


def test_model_discrepancy_is_the_error_the_runs_spread_does_not_explain():
    from tmpsim.uncertainty.coverage import discrepancy_table

    # Indicator a: every run at 1,000, observed at 1,000 x exp(+-0.2): all of it is model error.
    # Indicator b: runs at 1,000 x exp(+-0.3), observed at 1,000: their spread explains it.
    a_obs = 1000 * np.exp([0.2, -0.2, 0.2, -0.2])
    b_runs = 1000 * np.exp([-0.3, 0.3])
    sims = np.vstack([np.full((4, 2), 1000.0), np.tile(b_runs, (3, 1))])
    observed = np.concatenate([a_obs, [1000.0] * 3])
    table = discrepancy_table(np.array(["a"] * 4 + ["b"] * 3), observed, sims)
    t = table.set_index("indicator")
    assert t.loc["a", "sigma"] == pytest.approx(0.2)
    assert t.loc["a", "run_sd"] == 0
    assert t.loc["b", "rms_log_error"] == pytest.approx(0.0, abs=1e-12)
    assert t.loc["b", "sigma"] == 0  # never negative
    assert t.loc["all", "n"] == 7


def test_model_discrepancy_leaves_out_a_status_first_few_holders():
    from tmpsim.uncertainty.coverage import discrepancy_table

    # A new stage's first weeks: 8 holders observed where the runs have 80 (log error 2.3);
    # later observations are matched exactly. Only the small one would give a discrepancy.
    observed = np.array([8.0, 1500.0, 40000.0])
    sims = np.array([[80.0, 80.0], [1500.0, 1500.0], [40000.0, 40000.0]])
    names = np.array(["stage_3"] * 3)
    t = discrepancy_table(names, observed, sims).set_index("indicator")
    assert t.loc["stage_3", "n"] == 2 and t.loc["stage_3", "sigma"] == 0
    t = discrepancy_table(names, observed, sims, min_observed=0).set_index("indicator")
    assert t.loc["stage_3", "n"] == 3
    assert t.loc["stage_3", "sigma"] == pytest.approx(np.sqrt(np.log(10) ** 2 / 3))


def test_model_discrepancy_can_leave_out_a_status_opening():
    import datetime as dt

    from tmpsim.uncertainty.coverage import discrepancy_table, in_opening

    # Stage 3 opens with 8 holders; half a year later 1,586 against the runs' 3,172 (log error
    # ln 2), then exact. A second origin's series opens a year later with 50 against 100 (ln 2).
    # With 12 months of each opening left out only the exact observations remain.
    series = pd.Series(["s3|all"] * 3 + ["s3|VN"] * 2)
    dates = pd.Series(
        [dt.date(2017, 12, 31), dt.date(2018, 6, 30), dt.date(2018, 12, 31)]
        + [dt.date(2018, 12, 31), dt.date(2019, 12, 31)]
    )
    observed = np.array([8.0, 1586.0, 7398.0, 50.0, 2000.0])
    opening = in_opening(series, dates, observed, 12)
    assert opening.tolist() == [True, True, False, True, False]
    assert not in_opening(series, dates, observed, 0).any()
    # A series whose data start above the threshold has no opening.
    assert not in_opening(series, dates, observed + 1000, 12).any()
    sims = np.array([[8.0] * 2, [3172.0] * 2, [7398.0] * 2, [100.0] * 2, [2000.0] * 2])
    names = np.array(["s3"] * 5)
    t = discrepancy_table(names, observed, sims, min_observed=0).set_index("indicator")
    assert t.loc["s3", "n"] == 5
    assert t.loc["s3", "sigma"] == pytest.approx(np.sqrt(2 * np.log(2) ** 2 / 5))
    t = discrepancy_table(names, observed, sims, 0, left_out=opening).set_index("indicator")
    assert t.loc["s3", "n"] == 2 and t.loc["s3", "sigma"] == 0


def test_bands_with_model_discrepancy_widen_by_the_stated_error_and_stay_positive():
    from tmpsim.uncertainty.coverage import predictive_bands, sigmas_for

    sims = np.array([[100.0, 100.0, 100.0], [1.0, 2.0, 3.0]])
    lo, hi = predictive_bands(sims, np.zeros(2), 0.9)
    assert lo.tolist() == pytest.approx([100.0, 1.1]) and hi.tolist() == pytest.approx([100, 2.9])
    lo, hi = predictive_bands(sims, np.array([0.1, 1.0]), 0.9)
    # One value spread log-normally: the band is 100 x exp(+-1.645 x 0.1), within the grid's step.
    assert lo[0] == pytest.approx(100 * np.exp(-1.645 * 0.1), rel=0.01)
    assert hi[0] == pytest.approx(100 * np.exp(1.645 * 0.1), rel=0.01)
    assert 0 < lo[1] < 1.0 and hi[1] > 3.0
    assert sigmas_for(pd.Series(["a", "b"]), {"a": 0.3, "all": 0.1}).tolist() == [0.3, 0.0]
    assert sigmas_for(pd.Series(["a"]), None).tolist() == [0.0]


def test_the_flagship_names_a_posterior_that_fits_its_free_parameters():
    import tmpsim
    from tmpsim.scenario.loader import load_raw
    from tmpsim.uncertainty.posterior import load_posterior, posterior_path

    sc = tmpsim.load_scenario("japan-titp-covid")
    _, source = load_raw("japan-titp-covid")
    post = load_posterior(
        posterior_path(source, sc.calibration.posterior), sc.calibration.parameters
    )
    declared = {p.name for p in sc.calibration.parameters}
    held = set(post.values.columns)
    assert held <= declared  # made on the flagship's current parameters
    # A declared parameter it lacks is the new form of a column dropped from it, with the reason.
    reasons = [d["why"] for d in post.metadata.get("dropped", {}).values()]
    assert all(any(name in why for why in reasons) for name in declared - held)
    assert post.metadata["window"][1] == "2022-12-31" and post.metadata["holdout_from"] is None


def test_cli_resume_refuses_what_it_cannot_continue(scenario_with_posterior, tmp_path):
    from helpers import tmpsim_cli

    path, _ = scenario_with_posterior
    out = tmp_path / "none"
    common = ("calibrate", str(path), "--out", str(out), "--workers", "0", "--resume")
    missing = tmpsim_cli(*common, "--method", "abc-smc")
    assert missing.returncode == 2
    assert f"{out / 'abc.db'}: cannot resume: no such" in " ".join(missing.stderr.split())
    tpe = tmpsim_cli(*common, "--method", "optuna-tpe")
    assert tpe.returncode == 2 and "--resume applies to --method abc-smc only" in tpe.stderr


def test_dropping_a_column_keeps_the_rest_and_says_why(tmp_path, capsys):
    from helpers import ROOT, load_script

    module = load_script(ROOT / "scripts" / "posterior_drop.py")
    two = Posterior(
        pd.DataFrame({"runaway": [0.05, 0.08, 0.1], "old": [1.0, 2.0, 4.0]}),
        np.array([0.25, 0.5, 0.25]),
        dict(META),
    )
    path = write_posterior(two, tmp_path / "p.parquet")
    assert module.main([str(path), "gone", "--why", "x"]) == 2  # no such column: nothing written
    assert load_posterior(path).parameters == ["runaway", "old"]
    assert module.main([str(path), "old", "--why", "replaced by a mechanism"]) == 0
    back = load_posterior(path, PARAMS)  # loads against a scenario that no longer declares it
    assert back.parameters == ["runaway"] and back.values["runaway"].tolist() == [0.05, 0.08, 0.1]
    np.testing.assert_allclose(back.weights, [0.25, 0.5, 0.25])
    dropped = back.metadata["dropped"]["old"]
    assert dropped["why"] == "replaced by a mechanism" and dropped["weighted_mean"] == 2.25
    assert (dropped["min"], dropped["max"]) == (1.0, 4.0)
    assert {k: v for k, v in back.metadata.items() if k != "dropped"} == META


def test_a_scenario_names_its_posterior_file_or_none(tmp_path):
    found = scenario_posterior("japan-titp-covid")
    assert found is not None and found.name == "japan-titp-covid.posterior.parquet"
    assert found.is_file()
    assert scenario_posterior("hongkong-fdh") is None  # no calibration section at all
    beside = tmp_path / "mine.yaml"
    beside.write_text(
        "extends: japan-titp-covid\nname: mine\ncalibration: {posterior: fits/p.parquet}\n",
        encoding="utf-8",
    )
    assert scenario_posterior(beside) == tmp_path / "fits" / "p.parquet"  # beside the file


def test_a_variant_files_own_value_of_a_free_parameter_survives_the_draw(scenario_with_posterior):
    """compare --posterior: the draw is laid on the base and a variant alike, but a value the
    variant sets apart from the base is its policy and stays."""
    from tmpsim.policy.compare import _drawn, _with_draw
    from tmpsim.scenario import load_scenario
    from tmpsim.uncertainty.posterior import scenario_posterior

    path, _ = scenario_with_posterior
    base = load_scenario(path)
    variant = load_scenario(path, {"origins.A.runaway_rate_per_year": 0.5})
    draws = _drawn(scenario_posterior(path), base, 3)
    for k in range(3):
        drawn = _with_draw({"base": base, "v": variant}, {"v": variant}, draws, k)
        value = draws.posterior.row(int(draws.rows[k]))["runaway"]
        assert drawn["base"].origins["A"].runaway_rate_per_year == pytest.approx(value)
        assert drawn["v"].origins["A"].runaway_rate_per_year == 0.5
