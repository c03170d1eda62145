"""Compiled route choice: the multinomial logit's draw for a whole array of people in one pass.

``choose_reference`` is the specification in NumPy: the probabilities over the open routes
(``exp(V_r) / sum over open routes s of exp(V_s)``, closed routes zero), their cumulative sums
along the routes, and for each person the number of cumulative sums the uniform draw reaches (the
route taken). ``choose_kernel`` does the same person by person, without the [person, route]
temporaries the NumPy version builds at every turning point. The tests hold the two to the same
choices.
"""

from __future__ import annotations

import numpy as np

from tmpsim.engine.jit import njit


def logit_probabilities(util: np.ndarray, open_: np.ndarray) -> np.ndarray:
    """Multinomial-logit probabilities over the open routes: float [person, route].

    ``util`` holds the utilities [person, route], ``open_`` which routes are open (the last
    route, irregular, always is, so every row has a finite maximum).
    """
    util = np.where(open_, util, -np.inf)
    util -= util.max(axis=1, keepdims=True)
    w = np.exp(util)
    return w / w.sum(axis=1, keepdims=True)


def choose_reference(util: np.ndarray, open_: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The route each person takes given one uniform draw each (route indices, int64)."""
    cum = np.cumsum(logit_probabilities(util, open_), axis=1)
    pick = (np.asarray(u)[:, None] >= cum).sum(axis=1)
    return np.minimum(pick, util.shape[1] - 1)


@njit(cache=True)
def choose_kernel(
    util: np.ndarray, open_: np.ndarray, u: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover
    """``choose_reference`` person by person, the choices written to ``out``."""
    n, r = util.shape
    w = np.empty(r)
    for i in range(n):
        top = -np.inf
        for j in range(r):
            if open_[i, j] and util[i, j] > top:
                top = util[i, j]
        total = 0.0
        for j in range(r):
            w[j] = np.exp(util[i, j] - top) if open_[i, j] else 0.0
            total += w[j]
        cum = 0.0
        pick = 0
        for j in range(r):
            cum += w[j] / total
            if u[i] >= cum:
                pick += 1
        out[i] = min(pick, r - 1)
