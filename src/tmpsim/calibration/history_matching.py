"""History matching with an emulator of the loss, then rejection ABC in the space it leaves.

Why: in the flagship's twenty-odd dimensions the prior's best tenth (rejection ABC) is nearly
as wide as the prior, and ABC-SMC's importance weights collapse to a few particles
(docs/calibration.md). History matching (Craig et al. 1997; Vernon et al. 2010; Andrianakis et
al. 2015) rules out, wave after wave, the regions where an emulator of the loss says, with a wide
margin, that the loss lies above the tolerance; the next wave's runs go only where an acceptable
fit is still possible (the "not ruled out yet" space, NROY). The posterior is rejection ABC over
every run of every wave: the parameter sets whose loss is at most the tolerance, equally weighted.
Each wave draws from the prior restricted to the NROY space, and that space keeps every point
whose loss can be below the tolerance (up to the cutoff's margin), so an accepted set is a draw
from the prior given a loss at most the tolerance, rejection ABC's target, at a fraction of its
runs and with no importance weights to collapse.

The emulator is scikit-learn's Gaussian process (an anisotropic Matérn kernel plus a white-noise
term for the simulation's own noise) around a linear trend, in the unit cube of the prior (log
scale for ``log`` parameters). It emulates ``log(loss + offset)``, the offset the first wave's
10% quantile of the loss: like a logarithm far from the best fits (the loss of the prior's worst
draws is many times that of its best), smooth near a loss of zero, where a logarithm would fall
without bound (a toy's loss can reach zero; a model with structural error cannot).

Reproducibility: wave ``k`` draws its points and their simulation seeds from
``SeedSequence([seed, stream, k])``; the simulations run through
:func:`tmpsim.experiments.runner.map_runs` and come back in order, and the emulators are fitted
with a fixed ``random_state``: the posterior is the same on any number of workers. Runs are saved
in chunks as they finish; a resumed calibration reads them back (checking they are the runs it
would make) and goes on.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tmpsim.calibration.abc import (
    FAILED_DISTANCE,
    AbcModel,
    from_internal,
    prior_middle,
    simulate_proposal,
    split_prior_only,
    to_internal,
    with_prior_draws,
)
from tmpsim.calibration.problem import CalibrationError
from tmpsim.calibration.spec import FreeParameter, HistoryMatchingSettings
from tmpsim.uncertainty.posterior import Posterior

STREAM = zlib.crc32(b"history-matching")
SCREEN_ROUNDS = 200
"""Most rounds of ``settings.screen`` prior draws screened for one wave's points."""

ProgressFn = Callable[[str], None]


