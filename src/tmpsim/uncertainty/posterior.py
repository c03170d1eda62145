"""A posterior over a scenario's free parameters: a weighted sample, stored as one Parquet file.

The file has a ``weight`` column and one float column per free parameter (the names of the
scenario's ``calibration.parameters``; a ``scale`` parameter holds the factor, not the value). Its
schema metadata (key ``tmpsim.posterior``) holds JSON: the scenario, the observation window the
posterior was fitted on, the distance, the number of generations and the method's settings.

A scenario points at its posterior with ``calibration.posterior``, a path relative to the scenario
file's folder (shipped scenarios: ``src/tmpsim/scenarios/NAME.posterior.parquet``). Every load is
validated (:func:`load_posterior`): a file that does not hold a proper weighted sample is an
error naming the file and the problem, never a silent fallback to the scenario's values.

Ensembles draw parameter sets from it with :func:`draw_indices`, from their own named stream of
the experiment seed's ``SeedSequence`` tree, so run ``k`` gets the same set on any number of
workers and adding draws never changes the earlier ones' seeds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tmpsim.engine.rng import Streams

if TYPE_CHECKING:
    from tmpsim.calibration.spec import FreeParameter

METADATA_KEY = b"tmpsim.posterior"
WEIGHT = "weight"
WEIGHT_TOLERANCE = 1e-6
"""How far the weights' sum may be from 1."""
REQUIRED_METADATA = ("scenario", "window", "distance", "method")
DRAW_STREAM = "posterior-draws"
"""Name of the random stream (of the experiment seed's tree) that picks parameter sets."""


class PosteriorError(ValueError):
    """A posterior file that cannot be used; the message names the file and the problem."""


@dataclass
class Posterior:
    """A weighted sample of parameter sets and what it was fitted on."""

    values: pd.DataFrame
    """One row per particle, one float column per parameter."""
    weights: np.ndarray
    """Normalised importance weights (non-negative, sum 1)."""
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = "<posterior>"

    @property
    def parameters(self) -> list[str]:
        """The parameter names, in column order."""
        return list(self.values.columns)

    def __len__(self) -> int:
        return len(self.values)

    def effective_size(self) -> float:
        """Kish's effective sample size, 1 / sum(w^2)."""
        return float(1.0 / np.sum(self.weights**2))

    def mean(self) -> dict[str, float]:
        """Weighted mean of each parameter."""
        return {c: float(np.dot(self.weights, self.values[c])) for c in self.values}

    def quantile(self, q: float) -> dict[str, float]:
        """Weighted quantile ``q`` of each parameter."""
        return {
            c: weighted_quantile(self.values[c].to_numpy(), self.weights, q) for c in self.values
        }

    def row(self, index: int) -> dict[str, float]:
        """Parameter values of particle ``index``."""
        return {c: float(v) for c, v in self.values.iloc[index].items()}


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Quantile of a weighted sample (inverse of the weighted CDF, midpoint rule)."""
    order = np.argsort(x, kind="stable")
    x, w = np.asarray(x, dtype=float)[order], np.asarray(w, dtype=float)[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cdf, x))


def write_posterior(posterior: Posterior, path: str | Path) -> Path:
    """Write a posterior file atomically (validated first: what is written loads back)."""
    from tmpsim.results import atomic_write_table

    path = Path(path)
    check_posterior(posterior.values, posterior.weights, posterior.metadata, str(path))
    frame = posterior.values.astype(float).assign(**{WEIGHT: posterior.weights})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = json.dumps(posterior.metadata, sort_keys=True, default=str).encode()
    table = table.replace_schema_metadata({METADATA_KEY: meta})
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_table(path, table)
    return path


def load_posterior(path: str | Path, parameters: list[FreeParameter] | None = None) -> Posterior:
    """Read and validate a posterior file.

    With ``parameters`` (the scenario's declared free parameters), every column must be one of
    them and every value inside its declared range.
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise PosteriorError(f"{where}: no such posterior file")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise PosteriorError(f"{where}: not a readable Parquet file ({exc})") from None
    raw_meta = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw_meta is None:
        raise PosteriorError(
            f"{where}: no posterior metadata (schema key {METADATA_KEY.decode()!r}); "
            "write posteriors with tmpsim calibrate --method abc-smc"
        )
    try:
        metadata = json.loads(raw_meta)
    except ValueError:
        raise PosteriorError(f"{where}: posterior metadata is not valid JSON") from None
    if WEIGHT not in table.column_names:
        raise PosteriorError(f"{where}: no {WEIGHT!r} column")
    for name in table.column_names:
        t = table.schema.field(name).type
        if not (pa.types.is_floating(t) or pa.types.is_integer(t)):
            raise PosteriorError(f"{where}: column {name!r} has type {t}, expected numbers")
    frame = table.to_pandas()
    weights = frame.pop(WEIGHT).to_numpy(dtype=float)
    values = frame.astype(float)
    check_posterior(values, weights, metadata, where, parameters)
    return Posterior(values, weights, metadata, where)


def check_posterior(
    values: pd.DataFrame,
    weights: np.ndarray,
    metadata: Any,
    where: str,
    parameters: list[FreeParameter] | None = None,
) -> None:
    """Raise PosteriorError naming ``where`` and the first problem found."""
    if not isinstance(metadata, dict):
        raise PosteriorError(f"{where}: posterior metadata must be a mapping")
    missing = [k for k in REQUIRED_METADATA if k not in metadata]
    if missing:
        raise PosteriorError(f"{where}: posterior metadata lacks {', '.join(missing)}")
    if len(values) == 0:
        raise PosteriorError(f"{where}: the posterior holds no parameter set")
    if values.shape[1] == 0:
        raise PosteriorError(f"{where}: the posterior has no parameter column")
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(values),):
        raise PosteriorError(f"{where}: {w.size} weights for {len(values)} parameter sets")
    if not np.isfinite(w).all():
        raise PosteriorError(
            f"{where}: weight of row {int(np.argmin(np.isfinite(w)))} is not finite"
        )
    if (w < 0).any():
        raise PosteriorError(f"{where}: weight of row {int(np.argmax(w < 0))} is negative")
    total = float(w.sum())
    if not math.isclose(total, 1.0, rel_tol=0, abs_tol=WEIGHT_TOLERANCE):
        raise PosteriorError(
            f"{where}: weights sum to {total:.9g}, not 1 (tolerance {WEIGHT_TOLERANCE:g})"
        )
    for name in values.columns:
        col = values[name].to_numpy(dtype=float)
        if not np.isfinite(col).all():
            raise PosteriorError(f"{where}: parameter {name!r} has a value that is not finite")
    if parameters is None:
        return
    declared = {p.name: p for p in parameters}
    unknown = [c for c in values.columns if c not in declared]
    if unknown:
        raise PosteriorError(
            f"{where}: unknown parameter(s) {', '.join(map(repr, unknown))} "
            f"(the scenario declares {', '.join(declared) or 'none'})"
        )
    for name in values.columns:
        p = declared[name]
        col = values[name].to_numpy(dtype=float)
        # Integer parameters are stored rounded; allow the rounding at the ends.
        slack = 0.5 if p.integer else 1e-9 * max(abs(p.low), abs(p.high), 1.0)
        bad = (col < p.low - slack) | (col > p.high + slack)
        if bad.any():
            i = int(np.argmax(bad))
            raise PosteriorError(
                f"{where}: parameter {name!r} is {col[i]:g} in row {i}, "
                f"outside its declared range {p.low:g}..{p.high:g}"
            )


