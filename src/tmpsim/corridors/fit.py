"""Fit the destination constants of a corridors configuration to sourced 2019 stocks.

Only 2019 and earlier are simulated. Each round runs the configuration to the end of the target
year and moves the constant of every destination outside ``tolerance`` by the log of target
over simulated stock (clipped to ±``max_step``): a destination short of its stock becomes more
attractive in the choice. A destination whose seats already bind (all its orders filled) cannot
gain stock this way; the fit stops when every stock is within ``tolerance`` or after ``rounds``
rounds, and the result shows which destinations it could not bring within it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tmpsim.corridors.config import CorridorsConfig, StockTarget, stock_targets
from tmpsim.corridors.simulate import simulate, stock_at


@dataclass
class FitResult:
    """Fitted constants, and simulated against target stocks of the last round."""

    constants: dict[str, float]
    simulated: dict[str, float]
    targets: dict[str, float]
    rounds: int

    def errors(self) -> dict[str, float]:
        """Relative error per destination (simulated / target - 1)."""
        return {d: self.simulated[d] / self.targets[d] - 1 for d in self.targets}


def simulated_stocks(
    cfg: CorridorsConfig, targets: list[StockTarget], scale: float, seed: int
) -> dict[str, float]:
    """Simulated stock at each target's date, for the target's origins (runs to that year)."""
    last = max(t.date.year for t in targets)
    run = simulate(cfg.model_copy(update={"last_year": last}), scale, seed)
    out = {}
    for t in targets:
        when = max(m for m in run.months if m <= t.date)
        out[t.destination] = float(
            stock_at(run, when, t.origins)[run.destinations.index(t.destination)]
        )
    return out


def fit_constants(
    cfg: CorridorsConfig,
    scale: float = 1.0,
    seed: int = 1,
    tolerance: float = 0.08,
    rounds: int = 15,
    max_step: float = 1.5,
) -> FitResult:
    """Destination constants that bring each 2019 stock within ``tolerance`` of its target."""
    targets = stock_targets(cfg)
    if any(t.date.year > 2019 for t in targets):
        raise ValueError("the fit uses 2019 and earlier only")
    years = {t.date.year for t in targets}
    if years and not cfg.first_year <= min(years) <= max(years) <= cfg.last_year:
        raise ValueError(
            f"the fit compares stocks of {min(years)}-{max(years)}: first_year and last_year "
            f"({cfg.first_year}-{cfg.last_year}) must cover them"
        )
    goal = {t.destination: t.value for t in targets}
    current, done = cfg, 0
    for _ in range(rounds):
        done += 1
        sim = simulated_stocks(current, targets, scale, seed)
        if done == rounds or all(abs(sim[d] / goal[d] - 1) <= tolerance for d in goal):
            break  # the constants returned are those ``sim`` was simulated with
        data = current.model_dump(mode="json")
        for d, target in goal.items():
            if abs(sim[d] / target - 1) <= tolerance:
                continue  # within tolerance (or held by its seats): left as it is
            step = float(np.clip(np.log(target / max(sim[d], 1.0)), -max_step, max_step))
            data["market"]["destinations"][d]["constant"] += step
        current = CorridorsConfig.model_validate(data)
    consts = {n: d.constant for n, d in current.market.destinations.items()}
    return FitResult(constants=consts, simulated=sim, targets=goal, rounds=done)