# -- the emulator ----------------------------------------------------------------------------
@dataclass
class Emulator:
    """``log(loss + offset)`` as a linear trend plus a Gaussian process, on the unit cube."""

    trend: np.ndarray
    gp: Any
    offset: float
    inflation: float = 1.0
    """Factor on the standard deviation, from the cross-validation (:meth:`validate`)."""

    @classmethod
    def fit(cls, u: np.ndarray, loss: np.ndarray, offset: float, seed: int) -> Emulator:
        """Fit to runs at ``u`` (rows in [0, 1]^d) with losses ``loss`` (finite, >= 0)."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        y = np.log(loss + offset)
        design = np.column_stack([np.ones(len(u)), u])
        trend = np.linalg.lstsq(design, y, rcond=None)[0]
        d = u.shape[1]
        kernel = ConstantKernel(1.0, (1e-3, 1e2)) * Matern(
            length_scale=np.full(d, 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5
        ) + WhiteKernel(1e-2, (1e-6, 1.0))
        gp = GaussianProcessRegressor(
            kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed
        )
        with warnings.catch_warnings():
            # Length scales at their upper bound are parameters the loss does not depend on.
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(u, y - design @ trend)
        return cls(trend, gp, offset)

    def validate(
        self, u: np.ndarray, loss: np.ndarray, tolerance: float, cutoff: float, seed: int
    ) -> float:
        """Widen the emulator until no good run would have been ruled out; the factor.

        Five-fold cross-validation with the fitted kernel (the hyperparameters kept): each run
        is predicted from the others. A Gaussian process pulls the lowest losses up toward the
        average, so the runs that matter, those within the tolerance (or the best 5% while
        fewer are), are the worst predicted. The standard deviation is multiplied by the factor
        that brings the largest of their cross-validated implausibilities down to the cutoff
        (at least 1).
        """
        from sklearn.gaussian_process import GaussianProcessRegressor

        good = loss <= max(tolerance, float(np.quantile(loss, 0.05)))
        folds = np.random.default_rng(seed).permutation(len(u)) % 5
        worst = 0.0
        for k in range(5):
            train, test = folds != k, (folds == k) & good
            if not test.any():
                continue
            design = np.column_stack([np.ones(train.sum()), u[train]])
            y = self.transform(loss[train])
            trend = np.linalg.lstsq(design, y, rcond=None)[0]
            gp = GaussianProcessRegressor(self.gp.kernel_, optimizer=None, normalize_y=True)
            gp.fit(u[train], y - design @ trend)
            m, sd = gp.predict(u[test], return_std=True)
            m = m + trend[0] + u[test] @ trend[1:]
            worst = max(worst, float(np.max((m - self.transform(tolerance)) / sd)))
        self.inflation = max(1.0, worst / cutoff)
        return self.inflation

    def predict(self, u: np.ndarray, chunk: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the emulated ``log(loss + offset)`` (noise included)."""
        mean, sd = np.empty(len(u)), np.empty(len(u))
        for lo in range(0, len(u), chunk):
            part = u[lo : lo + chunk]
            m, s = self.gp.predict(part, return_std=True)
            mean[lo : lo + chunk] = m + self.trend[0] + part @ self.trend[1:]
            sd[lo : lo + chunk] = s * self.inflation
        return mean, sd

    def implausibility(self, u: np.ndarray, tolerance: float) -> np.ndarray:
        """How many standard deviations the prediction lies above the tolerance's value."""
        mean, sd = self.predict(u)
        return (mean - self.transform(tolerance)) / sd

    def transform(self, loss: np.ndarray | float) -> np.ndarray | float:
        """The emulated scale: ``log(loss + offset)``."""
        return np.log(np.asarray(loss) + self.offset)


def not_ruled_out(
    emulators: list[Emulator], u: np.ndarray, tolerance: float, cutoff: float
) -> np.ndarray:
    """Mask of the points no wave's emulator rules out (implausibility at most ``cutoff``)."""
    keep = np.ones(len(u), dtype=bool)
    for em in emulators:
        if keep.any():
            keep[keep] = em.implausibility(u[keep], tolerance) <= cutoff
    return keep


# -- runs ------------------------------------------------------------------------------------
@dataclass
class Runs:
    """Every simulated point: its wave, unit-cube coordinates, simulation seed and loss."""

    wave: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    u: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    seed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    loss: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def add(self, wave: int, u: np.ndarray, seed: np.ndarray, loss: np.ndarray) -> None:
        """Append one wave's runs."""
        self.wave = np.concatenate([self.wave, np.full(len(u), wave, dtype=np.int64)])
        self.u = u.copy() if self.u.size == 0 else np.vstack([self.u, u])
        self.seed = np.concatenate([self.seed, seed])
        self.loss = np.concatenate([self.loss, loss])


def _chunk_path(folder: Path, wave: int, index: int) -> Path:
    return folder / "runs" / f"wave-{wave}-{index:04d}.parquet"


