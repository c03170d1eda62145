"""Figures of a calibration: trials and loss (TPE), marginals and pairs of a posterior (ABC-SMC)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

from tmpsim.calibration.spec import FreeParameter  # noqa: E402
from tmpsim.runfolder import atomic_savefig  # noqa: E402

if TYPE_CHECKING:
    from tmpsim.calibration.optimise import CalibrationResult
    from tmpsim.uncertainty.posterior import Posterior


def diagnostics_figure(result: CalibrationResult, path: Path) -> Path:
    """Loss per trial with the best so far, and one scatter per parameter (best marked)."""
    title = f"Calibration of {result.problem.raw.get('name', '')}: best loss {result.best_loss:.4f}"
    return trials_figure(result.trials, result.problem.parameters, result.best, title, path)


def trials_figure(
    trials: pd.DataFrame,
    params: list[FreeParameter],
    best: dict[str, float],
    title: str,
    path: Path,
) -> Path:
    """Draw the diagnostics figure from a trial history (``trials.csv``)."""
    trials = trials[trials["status"] == "ok"]
    n = len(params) + 1
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False)
    ax = axes[0][0]
    ax.plot(trials["trial"], trials["loss"], ".", color="0.6", label="trial")
    ax.plot(
        trials["trial"],
        np.minimum.accumulate(trials["loss"].to_numpy()),
        color="C3",
        label="best so far",
    )
    ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel("loss (weighted relative error)")
    ax.set_title("Loss by trial")
    ax.legend(fontsize=7)
    for i, p in enumerate(params, start=1):
        ax = axes[i // cols][i % cols]
        ax.plot(trials[p.name], trials["loss"], ".", color="C0", alpha=0.6)
        ax.axvline(best[p.name], color="C3", lw=1)
        if p.log:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(axis="x", labelsize=7)
        ax.set_yscale("log")
        ax.set_xlabel(p.name + (" (factor)" if p.scale else ""))
        ax.set_ylabel("loss")
        ax.set_title(p.name, fontsize=9)
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return atomic_savefig(fig, path, dpi=90)


def posterior_figure(posterior: Posterior, title: str, path: Path, log: set[str]) -> Path:
    """Marginals (weighted histograms, diagonal) and pairs (points sized by weight) of a posterior.

    ``log`` names the parameters drawn on a log axis.
    """
    names = posterior.parameters
    n = len(names)
    size = max(1.3, min(2.4, 16 / n))
    fig, axes = plt.subplots(n, n, figsize=(size * n, size * n), squeeze=False)
    w = posterior.weights
    for i, yname in enumerate(names):
        for j, xname in enumerate(names):
            ax = axes[i][j]
            x = posterior.values[xname].to_numpy()
            if i == j:
                bins = np.geomspace(x.min(), x.max(), 15) if xname in log and x.min() > 0 else 15
                ax.hist(x, bins=bins, weights=w, color="C0")
                ax.set_yticks([])
            elif i > j:
                y = posterior.values[yname].to_numpy()
                ax.scatter(x, y, s=4 + 400 * w, alpha=0.5, color="C0", lw=0)
                if yname in log:
                    ax.set_yscale("log")
            else:
                ax.set_visible(False)
                continue
            if xname in log:
                ax.set_xscale("log")
            ax.tick_params(labelsize=5)
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.yaxis.set_minor_formatter(NullFormatter())
            if i == n - 1:
                ax.set_xlabel(xname, fontsize=6)
            if j == 0 and i > 0:
                ax.set_ylabel(yname, fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return atomic_savefig(fig, path, dpi=80)
