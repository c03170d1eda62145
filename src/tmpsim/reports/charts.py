"""Plotly figure specifications (plain JSON-able dicts) shared by the HTML report and the dashboard.

Every builder takes tidy data (the run folder's ``series`` table, or ensemble bands) and returns
``{"data": [...], "layout": {...}}`` with a title, axis titles carrying units, a date axis and a
legend. The browser draws them with ``Plotly.newPlot``; nothing here needs a display or network.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

Figure = dict[str, Any]

# The essay's figure: more than 36,000 trainees unable to return, reported 2021-01-21.
ESSAY_STRANDED = (dt.date(2021, 1, 21), 36000.0)
ESSAY_STRANDED_LABEL = "observed: more than 36,000 unable to return (essay, 21 Jan 2021)"

# Stacked "people by state" figure: metric -> legend label (people in the host or on the way).
STATE_TRACES: dict[str, str] = {
    "state_employed": "employed",
    "state_jobless": "jobless (status valid)",
    "state_stranded": "stranded (no special status)",
    "state_special_idle": "special status, not working",
    "state_special_working": "special status, working",
    "state_irregular": "irregular (left employer)",
    "state_home_visit": "home visit",
    "state_awaiting_entry": "cleared, awaiting entry",
    "state_training": "in pre-departure training",
}
STRANDED_TRACES = {
    "stranded": "stranded (essay's definition)",
    "special_status": "of whom on a special status",
    "jobless": "jobless, status still valid",
}
DESTITUTION_TRACES = {
    "destitute": "destitute (no income, no savings)",
    "sheltered": "in a shelter",
    "unmet_shelter_need": "unmet shelter need",
    "shelter_capacity": "shelter places",
}
FLOW_TRACES = {"new_entries": "new entries", "returns": "returns home", "missing": "missing"}
BAND_METRICS = {
    "stranded": "Stranded",
    "destitute": "Destitute",
    "unmet_shelter_need": "Unmet shelter need",
    "titp_stock": "Programme stock",
}
COLORS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


def _clean(values: Iterable[Any], digits: int = 1) -> list[float | None]:
    """Round floats for a compact payload; NaN and inf become ``None`` (JSON null)."""
    out: list[float | None] = []
    for v in values:
        f = float(v)
        out.append(None if not math.isfinite(f) else round(f, digits))
    return out


def _dates(index: Iterable[Any]) -> list[str]:
    return [pd.Timestamp(d).strftime("%Y-%m-%d") for d in index]


def _layout(title: str, ytitle: str, xtitle: str = "date", **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0.01, "xanchor": "left"},
        "xaxis": {"title": {"text": xtitle}},
        "yaxis": {"title": {"text": ytitle}, "rangemode": "tozero", "separatethousands": True},
        "legend": {"orientation": "h", "y": -0.2, "yanchor": "top", "x": 0},
        "margin": {"l": 70, "r": 20, "t": 50, "b": 40},
        "hovermode": "x unified",
        "height": 460,
        "template": None,
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
    }
    if xtitle == "date":
        layout["xaxis"]["type"] = "date"
    layout.update(extra)
    return layout


def wide(series: pd.DataFrame, metrics: Sequence[str], origin: str = "all") -> pd.DataFrame:
    """Return daily values of some metrics for one origin: index date, a column per metric."""
    sel = series[(series["origin"] == origin) & series["metric"].isin(list(metrics))]
    table = sel.pivot_table(index="date", columns="metric", values="value", aggfunc="sum")
    table.index = pd.to_datetime(table.index)
    return table[[m for m in metrics if m in table.columns]].sort_index()


def empty_figure(title: str, message: str) -> Figure:
    """Return a figure with no data and a message in the middle (e.g. a metric is absent)."""
    layout = _layout(title, "")
    layout["annotations"] = [
        {"text": message, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}
    ]
    return {"data": [], "layout": layout}


def states_figure(series: pd.DataFrame) -> Figure:
    """Plot people by lifecycle state over time, stacked."""
    table = wide(series, list(STATE_TRACES))
    if table.empty:
        return empty_figure("People by state", "no state_* metrics in this run")
    x = _dates(table.index)
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "stackgroup": "states",
            "name": STATE_TRACES[m],
            "x": x,
            "y": _clean(table[m], 0),
            "line": {"width": 0.5, "color": COLORS[i % len(COLORS)]},
        }
        for i, m in enumerate(table.columns)
    ]
    return {"data": data, "layout": _layout("People by state (stacked)", "people")}


def _observed_points(
    observed: pd.DataFrame | None, indicator: str, origin: str = "all"
) -> pd.DataFrame:
    if observed is None or observed.empty:
        return pd.DataFrame(columns=["date", "value", "source"])
    sel = observed[(observed["indicator"] == indicator) & (observed["origin"] == origin)]
    out = sel[["date", "value"]].copy()
    out["source"] = sel["source"].astype(str) if "source" in sel else ""
    return out.sort_values("date")


def stranded_figure(
    series: pd.DataFrame, observed: pd.DataFrame | None = None, essay: bool = True
) -> Figure:
    """Plot stranded workers over time, with the observed figures marked as points.

    ``essay`` marks the essay's January 2021 figure when there are no packaged observed data
    (false for a programme in another host country).
    """
    table = wide(series, list(STRANDED_TRACES))
    if table.empty:
        return empty_figure("Stranded workers", "no stranded metric in this run")
    x = _dates(table.index)
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": STRANDED_TRACES[m],
            "x": x,
            "y": _clean(table[m], 0),
            "line": {"color": COLORS[i], "width": 2 if m == "stranded" else 1.2},
        }
        for i, m in enumerate(table.columns)
    ]
    markers = stranded_markers(observed, _window(table), essay)
    data.extend(markers)
    layout = _layout("Stranded workers", "people")
    if not markers and (essay or observed is not None):
        _outside_note(layout, "The observed figure (January 2021)")
    return {"data": data, "layout": layout}


def _marker_trace(
    dates: Sequence[Any], values: Sequence[float], name: str, text: Sequence[str]
) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "markers",
        "name": name,
        "x": _dates(dates),
        "y": _clean(values, 0),
        "text": list(text),
        "hovertemplate": "%{text}<extra></extra>",
        "marker": {"symbol": "diamond", "size": 11, "color": "#000000"},
        "meta": "observed",
    }


def _observed_trace(points: pd.DataFrame, name: str) -> dict[str, Any]:
    pairs = zip(points["value"], points["source"], strict=True)
    text = [f"observed {v:,.0f}: {s}" for v, s in pairs]
    return _marker_trace(list(points["date"]), list(points["value"]), name, text)


def _in_window(points: pd.DataFrame, window: tuple[Any, Any] | None) -> pd.DataFrame:
    if window is None or points.empty:
        return points
    lo, hi = (pd.Timestamp(w) for w in window)
    dates = pd.to_datetime(points["date"])
    return points[(dates >= lo) & (dates <= hi)]


def stranded_markers(
    observed: pd.DataFrame | None, window: tuple[Any, Any] | None = None, essay: bool = True
) -> list[dict[str, Any]]:
    """Return observed stranded figures inside the window as marker traces.

    The packaged observed data are used when there are any; otherwise the essay's figure
    (unless ``essay`` is false).
    """
    points = _observed_points(observed, "stranded")
    if points.empty and not essay:
        return []
    if points.empty:
        day, value = ESSAY_STRANDED
        essay = pd.DataFrame({"date": [pd.Timestamp(day)], "value": [value], "source": ["essay"]})
        if _in_window(essay, window).empty:
            return []
        return [_marker_trace([day], [value], ESSAY_STRANDED_LABEL, ["more than 36,000 (essay)"])]
    points = _in_window(points, window)
    return [_observed_trace(points, "observed stranded (packaged data)")] if len(points) else []


def _window(table: pd.DataFrame) -> tuple[Any, Any]:
    return table.index.min(), table.index.max()


def _outside_note(layout: dict[str, Any], what: str) -> None:
    layout["annotations"] = [
        {
            "text": f"{what} lies outside this run's window",
            "showarrow": False,
            "xref": "paper",
            "yref": "paper",
            "x": 0.99,
            "y": 0.98,
            "xanchor": "right",
            "font": {"size": 11, "color": "#5b6773"},
        }
    ]


def stock_figure(series: pd.DataFrame, observed: pd.DataFrame | None = None) -> Figure:
    """Plot the programme's stock (as official statistics count it) and observed stocks."""
    table = wide(series, ["titp_stock", "in_host"])
    if table.empty:
        return empty_figure("Programme stock", "no titp_stock metric in this run")
    x = _dates(table.index)
    labels = {"titp_stock": "simulated programme stock", "in_host": "all workers in the host"}
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": labels[m],
            "x": x,
            "y": _clean(table[m], 0),
            "line": {"color": COLORS[i]},
        }
        for i, m in enumerate(table.columns)
    ]
    points = _in_window(_observed_points(observed, "titp_stock"), _window(table))
    if not points.empty:
        data.append(_observed_trace(points, "observed stock (packaged data)"))
    return {"data": data, "layout": _layout("Programme stock: simulated and observed", "people")}


