"""Toy calibration problems with a posterior known in closed form, to check ABC-SMC end to end."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tmpsim.calibration.spec import FreeParameter


@dataclass
class NormalMean:
    """Mean ``mu`` of ``n`` normal draws with known ``sigma``, observed through their mean.

    The sample mean is sufficient, so as the tolerance goes to zero the ABC posterior tends to
    the exact one: with a flat prior much wider than the data's reach, ``N(xbar, sigma^2 / n)``.
    """

    xbar: float = 1.3
    sigma: float = 1.0
    n: int = 20
    low: float = -5.0
    high: float = 5.0
    parameters: list[FreeParameter] = field(init=False)

    def __post_init__(self) -> None:
        self.parameters = [FreeParameter(name="mu", paths=["toy.mu"], low=self.low, high=self.high)]

    @property
    def observed(self) -> np.ndarray:
        """The observed sample mean."""
        return np.array([self.xbar])

    def simulate(self, values: dict[str, float], seed: int) -> np.ndarray:
        """Mean of ``n`` draws from N(mu, sigma)."""
        draws = np.random.default_rng(seed).normal(values["mu"], self.sigma, self.n)
        return np.array([draws.mean()])

    def distance(self, simulated: np.ndarray) -> float:
        """Absolute difference of the means."""
        return float(abs(simulated[0] - self.xbar))

    def exact(self) -> tuple[float, float]:
        """Mean and standard deviation of the exact posterior."""
        return self.xbar, self.sigma / math.sqrt(self.n)
