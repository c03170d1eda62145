"""History matching then rejection ABC: a known posterior recovered, resumable, reproducible."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml
from test_calibration import SYNTHETIC

from tmpsim.calibration.problem import CalibrationError
from tmpsim.calibration.spec import HistoryMatchingSettings
from tmpsim.calibration.toys import NormalMean
from tmpsim.scenario import ScenarioError, load_scenario

pytest.importorskip("sklearn")

from tmpsim.calibration.history_matching import (  # noqa: E402
    calibrate_history_matching,
    run_history_matching,
)

TOY = HistoryMatchingSettings(waves=3, runs_per_wave=100, tolerance=0.1, screen=5000, chunk=25)


class Counting(NormalMean):
    """The toy, counting its simulations (inline runs only)."""

    calls = 0

    def simulate(self, values, seed):
        type(self).calls += 1
        return super().simulate(values, seed)


def test_history_matching_recovers_a_conjugate_posterior():
    # Mean of 20 N(mu, 1) draws observed as 1.3, flat prior on [-5, 5]: the exact posterior is
    # N(1.3, 0.224); accepting |simulated mean - 1.3| <= 0.1 widens it to sd 0.231.
    result = run_history_matching(NormalMean(), TOY, seed=3, workers=0)
    mu = result.posterior.values["mu"].to_numpy()
    assert len(mu) >= 40
    assert abs(mu.mean() - 1.3) < 0.1 and 0.15 < mu.std() < 0.32
    assert (result.runs.loc[result.runs.accepted, "loss"] <= 0.1).all()
    # The first wave is the prior; the emulator then rules out most of it, so the later waves
    # accept far more of their runs than rejection from the prior would (1 of the first 100).
    waves = result.waves
    assert waves.nroy_share.iloc[0] == 1 and (waves.nroy_share.iloc[1:] < 0.2).all()
    assert waves.accepted.iloc[0] <= 3 and waves.accepted.iloc[-1] >= 40
    assert result.posterior.metadata["accepted_outside_nroy"] == 0
    np.testing.assert_allclose(result.posterior.weights, 1 / len(mu))


def test_the_tolerance_from_a_quantile_accepts_about_that_share_of_the_prior():
    toy = NormalMean()
    settings = TOY.model_copy(update={"tolerance": None, "quantile": 0.05, "waves": 1})
    tolerance = run_history_matching(toy, settings, seed=5, workers=0).tolerance
    rng = np.random.default_rng(0)
    mus = rng.uniform(-5, 5, 4000)
    losses = np.array([toy.distance(toy.simulate({"mu": m}, i)) for i, m in enumerate(mus)])
    assert 0.02 < np.mean(losses <= tolerance) < 0.10


def test_the_same_posterior_on_any_number_of_workers():
    settings = TOY.model_copy(update={"waves": 2, "runs_per_wave": 40})
    inline = run_history_matching(NormalMean(), settings, seed=2, workers=0)
    pooled = run_history_matching(NormalMean(), settings, seed=2, workers=2)
    assert inline.runs.equals(pooled.runs)
    assert inline.posterior.values.equals(pooled.posterior.values)


def test_an_interrupted_calibration_resumes_without_repeating_or_losing_runs(tmp_path):
    settings = TOY.model_copy(update={"waves": 2, "runs_per_wave": 50})
    whole = run_history_matching(NormalMean(), settings, seed=4, workers=0, folder=tmp_path)
    chunks = sorted((tmp_path / "runs").glob("*.parquet"))
    assert len(chunks) == 4  # two waves of two chunks of 25
    chunks[-1].unlink()  # interrupted during the last chunk
    Counting.calls = 0
    again = run_history_matching(Counting(), settings, seed=4, workers=0, folder=tmp_path)
    assert Counting.calls == 25
    assert again.runs.equals(whole.runs)
    # Runs made for another seed, or other observations, are not read back as this problem's.
    for toy, seed in ((NormalMean(), 5), (NormalMean(xbar=1.0), 4)):
        with pytest.raises(CalibrationError, match="made for another problem"):
            run_history_matching(toy, settings, seed=seed, workers=0, folder=tmp_path)
    # Nor is a chunk whose points are not the ones this calibration places there.
    moved = pd.read_parquet(chunks[0]).assign(u0=lambda f: f.u0 / 2)
    moved.to_parquet(chunks[0], index=False)
    with pytest.raises(CalibrationError, match="not the ones this calibration makes"):
        run_history_matching(NormalMean(), settings, seed=4, workers=0, folder=tmp_path)


def test_more_waves_continue_a_finished_calibration(tmp_path):
    settings = TOY.model_copy(update={"waves": 1, "runs_per_wave": 50})
    # One wave of the prior finds too few within the tolerance; its runs are kept all the same.
    with pytest.raises(CalibrationError, match="runs within the tolerance"):
        run_history_matching(NormalMean(), settings, seed=6, workers=0, folder=tmp_path)
    Counting.calls = 0
    more = settings.model_copy(update={"waves": 2})
    continued = run_history_matching(Counting(), more, seed=6, workers=0, folder=tmp_path)
    assert Counting.calls == 50  # only the second wave ran
    assert continued.runs.equals(run_history_matching(NormalMean(), more, seed=6, workers=0).runs)


def test_a_scenario_calibrated_by_history_matching_writes_a_loadable_posterior(tmp_path):
    from tmpsim.uncertainty.posterior import load_posterior

    data = copy.deepcopy(SYNTHETIC)
    data["end"] = "2019-12-31"
    data["origins"]["A"]["initial_stock"] = {"1": 300, "2": 300}
    data["recruitment"]["demand"] = {2019: 300}
    data["events"] = data["events"][:1]
    data["calibration"]["history_matching"] = {
        "waves": 2,
        "runs_per_wave": 10,
        "quantile": 0.5,
        "chunk": 5,
        "screen": 2000,
    }
    path = tmp_path / "synthetic.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    observed = tmp_path / "observed.csv"
    observed.write_text(
        "date,indicator,origin,value,source\n2019-12-31,missing_year,all,40,made up\n"
    )
    out = tmp_path / "hm"
    result = calibrate_history_matching(path, out, observed_files=[observed], workers=0)
    scenario = load_scenario(path)
    post = load_posterior(out / "posterior.parquet", scenario.calibration.parameters)
    assert len(post) == int(result.runs.accepted.sum()) >= 2
    assert post.metadata["scenario"] == "synthetic" and post.metadata["evaluations"] == 20
    assert (out / "waves.csv").read_text().startswith("wave,runs,nroy_share")
    assert (out / "posterior.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("cutoff", "-1", "greater than 0"),
        ("waves", "0", "greater than or equal to 1"),
        ("bogus", "1", "bogus"),
    ],
)
def test_bad_settings_are_errors_naming_the_key(key, value, message):
    with pytest.raises(ScenarioError, match=message) as err:
        load_scenario("japan-titp-covid", [f"calibration.history_matching.{key}={value}"])
    assert "history_matching" in str(err.value)