def destitution_figure(series: pd.DataFrame) -> Figure:
    """Plot destitution, shelter use, unmet need and shelter places."""
    table = wide(series, list(DESTITUTION_TRACES))
    if table.empty:
        return empty_figure("Destitution and shelter", "no destitution metrics in this run")
    x = _dates(table.index)
    data = []
    for i, m in enumerate(table.columns):
        trace: dict[str, Any] = {
            "type": "scatter",
            "mode": "lines",
            "name": DESTITUTION_TRACES[m],
            "x": x,
            "y": _clean(table[m], 0),
            "line": {"color": COLORS[i + 3]},
        }
        if m == "shelter_capacity":
            trace["line"] = {"color": "#7f7f7f", "dash": "dot"}
        data.append(trace)
    layout = _layout("Destitution, shelter use and unmet need", "people")
    return {"data": data, "layout": layout}


def money_at_return_figure(series: pd.DataFrame, currency: str = "JPY") -> Figure:
    """Plot mean debt and savings at return, by origin (over the whole run)."""
    sel = series[
        series["metric"].isin(["returns", "returned_debt", "returned_savings"])
        & (series["origin"] != "all")
    ]
    title = "Mean debt and savings at return, by origin"
    if sel.empty:
        return empty_figure(title, "no returns recorded in this run")
    agg = sel.groupby(["origin", "metric"])["value"].sum().unstack()
    for col in ("returns", "returned_debt", "returned_savings"):
        if col not in agg:
            agg[col] = 0.0
    agg = agg[agg["returns"] > 0].sort_values("returns", ascending=False)
    if agg.empty:
        return empty_figure(title, "nobody returned in this run's window")
    origins = [str(o) for o in agg.index]
    returns = agg["returns"]
    data = [
        {
            "type": "bar",
            "name": "debt still owed at return",
            "x": origins,
            "y": _clean(agg["returned_debt"] / returns, 0),
            "marker": {"color": COLORS[3]},
        },
        {
            "type": "bar",
            "name": "savings at return",
            "x": origins,
            "y": _clean(agg["returned_savings"] / returns, 0),
            "marker": {"color": COLORS[2]},
        },
    ]
    layout = _layout(title, f"{currency} per returnee", xtitle="origin", barmode="group")
    layout["hovermode"] = "closest"
    return {"data": data, "layout": layout}


