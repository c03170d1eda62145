"""Resuming an interrupted ABC-SMC run from its database (``tmpsim calibrate --resume``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tmpsim.calibration.problem import CalibrationError
from tmpsim.calibration.spec import AbcSettings, FreeParameter
from tmpsim.calibration.toys import NormalMean

pytest.importorskip("pyabc")

SETTINGS = AbcSettings(population=20, generations=3, batch=8)


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A database holding the first 2 of 3 generations (a run stopped after generation 1)."""
    from tmpsim.calibration.abc import run_abc

    db = tmp_path_factory.mktemp("abc") / "abc.db"
    short = SETTINGS.model_copy(update={"generations": 2})
    first = run_abc(NormalMean(), short, seed=4, workers=0, database=db)
    assert list(first.generations["t"]) == [0, 1]
    return db


def test_a_resumed_run_gives_what_an_uninterrupted_one_gives(interrupted, tmp_path):
    from tmpsim.calibration.abc import run_abc

    db = tmp_path / "abc.db"
    db.write_bytes(interrupted.read_bytes())
    whole = run_abc(NormalMean(), SETTINGS, seed=4, workers=0)
    resumed = run_abc(NormalMean(), SETTINGS, seed=4, workers=0, database=db, resume=True)
    assert list(resumed.generations["t"]) == [0, 1, 2]
    post = resumed.posterior
    assert len(post) == 20 and np.isclose(post.weights.sum(), 1.0)
    assert post.values["mu"].between(-5, 5).all()
    pd.testing.assert_frame_equal(whole.posterior.values, post.values)
    np.testing.assert_array_equal(whole.posterior.weights, post.weights)
    pd.testing.assert_frame_equal(whole.generations, resumed.generations)
    # Now complete: a second resume has nothing to do and says so.
    with pytest.raises(CalibrationError, match=r"abc\.db: cannot resume: the run is complete"):
        run_abc(NormalMean(), SETTINGS, seed=4, workers=0, database=db, resume=True)


def test_resuming_with_other_parameters_is_refused(interrupted):
    from tmpsim.calibration.abc import run_abc

    other = NormalMean()
    other.parameters = [FreeParameter(name="theta", paths=["toy.theta"], low=-5.0, high=5.0)]
    with pytest.raises(CalibrationError, match=r"abc\.db: cannot resume: its parameters \(mu\)"):
        run_abc(other, SETTINGS, seed=4, workers=0, database=interrupted, resume=True)


def test_resuming_with_other_observations_is_refused(interrupted):
    from tmpsim.calibration.abc import run_abc

    with pytest.raises(CalibrationError, match=r"abc\.db: cannot resume: .*other observations"):
        run_abc(NormalMean(xbar=0.2), SETTINGS, 4, workers=0, database=interrupted, resume=True)


def test_resuming_without_a_database_is_refused(tmp_path):
    from tmpsim.calibration.abc import run_abc

    with pytest.raises(CalibrationError, match=r"missing\.db: cannot resume: no such"):
        run_abc(NormalMean(), SETTINGS, 4, workers=0, database=tmp_path / "missing.db", resume=True)
