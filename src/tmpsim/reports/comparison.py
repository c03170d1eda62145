"""Figures of a comparison (``tmpsim compare``): each variant against the base, on the same seeds.

A comparison folder holds ``comparison.json`` (base, variants, seeds, scale, version),
``daily.parquet`` (daily totals of a few metrics per variant and seed) and ``scenario.yaml`` (the
base, for labels and events); ``tmpsim compare --out`` writes the figures built here, and
``tmpsim plot`` draws them again from the folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from tmpsim.reports import charts
from tmpsim.reports.glossary import ScenarioWords


def comparison_bands(daily: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bands across seeds of each variant (base included), and of variant minus base.

    ``daily`` has columns variant, seed, date, metric, value. Returns (bands: date, metric, point,
    q05, q50, q95, n; diffs: date, metric, point, mean, lo, hi, n), where the differences are
    paired on seeds and lo / hi are their lowest and highest.
    """
    keys = ["date", "metric", "variant"]
    grouped = daily.groupby(keys, sort=False)["value"]
    bands = grouped.quantile(0.05).rename("q05").to_frame()
    bands["q50"] = grouped.quantile(0.5)
    bands["q95"] = grouped.quantile(0.95)
    bands["n"] = grouped.count()
    bands = bands.reset_index().rename(columns={"variant": "point"})
    wide = daily.pivot_table(index=["date", "metric", "seed"], columns="variant", values="value")
    diff = wide.drop(columns="base").sub(wide["base"], axis=0).stack().rename("d").reset_index()
    g = diff.groupby(["date", "metric", "variant"], sort=False)["d"]
    diffs = pd.DataFrame({"mean": g.mean(), "lo": g.min(), "hi": g.max(), "n": g.count()})
    diffs = diffs.reset_index().rename(columns={"variant": "point"})
    return bands, diffs


def comparison_figures(
    daily: pd.DataFrame, scenario: dict[str, Any], info: dict[str, Any]
) -> dict[str, charts.Figure]:
    """Variant against base: each metric's band per variant, and variant minus base.

    ``scenario`` is the base scenario as data; ``info`` what comparison.json holds (its
    ``window``, if any, bounds the days drawn).
    """
    if daily is None or daily.empty:
        return {}
    first, last = info.get("window") or (None, None)
    dates = pd.to_datetime(daily["date"])
    keep = np.ones(len(daily), dtype=bool)
    if first is not None:
        keep &= dates >= pd.Timestamp(first)
    if last is not None:
        keep &= dates <= pd.Timestamp(last)
    daily = daily[keep]
    if daily.empty:
        return {}
    words = ScenarioWords.of(scenario)
    caption = charts.Caption(
        scenario=f"{info.get('base', words.name)} and {len(info.get('variants', []))} variant(s)",
        seeds=charts.seeds_text(info.get("seeds", [])),
        scale=info.get("scale"),
        version=str(info.get("tmpsim_version") or ""),
    )
    bands, diffs = comparison_bands(daily)
    figures: dict[str, charts.Figure] = {}
    for metric in dict.fromkeys(daily["metric"]):
        label = words.label(metric).capitalize()
        figures[f"compare-{metric}"] = charts.band_figure(
            bands,
            metric,
            words,
            None,
            caption,
            title=f"{label}: base and variants",
            note=charts.band_note(info),
        )
        figures[f"difference-{metric}"] = charts.difference_figure(diffs, metric, words, caption)
    return figures


def folder_figures(folder: str | Path) -> dict[str, charts.Figure]:
    """The figures of a comparison folder written by ``tmpsim compare --out``."""
    folder = Path(folder)
    info = json.loads((folder / "comparison.json").read_text(encoding="utf-8"))
    daily_file, scenario_file = folder / "daily.parquet", folder / "scenario.yaml"
    if not daily_file.is_file():
        raise ValueError(f"{folder}: the comparison has no daily.parquet to draw")
    scenario = (
        yaml.safe_load(scenario_file.read_text(encoding="utf-8")) if scenario_file.is_file() else {}
    )
    return comparison_figures(pd.read_parquet(daily_file), scenario or {}, info)