def flows_figure(series: pd.DataFrame) -> Figure:
    """Plot new entries, returns and missing workers per calendar month."""
    table = wide(series, list(FLOW_TRACES))
    if table.empty:
        return empty_figure("New entries and returns", "no flow metrics in this run")
    monthly = table.resample("MS").sum(min_count=1)
    x = _dates(monthly.index)
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": FLOW_TRACES[m],
            "x": x,
            "y": _clean(monthly[m], 0),
            "marker": {"size": 3},
            "line": {"color": COLORS[i], "shape": "hv"},
        }
        for i, m in enumerate(monthly.columns)
    ]
    return {"data": data, "layout": _layout("New entries and returns", "people per month")}


def run_figures(
    series: pd.DataFrame,
    observed: pd.DataFrame | None = None,
    currency: str = "JPY",
    essay: bool = True,
) -> dict[str, Figure]:
    """Build the standard figures of one run, keyed by a stable id."""
    return {
        "states": states_figure(series),
        "stranded": stranded_figure(series, observed, essay),
        "stock": stock_figure(series, observed),
        "destitution": destitution_figure(series),
        "money": money_at_return_figure(series, currency),
        "flows": flows_figure(series),
    }


# ---- ensembles ------------------------------------------------------------------------------


def band_figure(
    bands: pd.DataFrame,
    metric: str,
    title: str,
    ytitle: str = "people",
    observed: pd.DataFrame | None = None,
    essay: bool = True,
) -> Figure:
    """Plot the median and 5-95% band across seeds of a metric, a colour per experiment point.

    ``bands`` has columns date, metric, point, q05, q50, q95 and n (runs in the band).
    """
    sel = bands[bands["metric"] == metric]
    if sel.empty:
        return empty_figure(title, f"no {metric} in this experiment")
    data: list[dict[str, Any]] = []
    for i, (point, grp) in enumerate(sel.groupby("point", sort=False)):
        grp = grp.sort_values("date")
        x = _dates(grp["date"])
        color = COLORS[i % len(COLORS)]
        n = int(grp["n"].max())
        label = f"{point} ({n} seeds)"
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": x,
                "y": _clean(grp["q05"], 0),
                "line": {"width": 0, "color": color},
                "showlegend": False,
                "hoverinfo": "skip",
                "legendgroup": str(point),
                "name": f"{point} 5%",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": x,
                "y": _clean(grp["q95"], 0),
                "fill": "tonexty",
                "fillcolor": _rgba(color, 0.2),
                "line": {"width": 0, "color": color},
                "name": f"{label}: 5-95% band",
                "legendgroup": str(point),
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": x,
                "y": _clean(grp["q50"], 0),
                "line": {"color": color, "width": 2},
                "name": f"{label}: median",
                "legendgroup": str(point),
            }
        )
    if metric == "stranded":
        data.extend(stranded_markers(observed, (sel["date"].min(), sel["date"].max()), essay))
    return {"data": data, "layout": _layout(title, ytitle)}


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def effects_figure(effects: pd.DataFrame, output: str, title: str, ytitle: str) -> Figure:
    """Plot a headline output per experiment point: mean and 5-95% interval across seeds.

    ``effects`` has columns point, output, mean, q05, q95, n.
    """
    sel = effects[effects["output"] == output]  # in point order
    if sel.empty:
        return empty_figure(title, f"no {output} in this experiment")
    mean = sel["mean"].to_numpy(dtype=float)
    data = [
        {
            "type": "bar",
            "name": f"mean across seeds, with 5-95% interval ({ytitle})",
            "x": [str(p) for p in sel["point"]],
            "y": _clean(mean, 1),
            "error_y": {
                "type": "data",
                "symmetric": False,
                "array": _clean(np.maximum(sel["q95"].to_numpy(dtype=float) - mean, 0), 1),
                "arrayminus": _clean(np.maximum(mean - sel["q05"].to_numpy(dtype=float), 0), 1),
            },
            "marker": {"color": COLORS[0]},
        }
    ]
    layout = _layout(title, ytitle, xtitle="experiment point (lever and parameter values)")
    layout["hovermode"] = "closest"
    layout["showlegend"] = True
    return {"data": data, "layout": layout}


def compare_figure(
    series_a: pd.DataFrame,
    series_b: pd.DataFrame,
    metric: str,
    title: str,
    label_a: str,
    label_b: str,
) -> Figure:
    """Plot one metric of two runs on the same axes (A solid, B dashed)."""
    data = []
    for series, label, color, dash in (
        (series_a, label_a, COLORS[0], "solid"),
        (series_b, label_b, COLORS[1], "dash"),
    ):
        table = wide(series, [metric])
        if table.empty:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": label,
                "x": _dates(table.index),
                "y": _clean(table[metric], 0),
                "line": {"color": color, "dash": dash, "width": 2},
            }
        )
    if not data:
        return empty_figure(f"{title}: A and B", f"no {metric} in these runs")
    return {"data": data, "layout": _layout(f"{title}: A and B", "people")}