def _claim_folder(
    folder: Path, model: AbcModel, settings: HistoryMatchingSettings, seed: int
) -> None:
    """Write, or check, what the runs saved in ``folder`` were made for.

    The parameters and their ranges, the observations, the scale, the seed and every setting
    but the number of waves (more waves continue a finished calibration): saved runs of another
    problem would otherwise be read back as this one's wherever their points coincide.
    """
    import hashlib
    import json

    identity = {
        "parameters": [
            [p.name, p.low, p.high, p.log, p.integer, p.scale] for p in model.parameters
        ],
        "observed": hashlib.sha256(np.asarray(model.observed, dtype=float).tobytes()).hexdigest(),
        "scale": getattr(model, "scale", None),
        "seed": seed,
        "settings": settings.model_dump(mode="json", exclude={"waves"}),
    }
    path = folder / "runs" / "made-for.json"
    text = json.dumps(identity, sort_keys=True, indent=1)
    if path.exists():
        if path.read_text(encoding="utf-8") != text:
            raise CalibrationError(
                f"{path}: the runs in this folder were made for another problem (parameters, "
                "observations, scale, seed or settings); start in an empty folder"
            )
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _evaluate(
    model: AbcModel,
    proposed: list[FreeParameter],
    held: dict[str, float],
    wave: int,
    u: np.ndarray,
    seeds: np.ndarray,
    settings: HistoryMatchingSettings,
    workers: int | None,
    scheduler: str | None,
    folder: Path | None,
    progress: ProgressFn | None,
) -> np.ndarray:
    """Losses of the runs at ``u``, simulated in chunks; saved chunks are read back, not rerun."""
    from tmpsim.experiments.runner import map_runs
    from tmpsim.results import atomic_write_table

    losses = np.empty(len(u))
    for index, lo in enumerate(range(0, len(u), settings.chunk)):
        part, part_seeds = u[lo : lo + settings.chunk], seeds[lo : lo + settings.chunk]
        path = None if folder is None else _chunk_path(folder, wave, index)
        if path is not None and path.exists():
            saved = pd.read_parquet(path)
            if not (
                np.array_equal(saved["seed"].to_numpy(), part_seeds)
                and np.allclose(saved[[f"u{j}" for j in range(u.shape[1])]].to_numpy(), part)
            ):
                # The folder's problem matched (``_claim_folder``): the emulators placed this
                # wave elsewhere (another scikit-learn, say) or the file was changed.
                raise CalibrationError(
                    f"{path}: these runs are not the ones this calibration makes (the emulators "
                    "placed this wave elsewhere, or the file was changed); start in an empty "
                    "folder"
                )
            losses[lo : lo + len(part)] = saved["loss"].to_numpy()
            continue
        items = [
            (model, _values(proposed, held, row), int(s))
            for row, s in zip(part, part_seeds, strict=True)
        ]
        simulated = map_runs(simulate_proposal, items, workers, scheduler)
        part_loss = np.array([_distance(model, y) for y in simulated])
        losses[lo : lo + len(part)] = part_loss
        if path is not None:
            import pyarrow as pa

            frame = pd.DataFrame(part, columns=[f"u{j}" for j in range(u.shape[1])])
            frame.insert(0, "seed", part_seeds)
            frame["loss"] = part_loss
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_table(path, pa.Table.from_pandas(frame, preserve_index=False))
        if progress is not None:
            progress(f"wave {wave}: {lo + len(part)}/{len(u)} runs")
    return losses


def _values(proposed: list[FreeParameter], held: dict[str, float], u: np.ndarray) -> dict:
    out = dict(held)
    for p, x in zip(proposed, u, strict=True):
        lo, hi = to_internal(p, p.low), to_internal(p, p.high)
        out[p.name] = from_internal(p, lo + float(x) * (hi - lo))
    return out


def _distance(model: AbcModel, simulated: np.ndarray) -> float:
    if not np.isfinite(simulated).any():
        return FAILED_DISTANCE
    d = float(model.distance(simulated))
    return d if math.isfinite(d) and d >= 0 else FAILED_DISTANCE


def _screened(
    rng: np.random.Generator,
    emulators: list[Emulator],
    tolerance: float,
    settings: HistoryMatchingSettings,
    d: int,
) -> tuple[np.ndarray, float]:
    """The wave's points (prior draws that no emulator rules out) and the NROY share seen."""
    kept: list[np.ndarray] = []
    screened = found = 0
    for _ in range(SCREEN_ROUNDS):
        u = rng.random((settings.screen, d))
        ok = u[not_ruled_out(emulators, u, tolerance, settings.cutoff)]
        screened += len(u)
        found += len(ok)
        kept.append(ok)
        if found >= settings.runs_per_wave:
            break
    if found < settings.runs_per_wave:
        raise CalibrationError(
            f"history matching: only {found} of {screened} prior draws are not ruled out; "
            "raise the tolerance or the cutoff"
        )
    return np.vstack(kept)[: settings.runs_per_wave], found / screened


