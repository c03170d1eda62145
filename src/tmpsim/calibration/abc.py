"""ABC-SMC (pyabc) over a scenario's free parameters, its simulations fanned out by ``map_runs``.

Why ABC-SMC: the simulator has no likelihood we can write down, a dozen or more bounded parameters
of which several are weakly identified, and we want a weighted sample of parameter sets to run
ensembles over, not only a region where the fit is not implausible (history matching) nor one best
point (TPE). pyabc gives the sequential Monte Carlo machinery (adaptive tolerance, transition
kernels, importance weights, a record of each generation); this module only plugs the project's
runner in as its sampler and the calibration loss in as its distance.

Reproducibility: every proposal ``i`` of a sampling round draws its parameters and its simulation
seed from a NumPy state seeded by ``SeedSequence([seed, stream, round, i])``; proposals are made
in this process in batches whose size depends only on earlier results, only their simulations go
to the workers, and a generation keeps the first ``n`` accepted in proposal order. The posterior
is then the same on any number of workers, and workers need tmpsim but not pyabc.

The model side is anything with ``parameters``, ``observed``, ``simulate(values, seed)`` and
``distance(simulated)`` (:class:`AbcModel`): the scenario (:class:`ScenarioModel`) or a toy with a
known posterior (tests).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from tmpsim.calibration.problem import CalibrationError, Problem, build_problem
from tmpsim.calibration.spec import AbcSettings, FreeParameter
from tmpsim.uncertainty.posterior import Posterior, write_posterior

FAILED_DISTANCE = 1e9
"""Distance of a proposal whose simulation failed or gave no finite value: always rejected."""
STREAM = zlib.crc32(b"abc-smc")

ProgressFn = Callable[[int, float, int], None]
"""``progress(generation, epsilon, evaluations)`` after each generation."""


class AbcModel(Protocol):
    """What ABC-SMC calibrates: free parameters, observations, a simulator and a distance."""

    parameters: list[FreeParameter]
    observed: np.ndarray

    def simulate(self, values: dict[str, float], seed: int) -> np.ndarray:
        """Simulated values of the observations for one parameter set and simulation seed."""
        ...

    def distance(self, simulated: np.ndarray) -> float:
        """Distance of a simulation to the observations (finite, >= 0)."""
        ...


@dataclass
class ScenarioModel:
    """A scenario's calibration problem as an ABC model: one simulation per proposal."""

    problem: Problem
    scale: float

    @property
    def parameters(self) -> list[FreeParameter]:
        """The declared free parameters (after ``--only``)."""
        return self.problem.parameters

    @property
    def observed(self) -> np.ndarray:
        """The target observations' values."""
        return self.problem.observed["value"].to_numpy(dtype=float)

    def simulate(self, values: dict[str, float], seed: int) -> np.ndarray:
        """Run the scenario with the values at one seed; the simulated target observations."""
        from tmpsim.calibration.trial import run_trial, trial_task

        task = trial_task(self.problem, 0, values, seed, self.scale)
        return np.asarray(run_trial(task).values, dtype=float)

    def distance(self, simulated: np.ndarray) -> float:
        """The calibration loss: weighted mean of the targets' relative errors."""
        from tmpsim.calibration.optimise import target_errors, total_loss

        return total_loss(self.problem, target_errors(self.problem, simulated))


# -- pyabc adapters --------------------------------------------------------------------------
def to_internal(p: FreeParameter, value: float) -> float:
    """Coordinates pyabc works in: log for log-scaled parameters (kernels then move by factors)."""
    return math.log(value) if p.log else float(value)


def from_internal(p: FreeParameter, x: float) -> float:
    """Inverse of :func:`to_internal`, clipped to the declared range, rounded if integer."""
    v = math.exp(x) if p.log else float(x)
    v = min(max(v, p.low), p.high)
    return float(round(v)) if p.integer else v


