"""Toy models with known answers, for checking the experiment pipeline and its sensitivity step.

A toy model is any ``function(params, seed) -> dict`` of numbers; an experiment names it with
``model: tmpsim.experiments.toys:ishigami``. Parameters are passed by their path in the file.
"""

from __future__ import annotations

import math

import numpy as np

ISHIGAMI_A = 7.0
ISHIGAMI_B = 0.1


def ishigami_indices(a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> dict[str, list[float]]:
    """Analytic first-order (S1) and total (ST) Sobol indices of the Ishigami function."""
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * math.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {"S1": [v1 / v, v2 / v, 0.0], "ST": [(v1 + v13) / v, v2 / v, v13 / v]}


def ishigami(params: dict[str, float], seed: int) -> dict[str, float]:
    """Ishigami function of x1, x2, x3 on [-pi, pi] (deterministic: the seed is unused)."""
    x1, x2, x3 = params["x1"], params["x2"], params["x3"]
    y = math.sin(x1) + ISHIGAMI_A * math.sin(x2) ** 2 + ISHIGAMI_B * x3**4 * math.sin(x1)
    return {"y": y}


def linear(params: dict[str, float], seed: int) -> dict[str, float]:
    """Compute y = sum(c_i * x_i) + noise, c = 10, 1, 0 for x1, x2, x3 (Morris: mu* = c * range)."""
    noise = np.random.default_rng(seed).normal(0.0, 0.01)
    return {"y": 10 * params["x1"] + params["x2"] + 0 * params["x3"] + noise}


def flaky(params: dict[str, float], seed: int) -> dict[str, float]:
    """Return x plus noise, but raise for x above 0.5: a model some of whose runs fail."""
    x = params["x"]
    if x > 0.5:
        raise ValueError(f"x={x} is above 0.5")
    return {"y": x + np.random.default_rng(seed).normal(0.0, 1.0)}
