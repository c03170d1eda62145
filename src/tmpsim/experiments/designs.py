"""From an experiment spec to its points and runs: grid, Latin hypercube, Sobol and Morris designs.

Every point is checked before any run starts: for tmpsim models each point's overrides are applied
to the base scenario with :func:`tmpsim.load_scenario`, so an unknown path or a value the scenario
schema rejects (a probability of 1.3, a negative capacity) fails here, naming the parameter.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tmpsim.engine.rng import run_seed
from tmpsim.experiments.spec import ExperimentError, ExperimentSpec, Parameter
from tmpsim.extras import require
from tmpsim.scenario import ScenarioError, load_scenario
from tmpsim.scenario.paths import suggest
from tmpsim.uncertainty.posterior import Posterior, overrides_for


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: its index, point, replicate and seed."""

    run: int
    point: int
    rep: int
    seed: int
    draw: int | None = None
    """Row of the posterior whose parameter set the run uses (None: the scenario's values)."""


@dataclass
class Plan:
    """Everything an experiment will run, resolved and checked."""

    spec: ExperimentSpec
    scenario: dict[str, Any] | None
    points: list[dict[str, Any]]
    """Per point, parameter path -> value (the overrides that point adds)."""
    runs: list[RunSpec]
    sample: np.ndarray | None = None
    """The design matrix as SALib sees it (log-scaled parameters in log space); None for grids."""
    problem: dict[str, Any] | None = None
    """The SALib problem (names are the catalog column names)."""
    columns: dict[str, str] = field(default_factory=dict)
    draws: PosteriorDraws | None = None
    """Parameter sets drawn from the scenario's posterior, one per replicate."""

    def overrides(self, point: int) -> dict[str, Any]:
        """All overrides of a point: the experiment's fixed ones, then the point's parameters."""
        return {**self.spec.overrides, **self.points[point]}

    def run_overrides(self, run: RunSpec) -> dict[str, Any]:
        """A run's overrides: its posterior draw's parameter set, then the point's overrides."""
        drawn = self.draws.overrides(run.draw) if self.draws and run.draw is not None else {}
        return {**drawn, **self.overrides(run.point)}


def grid_values(param: Parameter) -> list[Any]:
    """Return the values a grid takes for one parameter."""
    if param.values is not None:
        return list(param.values)
    assert param.low is not None and param.high is not None and param.num is not None
    if param.log:
        vals = np.geomspace(param.low, param.high, param.num)
    else:
        vals = np.linspace(param.low, param.high, param.num)
    return _cast(param, vals)


def _cast(param: Parameter, vals: np.ndarray) -> list[Any]:
    if param.integer:
        assert param.low is not None and param.high is not None
        lo, hi = int(np.ceil(param.low)), int(np.floor(param.high))
        return [int(v) for v in np.clip(np.rint(vals), lo, hi)]
    return [float(v) for v in vals]


def salib_problem(spec: ExperimentSpec) -> dict[str, Any]:
    """Build the SALib problem for range designs (log parameters bounded in log space)."""
    names, bounds = [], []
    for path, p in spec.parameters.items():
        assert p.low is not None and p.high is not None
        names.append(spec.columns()[path])
        bounds.append([np.log(p.low), np.log(p.high)] if p.log else [p.low, p.high])
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def sample_matrix(spec: ExperimentSpec, problem: dict[str, Any]) -> np.ndarray:
    """Draw the design matrix (rows = points, SALib's space) from the experiment seed."""
    d, n = spec.design, spec.design.samples
    assert n is not None
    if d.type == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=problem["num_vars"], seed=spec.seed).random(n)
        b = np.asarray(problem["bounds"], dtype=float)
        return b[:, 0] + unit * (b[:, 1] - b[:, 0])
    if d.type == "sobol":
        sobol = require("SALib.sample.sobol", "the sobol design")
        return sobol.sample(problem, n, calc_second_order=d.second_order, seed=spec.seed)
    if d.type == "morris":
        morris = require("SALib.sample.morris", "the morris design")
        return morris.sample(problem, n, num_levels=d.levels, seed=spec.seed)
    raise ValueError(f"not a sampled design: {d.type}")


