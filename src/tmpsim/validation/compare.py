"""Compare simulated with observed values: the validation table and its error measures.

For each observation the simulation is aggregated the way the indicator is defined (see
:mod:`tmpsim.validation.indicators`). Errors: ``abs_error = |simulated - observed|`` and
``rel_error = (simulated - observed) / |observed|`` (signed: positive means the model is above).
Per series (indicator and origin): MAPE, the mean of ``|rel_error|``. Per indicator across origins:
Flee's averaged relative difference (Suleimenova et al. 2017), the mean over dates of
``sum_o |sim_o - obs_o| / sum_o obs_o``. With an ensemble, ``simulated`` is the mean over runs and
``sim_lo``/``sim_hi`` bound the central band (90% by default); ``in_band`` says whether the
observation lies inside it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tmpsim.validation.indicators import PERIOD_MONTHS, Indicator, packaged_host, resolve
from tmpsim.validation.observed import (
    ObservedDataError,
    load_observed,
    packaged_files,
    packaged_hosts,
)
from tmpsim.validation.rundata import RunData, load_runs

OK = "ok"
OUTSIDE = "outside run"
NO_ORIGIN = "origin not simulated"
NO_DATA = "not recorded by the run"


def needed_metrics(observed: pd.DataFrame) -> set[str]:
    """Series metrics needed to compute the observed indicators."""
    out = set()
    for name in observed["indicator"].unique():
        ind = resolve(str(name))
        if not ind.uses_agents:
            out.add(ind.source)
    return out


def window(ind: Indicator, date: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last simulated day an observation of ``ind`` on ``date`` depends on."""
    if ind.kind in PERIOD_MONTHS:
        first = date + pd.Timedelta(days=1) - pd.DateOffset(months=PERIOD_MONTHS[ind.kind])
        return first, date
    if ind.since is not None:
        return min(pd.Timestamp(ind.since), date), date
    return date, date


def simulate_one(
    ind: Indicator, origin: str, date: pd.Timestamp, run: RunData
) -> tuple[float, str]:
    """The simulated value of one observation in one run, and its status."""
    if origin != "all" and origin not in run.origins:
        return np.nan, NO_ORIGIN
    first, last = window(ind, date)
    if first < run.start or last > run.end:
        return np.nan, OUTSIDE
    if ind.uses_agents:
        return _agents_value(ind, origin, date, run)
    series = run.metric(ind.source, origin)
    if series is None:
        return np.nan, NO_DATA
    if ind.kind == "stock":
        value = series.get(date, np.nan)
        if ind.since is not None:
            value = value - series.get(pd.Timestamp(ind.since), np.nan)
        return float(value), OK if np.isfinite(value) else NO_DATA
    return float(series.loc[first:last].sum()), OK


def _agents_value(
    ind: Indicator, origin: str, date: pd.Timestamp, run: RunData
) -> tuple[float, str]:
    agents = run.agents
    if agents is None:
        return np.nan, NO_DATA
    entered = pd.to_datetime(agents["entered"])
    exited = pd.to_datetime(agents["exited"])
    here = (entered <= date) & (exited.isna() | (exited > date))
    if origin != "all":
        here &= agents["origin"] == origin
    values = agents.loc[here, ind.source].to_numpy(dtype=float)
    if values.size == 0:
        return np.nan, NO_DATA
    positive = values[values > 0]
    if ind.kind == "agents_share":
        return float(positive.size / values.size), OK
    return (float(positive.mean()), OK) if positive.size else (np.nan, NO_DATA)


def observation_frame(observed: pd.DataFrame) -> pd.DataFrame:
    """The observations' indicator, origin, date and observed value, one row each, in order."""
    return pd.DataFrame(
        {
            "indicator": observed["indicator"].astype(str).to_numpy(),
            "origin": observed["origin"].astype(str).to_numpy(),
            "date": [pd.Timestamp(d).date() for d in observed["date"]],
            "observed": observed["value"].astype(float).to_numpy(),
        }
    )


def compare(observed: pd.DataFrame, runs: list[RunData], band: float = 0.9) -> pd.DataFrame:
    """The validation table for observations against one run or an ensemble of runs."""
    sims, status = ensemble_values(observed, runs)
    table = observation_frame(observed)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows no run could compute: NaN
        table["simulated"] = np.nanmean(sims, axis=1) if len(runs) > 1 else sims[:, 0]
    table["abs_error"] = (table["simulated"] - table["observed"]).abs()
    table["rel_error"] = (table["simulated"] - table["observed"]) / table["observed"].abs()
    if len(runs) > 1:
        lo_q, hi_q = (1 - band) / 2, 1 - (1 - band) / 2
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            table["sim_lo"] = np.nanquantile(sims, lo_q, axis=1) if sims.size else []
            table["sim_hi"] = np.nanquantile(sims, hi_q, axis=1) if sims.size else []
        inside = (table["observed"] >= table["sim_lo"]) & (table["observed"] <= table["sim_hi"])
        table["in_band"] = inside.where(table["simulated"].notna())
        table["n_runs"] = np.isfinite(sims).sum(axis=1)
    table["status"] = status
    table["source"] = observed["source"].astype(str).to_numpy()
    return table


