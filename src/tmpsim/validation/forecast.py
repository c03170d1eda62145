"""Forecasts from an ensemble: indicators after the observed data, with their bands.

The same aggregation as validation (:mod:`tmpsim.validation.indicators`) applied to dates that have
no observation: half-yearly stocks (30 June, 31 December) and calendar-year flows, each with the
ensemble mean and the central band (90% by default).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from tmpsim.runfolder import atomic_savefig  # noqa: E402
from tmpsim.validation.compare import compare  # noqa: E402
from tmpsim.validation.indicators import (  # noqa: E402
    REGISTRY,
    STAGE,
    forecast_indicators,
    resolve,
)
from tmpsim.validation.observed import packaged_observed  # noqa: E402
from tmpsim.validation.rundata import RunData, RunSourceError, load_runs  # noqa: E402

DEFAULT_INDICATORS, BY_ORIGIN = forecast_indicators()
"""Reported by default (the packaged data's about.yaml); ``{stage}`` stands for every stage of the
run's programme; those in BY_ORIGIN are also given for each origin."""


def forecast_dates(indicator: str, start: dt.date, end: dt.date) -> list[pd.Timestamp]:
    """Report dates: 31 December for yearly flows, else 30 June and 31 December."""
    months = (12,) if resolve(indicator).kind == "year" else (6, 12)
    return [d for d in pd.date_range(start, end, freq="ME") if d.month in months]


def expand_stages(indicators: tuple[str, ...], runs: list[RunData]) -> list[str]:
    """Indicators with ``{stage}`` replaced by each stage the runs recorded (in their order)."""
    out = []
    for ind in indicators:
        if STAGE not in ind:
            out.append(ind)
            continue
        # The stages the runs recorded, read from the names of the metric the indicator counts.
        prefix = REGISTRY[ind].source.split(STAGE)[0] if ind in REGISTRY else ind.split(STAGE)[0]
        stages = [m[len(prefix) :] for m in runs[0].metrics if m.startswith(prefix)]
        out += [ind.replace(STAGE, stage) for stage in stages]
    return out


def forecast(
    source: Any,
    start: dt.date,
    end: dt.date,
    indicators: tuple[str, ...] = DEFAULT_INDICATORS,
    origins: tuple[str, ...] = ("all",),
    band: float = 0.9,
    point: int | None = None,
    by_origin: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Ensemble mean and band of indicators at regular dates between ``start`` and ``end``.

    ``origins`` apply to every indicator; those in ``by_origin`` are also given for each origin
    of the runs. Only dates inside the runs are reported (RunSourceError if none is), and an
    indicator the runs never counted (zero throughout: a status the programme does not have) is
    left out.
    """
    runs = load_runs(source, None, point)
    first = max(pd.Timestamp(start), max(r.start for r in runs))
    last = min(pd.Timestamp(end), min(r.end for r in runs))
    if start > end or first > last:
        raise RunSourceError(
            f"no forecast dates between {start} and {end} inside the runs "
            f"({runs[0].start.date()}..{runs[0].end.date()})"
        )
    rows = []
    for ind in expand_stages(indicators, runs):
        wanted = [*origins, *(o for o in runs[0].origins if o not in origins)]
        for origin in wanted if ind in by_origin else origins:
            rows += [(d, ind, origin) for d in forecast_dates(ind, first.date(), last.date())]
    frame = pd.DataFrame(rows, columns=["date", "indicator", "origin"]).assign(
        value=np.nan, source="forecast"
    )
    table = compare(frame, runs, band)
    counted = table.groupby("indicator", observed=True)["simulated"].transform(
        lambda v: bool(np.nan_to_num(v.to_numpy(float)).any())
    )
    table = table[counted.astype(bool)]
    keep = ["indicator", "origin", "date", "simulated", "sim_lo", "sim_hi", "n_runs", "status"]
    table = table[[c for c in keep if c in table.columns]]
    return table.rename(columns={"simulated": "mean", "sim_lo": "lo", "sim_hi": "hi"})


def daily_bands(runs: list[RunData], metric: str, band: float = 0.9) -> pd.DataFrame:
    """Daily mean and central band of one metric (all origins) over an ensemble."""
    series = [r.metric(metric, "all") for r in runs]
    stacked = pd.concat([s for s in series if s is not None], axis=1)
    q = (1 - band) / 2
    return pd.DataFrame(
        {
            "mean": stacked.mean(axis=1),
            "lo": stacked.quantile(q, axis=1),
            "hi": stacked.quantile(1 - q, axis=1),
        }
    )


def forecast_figure(
    source: Any,
    path: Path,
    start: dt.date,
    metrics: tuple[str, ...] = ("programme_stock", "stranded"),
    band: float = 0.9,
    point: int | None = None,
) -> Path:
    """Daily ensemble bands of stock metrics with the observed values, forecast period shaded."""
    runs = load_runs(source, metrics, point)
    observed = packaged_observed(runs[0].host)
    fig, axes = plt.subplots(len(metrics), 1, figsize=(9, 3.2 * len(metrics)), squeeze=False)
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        b = daily_bands(runs, metric, band)
        ax.fill_between(
            b.index,
            b["lo"],
            b["hi"],
            color="C0",
            alpha=0.25,
            label=f"{int(band * 100)}% band ({len(runs)} runs)",
        )
        ax.plot(b.index, b["mean"], color="C0", lw=1.2, label="ensemble mean")
        if observed is not None:
            stocks = [n for n, i in REGISTRY.items() if i.kind == "stock" and i.source == metric]
            obs = observed[observed.indicator.isin(stocks) & (observed.origin == "all")]
            obs = obs[(obs["date"] >= b.index.min()) & (obs["date"] <= b.index.max())]
            ax.plot(obs["date"], obs["value"], "s", color="k", mfc="none", ms=5, label="observed")
        ax.axvspan(
            pd.Timestamp(start),
            b.index.max(),
            color="0.9",
            zorder=0,
            label="forecast (after the data)",
        )
        ax.set_ylabel("people")
        ax.set_title(metric)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return atomic_savefig(fig, path, dpi=100)