def make_points(
    spec: ExperimentSpec,
) -> tuple[list[dict[str, Any]], np.ndarray | None, dict | None]:
    """Return the points (path -> value), with the SALib sample and problem for range designs."""
    if not spec.parameters:
        return [{}], None, None
    paths = list(spec.parameters)
    if spec.design.type == "grid":
        axes = [grid_values(spec.parameters[p]) for p in paths]
        combos = itertools.product(*axes)
        return [dict(zip(paths, combo, strict=True)) for combo in combos], None, None
    problem = salib_problem(spec)
    x = sample_matrix(spec, problem)
    columns = []
    for j, path in enumerate(paths):
        p = spec.parameters[path]
        col = np.exp(x[:, j]) if p.log else x[:, j]
        if p.log:
            col = np.clip(col, p.low, p.high)  # exp(log(x)) may round a hair outside the range
        columns.append(_cast(p, col))
    points = [dict(zip(paths, row, strict=True)) for row in zip(*columns, strict=True)]
    return points, x, problem


def resolve_scenario(
    spec: ExperimentSpec, base_dir: Path | None, source: str = "<experiment>"
) -> dict[str, Any] | None:
    """Return the base scenario, fully resolved (every default filled), as a plain mapping.

    A path is looked up relative to the experiment file's folder first. Resolving here means
    remote Dask workers need no copy of the scenario file, and every valid parameter path exists.
    An error names the experiment file (``source``) before the scenario's own message.
    """
    if not spec.uses_tmpsim:
        return None
    src: Any = spec.scenario
    if isinstance(src, str) and base_dir is not None and (base_dir / src).is_file():
        src = base_dir / src
    try:
        return load_scenario(src).model_dump(mode="python")
    except ScenarioError as exc:
        raise ExperimentError(f"{source}: scenario: {exc}") from None


def check_points(
    spec: ExperimentSpec, scenario: dict[str, Any], points: list[dict[str, Any]], source: str
) -> None:
    """Apply each point's overrides to the scenario; the first failure names its key."""
    try:
        load_scenario(scenario, spec.overrides)
    except ScenarioError as exc:
        raise ExperimentError(f"{source}: overrides: {_reason(exc)}") from None
    # Each parameter alone at its ends first, so that the error names the parameter.
    for path, p in spec.parameters.items():
        probes = grid_values(p) if p.values is not None else [p.low, p.high]
        for value in probes:
            if p.integer and value is not None and p.values is None:
                value = int(np.ceil(value)) if value == p.low else int(np.floor(value))
            try:
                load_scenario(scenario, {**spec.overrides, path: value})
            except ScenarioError as exc:
                raise ExperimentError(
                    f"{source}: parameters.{path}: value {value!r} rejected: {_reason(exc)}"
                ) from None
    if not spec.parameters:
        return
    for i, pt in enumerate(points):
        try:
            load_scenario(scenario, {**spec.overrides, **pt})
        except ScenarioError as exc:
            keys = ", ".join(f"{k}={v!r}" for k, v in pt.items())
            raise ExperimentError(
                f"{source}: point {i} ({keys}) rejected: {_reason(exc)}"
            ) from None


def check_outputs(spec: ExperimentSpec, scenario: dict[str, Any], source: str) -> None:
    """Refuse outputs no run would produce, before any run starts.

    Origins are checked against the scenario. Summary figures and series metrics are checked
    against a probe: the base scenario run at the smallest scale (about a second).
    """
    known = ["all", *scenario["origins"]]
    unknown = [o for o in spec.outputs.origins or [] if o not in known]
    if unknown:
        raise ExperimentError(
            f"{source}: outputs.origins: {', '.join(map(repr, unknown))} not an origin of the "
            f"scenario ({', '.join(known)})"
        )
    if spec.outputs.summary is None and spec.outputs.series is None:
        return
    from tmpsim.api import run as run_scenario
    from tmpsim.scenario.bounds import MIN_SCALE

    probe = run_scenario(
        load_scenario(scenario, spec.overrides), seed=spec.seed, scale=MIN_SCALE, agents=False
    )
    for key, have in (
        ("summary", sorted(probe.summary)),
        ("series", sorted(probe.series["metric"].unique())),
    ):
        asked = getattr(spec.outputs, key) or []
        missing = [name for name in asked if name not in have]
        if missing:
            hint = suggest(missing[0], have)
            raise ExperimentError(
                f"{source}: outputs.{key}: no {'figure' if key == 'summary' else 'metric'} "
                f"{missing[0]!r}{hint} (available: {', '.join(have)})"
            )