# -- the calibration -------------------------------------------------------------------------
@dataclass
class HmResult:
    """A posterior, every run, and the record of the waves."""

    posterior: Posterior
    runs: pd.DataFrame
    """wave, seed, loss, accepted and each parameter's value."""
    waves: pd.DataFrame
    """wave, runs, NROY share before it, accepted so far, emulator checks."""
    tolerance: float


def run_history_matching(
    model: AbcModel,
    settings: HistoryMatchingSettings,
    seed: int,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    folder: Path | None = None,
    metadata: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
) -> HmResult:
    """History matching in ``settings.waves`` waves, then rejection ABC over all their runs.

    With ``folder``, runs are saved there in chunks as they finish and read back when the same
    calibration is run again (an interrupted calibration resumes).
    """
    params = model.parameters
    proposed, held_params = split_prior_only(params, settings.prior_only, "history_matching")
    if folder is not None:
        _claim_folder(folder, model, settings, seed)
    held = {p.name: prior_middle(p) for p in held_params}
    d = len(proposed)
    runs = Runs(u=np.zeros((0, d)))
    emulators: list[Emulator] = []
    tolerance = settings.tolerance
    offset: float | None = None
    records = []
    for wave in range(settings.waves):
        rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM, wave]))
        if wave == 0:
            u, share = rng.random((settings.runs_per_wave, d)), 1.0
        else:
            u, share = _screened(rng, emulators, tolerance, settings, d)
        seeds = rng.integers(0, 2**31 - 1, size=len(u))
        loss = _evaluate(
            model, proposed, held, wave, u, seeds, settings, workers, scheduler, folder, progress
        )
        record: dict[str, Any] = {"wave": wave, "runs": len(u), "nroy_share": share}
        if emulators:  # the last emulator against the runs it had not seen
            ok = loss < FAILED_DISTANCE
            mean, sd = emulators[-1].predict(u[ok])
            err = emulators[-1].transform(loss[ok]) - mean
            record["emulator_rmse"] = float(np.sqrt(np.mean(err**2)))
            record["emulator_outside_3sd"] = float(np.mean(np.abs(err / sd) > 3))
        runs.add(wave, u, seeds, loss)
        # Fit this wave's emulator on the runs no earlier emulator rules out.
        ok = runs.loss < FAILED_DISTANCE
        if offset is None:  # positive, so that a loss of zero has a logarithm
            offset = max(float(np.quantile(runs.loss[ok], 0.1)), 1e-9)
        if tolerance is not None:
            ok &= not_ruled_out(emulators, runs.u, tolerance, settings.cutoff)
        emulator = Emulator.fit(runs.u[ok], runs.loss[ok], offset, seed)
        if tolerance is None:  # the quantile of the loss over the prior, as the emulator sees it
            tolerance = _quantile_tolerance(emulator, rng, settings, d)
        record["inflation"] = emulator.validate(
            runs.u[ok], runs.loss[ok], tolerance, settings.cutoff, seed
        )
        emulators.append(emulator)
        record["tolerance"] = tolerance
        record["accepted"] = int(np.sum(runs.loss <= tolerance))
        records.append(record)
        if progress is not None:
            progress(
                f"wave {wave}: {len(u)} runs in {share:.2%} of the prior, tolerance "
                f"{tolerance:.4f}, {record['accepted']} accepted so far"
            )
    waves = pd.DataFrame(records)
    accepted = runs.loss <= tolerance
    if accepted.sum() < 2:
        raise CalibrationError(
            f"history matching: {int(accepted.sum())} runs within the tolerance {tolerance:.4f}; "
            "add waves or runs, or raise the tolerance"
        )
    # Every accepted run should lie in the final NROY space; count those that do not.
    missed = int(np.sum(~not_ruled_out(emulators, runs.u[accepted], tolerance, settings.cutoff)))
    values = pd.DataFrame(
        [_values(proposed, {}, row) for row in runs.u[accepted]],
        columns=[p.name for p in proposed],
    )
    values = with_prior_draws(values, params, held_params, seed)
    weights = np.full(len(values), 1.0 / len(values))
    meta = {
        **(metadata or {}),
        "method": "history matching (scikit-learn Gaussian process) then rejection ABC",
        "seed": seed,
        "waves": settings.waves,
        "runs_per_wave": settings.runs_per_wave,
        "evaluations": len(runs.loss),
        "tolerance": tolerance,
        "quantile": settings.quantile if settings.tolerance is None else None,
        "cutoff": settings.cutoff,
        "nroy_share": [float(s) for s in waves["nroy_share"]],
        "accepted_outside_nroy": missed,
        "prior_only": [p.name for p in held_params],
    }
    table = pd.DataFrame(
        [_values(proposed, held, row) for row in runs.u], columns=[p.name for p in params]
    )
    table.insert(0, "accepted", accepted)
    table.insert(0, "loss", runs.loss)
    table.insert(0, "seed", runs.seed)
    table.insert(0, "wave", runs.wave)
    return HmResult(Posterior(values, weights, meta, "<history-matching>"), table, waves, tolerance)


