"""The compiled route choice takes the routes its NumPy reference takes."""

from __future__ import annotations

import numpy as np
import pytest

from tmpsim.model.route_kernels import choose_kernel, choose_reference, logit_probabilities


def _case(seed: int, n: int = 5000, routes: int = 8) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    util = rng.normal(0.0, 3.0, (n, routes))
    open_ = rng.random((n, routes)) < 0.6
    open_[:, -1] = True  # irregular is always open
    u = rng.random(n)
    u[:10] = 0.0  # the lowest draw takes the first open route
    u[10:20] = np.nextafter(1.0, 0.0)  # the highest the last open one
    return util, open_, u


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kernel_chooses_as_the_reference(seed: int) -> None:
    util, open_, u = _case(seed)
    want = choose_reference(util, open_, u)
    got = np.empty(u.size, dtype=np.int64)
    choose_kernel(util, open_, u, got)
    assert np.array_equal(got, want)
    # Plain Python (what TMPSIM_JIT=0 runs) chooses the same.
    py = getattr(choose_kernel, "py_func", choose_kernel)
    again = np.empty(u.size, dtype=np.int64)
    py(util[:500], open_[:500], u[:500], again[:500])
    assert np.array_equal(again[:500], want[:500])


def test_closed_routes_are_never_taken_and_draws_split_by_the_probabilities() -> None:
    util, open_, u = _case(4)
    got = np.empty(u.size, dtype=np.int64)
    choose_kernel(util, open_, u, got)
    assert open_[np.arange(u.size), got].all()
    first_open = open_.argmax(axis=1)
    last_open = open_.shape[1] - 1 - open_[:, ::-1].argmax(axis=1)
    assert np.array_equal(got[:10], first_open[:10])
    assert np.array_equal(got[10:20], last_open[10:20])
    # One row, many draws: the routes taken follow the logit's probabilities.
    p = logit_probabilities(np.array([[0.0, 1.0, -1.0, 0.5]]), np.array([[1, 1, 0, 1]], bool))[0]
    assert p[2] == 0.0 and abs(p.sum() - 1.0) < 1e-12
    n = 200_000
    draws = np.random.default_rng(5).random(n)
    taken = np.empty(n, dtype=np.int64)
    choose_kernel(
        np.tile([0.0, 1.0, -1.0, 0.5], (n, 1)),
        np.tile([True, True, False, True], (n, 1)),
        draws,
        taken,
    )
    share = np.bincount(taken, minlength=4) / n
    assert np.abs(share - p).max() < 0.005
