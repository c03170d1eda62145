"""The beta law's cdf and quantile against SciPy's (runs do not import scipy.special)."""

import numpy as np
import pytest
from scipy.special import betainc, betaincinv

from tmpsim.model.beta_law import beta_cdf, beta_quantile

SHAPES = [(0.3, 0.7), (0.5, 0.5), (1.0, 1.0), (2.0, 5.0), (6.0, 2.0), (0.8, 12.0), (40.0, 35.0)]


@pytest.mark.parametrize(("a", "b"), SHAPES)
def test_cdf_and_quantile_match_scipy(a, b):
    for x in np.linspace(0.001, 0.999, 41):
        assert beta_cdf(x, a, b) == pytest.approx(betainc(a, b, x), abs=1e-12)
    for p in [1e-6, 0.01, 0.043, 0.3, 0.5, 0.527, 0.957, 0.999]:
        assert beta_quantile(p, a, b) == pytest.approx(betaincinv(a, b, p), abs=1e-10)


def test_ends_and_bad_input():
    assert beta_cdf(0.0, 2, 3) == 0.0 and beta_cdf(1.0, 2, 3) == 1.0
    assert beta_quantile(0.0, 2, 3) == 0.0 and beta_quantile(1.0, 2, 3) == 1.0
    with pytest.raises(ValueError, match="a > 0 and b > 0"):
        beta_cdf(0.5, 0.0, 1.0)
    with pytest.raises(ValueError, match="probability"):
        beta_quantile(1.5, 1.0, 1.0)


def test_the_simulation_does_not_import_scipy_special():
    import subprocess
    import sys

    code = (
        "import sys, tmpsim.simulation, tmpsim.model.routes; print('scipy.special' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_quantile_matches_scipy_over_many_shapes():
    """Newton's steps inside the bracket hold for skewed and U-shaped laws alike.

    (Above p = 0.999 the upper tail's cdf, 1 minus a fraction, resolves x only to about 1e-9.)
    """
    rng = np.random.default_rng(7)
    for a, b in np.exp(rng.uniform(np.log(0.2), np.log(60.0), size=(60, 2))):
        for p in (1e-9, 0.02, 0.5, 0.93, 0.999):
            assert beta_quantile(p, a, b) == pytest.approx(betaincinv(a, b, p), abs=1e-10)


def test_quantile_inverts_the_cdf():
    for a, b in SHAPES:
        for p in (0.043, 0.5, 0.957):
            assert beta_cdf(beta_quantile(p, a, b), a, b) == pytest.approx(p, abs=1e-13)
