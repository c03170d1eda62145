"""Coverage of an ensemble's bands: how many observations fall inside the 50% and 90% bands.

For honest bands about half the observations should fall inside the central 50% band and nine in
ten inside the 90% band; far fewer means the bands are too narrow (or the model biased), far more
with wide bands means they say little. So the table gives the bands' widths next to the counts:
the median over observations of (upper - lower) / |observed|.

>>> from tmpsim.uncertainty.coverage import coverage  # doctest: +SKIP
>>> bands, table = coverage("runs/ensemble", start="2020-01-01", end="2022-12-31")  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

LEVELS = (0.5, 0.9)
"""Central bands whose coverage is reported."""
COLUMNS = [
    "indicator", "scope", "n", "in_50", "in_90", "share_50", "share_90", "width_50", "width_90",
    "not_above_90",
]  # fmt: skip
SCOPE_ROWS = {"same": "all comparable", "part": "all partial"}
"""Summary rows by the indicators' scope (``Indicator.scope``), beside ``all``."""


def ensemble_at_observations(
    source: Any,
    observed_files: Iterable[str | Path] | None = None,
    *,
    start: Any = None,
    end: Any = None,
    point: int | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The observations an ensemble simulates, with its mean, and their value in each run.

    Returns the table (indicator, origin, date, observed, simulated, n_runs) and the values
    [observation, run]; observations the runs cannot simulate or observed as 0 are left out.
    """
    from tmpsim.validation.compare import (
        OK,
        ensemble_values,
        observation_frame,
        observations_and_runs,
    )

    observed, runs = observations_and_runs(
        source, observed_files, point=point, start=start, end=end
    )
    if len(runs) < 2:
        raise ValueError(f"{source}: coverage needs an ensemble (two runs or more), got one run")
    sims, status = ensemble_values(observed, runs)
    out = observation_frame(observed)
    finite = np.isfinite(sims)
    with np.errstate(all="ignore"):
        out["simulated"] = np.where(
            finite.any(axis=1), np.nansum(sims, axis=1) / finite.sum(axis=1), np.nan
        )
    out["n_runs"] = finite.sum(axis=1)
    keep = ((np.array(status) == OK) & out["simulated"].notna() & (out["observed"] != 0)).to_numpy()
    return out[keep].reset_index(drop=True), sims[keep]


def band_table(
    source: Any,
    observed_files: Iterable[str | Path] | None = None,
    *,
    start: Any = None,
    end: Any = None,
    point: int | None = None,
    discrepancy: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Per observation the ensemble's mean and 50% and 90% bands, and whether each holds it.

    ``source`` is an experiment or ensemble folder (or what :func:`validate_run` accepts);
    observations the runs cannot simulate (outside their dates, other origins) are left out.
    ``discrepancy`` (indicator -> relative model error) widens the bands of those indicators by
    a stated model error (:func:`predictive_bands`); without it they are the runs'.
    """
    from tmpsim.validation.indicators import resolve

    out, sims = ensemble_at_observations(source, observed_files, start=start, end=end, point=point)
    out["scope"] = [resolve(str(i)).scope for i in out["indicator"]]
    sigma = sigmas_for(out["indicator"], discrepancy)
    if discrepancy is not None:
        out["discrepancy"] = sigma
    for level in LEVELS:
        pct = round(level * 100)
        lo, hi = predictive_bands(sims, sigma, level)
        out[f"lo_{pct}"], out[f"hi_{pct}"] = lo, hi
        out[f"in_{pct}"] = (out["observed"] >= lo) & (out["observed"] <= hi)
        out[f"width_{pct}"] = (hi - lo) / out["observed"].abs()
    # The band does not lie wholly above the statistic: for a partial indicator (the model
    # simulates part of those counted) the check that remains when the band need not hold it.
    out["not_above_90"] = out["observed"] >= out["lo_90"]
    return out


NORMAL_NODES = 100
"""Nodes of the standard normal (its quantiles at (k + 1/2) / 100) that spread each run's value
by the model error: a fixed grid, so bands with a discrepancy term draw no random numbers."""


def predictive_bands(
    sims: np.ndarray, sigma: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends of the central ``level`` band of each row of ``sims`` [obs, run].

    Without model error (``sigma`` 0) these are the runs' quantiles. With a relative model error
    ``sigma`` (the standard deviation on the log scale: observed = simulated x exp(sigma z),
    z standard normal, independent of the runs' spread), each run's value is spread over the
    normal's quantile grid and the band is taken from the pooled values, so it stays positive
    for counts and widens with ``sigma``.
    """
    q = ((1 - level) / 2, 1 - (1 - level) / 2)
    lo, hi = np.full(sims.shape[0], np.nan), np.full(sims.shape[0], np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows no run could compute: NaN
        plain = sigma <= 0
        if plain.any():
            lo[plain], hi[plain] = np.nanquantile(sims[plain], q, axis=1)
        if (~plain).any():
            z = np.array(
                [NormalDist().inv_cdf((k + 0.5) / NORMAL_NODES) for k in range(NORMAL_NODES)]
            )
            spread = sims[~plain][:, :, None] * np.exp(sigma[~plain][:, None, None] * z)
            pooled = spread.reshape(spread.shape[0], -1)
            lo[~plain], hi[~plain] = np.nanquantile(pooled, q, axis=1)
    return lo, hi


def sigmas_for(indicators: pd.Series, discrepancy: Mapping[str, float] | None) -> np.ndarray:
    """Each observation's relative model error: its indicator's, else 0 (none was estimated).

    No pooled value stands in for an indicator the calibration window does not have: one
    badly missed indicator would set the bands of all the others.
    """
    if not discrepancy:
        return np.zeros(len(indicators))
    return np.array([float(discrepancy.get(str(i), 0.0)) for i in indicators])


# Smallest observation that informs the model discrepancy (see estimate_discrepancy).
MIN_OBSERVED = 100.0


def estimate_discrepancy(
    source: Any,
    observed_files: Iterable[str | Path] | None = None,
    *,
    start: Any = None,
    end: Any = None,
    point: int | None = None,
    min_observed: float = MIN_OBSERVED,
    opening_months: float = 0.0,
) -> pd.DataFrame:
    """The model error per indicator, from the ensemble's misses on ``start``..``end``.

    Meant for the calibration window: on the log scale, an observation differs from the runs'
    mean log value by the runs' spread and the model's own error, independent of each other, so
    ``sigma^2 = max(0, mean(error^2) - mean(run variance))`` over the indicator's observations
    (``rms_log_error`` and ``run_sd`` are the two terms); the row ``all`` pools every
    observation (a summary: indicators the window does not have get no discrepancy).
    Observations or runs at zero are left out (no log), and so are observations below
    ``min_observed``: a status's first holders (8 in the first weeks of a new stage) differ from
    the model by the timing of a few people, a log error that would otherwise set the
    indicator's discrepancy on its own. With ``opening_months``, so are the observations of a
    series (an indicator for an origin) that starts below ``min_observed`` within that many
    months of its first observation (:func:`in_opening`): a status's opening, when the model's
    error is in the timing of its start and says little about the years after.
    """
    bands, sims = ensemble_at_observations(
        source, observed_files, start=start, end=end, point=point
    )
    opening = None
    if opening_months > 0:
        opening = in_opening(
            bands["indicator"].astype(str) + "|" + bands["origin"].astype(str),
            bands["date"],
            bands["observed"].to_numpy(),
            opening_months,
            max(min_observed, 1.0),
        )
    return discrepancy_table(
        bands["indicator"].to_numpy(),
        bands["observed"].to_numpy(),
        sims,
        min_observed,
        left_out=opening,
    )


def in_opening(
    series: pd.Series,
    dates: pd.Series,
    observed: np.ndarray,
    months: float,
    small: float = MIN_OBSERVED,
) -> np.ndarray:
    """Whether each observation falls in its series' opening.

    A series (``series`` names each observation's) opens when its first observation is below
    ``small`` (a status with its first few holders; a series whose data start mid-stream has no
    opening); its opening is the calendar months from that observation, ``months`` of them.
    """
    when = pd.to_datetime(pd.Series(np.asarray(dates)))
    frame = pd.DataFrame(
        {
            "key": np.asarray(series),
            "month": (when.dt.year * 12 + when.dt.month).to_numpy(),
            "observed": np.asarray(observed, dtype=float),
        }
    )
    first = frame.sort_values("month", kind="stable").groupby("key").first()
    opens = first["observed"] < small
    start = frame["key"].map(first["month"]).to_numpy()
    return frame["key"].map(opens).to_numpy(dtype=bool) & (
        frame["month"].to_numpy() - start < months
    )


def discrepancy_table(
    indicators: np.ndarray,
    observed: np.ndarray,
    sims: np.ndarray,
    min_observed: float = MIN_OBSERVED,
    left_out: np.ndarray | None = None,
) -> pd.DataFrame:
    """The model error per indicator (and ``all``) from observations and runs' values [obs, run].

    See :func:`estimate_discrepancy`; rows with a value at or below zero, an observation below
    ``min_observed``, or marked in ``left_out`` (a status's opening), are left out.
    """
    usable = (observed >= max(min_observed, np.finfo(float).tiny)) & (
        np.nan_to_num(sims, nan=0.0) > 0
    ).all(axis=1)
    if left_out is not None:
        usable &= ~np.asarray(left_out, dtype=bool)
    logs = np.log(sims[usable])
    err2 = (np.log(observed[usable]) - logs.mean(axis=1)) ** 2
    var = logs.var(axis=1, ddof=1)
    names = np.asarray(indicators)[usable].astype(str)
    out = []
    for name in [*sorted(set(names)), "all"]:
        sel = names == name if name != "all" else np.ones(names.size, dtype=bool)
        e2 = float(err2[sel].mean()) if sel.any() else np.nan
        v = float(var[sel].mean()) if sel.any() else np.nan
        out.append(
            {
                "indicator": name,
                "n": int(sel.sum()),
                "rms_log_error": np.sqrt(e2),
                "run_sd": np.sqrt(v),
                "sigma": np.sqrt(max(0.0, e2 - v)) if sel.any() else 0.0,
            }
        )
    return pd.DataFrame(out)


def coverage_table(bands: pd.DataFrame) -> pd.DataFrame:
    """By indicator (and ``all``): observations, how many in each band, the bands' widths.

    Where the observations mix scopes (``Indicator.scope``), ``all comparable`` and ``all
    partial`` follow ``all``: an indicator the model simulates only part of (former trainees
    among all holders of a status) is not expected inside the bands, and its row's
    ``not_above_90`` (the share whose 90% band does not lie wholly above the statistic) is the
    check that remains.
    """
    rows = []
    if "scope" not in bands:
        bands = bands.assign(scope="same")
    if "not_above_90" not in bands:  # a table of counts only: no band ends to check
        above = bands["observed"] >= bands["lo_90"] if "lo_90" in bands else np.nan
        bands = bands.assign(not_above_90=above)
    groups = [(str(k), g) for k, g in bands.groupby("indicator", sort=True)]
    scopes = sorted(set(bands["scope"]))
    summaries = [("all", bands)]
    if len(scopes) > 1:
        summaries += [(SCOPE_ROWS[sc], bands[bands["scope"] == sc]) for sc in scopes]
    for name, g in [*groups, *summaries]:
        kinds = sorted(set(g["scope"]))
        row: dict[str, Any] = {
            "indicator": name,
            "scope": kinds[0] if len(kinds) == 1 else "mixed",
            "n": len(g),
        }
        for level in LEVELS:
            pct = round(level * 100)
            inside = g[f"in_{pct}"].astype(bool)
            row[f"in_{pct}"] = int(inside.sum())
            row[f"share_{pct}"] = float(inside.mean()) if len(g) else np.nan
            row[f"width_{pct}"] = float(g[f"width_{pct}"].median()) if len(g) else np.nan
        row["not_above_90"] = float(g["not_above_90"].mean()) if len(g) else np.nan
        row["median_abs_rel_error"] = (
            float(((g["simulated"] - g["observed"]) / g["observed"].abs()).abs().median())
            if len(g)
            else np.nan
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=[*COLUMNS, "median_abs_rel_error"])


def coverage(
    source: Any,
    observed_files: Iterable[str | Path] | None = None,
    *,
    start: Any = None,
    end: Any = None,
    point: int | None = None,
    discrepancy: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Band table per observation and coverage table per indicator of an ensemble."""
    bands = band_table(
        source, observed_files, start=start, end=end, point=point, discrepancy=discrepancy
    )
    return bands, coverage_table(bands)


def bands_shown(source: Any) -> str:
    """What an ensemble folder's bands show (from its ``uncertainty.json``)."""
    from tmpsim.experiments.experiment import read_uncertainty

    info = read_uncertainty(Path(source))
    return "stochastic (seed) uncertainty only" if info is None else str(info["bands"])
