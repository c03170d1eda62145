"""Coverage of an ensemble's bands: how many observations fall inside the 50% and 90% bands.

For honest bands about half the observations should fall inside the central 50% band and nine in
ten inside the 90% band; far fewer means the bands are too narrow (or the model biased), far more
with wide bands means they say little. So the table gives the bands' widths next to the counts:
the median over observations of (upper - lower) / |observed|.

>>> from tmpsim.uncertainty.coverage import coverage  # doctest: +SKIP
>>> bands, table = coverage("runs/ensemble", start="2020-01-01", end="2022-12-31")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LEVELS = (0.5, 0.9)
"""Central bands whose coverage is reported."""
COLUMNS = ["indicator", "n", "in_50", "in_90", "share_50", "share_90", "width_50", "width_90"]


def band_table(
    source: Any,
    observed_files: Iterable[str | Path] | None = None,
    *,
    start: Any = None,
    end: Any = None,
    point: int | None = None,
) -> pd.DataFrame:
    """Per observation the ensemble's median and 50% and 90% bands, and whether each holds it.

    ``source`` is an experiment or ensemble folder (or what :func:`validate_run` accepts);
    observations the runs cannot simulate (outside their dates, other origins) are left out.
    """
    from tmpsim.validation.compare import validate_run

    tables = {
        level: validate_run(source, observed_files, band=level, point=point, start=start, end=end)
        for level in LEVELS
    }
    base = tables[LEVELS[0]]
    if "sim_lo" not in base:
        raise ValueError(f"{source}: coverage needs an ensemble (two runs or more), got one run")
    out = base[["indicator", "origin", "date", "observed", "simulated", "status", "n_runs"]].copy()
    for level in LEVELS:
        pct = round(level * 100)
        t = tables[level]
        out[f"lo_{pct}"], out[f"hi_{pct}"] = t["sim_lo"], t["sim_hi"]
        out[f"in_{pct}"] = (t["observed"] >= t["sim_lo"]) & (t["observed"] <= t["sim_hi"])
        out[f"width_{pct}"] = (t["sim_hi"] - t["sim_lo"]) / t["observed"].abs()
    keep = (out["status"] == "ok") & out["simulated"].notna() & (out["observed"] != 0)
    return out[keep].drop(columns="status").reset_index(drop=True)


def coverage_table(bands: pd.DataFrame) -> pd.DataFrame:
    """By indicator (and ``all``): observations, how many in each band, the bands' widths."""
    rows = []
    groups = [(str(k), g) for k, g in bands.groupby("indicator", sort=True)]
    for name, g in [*groups, ("all", bands)]:
        row: dict[str, Any] = {"indicator": name, "n": len(g)}
        for level in LEVELS:
            pct = round(level * 100)
            inside = g[f"in_{pct}"].astype(bool)
            row[f"in_{pct}"] = int(inside.sum())
            row[f"share_{pct}"] = float(inside.mean()) if len(g) else np.nan
            row[f"width_{pct}"] = float(g[f"width_{pct}"].median()) if len(g) else np.nan
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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Band table per observation and coverage table per indicator of an ensemble."""
    bands = band_table(source, observed_files, start=start, end=end, point=point)
    return bands, coverage_table(bands)


def bands_shown(source: Any) -> str:
    """What an ensemble folder's bands show (from its ``uncertainty.json``)."""
    import json

    path = Path(source) / "uncertainty.json"
    if not path.is_file():
        return "stochastic (seed) uncertainty only"
    return str(json.loads(path.read_text(encoding="utf-8"))["bands"])