def draw_indices(posterior: Posterior, n: int, seed: int) -> np.ndarray:
    """Indices of ``n`` parameter sets drawn by weight, from the seed's named stream.

    Draw ``k`` depends only on the seed, the posterior and ``k`` (inverse CDF of one uniform per
    draw), so asking for more draws keeps the first ones.
    """
    u = Streams(seed)[DRAW_STREAM].random(n)
    cdf = np.cumsum(posterior.weights)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(posterior) - 1)


def posterior_path(scenario_source: str | Path, reference: str) -> Path:
    """Resolve ``calibration.posterior`` against the folder of the scenario file it is in.

    A bare file name found there is that file; one not found there is a shipped posterior if
    one has that name (a scenario extending a shipped one, or a run folder's copy of it, names
    the shipped file as the shipped scenario does).
    """
    ref = Path(reference)
    if ref.is_absolute():
        return ref
    beside = (Path(scenario_source).resolve().parent / ref).resolve()
    if beside.is_file() or len(ref.parts) > 1:
        return beside
    from tmpsim.scenario.loader import shipped_dir

    shipped = shipped_dir() / ref
    return shipped if shipped.is_file() else beside


def scenario_posterior(scenario: str | Path) -> Path | None:
    """The posterior file a scenario (shipped name or path) names, or None if it names none."""
    from tmpsim.scenario.loader import load_raw, load_scenario

    calibration = load_scenario(scenario).calibration
    if calibration is None or calibration.posterior is None:
        return None
    return posterior_path(load_raw(scenario)[1], calibration.posterior)


def overrides_for(
    values: dict[str, float],
    parameters: list[FreeParameter],
    scenario: dict[str, Any],
) -> dict[str, Any]:
    """Scenario overrides (dotted path -> value) that apply one parameter set to a run.

    Scale parameters multiply the scenario's value at each path; paths inside ``calibration``
    (the calibration variant only) do not apply to a run and are left out.
    """
    from tmpsim.calibration.problem import get_path

    declared = {p.name: p for p in parameters}
    out: dict[str, Any] = {}
    for name, value in values.items():
        p = declared[name]
        for path in p.paths:
            if path.split(".")[0] == "calibration":
                continue
            new = float(get_path(scenario, path)) * value if p.scale else float(value)
            out[path] = int(round(new)) if p.integer else new
    return out


__all__ = [
    "Posterior",
    "PosteriorError",
    "check_posterior",
    "draw_indices",
    "load_posterior",
    "overrides_for",
    "posterior_path",
    "weighted_quantile",
    "write_posterior",
]
