"""The compiled runaway column gives the NumPy rates of Hazards.rates to the bit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tmpsim.model.hazard_kernels import runaway_column_kernel


def numpy_runaway(d, ids, use_stage, use_factor, mult, use_market):
    """The NumPy expression of Hazards.rates, operation by operation."""
    origin, sector = d["origin"][ids], d["sector"][ids]
    burden = d["debt"][ids] / d["wage_year"]
    e = d["e"]
    r = d["base"][origin] * (1 + e * burden) / (1 + e * d["debt_ref"][origin])
    if use_stage:
        r = r * d["by_stage"][d["stage"][ids]]
    if use_factor:
        r = r * d["factor"]
    if isinstance(mult, float):
        r = r * mult
    elif mult is not None:
        r = r * mult[origin, sector]
    if use_market:
        r = r * d["market"]
    return r


@pytest.mark.parametrize(
    "use_stage,use_factor,mult_kind,use_market",
    list(itertools.product([False, True], [False, True], [0, 1, 2], [False, True])),
)
def test_runaway_column_matches_numpy_bit_for_bit(use_stage, use_factor, mult_kind, use_market):
    rng = np.random.default_rng(7)
    n = 500
    d = {
        "debt": rng.exponential(4e5, n) * (rng.random(n) < 0.7),
        "origin": rng.integers(0, 3, n).astype(np.int8),
        "sector": rng.integers(0, 4, n).astype(np.int8),
        "stage": rng.integers(0, 2, n).astype(np.int8),
        "wage_year": 1.7e6 / 3.0,
        "e": 0.73,
        "base": rng.random(3) / 365.25,
        "debt_ref": rng.random(3) * 0.9,
        "by_stage": np.array([1.0, 1.37]),
        "factor": np.where(rng.random(200) < 0.5, 3.1, 0.4),
        "market": 0.81,
    }
    table = rng.random((3, 4)) * 2
    mult = [None, 1.3, table][mult_kind]
    ids = rng.choice(n, 200, replace=False).astype(np.int64)
    out = np.zeros((ids.size, 3))
    runaway_column_kernel(
        ids, d["debt"], d["origin"], d["sector"], d["stage"], d["wage_year"], d["e"],
        d["base"], d["debt_ref"], d["by_stage"], use_stage, d["factor"], use_factor, mult_kind,
        1.3 if mult_kind == 1 else 1.0, table if mult_kind == 2 else np.ones((1, 1)),
        d["market"], use_market, out, 1,
    )  # fmt: skip
    expected = numpy_runaway(d, ids, use_stage, use_factor, mult, use_market)
    assert np.array_equal(out[:, 1], expected)  # exact, not approximate
    assert not out[:, [0, 2]].any()  # only its own column is written
