"""Write a calibration's results: parameters, trial history, fit, calibrated scenario, figure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from tmpsim.scenario import load_scenario, scenario_hash, to_yaml

if TYPE_CHECKING:
    from tmpsim.calibration.optimise import CalibrationResult


def write_outputs(result: CalibrationResult, out: Path) -> Path:
    """Write the calibration folder; return its path.

    ``best.yaml`` (parameter values and the scenario key paths they set), ``trials.csv`` (every
    trial: parameters, loss, error per target), ``fit.csv`` (the best trial against each target
    observation), ``scenario.yaml`` (the scenario with the best values, variant not applied),
    ``calibration.json`` (settings and headline numbers) and ``diagnostics.png``. With a variant
    that starts earlier, ``variant.yaml`` is the calibrated scenario from the variant's start to the
    scenario's end (to validate the whole calibration window and forecast from the same runs).
    """
    out.mkdir(parents=True, exist_ok=True)
    problem = result.problem
    paths = {}
    for p in problem.parameters:
        value = result.best[p.name]
        for path in p.paths:
            paths[path] = float(problem_value(problem, path, value, p.scale))
    best = {
        "loss": round(result.best_loss, 6),
        "loss_of_scenario_as_written": (
            None if result.base_loss is None else round(result.base_loss, 6)
        ),
        "parameters": {k: float(v) for k, v in result.best.items()},
        "paths": paths,
    }
    (out / "best.yaml").write_text(yaml.safe_dump(best, sort_keys=False), encoding="utf-8")
    result.trials.to_csv(out / "trials.csv", index=False)
    result.fit.to_csv(out / "fit.csv", index=False)
    calibrated = load_scenario(
        problem.scenario(result.best, variant=False)
        | {"calibration": problem.raw.get("calibration")}
    )
    (out / "scenario.yaml").write_text(to_yaml(calibrated), encoding="utf-8")
    if problem.spec.variant.start is not None:
        data = problem.scenario(result.best, keep_end=True)
        data["name"] = f"{data['name']}-from-{problem.spec.variant.start.year}"
        data["description"] = (
            f"{data.get('description', '')} Calibrated parameters; starts "
            f"{problem.spec.variant.start} as the calibration runs do."
        ).strip()
        long = load_scenario(data)
        (out / "variant.yaml").write_text(to_yaml(long), encoding="utf-8")
    info = {
        **result.settings,
        "best_loss": result.best_loss,
        "base_loss": result.base_loss,
        "parameters": result.best,
        "targets": problem.targets,
        "scenario_hash": scenario_hash(calibrated),
    }
    (out / "calibration.json").write_text(
        json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8"
    )
    from tmpsim.calibration.figures import diagnostics_figure

    diagnostics_figure(result, out / "diagnostics.png")
    return out


def problem_value(problem, path: str, value: float, scale: bool) -> float:
    """The value a parameter gives one scenario path (scale parameters multiply the original)."""
    from tmpsim.scenario.paths import get_path

    return float(get_path(problem.raw, path)) * value if scale else value
