"""Counting agents by two codes in one compiled pass (month-end stocks by stage and origin)."""

from __future__ import annotations

import numpy as np

from tmpsim.engine.jit import njit


@njit(cache=True)
def count_pairs(
    n: int, state: np.ndarray, wanted: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Add 1 to ``out[a[i], b[i]]`` for each of the first ``n`` agents whose state is wanted."""
    for i in range(n):
        if wanted[state[i]]:
            out[a[i], b[i]] += 1