def _quantile_tolerance(
    emulator: Emulator, rng: np.random.Generator, settings: HistoryMatchingSettings, d: int
) -> float:
    """The ``settings.quantile`` of the loss over the prior, from the emulator's predictions.

    Predictive draws (mean plus a normal times the standard deviation) rather than the means,
    which a Gaussian process pulls toward the average away from its runs.
    """
    u = rng.random((settings.screen, d))
    mean, sd = emulator.predict(u)
    draws = mean + sd * rng.standard_normal(len(u))
    return max(float(np.exp(np.quantile(draws, settings.quantile))) - emulator.offset, 0.0)


def write_hm_result(result: HmResult, out: Path, log: set[str]) -> None:
    """Write ``posterior.parquet``, ``runs.parquet``, ``waves.csv`` and ``posterior.png``."""
    import pyarrow as pa

    from tmpsim.calibration.figures import posterior_figure
    from tmpsim.results import atomic_write_table
    from tmpsim.uncertainty.posterior import write_posterior

    out.mkdir(parents=True, exist_ok=True)
    write_posterior(result.posterior, out / "posterior.parquet")
    atomic_write_table(
        out / "runs.parquet", pa.Table.from_pandas(result.runs, preserve_index=False)
    )
    result.waves.to_csv(out / "waves.csv", index=False)
    post = result.posterior
    title = (
        f"Posterior of {post.metadata.get('scenario')}: {len(post)} sets within loss "
        f"{result.tolerance:.4f}, {len(result.waves)} waves, {len(result.runs)} runs"
    )
    posterior_figure(post, title, out / "posterior.png", log)


def calibrate_history_matching(
    scenario: str | Path,
    out: str | Path | None = None,
    *,
    seed: int | None = None,
    scale: float | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    observed_files: list[str | Path] | None = None,
    overrides: dict[str, Any] | list[str] | None = None,
    only: list[str] | None = None,
    holdout_from: Any = None,
    progress: ProgressFn | None = None,
) -> HmResult:
    """History-matched posterior of a scenario's declared free parameters, written to ``out``.

    ``out/posterior.parquet`` is the posterior file (copy it next to the scenario and point
    ``calibration.posterior`` at it); ``out/runs/`` keeps the runs as they finish, so the same
    command resumes an interrupted calibration.
    """
    from tmpsim.calibration.abc import ScenarioModel, posterior_metadata
    from tmpsim.calibration.problem import build_problem

    problem = build_problem(scenario, observed_files, overrides, only, holdout_from)
    spec = problem.spec
    scale = scale or spec.scale
    result = run_history_matching(
        ScenarioModel(problem, scale),
        spec.history_matching,
        spec.seed if seed is None else seed,
        workers=workers,
        scheduler=scheduler,
        folder=None if out is None else Path(out),
        metadata=posterior_metadata(problem, scenario, scale, observed_files),
        progress=progress,
    )
    if out is not None:
        write_hm_result(result, Path(out), {p.name for p in problem.parameters if p.log})
    return result