def ensemble_values(observed: pd.DataFrame, runs: list[RunData]) -> tuple[np.ndarray, list[str]]:
    """Each observation's simulated value in each run (float [observation, run]) and its status."""
    if not runs:
        raise ValueError("no runs to compare")
    sims = np.full((len(observed), len(runs)), np.nan)
    status: list[str] = []
    for i, obs in enumerate(observed.itertuples(index=False)):
        ind = resolve(str(obs.indicator))
        date = pd.Timestamp(obs.date)
        for j, run in enumerate(runs):
            v, s = simulate_one(ind, str(obs.origin), date, run)
            sims[i, j] = v
            if j == 0:
                status.append(s)
    return sims, status


def check_origins(observed: pd.DataFrame, runs: list[RunData]) -> None:
    """Raise ObservedDataError naming observed origins that no run simulates."""
    known = set(runs[0].origins) | {"all"}
    bad = observed[~observed["origin"].isin(known)]
    if bad.empty:
        return
    names = ", ".join(sorted(set(bad["origin"])))
    files = ", ".join(sorted(set(bad["file"]))) if "file" in bad else "observed data"
    raise ObservedDataError(
        f"{files}: origin(s) {names} not in the run (origins: {', '.join(sorted(known))})"
    )


def validate_run(
    source: Any,
    observed_files: Iterable[str | Path] | str | Path | None = None,
    *,
    observed: pd.DataFrame | None = None,
    band: float = 0.9,
    point: int | None = None,
    start: Any = None,
    end: Any = None,
) -> pd.DataFrame:
    """Validate a run folder, an experiment folder, a Result (or a list of them).

    Against the packaged statistics by default, or the given files / table. Returns the
    validation table (see the module docstring); observations outside the run's dates or for
    origins it does not simulate (packaged data only) stay in the table with their ``status``.
    A user file naming an origin the run does not simulate is an ObservedDataError. For an
    experiment folder with several points, ``point`` chooses the ensemble to validate.
    ``start`` / ``end`` keep only observations dated within them.
    """
    observed, runs = observations_and_runs(
        source, observed_files, observed=observed, point=point, start=start, end=end
    )
    return compare(observed, runs, band)


def observations_and_runs(
    source: Any,
    observed_files: Iterable[str | Path] | str | Path | None = None,
    *,
    observed: pd.DataFrame | None = None,
    point: int | None = None,
    start: Any = None,
    end: Any = None,
) -> tuple[pd.DataFrame, list[RunData]]:
    """The observations dated within ``start``..``end`` and the runs to compare them with.

    Checks that the runs can be compared with them (see :func:`validate_run`).
    """
    user = observed is not None or observed_files is not None
    if user:
        if observed is None:
            observed = load_observed(observed_files)
        observed = _within(observed, start, end)
        runs = load_runs(source, needed_metrics(observed), point)
        check_origins(observed, runs)
        return observed, runs
    # The packaged data: each host's own, so the runs are read first with what any host needs.
    packaged = {host: load_observed(packaged_files(host)) for host in packaged_hosts()}
    needed = set().union(*(needed_metrics(obs) for obs in packaged.values()))
    runs = load_runs(source, needed, point)
    host = runs[0].host or packaged_host()
    if host not in packaged:
        raise ObservedDataError(
            f"no packaged observed data describe {host} (they describe "
            f"{', '.join(sorted(packaged))}): compare with your own file, "
            "`tmpsim validate RUN --observed FILE`"
        )
    return _within(packaged[host], start, end), runs


def _within(observed: pd.DataFrame, start: Any, end: Any) -> pd.DataFrame:
    """The observations dated from ``start`` to ``end`` (either may be None); none is an error."""
    if start is not None:
        observed = observed[observed["date"] >= pd.Timestamp(start)]
    if end is not None:
        observed = observed[observed["date"] <= pd.Timestamp(end)]
    if observed.empty:
        window = (
            f"between {start} and {end}"
            if start is not None and end is not None
            else (f"from {start}" if start is not None else f"up to {end}")
        )
        raise ObservedDataError(f"no observations {window}")
    return observed


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Error measures per series (indicator, origin), and Flee's ARD per indicator.

    Rows with origin ``*`` aggregate an indicator over its origins other than ``all``; their
    ``ard`` is Flee's averaged relative difference. For a single series the ARD equals its MAPE.
    """
    ok = table[(table["status"] == OK) & table["simulated"].notna()].copy()
    if ok.empty:
        return pd.DataFrame(
            columns=[
                "indicator",
                "origin",
                "n",
                "first",
                "last",
                "mape",
                "max_abs_rel_error",
                "mean_abs_error",
                "ard",
            ]
        )
    ok["abs_rel"] = ok["rel_error"].abs()
    rows = []
    for (ind, origin), g in ok.groupby(["indicator", "origin"], sort=True):
        row = _stats(g, ind, origin)
        row["ard"] = row["mape"]
        rows.append(row)
    for ind, g in ok[ok["origin"] != "all"].groupby("indicator", sort=True):
        if g["origin"].nunique() < 2:
            continue
        row = _stats(g, ind, "*")
        per_date = g.groupby("date").apply(
            lambda d: d["abs_error"].sum() / d["observed"].abs().sum(), include_groups=False
        )
        row["ard"] = float(per_date.mean())
        rows.append(row)
    return pd.DataFrame(rows)


def _stats(g: pd.DataFrame, ind: str, origin: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "indicator": ind,
        "origin": origin,
        "n": len(g),
        "first": g["date"].min(),
        "last": g["date"].max(),
        "mape": float(g["abs_rel"].mean()),
        "max_abs_rel_error": float(g["abs_rel"].max()),
        "mean_abs_error": float(g["abs_error"].mean()),
    }
    if "in_band" in g:
        row["in_band_share"] = float(g["in_band"].astype(float).mean())
    return row