class _PyabcSimulator:
    """pyabc model: parameters -> {"y": simulated}, in two passes over each batch of proposals.

    Pass ``record`` notes each proposal's parameter set and simulation seed (drawn from the seeded
    global state) and answers "failed"; the simulations then run on the workers; pass ``replay``
    repeats the proposals from the same states and answers with their results. The workers thus
    need only the model (not pyabc), and the proposals never leave this process.
    """

    def __init__(self, model: AbcModel, held: dict[str, float] | None = None) -> None:
        self.model = model
        # Values of the parameters not proposed (prior_only): the targets do not depend on them.
        self.held = held or {}
        self.mode = "record"
        self.recorded: list[tuple[dict[str, float], int]] = []
        self.results: list[np.ndarray] = []
        self.pending: list[np.ndarray] = []

    def __call__(self, pars: dict[str, float]) -> dict[str, np.ndarray]:
        values = {
            p.name: self.held[p.name] if p.name in self.held else from_internal(p, pars[p.name])
            for p in self.model.parameters
        }
        seed = int(np.random.randint(0, 2**31 - 1))
        if self.mode == "record":
            self.recorded.append((values, seed))
            return {"y": np.full(len(self.model.observed), np.nan)}
        want, want_seed = self.recorded[len(self.results) - len(self.pending)]
        if want != values or want_seed != seed:
            raise RuntimeError(
                "ABC-SMC proposals differ between passes: the sampling is not seeded"
            )
        return {"y": self.pending.pop(0)}


class _PyabcDistance:
    def __init__(self, model: AbcModel) -> None:
        self.model = model

    def __call__(self, x: dict[str, np.ndarray], x0: dict[str, np.ndarray]) -> float:
        y = x["y"]
        if not np.isfinite(y).any():
            return FAILED_DISTANCE
        d = float(self.model.distance(y))
        return d if math.isfinite(d) else FAILED_DISTANCE


def simulate_proposal(item: tuple[AbcModel, dict[str, float], int]) -> np.ndarray:
    """One simulation of a proposal (worker side); a failure gives NaN (a rejected proposal)."""
    model, values, seed = item
    try:
        return np.asarray(model.simulate(values, seed), dtype=float)
    except Exception:  # noqa: BLE001 - a failed simulation is a rejected proposal
        return np.full(len(model.observed), np.nan)


def _seeded_call(fn: Callable[[], Any], entropy: tuple[int, ...]) -> Any:
    """Call ``fn`` with NumPy's and Python's global random states seeded from ``entropy``."""
    np_state, py_state = np.random.get_state(), random.getstate()
    state = np.random.SeedSequence(list(entropy)).generate_state(4)
    np.random.seed(state)
    random.seed(int(state[0]))
    try:
        return fn()
    finally:  # the caller's random state is left as it was
        np.random.set_state(np_state)
        random.setstate(py_state)


def map_runs_sampler(
    simulator: _PyabcSimulator,
    seed: int,
    batch: int,
    workers: int | None,
    scheduler: str | None,
) -> Any:
    """A pyabc sampler that runs the simulations through ``tmpsim.experiments.runner.map_runs``."""
    from pyabc.sampler import Sampler

    from tmpsim.experiments.runner import map_runs

    class MapRunsSampler(Sampler):
        """Batches of seeded proposals; the first ``n`` accepted in proposal order are kept."""

        def sample_until_n_accepted(
            self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None
        ):
            # The round is the generation (the prior's calibration sample is t = -1), not a
            # count of calls: a run resumed from its database proposes what it would have.
            round_ = t + 2
            sample = self._create_empty_sample()
            accepted = evaluated = 0
            while accepted < n and evaluated < max_eval:
                # Enough proposals for the acceptances still needed at the rate seen so far
                # (a function of earlier results only, never of the worker count).
                rate = (accepted + 1) / (evaluated + 1)
                size = max(batch, math.ceil((n - accepted) / rate))
                if math.isfinite(max_eval):
                    size = min(size, int(max_eval) - evaluated)
                entropies = [(seed, STREAM, round_, evaluated + i) for i in range(size)]
                simulator.mode, simulator.recorded = "record", []
                for e in entropies:
                    _seeded_call(simulate_one, e)
                if len(simulator.recorded) != size:
                    raise RuntimeError("each ABC-SMC proposal must call the model once")
                items = [(simulator.model, v, s) for v, s in simulator.recorded]
                simulator.results = map_runs(simulate_proposal, items, workers, scheduler)
                simulator.mode, simulator.pending = "replay", list(simulator.results)
                for e in entropies:
                    particle = _seeded_call(simulate_one, e)
                    evaluated += 1
                    sample.append(particle)
                    if particle.accepted:
                        accepted += 1
                        if accepted == n:
                            break
            self.nr_evaluations_ = evaluated
            if sample.n_accepted < n:
                sample.ok = False
            return sample

    return MapRunsSampler()


