"""Search the free parameters with Optuna's TPE sampler, running trials through ``map_runs``.

Why TPE (Optuna): the simulator is a stochastic black box of about ten bounded parameters, each
evaluation costs seconds, and we need a point estimate with a readable trial history rather than a
full posterior. TPE handles mixed log/linear ranges, is seeded, and Optuna's ask/tell interface lets
the simulations run wherever ``tmpsim.experiments.runner.map_runs`` sends them (a local process
pool by default, Dask with a scheduler address). Trials are proposed in batches of fixed size, so a
calibration is reproducible from its seed and batch size whatever the number of workers. Every
trial uses the same simulation seeds (common random numbers), so differences between trials are
not sampling noise.

The loss is a weighted mean over targets of each target's relative error over its observations
(root mean square by default; see ``CalibrationSpec.loss``).
"""

from __future__ import annotations

import datetime as dt
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tmpsim.calibration.problem import Problem, build_problem
from tmpsim.calibration.trial import (
    TrialOutput,
    TrialTask,
    mean_over_seeds,
    run_trial,
    trial_task,
)
from tmpsim.extras import require

ProgressFn = Callable[[int, int, float], None]
"""``progress(trials_done, trials_total, best_loss)``."""


@dataclass
class CalibrationResult:
    """What a calibration found: best values, the trial history and the best trial's fit."""

    problem: Problem
    best: dict[str, float]
    best_loss: float
    base_loss: float | None
    trials: pd.DataFrame
    fit: pd.DataFrame
    settings: dict[str, Any]
    out: Path | None = None


def target_errors(problem: Problem, simulated: np.ndarray) -> dict[str, float]:
    """Relative error of each target (RMS or mean absolute, as the spec says)."""
    obs = problem.observed
    rel = (simulated - obs["value"].to_numpy()) / obs["value"].abs().to_numpy()
    out = {}
    for name in problem.targets:
        r = rel[(obs["target"] == name).to_numpy()]
        if not np.isfinite(r).all():
            out[name] = math.inf
        elif problem.spec.loss == "mape":
            out[name] = float(np.mean(np.abs(r)))
        else:
            out[name] = float(np.sqrt(np.mean(r**2)))
    return out


def total_loss(problem: Problem, errors: dict[str, float]) -> float:
    """Weighted mean of the targets' errors."""
    w = problem.targets
    return float(sum(w[k] * errors[k] for k in w) / sum(w.values()))


def _distributions(problem: Problem) -> dict[str, Any]:
    optuna = require("optuna", "tmpsim calibrate")
    FloatDistribution = optuna.distributions.FloatDistribution
    IntDistribution = optuna.distributions.IntDistribution

    out: dict[str, Any] = {}
    for p in problem.parameters:
        if p.integer:
            out[p.name] = IntDistribution(int(math.ceil(p.low)), int(p.high), log=p.log)
        else:
            out[p.name] = FloatDistribution(p.low, p.high, log=p.log)
    return out


def _safe_run_trial(task: TrialTask) -> TrialOutput | str:
    """run_trial, with a failure returned as its message (the calibration goes on)."""
    try:
        return run_trial(task)
    except Exception as exc:  # noqa: BLE001 - recorded in the trial history
        return f"{type(exc).__name__}: {exc}"


