"""Goals: acceptance criteria read from a file and checked against a validation table.

A goals file is a YAML list; each entry selects observations of the validation table and says
what their errors must satisfy::

    - goal: Stock by stage, half-yearly 2017-06..2022-12, MAPE <= 10% each
      indicators: [stock_stage_1, stock_stage_2]   # names of the observed data's indicators
      origins: [all]            # default: every origin in the table
      start: 2017-06-30         # optional, inclusive
      end: 2022-12-31           # optional, inclusive
      months: [12]              # optional: only observations dated in these months
      dates: [2022-12-31]       # optional: only these dates
      measure: mape             # mape | each | ratio
      max: 0.10                 # for mape and each
      low: 0.5                  # for ratio: every simulated / observed within [low, high]
      high: 1.0

Each goal is checked per series (indicator and origin): ``mape`` is the mean of ``|rel_error|``,
``each`` the largest ``|rel_error|``, ``ratio`` the range of simulated / observed. The packaged
goals (``tmpsim/data/observed/goals.yaml``) are the calibration window's acceptance criteria for
the packaged statistics.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

MEASURES = ("mape", "each", "ratio")
KEYS = {
    "goal",
    "indicators",
    "origins",
    "start",
    "end",
    "months",
    "dates",
    "measure",
    "max",
    "low",
    "high",
    "note",
}


COLUMNS = [
    "goal",
    "indicator",
    "origin",
    "n",
    "measure",
    "value",
    "ratio_min",
    "ratio_max",
    "bound",
    "met",
    "details",
]


class GoalsError(ValueError):
    """A goals file that cannot be used; the message names the file, entry and reason."""


def packaged_goals() -> Path:
    """The packaged goals file."""
    return Path(str(resources.files("tmpsim") / "data" / "observed" / "goals.yaml"))


def load_goals(path: str | Path | None = None) -> list[dict[str, Any]]:
    """Read and check a goals file (the packaged one by default)."""
    path = Path(path) if path is not None else packaged_goals()
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as exc:
        raise GoalsError(f"{path}: cannot read goals: {exc}") from None
    if not isinstance(entries, list):
        raise GoalsError(f"{path}: expected a list of goals")
    for i, g in enumerate(entries, 1):
        where = f"{path}: goal {i}"
        if not isinstance(g, dict):
            raise GoalsError(f"{where}: expected a mapping")
        unknown = set(g) - KEYS
        if unknown:
            raise GoalsError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        for key in ("goal", "indicators", "measure"):
            if key not in g:
                raise GoalsError(f"{where}: missing {key}")
        if g["measure"] not in MEASURES:
            raise GoalsError(f"{where}: measure {g['measure']!r} not one of {', '.join(MEASURES)}")
        needs = ("max",) if g["measure"] != "ratio" else ("low", "high")
        for key in needs:
            if not isinstance(g.get(key), int | float):
                raise GoalsError(f"{where}: measure {g['measure']} needs a number {key}")
    return entries


def _select(table: pd.DataFrame, g: dict[str, Any]) -> pd.DataFrame:
    dates = pd.to_datetime(table["date"])
    keep = table["indicator"].isin(list(g["indicators"])) & (table["status"] == "ok")
    keep &= table["simulated"].notna()
    if "origins" in g:
        keep &= table["origin"].isin([str(o) for o in g["origins"]])
    if "start" in g:
        keep &= dates >= pd.Timestamp(g["start"])
    if "end" in g:
        keep &= dates <= pd.Timestamp(g["end"])
    if "months" in g:
        keep &= dates.dt.month.isin(list(g["months"]))
    if "dates" in g:
        keep &= dates.isin([pd.Timestamp(d) for d in g["dates"]])
    return table[keep]


def check_goals(table: pd.DataFrame, goals: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per goal and series: the measure, its bound and whether it is met.

    A goal that selects no observation gives one row with ``n = 0`` and ``met`` empty.
    """
    rows = []
    for g in goals:
        sel = _select(table, g)
        if sel.empty:
            rows.append({"goal": g["goal"], "indicator": "", "origin": "", "n": 0, "met": None})
            continue
        for (ind, origin), s in sel.groupby(["indicator", "origin"], sort=False):
            row: dict[str, Any] = {"goal": g["goal"], "indicator": ind, "origin": origin}
            row["n"] = len(s)
            rel = s["rel_error"].to_numpy(dtype=float)
            if g["measure"] == "mape":
                row["value"] = float(np.mean(np.abs(rel)))
                row["met"] = bool(row["value"] <= g["max"])
            elif g["measure"] == "each":
                worst = int(np.argmax(np.abs(rel)))
                row["value"] = float(rel[worst])
                row["met"] = bool(abs(rel[worst]) <= g["max"])
            else:
                ratio = (s["simulated"] / s["observed"]).to_numpy(dtype=float)
                row["ratio_min"], row["ratio_max"] = float(ratio.min()), float(ratio.max())
                row["met"] = bool(ratio.min() >= g["low"] and ratio.max() <= g["high"])
            row["bound"] = (
                f"<= {g['max']:g}" if g["measure"] != "ratio" else f"[{g['low']:g}, {g['high']:g}]"
            )
            row["measure"] = g["measure"]
            row["details"] = "; ".join(
                f"{pd.Timestamp(d).date()}: {sim:,.0f} vs {obs:,.0f} ({r:+.1%})"
                for d, sim, obs, r in zip(
                    s["date"], s["simulated"], s["observed"], s["rel_error"], strict=True
                )
            )
            rows.append(row)
    return pd.DataFrame(rows).reindex(columns=COLUMNS)