@dataclass
class AbcResult:
    """A posterior and the record of the generations that made it."""

    posterior: Posterior
    generations: pd.DataFrame
    """t, epsilon, evaluations, acceptance, effective size, seconds."""


def split_prior_only(
    params: list[FreeParameter], prior_only: list[str], section: str = "abc"
) -> tuple[list[FreeParameter], list[FreeParameter]]:
    """The parameters proposed and those drawn from their prior; unknown names refused.

    ``section``, the calibration section the list came from, is named in the error.
    """
    names = {p.name for p in params}
    unknown = [n for n in prior_only if n not in names]
    if unknown:
        raise CalibrationError(
            f"calibration.{section}.prior_only: {', '.join(unknown)} not among the free "
            f"parameters ({', '.join(sorted(names))})"
        )
    held = set(prior_only)
    return [p for p in params if p.name not in held], [p for p in params if p.name in held]


def with_prior_draws(
    values: pd.DataFrame, params: list[FreeParameter], held: list[FreeParameter], seed: int
) -> pd.DataFrame:
    """``values`` with a column per held parameter, independent draws from its prior.

    The prior is uniform on the range (on the log scale for ``log`` parameters), as in the SMC;
    the draws come from their own stream of ``seed``, so the posterior stays reproducible.
    Columns follow the order of ``params``.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM, zlib.crc32(b"prior-only")]))
    out = values.copy()
    for p in held:
        x = rng.uniform(to_internal(p, p.low), to_internal(p, p.high), size=len(values))
        out[p.name] = [from_internal(p, v) for v in x]
    return out[[p.name for p in params]]


def prior_middle(p: FreeParameter) -> float:
    """The middle of a parameter's prior range (on the log scale for ``log`` parameters)."""
    return from_internal(p, (to_internal(p, p.low) + to_internal(p, p.high)) / 2)