def calibrate(
    scenario: str | Path,
    out: str | Path | None = None,
    *,
    trials: int | None = None,
    seed: int | None = None,
    scale: float | None = None,
    batch: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    observed_files: list[str | Path] | None = None,
    overrides: dict[str, Any] | list[str] | None = None,
    only: list[str] | None = None,
    holdout_from: dt.date | None = None,
    progress: ProgressFn | None = None,
) -> CalibrationResult:
    """Calibrate a scenario's declared free parameters; write the results to ``out`` if given.

    Arguments left as None take the values of the scenario's ``calibration:`` section.
    """
    optuna = require("optuna", "tmpsim calibrate")

    from tmpsim.experiments.runner import map_runs

    problem = build_problem(scenario, observed_files, overrides, only, holdout_from)
    spec = problem.spec
    n_trials = trials or spec.trials
    settings = {
        "scenario": str(scenario),
        "method": spec.method,
        "seed": spec.seed if seed is None else seed,
        "trials": n_trials,
        "batch": batch or spec.batch,
        "scale": scale or spec.scale,
        "seeds": list(spec.seeds),
        "loss": spec.loss,
        "observed": [str(f) for f in observed_files] if observed_files else "packaged",
        "only": list(only) if only else "all declared parameters",
        "holdout_from": spec.holdout_from.isoformat() if spec.holdout_from else None,
        "code": _code_version(),
    }
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=settings["seed"],
            n_startup_trials=min(spec.startup_trials, n_trials),
            multivariate=True,
        )
    study = optuna.create_study(direction="minimize", sampler=sampler)
    dists = _distributions(problem)
    base = problem.base_values()
    if all(d.low <= base[k] <= d.high for k, d in dists.items()):
        study.enqueue_trial(base)  # trial 0: the scenario as written
    rows: list[dict[str, Any]] = []
    best_values: dict[int, np.ndarray] = {}
    t_start = time.perf_counter()
    while len(rows) < n_trials:
        k = min(settings["batch"], n_trials - len(rows))
        asked = [study.ask(dists) for _ in range(k)]
        tasks = [
            trial_task(problem, t.number, t.params, s, settings["scale"])
            for t in asked
            for s in settings["seeds"]
        ]
        outputs = map_runs(_safe_run_trial, tasks, workers=workers, scheduler=scheduler)
        per_trial = len(settings["seeds"])
        for i, t in enumerate(asked):
            mine = outputs[i * per_trial : (i + 1) * per_trial]
            row: dict[str, Any] = {"trial": t.number, **t.params}
            errors = [o for o in mine if isinstance(o, str)]
            if errors:
                study.tell(t, state=optuna.trial.TrialState.FAIL)
                rows.append({**row, "loss": math.nan, "status": "failed", "error": errors[0]})
                continue
            simulated = mean_over_seeds(mine)  # type: ignore[arg-type]
            errs = target_errors(problem, simulated)
            loss = total_loss(problem, errs)
            study.tell(t, loss if math.isfinite(loss) else 1e9)
            best_values[t.number] = simulated
            seconds = sum(o.seconds for o in mine)  # type: ignore[union-attr]
            rows.append(
                {
                    **row,
                    "loss": loss,
                    "status": "ok",
                    "seconds": round(seconds, 2),
                    **{f"err:{n}": e for n, e in errs.items()},
                }
            )
        if out is not None:  # the history so far, to follow a long calibration
            Path(out).mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows).to_csv(Path(out) / "trials.csv", index=False)
        if progress is not None:
            done = [r["loss"] for r in rows if r["status"] == "ok"]
            progress(len(rows), n_trials, min(done) if done else math.nan)
    history = pd.DataFrame(rows)
    ok = history[history["status"] == "ok"]
    if ok.empty:
        raise RuntimeError(f"every calibration trial failed; first error: {rows[0].get('error')}")
    best_row = ok.loc[ok["loss"].idxmin()]
    best = {p.name: _plain(best_row[p.name]) for p in problem.parameters}
    fit = fit_table(problem, best_values[int(best_row["trial"])])
    base_rows = ok[ok["trial"] == 0]
    base_loss = float(base_rows["loss"].iloc[0]) if study.trials and not base_rows.empty else None
    settings["wall_seconds"] = round(time.perf_counter() - t_start, 1)
    result = CalibrationResult(
        problem, best, float(best_row["loss"]), base_loss, history, fit, settings
    )
    if out is not None:
        from tmpsim.calibration.outputs import write_outputs

        result.out = write_outputs(result, Path(out))
    return result


def _code_version() -> str:
    """Return the package version, with the git commit of the source tree if any."""
    import subprocess

    from tmpsim import __version__

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "."],
            cwd=Path(__file__).parents[1],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+git.{commit}" + (".dirty" if dirty else "")


def _plain(x: Any) -> float | int:
    return int(x) if float(x).is_integer() and isinstance(x, np.integer | int) else float(x)


def fit_table(problem: Problem, simulated: np.ndarray) -> pd.DataFrame:
    """Observed and simulated values of every target observation for one trial."""
    obs = problem.observed
    table = pd.DataFrame(
        {
            "target": obs["target"],
            "indicator": obs["indicator"],
            "origin": obs["origin"],
            "date": obs["date"].dt.date,
            "observed": obs["value"],
            "simulated": simulated,
        }
    )
    table["abs_error"] = (table["simulated"] - table["observed"]).abs()
    table["rel_error"] = (table["simulated"] - table["observed"]) / table["observed"].abs()
    table["weight"] = table["target"].map(problem.targets)
    return table
