"""Summaries of an experiment: mean and 5-95% bands across seeds, and sensitivity indices.

- ``scalar_bands``: per point and headline figure, the mean, 5th and 95th percentiles and count
  over the point's replicates.
- ``series_bands``: the same per point, date, metric and origin, computed by DuckDB over the
  series dataset.
- ``sensitivity``: with SALib, from the per-point means (replicates averaged) in design order:
  Sobol first-order and total indices (design ``sobol``), Morris mu, mu* and sigma (``morris``),
  RBD-FAST first-order indices (``lhs``). A grid gives none.

Written as Parquet files in ``DIR/summary/``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tmpsim.experiments.designs import make_points
from tmpsim.experiments.spec import ExperimentSpec
from tmpsim.experiments.storage import ExperimentDir
from tmpsim.extras import require
from tmpsim.results import atomic_write_table

LOW_Q, HIGH_Q = 0.05, 0.95


@dataclass
class Summary:
    """What ``summarize`` found."""

    scalar_bands: pd.DataFrame
    series_bands: pd.DataFrame | None
    sensitivity: pd.DataFrame | None
    method: str | None
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    damaged: dict[int, str] = field(default_factory=dict)
    """Runs left out because their stored outputs failed their checks, and why."""


def numeric_outputs(outputs: pd.DataFrame) -> list[str]:
    """Summary columns holding numbers (dates, labels and the run's own settings left out)."""
    skip = {"run", "point", "rep", "seed", "scale"}
    return [
        c
        for c in outputs.columns
        if c not in skip
        and pd.api.types.is_numeric_dtype(outputs[c])
        and not pd.api.types.is_bool_dtype(outputs[c])
    ]


def scalar_bands(outputs: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Long table: point, parameters, output, mean, p05, p95, n."""
    cols = numeric_outputs(outputs)
    if outputs.empty or not cols:
        return pd.DataFrame(columns=["point", "output", "mean", "p05", "p95", "n"])
    long = outputs.melt(id_vars=["point"], value_vars=cols, var_name="output")
    g = long.groupby(["point", "output"], sort=True)["value"]
    bands = pd.DataFrame(
        {
            "mean": g.mean(),
            "p05": g.quantile(LOW_Q),
            "p95": g.quantile(HIGH_Q),
            "n": g.count(),
        }
    ).reset_index()
    return bands.merge(points, on="point", how="left")


def series_bands(folder: ExperimentDir, files: list[str] | None = None) -> pd.DataFrame | None:
    """Per point, date, metric and origin: mean, p05, p95 and n across replicates (DuckDB).

    Only the series of sound, done runs are read (a damaged file never reaches a band).
    """
    files = folder.series_files() if files is None else files
    if not files:
        return None
    from tmpsim.experiments.storage import series_view_sql

    duckdb = require("duckdb", "an experiment's series bands")

    # One thread: the runs' values are summed in run order, so the means are the same bytes
    # whatever the machine (threads would add them in whatever order they meet them).
    con = duckdb.connect(config={"threads": 1})
    try:
        view = series_view_sql(files)
        con.execute(view.replace("CREATE VIEW", "CREATE TEMP VIEW"))
        return con.execute(
            f"""SELECT point, date, metric, origin, avg(value) AS mean,
                   quantile_cont(value, {LOW_Q}) AS p05, quantile_cont(value, {HIGH_Q}) AS p95,
                   count(*) AS n
                FROM series GROUP BY ALL ORDER BY point, metric, origin, date"""
        ).df()
    finally:
        con.close()


def sensitivity(
    spec: ExperimentSpec, outputs: pd.DataFrame, notes: list[str]
) -> tuple[pd.DataFrame | None, str | None]:
    """SALib indices for each numeric output, where the design allows; reasons go to ``notes``."""
    kind = spec.design.type
    if not spec.parameters:
        return None, None
    if kind == "grid":
        notes.append(
            "no sensitivity indices: a grid is not a sampling design; "
            "use design sobol, morris or lhs"
        )
        return None, None
    points, x, problem = make_points(spec)
    assert x is not None and problem is not None
    n_points = len(points)
    means = outputs.groupby("point")[numeric_outputs(outputs)].mean() if len(outputs) else None
    if means is None or len(means) < n_points:
        missing = n_points - (0 if means is None else len(means))
        notes.append(f"no sensitivity indices: {missing} of {n_points} points have no finished run")
        return None, None
    means = means.sort_index()
    least, unit = MIN_SAMPLES[kind]
    if (spec.design.samples or 0) < least:
        notes.append(
            f"no sensitivity indices: a {kind} design needs samples of at least {least} "
            f"({unit}) for its indices to be read; this one has {spec.design.samples}"
        )
        return None, None
    rows = []
    method = {"sobol": "sobol", "morris": "morris", "lhs": "rbd_fast"}[kind]
    for out in means.columns:
        y = means[out].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            notes.append(f"{out}: skipped (not finite at every point)")
            continue
        if np.ptp(y) == 0:
            notes.append(f"{out}: skipped (the same at every point)")
            continue
        rows.extend(_indices(method, spec, problem, x, y, out))
    frame = pd.DataFrame(rows) if rows else None
    return frame, method


MIN_SAMPLES = {
    "sobol": (16, "base samples; Saltelli's estimators need many more to settle"),
    "morris": (4, "trajectories, the fewest Morris's screening is read with"),
    "lhs": (21, "points: RBD-FAST sums 10 harmonics, which needs more than twice as many points"),
}
"""The smallest design whose sensitivity indices are computed, by design (and why)."""


def _indices(
    method: str, spec: ExperimentSpec, problem: dict, x: np.ndarray, y: np.ndarray, output: str
) -> list[dict]:
    names = problem["names"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "sobol":
            sobol = require("SALib.analyze.sobol", "Sobol indices")
            res = sobol.analyze(
                problem, y, calc_second_order=spec.design.second_order, seed=spec.seed
            )
            keys = ["S1", "S1_conf", "ST", "ST_conf"]
        elif method == "morris":
            morris = require("SALib.analyze.morris", "Morris indices")
            res = morris.analyze(problem, x, y, num_levels=spec.design.levels, seed=spec.seed)
            keys = ["mu", "mu_star", "sigma", "mu_star_conf"]
        else:
            rbd_fast = require("SALib.analyze.rbd_fast", "RBD-FAST indices")
            res = rbd_fast.analyze(problem, x, y, seed=spec.seed)
            keys = ["S1", "S1_conf"]
    return [
        {"output": output, "parameter": name, **{k: float(res[k][i]) for k in keys}}
        for i, name in enumerate(names)
    ]


def summarize(path: str | Path, write: bool = True) -> Summary:
    """Summarize an experiment folder (rebuilding its catalog) and write ``summary/*.parquet``."""
    folder = ExperimentDir(path)
    recs, damaged = folder.scan()  # once: every series file is checked against its digest
    folder.build_catalog(recs)
    spec = folder.spec()
    outputs = folder.outputs_frame(recs)
    notes: list[str] = [
        f"run {run} left out, damaged: {why} (`tmpsim experiment run` redoes it)"
        for run, why in sorted(damaged.items())
    ]
    bands = scalar_bands(outputs, folder.points())
    sbands = series_bands(folder, folder.series_files(recs))
    sens, method = sensitivity(spec, outputs, notes)
    result = Summary(bands, sbands, sens, method, notes, damaged=damaged)
    if write:
        import pyarrow as pa

        out = folder.path / "summary"
        for name, frame in (
            ("scalar_bands", bands),
            ("series_bands", sbands),
            ("sensitivity", sens),
        ):
            if frame is not None:
                p = out / f"{name}.parquet"
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if "date" in table.column_names:  # a day, as in the runs' series.parquet
                    at = table.column_names.index("date")
                    table = table.set_column(at, "date", table["date"].cast(pa.date32()))
                atomic_write_table(p, table)
                result.files.append(p)
    return result