def _reason(exc: ScenarioError) -> str:
    text = str(exc)
    return text.split(": ", 1)[1] if text.startswith("<") else text


def make_plan(
    spec: ExperimentSpec, base_dir: Path | None = None, source: str = "<experiment>"
) -> Plan:
    """Resolve the scenario, draw the points, check them all, and number the runs."""
    scenario = resolve_scenario(spec, base_dir, source)
    points, sample, problem = make_points(spec)
    if scenario is not None:
        check_points(spec, scenario, points, source)
        check_outputs(spec, scenario, source)
    draws = plan_draws(spec, base_dir, scenario, source)
    runs = []
    for point in range(len(points)):
        for rep in range(spec.seeds):
            index = point * spec.seeds + rep
            seed = run_seed(spec.seed, rep if spec.common_random_numbers else index)
            draw = int(draws.rows[rep]) if draws is not None else None
            runs.append(RunSpec(run=index, point=point, rep=rep, seed=seed, draw=draw))
    return Plan(spec, scenario, points, runs, sample, problem, spec.columns(), draws)


@dataclass
class PosteriorDraws:
    """The posterior an experiment draws from, and the row drawn for each replicate."""

    posterior: Posterior
    path: Path
    rows: np.ndarray
    """Posterior row of replicate r (from the experiment seed's ``posterior-draws`` stream)."""
    parameters: list[Any]
    scenario: dict[str, Any]

    def overrides(self, row: int) -> dict[str, Any]:
        """Scenario overrides that apply posterior row ``row``."""
        return overrides_for(self.posterior.row(row), self.parameters, self.scenario)

    def describe(self) -> dict[str, Any]:
        """What the bands of this experiment show, for its folder and its printout."""
        return {
            "bands": "parameter and stochastic uncertainty",
            "posterior": str(self.path),
            "posterior_sha256": file_digest(self.path),
            "posterior_metadata": self.posterior.metadata,
            "draws": [int(r) for r in self.rows],
        }


SEED_NOISE_ONLY = {"bands": "stochastic (seed) uncertainty only", "posterior": None}


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def scenario_file(spec: ExperimentSpec, base_dir: Path | None) -> Path | None:
    """The experiment's scenario file (None when the scenario is given inline)."""
    from tmpsim.scenario.loader import load_raw

    src = spec.scenario
    if not isinstance(src, str):
        return None
    if base_dir is not None and (base_dir / src).is_file():
        return base_dir / src
    return Path(load_raw(src)[1])


def plan_draws(
    spec: ExperimentSpec, base_dir: Path | None, scenario: dict[str, Any] | None, source: str
) -> PosteriorDraws | None:
    """Load the scenario's posterior and draw one parameter set per replicate, if asked for.

    The experiment's overrides apply first (``--set calibration.posterior=FILE`` names one; a
    scale parameter multiplies the overridden value).
    """
    if spec.posterior is False or scenario is None:
        return None
    if spec.overrides:
        scenario = load_scenario(scenario, spec.overrides).model_dump(mode="python")
    calibration = scenario.get("calibration") or {}
    reference = calibration.get("posterior")
    if reference is None:
        if spec.posterior:
            raise ExperimentError(
                f"{source}: posterior: true, but the scenario has no calibration.posterior"
            )
        return None
    from tmpsim.calibration.spec import CalibrationSpec
    from tmpsim.uncertainty.posterior import (
        PosteriorError,
        draw_indices,
        load_posterior,
        posterior_path,
    )

    file = scenario_file(spec, base_dir)
    path = posterior_path(file if file is not None else Path.cwd() / "x", reference)
    parameters = CalibrationSpec.model_validate(calibration).parameters
    try:
        posterior = load_posterior(path, parameters)
    except PosteriorError as exc:
        raise ExperimentError(
            f"{source}: scenario's calibration.posterior: {exc} (set calibration.posterior to "
            "the file, or run without one: --no-posterior)"
        ) from None
    rows = draw_indices(posterior, spec.seeds, spec.seed)
    draws = PosteriorDraws(posterior, path, rows, parameters, scenario)
    for row in sorted(set(rows.tolist())):
        try:
            load_scenario(scenario, draws.overrides(row))
        except ScenarioError as exc:
            raise ExperimentError(
                f"{source}: posterior row {row} of {path} rejected: {_reason(exc)}"
            ) from None
    return draws
