"""Validation outputs: the CSV files, one figure per indicator, and a printable table."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from rich.table import Table  # noqa: E402

from tmpsim.runfolder import atomic_savefig, atomic_write_csv  # noqa: E402
from tmpsim.validation.compare import OK, summarise  # noqa: E402


def write_validation(table: pd.DataFrame, out: Path) -> list[Path]:
    """Write ``validation.csv``, ``validation_summary.csv`` and ``validation/<indicator>.png``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "validation.csv", out / "validation_summary.csv"]
    atomic_write_csv(paths[0], table)
    atomic_write_csv(paths[1], summarise(table))
    fig_dir = out / "validation"
    for indicator in sorted(table.loc[table["status"] == OK, "indicator"].unique()):
        paths.append(indicator_figure(table, indicator, fig_dir / f"{indicator}.png"))
    return paths


def indicator_figure(table: pd.DataFrame, indicator: str, path: Path) -> Path:
    """Observed and simulated values of one indicator, one panel per origin."""
    data = table[(table["indicator"] == indicator) & (table["status"] == OK)].copy()
    data["date"] = pd.to_datetime(data["date"])
    origins = sorted(data["origin"].unique(), key=lambda o: (o != "all", o))
    cols = min(3, len(origins))
    rows = int(np.ceil(len(origins) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    band = "sim_lo" in data.columns
    single_date = data["date"].nunique() == 1
    for i, origin in enumerate(origins):
        ax = axes[i // cols][i % cols]
        d = data[data["origin"] == origin].sort_values("date")
        x = np.arange(len(d)) if single_date else d["date"]
        if band:
            lo = (d["simulated"] - d["sim_lo"]).clip(lower=0)
            hi = (d["sim_hi"] - d["simulated"]).clip(lower=0)
            ax.errorbar(
                x,
                d["simulated"],
                yerr=[lo, hi],
                fmt="o-",
                color="C0",
                ms=3,
                capsize=2,
                label="simulated (mean, 90% band)",
            )
        else:
            ax.plot(x, d["simulated"], "o-", color="C0", ms=3, label="simulated")
        ax.plot(x, d["observed"], "s", color="k", ms=4, mfc="none", label="observed")
        ax.set_title(origin, fontsize=9)
        ax.grid(alpha=0.3)
        if single_date:
            ax.set_xticks(x, [str(t.date()) for t in d["date"]], fontsize=7)
        else:
            ax.tick_params(axis="x", labelsize=7, rotation=30)
        ax.set_ylim(bottom=0)
        if i == 0:
            ax.legend(fontsize=7)
    for j in range(len(origins), rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    fig.suptitle(f"{indicator}: observed vs simulated", fontsize=10)
    fig.supxlabel("date of observation", fontsize=8)
    fig.tight_layout()
    return atomic_savefig(fig, path, dpi=100)


def summary_table(summary: pd.DataFrame, title: str = "Validation") -> Table:
    """The per-series error measures as a rich table."""
    table = Table(title=title, show_header=True)
    band = "in_band_share" in summary.columns
    for col in ["indicator", "origin", "n", "dates", "MAPE", "max |rel|", "ARD"]:
        left = col in ("indicator", "origin", "dates")
        table.add_column(col, justify="left" if left else "right", no_wrap=True)
    if band:
        table.add_column("in 90% band", justify="right")
    for r in summary.itertuples(index=False):
        cells = [
            str(r.indicator),
            str(r.origin),
            str(r.n),
            _span(r.first, r.last),
            f"{100 * r.mape:.1f}%",
            f"{100 * r.max_abs_rel_error:.1f}%",
            f"{100 * r.ard:.1f}%",
        ]
        if band:
            share = getattr(r, "in_band_share", np.nan)
            cells.append("" if pd.isna(share) else f"{100 * share:.0f}%")
        table.add_row(*cells)
    return table


def _span(first: object, last: object) -> str:
    a, b = pd.Timestamp(first), pd.Timestamp(last)
    return f"{a:%Y-%m}" if a == b else f"{a:%Y-%m}..{b:%Y-%m}"


def status_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many observations were compared, and why the others were not."""
    return {str(k): int(v) for k, v in table["status"].value_counts().items()}
