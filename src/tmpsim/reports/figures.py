"""PNG figures: the specifications of :mod:`tmpsim.reports.charts` drawn with matplotlib.

``tmpsim plot`` uses these for every kind of folder: a run, an ensemble or experiment, and a
comparison written by ``tmpsim compare --out``. The figures are the ones the report and the
dashboard show (same data, labels, events and caption); only the drawing differs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from tmpsim.reports import charts  # noqa: E402
from tmpsim.runfolder import atomic_savefig, is_unfinished_comparison  # noqa: E402

_DASHES = {"dash": (0, (5, 3)), "dot": (0, (1, 2)), "solid": "-"}


def _thousands(value: float, _pos: int) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:,.2f}"


def _x(values: list[Any], dates: bool) -> list[Any]:
    return list(pd.to_datetime(values)) if dates else values


def _y(values: list[Any]) -> list[float]:
    return [float("nan") if v is None else float(v) for v in values]


def render_png(figure: charts.Figure, path: Path) -> Path:
    """Draw a figure specification to a PNG file; return its path."""
    layout = figure["layout"]
    meta = layout.get("meta", {})
    dates = layout.get("xaxis", {}).get("type") == "date"
    fig, ax = plt.subplots(figsize=(11, 5.8))
    stacked: list[tuple[list[Any], list[float], str, str]] = []
    previous: tuple[list[Any], list[float]] | None = None
    bars = [t for t in figure["data"] if t.get("type") == "bar"]
    for trace in figure["data"]:
        if trace.get("type") == "bar":
            continue
        x, y = _x(trace["x"], dates), _y(trace["y"])
        color = (trace.get("line") or {}).get("color") or (trace.get("marker") or {}).get("color")
        name = trace.get("name", "")
        legend = name if trace.get("showlegend", True) else "_nolegend_"
        if trace.get("stackgroup"):
            stacked.append((x, y, name, color))
        elif trace.get("fill") == "tonexty" and previous is not None:
            ax.fill_between(x, previous[1], y, color=color, alpha=0.2, linewidth=0, label=legend)
        elif trace.get("mode") == "markers":
            ax.scatter(x, y, marker="D", s=40, color="black", zorder=5, label=legend)
        else:
            line = trace.get("line") or {}
            width = line.get("width", 1.8)
            if width:
                style = _DASHES.get(line.get("dash", "solid"), "-")
                marker = "o" if "markers" in trace.get("mode", "") else None
                ax.plot(x, y, color=color, lw=width, ls=style, marker=marker, ms=2, label=legend)
        previous = (x, y)
    if stacked:
        ax.stackplot(
            stacked[0][0],
            [s[1] for s in stacked],
            labels=[s[2] for s in stacked],
            colors=[s[3] for s in stacked],
            alpha=0.85,
        )
    if bars:
        _bars(ax, bars)
    for shape in layout.get("shapes", []):
        ax.axvline(pd.Timestamp(shape["x0"]), color="#6b7785", lw=0.8, ls=":")
    lo, hi = ax.get_xlim()
    last_x, last_side = None, "right"
    for note in layout.get("annotations", []):
        if note.get("meta") == "event":
            x = pd.Timestamp(note["x"])
            at = mdates.date2num(x)
            # A label close to the one before goes on the other side of its line, so that
            # events a few weeks apart do not write over each other.
            close = last_x is not None and abs(at - last_x) < 0.03 * (hi - lo)
            side = ("left" if last_side == "right" else "right") if close else "right"
            ax.annotate(
                note["text"],
                (x, 1),
                xycoords=("data", "axes fraction"),
                rotation=90,
                ha=side,
                va="top",
                fontsize=8,
                color="#4a5561",
            )
            last_x, last_side = at, side
        elif not figure["data"]:
            ax.text(0.5, 0.5, note["text"], ha="center", va="center", transform=ax.transAxes)
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    if dates:
        ax.xaxis.set_major_locator(mdates.AutoDateLocator())
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    if layout.get("yaxis", {}).get("rangemode") == "tozero" and figure["data"]:
        ax.set_ylim(bottom=0)
    ax.set_title(meta.get("title", ""), loc="left", fontsize=13)
    ax.set_ylabel(meta.get("ytitle", ""))
    ax.set_xlabel(layout.get("xaxis", {}).get("title", {}).get("text", ""))
    ax.grid(alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    caption = meta.get("caption", "")
    if caption:
        fig.text(0.01, 0.01, _wrap(caption), fontsize=7.5, color="#4a5561", va="bottom")
    fig.tight_layout(rect=(0, 0.07 if caption else 0, 1, 1))
    return atomic_savefig(fig, path, dpi=110)


def _wrap(text: str, width: int = 170) -> str:
    words, lines, line = text.split(" "), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return "\n".join([*lines, line])


def _bars(ax: Any, bars: list[dict[str, Any]]) -> None:
    categories = list(bars[0]["x"])
    width = 0.8 / len(bars)
    for i, trace in enumerate(bars):
        pos = [k + (i - (len(bars) - 1) / 2) * width for k in range(len(categories))]
        y = _y(trace["y"])
        err = trace.get("error_y")
        yerr = [_y(err["arrayminus"]), _y(err["array"])] if err else None
        color = (trace.get("marker") or {}).get("color")
        ax.bar(pos, y, width=width, color=color, label=trace.get("name", ""), yerr=yerr)
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels(categories, rotation=30 if len(categories) > 6 else 0, ha="right")


def _slug(key: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "_", key.lower()).strip("_")


def write_pngs(figures: dict[str, charts.Figure], out: Path) -> list[Path]:
    """Render every figure to OUT/<id>.png."""
    out = Path(out)
    return [render_png(fig, out / f"{_slug(key)}.png") for key, fig in figures.items()]


# ---- figures of each kind of folder -----------------------------------------------------------


def run_folder_figures(folder: Path) -> dict[str, charts.Figure]:
    """The standard figures of a run folder (what its report shows)."""
    from tmpsim.reports.context import load_observed_safe, load_run

    run = load_run(folder)
    words = run.words
    observed, _ = load_observed_safe(words.host)
    return charts.run_figures(run.series, words, observed, charts.run_caption(run.run_info, words))


def experiment_folder_figures(folder: Path) -> dict[str, charts.Figure]:
    """Bands across seeds (and effects per point) of an ensemble or experiment folder."""
    from tmpsim.extras import require

    require("duckdb", "figures of an ensemble or experiment")
    from tmpsim.reports.experiment import experiment_figures, load_experiment_data

    return experiment_figures(load_experiment_data(folder))


def comparison_folder_figures(folder: Path) -> dict[str, charts.Figure]:
    """Variant against base of a folder written by ``tmpsim compare --out``."""
    from tmpsim.reports.comparison import folder_figures

    return folder_figures(folder)


def folder_kind(folder: Path) -> str | None:
    """``run``, ``experiment``, ``comparison`` or None (not a tmpsim folder)."""
    folder = Path(folder)
    if (folder / "series.parquet").is_file():
        return "run"
    if (folder / "experiment.json").is_file():
        return "experiment"
    if (folder / "comparison.json").is_file():
        return "comparison"
    return None


def write_folder_figures(folder: Path, out: Path) -> list[Path]:
    """Write the PNG figures of any tmpsim folder; ValueError when it is none."""
    kind = folder_kind(folder)
    builders = {
        "run": run_folder_figures,
        "experiment": experiment_folder_figures,
        "comparison": comparison_folder_figures,
    }
    if kind is None and is_unfinished_comparison(folder):
        raise ValueError(
            f"{folder}: an unfinished comparison (no comparison.json, which `tmpsim compare "
            "--out` writes last: its writing stopped); run the comparison again"
        )
    if kind is None:
        raise ValueError(
            f"{folder}: not a run folder (series.parquet), an ensemble or experiment folder "
            "(experiment.json) or a comparison folder (comparison.json, from "
            "`tmpsim compare --out`)"
        )
    return write_pngs(builders[kind](folder), out)