def run_abc(
    model: AbcModel,
    settings: AbcSettings,
    seed: int,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    database: Path | None = None,
    metadata: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    resume: bool = False,
) -> AbcResult:
    """Run ABC-SMC on ``model``; return the last generation as a posterior, with its record.

    Priors are uniform on each parameter's range (on the log scale for ``log`` parameters).
    With ``resume``, sampling continues in ``database`` after its last finished generation
    (the proposals are those an uninterrupted run makes); a missing, foreign or complete
    database is refused with a :class:`CalibrationError`.
    """
    import logging

    import pyabc

    for name in ("ABC", "Sampler", "Epsilon", "Distance", "Acceptor", "History", "Transition"):
        logging.getLogger(f"ABC.{name}" if name != "ABC" else name).setLevel(logging.WARNING)
    params = model.parameters
    proposed, held = split_prior_only(params, settings.prior_only)
    priors = {}
    for p in proposed:
        lo, hi = to_internal(p, p.low), to_internal(p, p.high)
        priors[p.name] = pyabc.RV("uniform", lo, hi - lo)
    simulator = _PyabcSimulator(model, {p.name: prior_middle(p) for p in held})
    abc = pyabc.ABCSMC(
        simulator,
        pyabc.Distribution(**priors),
        _PyabcDistance(model),
        population_size=settings.population,
        transitions=pyabc.MultivariateNormalTransition(scaling=settings.kernel_scaling),
        eps=pyabc.QuantileEpsilon(
            initial_epsilon=(
                "from_sample" if settings.first_tolerance is None else settings.first_tolerance
            ),
            alpha=settings.quantile,
        ),
        sampler=map_runs_sampler(simulator, seed, settings.batch, workers, scheduler),
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = database or Path(tmp) / "abc.db"
        t0 = time.perf_counter()
        observed = np.asarray(model.observed, dtype=float)
        if resume:
            done = _load_for_resume(abc, db, proposed, observed, settings.generations)
        else:
            done = 0
            if db.exists():
                db.unlink()  # a fresh history: a rerun must not append to an old one
            db.parent.mkdir(parents=True, exist_ok=True)
            abc.new(f"sqlite:///{db}", {"y": observed})
        # pyabc counts max_nr_populations from the start of this call, not of the run.
        history = abc.run(
            minimum_epsilon=settings.min_epsilon,
            max_nr_populations=settings.generations - done,
            min_acceptance_rate=settings.min_acceptance,
        )
        seconds = time.perf_counter() - t0
        generations, values, w = read_history(history, proposed, settings.population)
        values = with_prior_draws(values, params, held, seed)
    if progress is not None:
        for row in generations.itertuples():
            progress(int(row.t), float(row.epsilon), int(row.evaluations))
    meta = {
        **(metadata or {}),
        "method": f"abc-smc (pyabc {pyabc.__version__})",
        "generations": len(generations),
        "population": settings.population,
        "epsilon": [float(e) for e in generations["epsilon"]],
        "evaluations": int(generations["evaluations"].sum()),
        "seed": seed,
        "batch": settings.batch,
        "quantile": settings.quantile,
        "first_tolerance": settings.first_tolerance,
        "kernel_scaling": settings.kernel_scaling,
        "prior_only": [p.name for p in held],
        "wall_seconds": round(seconds, 1),
    }
    meta.setdefault("distance", "model distance")
    meta.setdefault("window", None)
    meta.setdefault("scenario", None)
    return AbcResult(Posterior(values, w / w.sum(), meta, "<abc-smc>"), generations)


def _load_for_resume(
    abc: Any, db: Path | None, proposed: list[FreeParameter], observed: np.ndarray, generations: int
) -> int:
    """Load run 1 of ``db`` into ``abc`` to continue it; return its finished generations.

    Refused (:class:`CalibrationError` naming the file) if the database is missing, holds no
    finished generation, was made with other observations or other sampled parameters, or
    already has ``generations`` generations.
    """
    if db is None or not db.exists():
        raise CalibrationError(f"{db}: cannot resume: no such ABC-SMC database")
    abc.load(f"sqlite:///{db}", 1)
    history = abc.history
    if history.max_t < 0:
        raise CalibrationError(f"{db}: cannot resume: no finished generation to continue from")
    stored_y = np.asarray(history.observed_sum_stat().get("y", []), dtype=float)
    if stored_y.shape != observed.shape or not np.array_equal(stored_y, observed, equal_nan=True):
        raise CalibrationError(
            f"{db}: cannot resume: it was made with other observations (another scenario, "
            "window or observed file)"
        )
    stored = list(history.get_distribution(m=0, t=history.max_t)[0].columns)
    if sorted(stored) != sorted(p.name for p in proposed):
        raise CalibrationError(
            f"{db}: cannot resume: its parameters ({', '.join(sorted(stored))}) are not the "
            f"ones sampled now ({', '.join(sorted(p.name for p in proposed))})"
        )
    done = history.max_t + 1
    if done >= generations:
        raise CalibrationError(
            f"{db}: cannot resume: the run is complete ({done} of {generations} generations)"
        )
    return done


def read_history(
    history: Any, params: list[FreeParameter], population: int, t: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The record of generations 0..t and generation t's parameter sets and weights.

    ``history`` is a ``pyabc.History``; ``t`` defaults to its last generation (a run stopped
    early still has every finished generation in its database).
    """
    t = history.max_t if t is None else t
    pops = history.get_all_populations()
    pops = pops[(pops["t"] >= 0) & (pops["t"] <= t)].reset_index(drop=True)
    ess = []
    for g in pops["t"]:
        _, w = history.get_distribution(m=0, t=int(g))
        ess.append(float(1.0 / np.sum((w / w.sum()) ** 2)))
    generations = pd.DataFrame(
        {
            "t": pops["t"].astype(int),
            "epsilon": pops["epsilon"].astype(float),
            "evaluations": pops["samples"].astype(int),
            "acceptance": population / pops["samples"].astype(float),
            "effective_size": ess,
        }
    )
    frame, weights = history.get_distribution(m=0, t=t)
    values = pd.DataFrame(
        {p.name: [from_internal(p, x) for x in frame[p.name].to_numpy()] for p in params}
    )
    return generations, values, np.asarray(weights, dtype=float)


def write_result(result: AbcResult, out: Path, problem: Problem) -> None:
    """Write ``posterior.parquet``, ``generations.csv`` and ``posterior.png`` to ``out``."""
    from tmpsim.calibration.figures import posterior_figure

    write_posterior(result.posterior, out / "posterior.parquet")
    result.generations.to_csv(out / "generations.csv", index=False)
    post, gens = result.posterior, result.generations
    title = (
        f"Posterior of {post.metadata.get('scenario')}: {len(post)} sets "
        f"(effective {post.effective_size():.0f}), {len(gens)} generations, "
        f"tolerance {gens['epsilon'].iloc[-1]:.4f}"
    )
    log = {p.name for p in problem.parameters if p.log}
    posterior_figure(post, title, out / "posterior.png", log)


def posterior_metadata(
    problem: Problem,
    scenario: str | Path,
    scale: float,
    observed_files: list[str | Path] | None,
) -> dict[str, Any]:
    """What a posterior file records of the problem it was fitted on, and the model's version."""
    from tmpsim.calibration.optimise import _code_version

    spec, obs = problem.spec, problem.observed
    return {
        "scenario": str(problem.raw.get("name", scenario)),
        "scenario_file": problem.source,
        "window": [obs["date"].min().date().isoformat(), obs["date"].max().date().isoformat()],
        "holdout_from": spec.holdout_from.isoformat() if spec.holdout_from else None,
        "distance": f"weighted mean over targets of the {spec.loss} relative error",
        "targets": problem.targets,
        "scale": scale,
        "log_parameters": [p.name for p in problem.parameters if p.log],
        "observed": [str(f) for f in observed_files] if observed_files else "packaged",
        "code": _code_version(),
    }


def calibrate_posterior(
    scenario: str | Path,
    out: str | Path | None = None,
    *,
    population: int | None = None,
    generations: int | None = None,
    seed: int | None = None,
    scale: float | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    observed_files: list[str | Path] | None = None,
    overrides: dict[str, Any] | list[str] | None = None,
    only: list[str] | None = None,
    holdout_from: dt.date | None = None,
    progress: ProgressFn | None = None,
    resume: bool = False,
) -> AbcResult:
    """ABC-SMC posterior of a scenario's declared free parameters; written to ``out`` if given.

    ``out/posterior.parquet`` is the posterior file (copy it next to the scenario and point
    ``calibration.posterior`` at it), ``out/generations.csv`` the record of the generations,
    ``out/posterior.png`` its marginals and pairs.
    """
    problem = build_problem(scenario, observed_files, overrides, only, holdout_from)
    spec = problem.spec
    updates = {k: v for k, v in (("population", population), ("generations", generations)) if v}
    settings = spec.abc.model_copy(update=updates)
    meta = posterior_metadata(problem, scenario, scale or spec.scale, observed_files)
    db = Path(out) / "abc.db" if out is not None else None
    result = run_abc(
        ScenarioModel(problem, scale or spec.scale),
        settings,
        spec.seed if seed is None else seed,
        workers=workers,
        scheduler=scheduler,
        database=db,
        metadata=meta,
        progress=progress,
        resume=resume,
    )
    if out is not None:
        write_result(result, Path(out), problem)
    return result
