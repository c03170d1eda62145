"""One simulation of one calibration trial: what runs in the worker processes.

:func:`run_trial` is a top-level function of plain data (picklable for the local pool and Dask): it
runs the trial's scenario at one seed and returns the simulated value of every target observation,
aggregated as the indicators define (no run folder is written).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tmpsim.scenario import load_scenario
from tmpsim.simulation import Simulation
from tmpsim.validation.compare import simulate_one
from tmpsim.validation.indicators import resolve
from tmpsim.validation.rundata import from_simulation

if TYPE_CHECKING:
    from tmpsim.calibration.problem import Problem


@dataclass(frozen=True)
class TrialTask:
    """A trial's scenario (raw data), the seed and scale, and the observations to reproduce."""

    trial: int
    scenario: dict[str, Any]
    seed: int
    scale: float
    observations: tuple[tuple[str, str, str], ...]
    """(indicator, origin, ISO date) of each target observation."""


@dataclass(frozen=True)
class TrialOutput:
    """Simulated values in the order of the task's observations, and the run's wall time."""

    trial: int
    seed: int
    values: tuple[float, ...]
    seconds: float


def trial_task(
    problem: Problem, trial: int, values: dict[str, float], seed: int, scale: float
) -> TrialTask:
    """The task of one trial at one seed: the problem's scenario with ``values`` applied."""
    keys = tuple(
        (str(r.indicator), str(r.origin), pd.Timestamp(r.date).date().isoformat())
        for r in problem.observed.itertuples()
    )
    return TrialTask(trial, problem.scenario(values), seed, scale, keys)


def run_trial(task: TrialTask) -> TrialOutput:
    """Simulate one trial at one seed and aggregate it to the target observations."""
    t0 = time.perf_counter()
    scenario = load_scenario(task.scenario)
    sim = Simulation(scenario, seed=task.seed, scale=task.scale).run()
    inds = [resolve(i) for i, _, _ in task.observations]
    metrics = {ind.source for ind in inds if not ind.uses_agents}
    run = from_simulation(sim, metrics)
    values = []
    for ind, (_, origin, date) in zip(inds, task.observations, strict=True):
        value, _status = simulate_one(ind, origin, pd.Timestamp(date), run)
        values.append(float(value))
    return TrialOutput(task.trial, task.seed, tuple(values), time.perf_counter() - t0)


def mean_over_seeds(outputs: list[TrialOutput]) -> np.ndarray:
    """Average the simulated values of one trial's seeds (NaN where every seed is NaN)."""
    arr = np.array([o.values for o in outputs], dtype=float)
    with np.errstate(all="ignore"):
        return np.nanmean(arr, axis=0) if len(outputs) > 1 else arr[0]
