"""PNG figures of a run folder (matplotlib, no display needed)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

# The essay's figure: more than 36,000 trainees unable to return, reported 2021-01-21.
ESSAY_STRANDED = (dt.date(2021, 1, 21), 36000)
STATE_METRICS = [
    "state_employed",
    "state_jobless",
    "state_stranded",
    "state_special_idle",
    "state_special_working",
    "state_irregular",
    "state_home_visit",
    "awaiting_entry",
    "in_training",
]


def _wide(series: pd.DataFrame, metrics: list[str], origin: str = "all") -> pd.DataFrame:
    s = series[(series.origin == origin) & series.metric.isin(metrics)]
    wide = s.pivot(index="date", columns="metric", values="value")
    wide.index = pd.to_datetime(wide.index)
    return wide[[m for m in metrics if m in wide.columns]]


def _finish(fig, ax, title: str, ylabel: str, path: Path) -> Path:
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("date")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_figures(run_dir: Path, out: Path) -> list[Path]:
    """Write the standard figures of a run and return their paths."""
    run_dir, out = Path(run_dir), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    series = pd.read_parquet(run_dir / "series.parquet")
    paths = []

    fig, ax = plt.subplots(figsize=(10, 5))
    wide = _wide(series, STATE_METRICS)
    ax.stackplot(wide.index, wide.T.values, labels=[c.removeprefix("state_") for c in wide.columns])
    paths.append(_finish(fig, ax, "People by state", "people", out / "states.png"))

    fig, ax = plt.subplots(figsize=(10, 5))
    wide = _wide(series, ["stranded", "special_status", "jobless"])
    for col in wide.columns:
        ax.plot(wide.index, wide[col], label=col)
    day, value = ESSAY_STRANDED
    ax.scatter(
        [pd.Timestamp(day)],
        [value],
        color="black",
        zorder=5,
        label="essay: more than 36,000 unable to return (Jan 2021)",
    )
    paths.append(_finish(fig, ax, "Stranded workers", "people", out / "stranded.png"))

    fig, ax = plt.subplots(figsize=(10, 5))
    wide = _wide(series, ["destitute", "sheltered", "unmet_shelter_need"])
    for col in wide.columns:
        ax.plot(wide.index, wide[col], label=col)
    paths.append(_finish(fig, ax, "Destitution and shelter", "people", out / "destitution.png"))

    fig, ax = plt.subplots(figsize=(10, 5))
    tot = series[series.metric.isin(["returns", "returned_debt", "returned_savings"])]
    agg = tot[tot.origin != "all"].groupby(["origin", "metric"]).value.sum().unstack()
    means = pd.DataFrame(
        {
            "debt at return": agg["returned_debt"] / agg["returns"].where(agg["returns"] > 0),
            "savings at return": agg["returned_savings"] / agg["returns"].where(agg["returns"] > 0),
        }
    )
    means.plot.bar(ax=ax)
    ax.set_title("Mean debt and savings at return, by origin")
    ax.set_ylabel("JPY (or the scenario's currency)")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    path = out / "money_at_return.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    return paths
