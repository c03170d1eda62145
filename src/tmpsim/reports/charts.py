"""The figures of tmpsim, as Plotly specifications (plain JSON-able dicts): the one plotting layer.

The HTML report and the dashboard draw these with Plotly in the browser; ``tmpsim plot`` renders
the same specifications to PNG with matplotlib (:mod:`tmpsim.reports.figures`). Every builder
takes tidy data and :class:`~tmpsim.reports.glossary.ScenarioWords` (labels, currency, dated
events, reference figures) and returns ``{"data": [...], "layout": {...}}`` with plain-language
labels from the glossary, units, thousands separators, the scenario's labelled events marked on
the time axis and a caption saying what was run (``layout.meta.caption``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from tmpsim.reports.glossary import ScenarioWords

Figure = dict[str, Any]

# People in the host country, stacked: every person is in one of these states.
HOST_STATES = [
    "state_employed",
    "state_jobless",
    "state_stranded",
    "state_special_idle",
    "state_special_working",
    "state_irregular",
]
# People abroad or on the way: drawn as lines, never stacked on people in the host.
ABROAD_STATES = ["state_training", "state_awaiting_entry", "state_home_visit"]
STRANDED_METRICS = ["stranded", "stranded_out_of_work", "special_status", "jobless"]
DESTITUTION_METRICS = [
    "destitute",
    "needs_bed",
    "sheltered",
    "unmet_shelter_need",
    "shelter_capacity",
]
FLOW_METRICS = ["new_entries", "returns", "missing"]
# Metrics drawn as bands across seeds (ensembles, experiments, comparisons).
BAND_METRICS = [
    "stranded",
    "destitute",
    "needs_bed",
    "unmet_shelter_need",
    "sheltered",
    "programme_stock",
]
MAX_ORIGINS = 8  # origins drawn one by one in a by-origin figure; the rest are summed
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
BAND_NOTE = (
    "Bands: 5th to 95th percentile across seeds (chance alone); they leave out uncertainty "
    "about parameters, the model and the data."
)
POSTERIOR_BAND_NOTE = (
    "Bands: 5th to 95th percentile across runs, each with its own seed and parameter set drawn "
    "from the calibration's posterior (parameter and chance uncertainty); they leave out "
    "uncertainty about the model and the data."
)


def band_note(uncertainty: dict[str, Any] | None) -> str:
    """What an ensemble's bands cover, from its uncertainty.json (None: seeds only)."""
    return POSTERIOR_BAND_NOTE if uncertainty and uncertainty.get("posterior") else BAND_NOTE


@dataclass(frozen=True)
class Caption:
    """What a figure shows the result of: scenario, seed(s), scale, version and data source."""

    scenario: str = ""
    seeds: str = ""
    scale: float | None = None
    version: str = ""
    sources: tuple[str, ...] = ()

    def text(self) -> str:
        """The caption as one line."""
        from tmpsim import __version__

        parts = [f"Scenario {self.scenario}" if self.scenario else "", self.seeds]
        if self.scale is not None:
            parts.append(f"scale {self.scale:g} (scaled to the full population)")
        parts.append(f"tmpsim {self.version or __version__}")
        parts.append("Source: tmpsim simulation" + "".join(f"; {s}" for s in self.sources))
        return " · ".join(p for p in parts if p)

    def with_sources(self, *sources: str) -> Caption:
        """The same caption with more data sources."""
        more = tuple(s for s in sources if s and s not in self.sources)
        return Caption(self.scenario, self.seeds, self.scale, self.version, self.sources + more)


def seeds_text(seeds: Sequence[int]) -> str:
    """``seed 3``, or ``seeds 1-20 (20)`` for an ensemble."""
    seeds = sorted(int(s) for s in seeds)
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    if not seeds:
        return ""
    span = f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else ""
    return f"seeds {span or ', '.join(map(str, seeds[:6]))} ({len(seeds)} runs)"


def run_caption(run_info: dict[str, Any], words: ScenarioWords) -> Caption:
    """The caption of a run's figures, from its run.json and scenario."""
    seed = run_info.get("seed")
    return Caption(
        scenario=str(run_info.get("scenario") or words.name),
        seeds=seeds_text([seed]) if seed is not None else "",
        scale=run_info.get("scale"),
        version=str(run_info.get("tmpsim_version") or ""),
    )


def _clean(values: Iterable[Any], digits: int = 1) -> list[float | None]:
    """Round floats for a compact payload; NaN and inf become ``None`` (JSON null)."""
    out: list[float | None] = []
    for v in values:
        f = float(v)
        out.append(None if not math.isfinite(f) else round(f, digits))
    return out


def _dates(index: Iterable[Any]) -> list[str]:
    return [pd.Timestamp(d).strftime("%Y-%m-%d") for d in index]


def _layout(
    title: str, ytitle: str, caption: Caption | None, xtitle: str = "date", **extra: Any
) -> dict[str, Any]:
    cap = caption.text() if caption is not None else ""
    layout: dict[str, Any] = {
        "title": {
            "text": f"{title}<br><sup>{cap}</sup>" if cap else title,
            "x": 0.01,
            "xanchor": "left",
        },
        "xaxis": {"title": {"text": xtitle}},
        "yaxis": {
            "title": {"text": ytitle},
            "rangemode": "tozero",
            "separatethousands": True,
            "tickformat": ",.0f",
            "exponentformat": "none",
        },
        "legend": {"orientation": "h", "y": -0.2, "yanchor": "top", "x": 0},
        "margin": {"l": 80, "r": 20, "t": 70, "b": 40},
        "hovermode": "x unified",
        "height": 480,
        "template": None,
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "meta": {"title": title, "caption": cap, "ytitle": ytitle},
        "separators": ".,",
    }
    if xtitle == "date":
        layout["xaxis"]["type"] = "date"
    layout.update(extra)
    return layout


def mark_events(layout: dict[str, Any], words: ScenarioWords, window: tuple[Any, Any]) -> None:
    """Mark the scenario's labelled events inside the window: a dotted line and the label."""
    lo, hi = (pd.Timestamp(w) for w in window)
    inside = [(d, text) for d, text in words.events if lo <= pd.Timestamp(d) <= hi]
    if not inside:
        return
    layout.setdefault("shapes", [])
    layout.setdefault("annotations", [])
    for d, text in inside:
        layout["shapes"].append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": d,
                "x1": d,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#6b7785", "width": 1, "dash": "dot"},
            }
        )
        layout["annotations"].append(
            {
                "x": d,
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "text": text,
                "showarrow": False,
                "textangle": -90,
                "xanchor": "right",
                "yanchor": "top",
                "font": {"size": 10, "color": "#4a5561"},
                "meta": "event",
            }
        )
    layout["meta"]["events"] = [{"date": d, "label": text} for d, text in inside]


def wide(series: pd.DataFrame, metrics: Sequence[str], origin: str = "all") -> pd.DataFrame:
    """Return daily values of some metrics for one origin: index date, a column per metric."""
    sel = series[(series["origin"] == origin) & series["metric"].isin(list(metrics))]
    table = sel.pivot_table(index="date", columns="metric", values="value", aggfunc="sum")
    table.index = pd.to_datetime(table.index)
    return table[[m for m in metrics if m in table.columns]].sort_index()


def empty_figure(title: str, message: str, caption: Caption | None = None) -> Figure:
    """Return a figure with no data and a message in the middle (e.g. a metric is absent)."""
    layout = _layout(title, "", caption)
    layout["annotations"] = [
        {"text": message, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}
    ]
    return {"data": [], "layout": layout}


def _line(x: list[str], y: Iterable[Any], name: str, color: str, **extra: Any) -> dict[str, Any]:
    trace = {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": x,
        "y": _clean(y, 0),
        "line": {"color": color, "width": 1.8},
        "hovertemplate": "%{y:,.0f}",
    }
    trace.update(extra)
    return trace


def _lines_figure(
    table: pd.DataFrame,
    title: str,
    words: ScenarioWords,
    caption: Caption | None,
    styles: dict[str, dict[str, Any]] | None = None,
    ytitle: str = "people",
    stack: str | None = None,
) -> Figure:
    """A line per column of ``table``; with ``stack``, stacked areas (labels without "state: ")."""
    x = _dates(table.index)
    data = []
    for i, m in enumerate(table.columns):
        color = COLORS[i % len(COLORS)]
        extra = dict((styles or {}).get(m, {}))
        name = words.label(m)
        if stack is not None:
            name = name.removeprefix("state: ")
            extra = {"stackgroup": stack, "line": {"width": 0.5, "color": color}, **extra}
        data.append(_line(x, table[m], name, color, **extra))
    layout = _layout(title, ytitle, caption)
    mark_events(layout, words, _window(table))
    return {"data": data, "layout": layout}


def _metrics_figure(
    series: pd.DataFrame,
    metrics: Sequence[str],
    title: str,
    missing: str,
    words: ScenarioWords | None,
    caption: Caption | None,
    *,
    observed: pd.DataFrame | None = None,
    marked: str | None = None,
    monthly: bool = False,
    **lines: Any,
) -> Figure:
    """Daily metrics of one run as lines (``_lines_figure`` options in ``lines``).

    ``marked``: the metric whose observed or reference figures are drawn as diamonds;
    ``monthly``: sums per calendar month instead of daily values. "no ``missing`` in this run"
    stands in for the figure when the run has none of the metrics.
    """
    words = words or ScenarioWords()
    table = wide(series, list(metrics))
    if table.empty:
        return empty_figure(title, f"no {missing} in this run", caption)
    if monthly:
        table = table.resample("MS").sum(min_count=1)
    markers = observed_markers(marked, words, observed, _window(table)) if marked else []
    if caption is not None and marked:
        caption = caption.with_sources(*_sources(markers, words, marked))
    fig = _lines_figure(table, title, words, caption, **lines)
    fig["data"].extend(markers)
    return fig


def states_figure(
    series: pd.DataFrame, words: ScenarioWords | None = None, caption: Caption | None = None
) -> Figure:
    """People in the host country by situation, stacked (each person in exactly one)."""
    title = "People in the host country, by situation (stacked)"
    missing = "state_* metrics"
    return _metrics_figure(series, HOST_STATES, title, missing, words, caption, stack="host")


def abroad_figure(
    series: pd.DataFrame, words: ScenarioWords | None = None, caption: Caption | None = None
) -> Figure:
    """People on the way or away on a home visit (not stacked; not in the host country)."""
    title = "People on the way or on a home visit (outside the host country)"
    return _metrics_figure(series, ABROAD_STATES, title, "state_* metrics", words, caption)


def _observed_points(
    observed: pd.DataFrame | None, metric: str, origin: str = "all"
) -> pd.DataFrame:
    """Observed values of a metric (observed data carry the metric each indicator measures)."""
    if observed is None or observed.empty or "metric" not in observed:
        return pd.DataFrame(columns=["date", "value", "source"])
    sel = observed[(observed["metric"] == metric) & (observed["origin"] == origin)]
    out = sel[["date", "value"]].copy()
    out["source"] = sel["source"].astype(str) if "source" in sel else ""
    return out.sort_values("date")


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


def _in_window(points: pd.DataFrame, window: tuple[Any, Any] | None) -> pd.DataFrame:
    if window is None or points.empty:
        return points
    lo, hi = (pd.Timestamp(w) for w in window)
    dates = pd.to_datetime(points["date"])
    return points[(dates >= lo) & (dates <= hi)]


def observed_markers(
    metric: str,
    words: ScenarioWords,
    observed: pd.DataFrame | None = None,
    window: tuple[Any, Any] | None = None,
) -> list[dict[str, Any]]:
    """Observed values of a metric inside the window, as marker traces.

    Observed data (when they describe the scenario's programme) are drawn when there are any;
    otherwise the scenario's own reference figures (``headlines``) for that metric.
    """
    points = _in_window(_observed_points(observed, metric), window)
    if not points.empty:
        pairs = zip(points["value"], points["source"], strict=True)
        text = [f"observed {v:,.0f}: {s}" for v, s in pairs]
        name = f"observed {words.label(metric)} (packaged data)"
        return [_marker_trace(list(points["date"]), list(points["value"]), name, text)]
    traces = []
    for ref in words.references(metric):
        point = pd.DataFrame({"date": [pd.Timestamp(ref["date"])], "value": [ref["value"]]})
        if _in_window(point, window).empty:
            continue
        text = [f"{ref['label']}: {ref['source']}" if ref["source"] else ref["label"]]
        traces.append(_marker_trace([ref["date"]], [ref["value"]], ref["label"], text))
    return traces


def _window(table: pd.DataFrame) -> tuple[Any, Any]:
    return table.index.min(), table.index.max()


def _sources(markers: list[dict[str, Any]], words: ScenarioWords, metric: str) -> list[str]:
    if any("packaged data" in m["name"] for m in markers):
        return ["observed: packaged official statistics (data/observed/MANIFEST.md)"]
    return [r["source"] for r in words.references(metric) if markers and r["source"]]


def stranded_figure(
    series: pd.DataFrame,
    words: ScenarioWords | None = None,
    observed: pd.DataFrame | None = None,
    caption: Caption | None = None,
) -> Figure:
    """Stranded people over time, with observed or reference figures marked as diamonds."""
    title = "Stranded: people who want to go home and cannot"
    styles = {"stranded": {"line": {"color": COLORS[0], "width": 2.6}}}
    return _metrics_figure(
        series, STRANDED_METRICS, title, "stranded metric", words, caption,
        observed=observed, marked="stranded", styles=styles,
    )  # fmt: skip


def by_origin_figure(
    series: pd.DataFrame,
    metric: str,
    words: ScenarioWords | None = None,
    caption: Caption | None = None,
) -> Figure:
    """One metric by origin (the largest origins one by one, the others summed)."""
    words = words or ScenarioWords()
    title = f"{words.label(metric).capitalize()}, by origin"
    sel = series[(series["metric"] == metric) & (series["origin"] != "all")]
    if sel.empty:
        return empty_figure(title, f"no {metric} by origin in this run", caption)
    table = sel.pivot_table(index="date", columns="origin", values="value", aggfunc="sum")
    table.index = pd.to_datetime(table.index)
    order = table.max().sort_values(ascending=False).index.tolist()
    shown = order[: MAX_ORIGINS - 1] if len(order) > MAX_ORIGINS else order
    rest = [o for o in order if o not in shown]
    table = table[shown].assign(**({"other origins": table[rest].sum(axis=1)} if rest else {}))
    x = _dates(table.index)
    data = [
        _line(x, table[o], str(o), COLORS[i % len(COLORS)]) for i, o in enumerate(table.columns)
    ]
    layout = _layout(title, words.unit(metric) or "people", caption)
    mark_events(layout, words, _window(table))
    return {"data": data, "layout": layout}


def stock_figure(
    series: pd.DataFrame,
    words: ScenarioWords | None = None,
    observed: pd.DataFrame | None = None,
    caption: Caption | None = None,
) -> Figure:
    """The programme's stock (as official statistics count it) and observed stocks."""
    words = words or ScenarioWords()
    seen = observed is not None and not observed.empty
    title = f"{words.label('programme_stock').capitalize()}" + (
        ": simulated and observed" if seen else ", simulated"
    )
    return _metrics_figure(
        series, ["programme_stock", "in_host"], title, "programme_stock metric", words, caption,
        observed=observed, marked="programme_stock",
    )  # fmt: skip


def destitution_figure(
    series: pd.DataFrame, words: ScenarioWords | None = None, caption: Caption | None = None
) -> Figure:
    """Destitution, the need for a bed, shelter use, unmet need and places (lines, none hidden)."""
    title = "Destitute people, the need for a bed, shelter use and unmet need"
    # Destitute is drawn wide and first, the need for a bed and sheltered narrow and dashed on
    # top: where the destitute are all who need a bed, and all are sheltered, the lines coincide
    # and all stay visible.
    styles = {
        "destitute": {"line": {"color": COLORS[3], "width": 4}},
        "needs_bed": {"line": {"color": COLORS[4], "width": 1.6, "dash": "dashdot"}},
        "sheltered": {"line": {"color": COLORS[2], "width": 1.6, "dash": "dash"}},
        "unmet_shelter_need": {"line": {"color": COLORS[1], "width": 1.6}},
        "shelter_capacity": {"line": {"color": "#7f7f7f", "width": 1, "dash": "dot"}},
    }
    missing = "destitution metrics"
    return _metrics_figure(
        series, DESTITUTION_METRICS, title, missing, words, caption, styles=styles
    )


def money_at_return_figure(
    series: pd.DataFrame, words: ScenarioWords | None = None, caption: Caption | None = None
) -> Figure:
    """Mean debt and savings at return, by origin (over the whole run)."""
    words = words or ScenarioWords()
    sel = series[
        series["metric"].isin(["returns", "returned_debt", "returned_savings"])
        & (series["origin"] != "all")
    ]
    title = "Mean debt and savings at return, by origin"
    if sel.empty:
        return empty_figure(title, "no returns recorded in this run", caption)
    agg = sel.groupby(["origin", "metric"])["value"].sum().unstack()
    for col in ("returns", "returned_debt", "returned_savings"):
        if col not in agg:
            agg[col] = 0.0
    agg = agg[agg["returns"] > 0].sort_values("returns", ascending=False)
    if agg.empty:
        return empty_figure(title, "nobody returned in this run's window", caption)
    origins = [str(o) for o in agg.index]
    returns = agg["returns"]
    data = [
        {
            "type": "bar",
            "name": "debt still owed at return",
            "x": origins,
            "y": _clean(agg["returned_debt"] / returns, 0),
            "marker": {"color": COLORS[3]},
            "hovertemplate": "%{y:,.0f}",
        },
        {
            "type": "bar",
            "name": "savings at return",
            "x": origins,
            "y": _clean(agg["returned_savings"] / returns, 0),
            "marker": {"color": COLORS[2]},
            "hovertemplate": "%{y:,.0f}",
        },
    ]
    layout = _layout(
        title, f"{words.currency} per returnee", caption, xtitle="origin", barmode="group"
    )
    layout["hovermode"] = "closest"
    return {"data": data, "layout": layout}


def flows_figure(
    series: pd.DataFrame, words: ScenarioWords | None = None, caption: Caption | None = None
) -> Figure:
    """New entries, returns and missing workers per calendar month."""
    title = "New entries and returns, per month"
    styles = {m: {"mode": "lines+markers", "marker": {"size": 3}} for m in FLOW_METRICS}
    return _metrics_figure(
        series, FLOW_METRICS, title, "flow metrics", words, caption,
        monthly=True, styles=styles, ytitle="people per month",
    )  # fmt: skip


def run_figures(
    series: pd.DataFrame,
    words: ScenarioWords | None = None,
    observed: pd.DataFrame | None = None,
    caption: Caption | None = None,
) -> dict[str, Figure]:
    """The standard figures of one run, keyed by a stable id."""
    words = words or ScenarioWords()
    return {
        "states": states_figure(series, words, caption),
        "abroad": abroad_figure(series, words, caption),
        "stranded": stranded_figure(series, words, observed, caption),
        "stranded_by_origin": by_origin_figure(series, "stranded", words, caption),
        "special_by_origin": by_origin_figure(series, "special_status", words, caption),
        "stock": stock_figure(series, words, observed, caption),
        "destitution": destitution_figure(series, words, caption),
        "money": money_at_return_figure(series, words, caption),
        "flows": flows_figure(series, words, caption),
    }


def origins_figures(
    flows: pd.DataFrame, host: str, caption: Caption | None = None, own_fees: bool = True
) -> dict[str, Figure]:
    """The sending market's view of a run with ``origins_market`` (origins_flows.parquet).

    Departures to the host by origin, per year, and the mean fee and debt at departure there by
    origin (US dollars). ``own_fees`` false (``origins_market.fees: false``, or a
    ``worker_fee_share`` below 1): the run's agents paid the origins' ``fee_mean``, or a share of
    the market's fees, instead, and the titles say the fees are not the run's.
    """
    sel = flows[flows["destination"] == host]
    out: dict[str, Figure] = {}
    whose = "" if own_fees else " (the sending market's, not this run's fees)"
    specs = [
        (
            "origins_departures",
            "departures",
            f"Departures to {host}, by origin, per year",
            "people",
        ),
        (
            "origins_fees",
            "fee_mean_usd",
            f"Mean fee at departure to {host}, by origin{whose}",
            "US$",
        ),
        (
            "origins_debt",
            "debt_mean_usd",
            f"Mean debt at departure to {host}, by origin{whose}",
            "US$",
        ),
    ]
    for key, metric, title, unit in specs:
        rows = sel[sel["metric"] == metric]
        if rows.empty:
            out[key] = empty_figure(title, f"no {metric} in this run", caption)
            continue
        table = rows.pivot_table(index="date", columns="origin", values="value", aggfunc="sum")
        table.index = pd.to_datetime(table.index)
        if metric == "departures":
            table = table.resample("YS").sum(min_count=1)
        x = _dates(table.index)
        data = [
            _line(x, table[o], str(o), COLORS[i % len(COLORS)]) for i, o in enumerate(table.columns)
        ]
        out[key] = {"data": data, "layout": _layout(title, unit, caption)}
    return out


def origins_figures_of(folder: str | Path, caption: Caption | None = None) -> dict[str, Figure]:
    """``origins_figures`` of a run folder that has origins_flows.parquet ({} otherwise)."""
    folder = Path(folder)
    path = folder / "origins_flows.parquet"
    if not path.is_file():
        return {}
    scenario = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8")) or {}
    market = scenario.get("origins_market") or {}
    host = market.get("host")
    if not host:
        return {}
    if caption is not None:  # the market is its own run: its seed and scale, not the run's
        own = [f"the sending market's seed {market['seed']}" if "seed" in market else ""]
        own.append(f"scale {float(market['scale']):g}" if "scale" in market else "")
        seeds = ", ".join(p for p in own if p)
        caption = Caption(caption.scenario, seeds, None, caption.version, caption.sources)
    flows = pd.read_parquet(path)
    for col in ("origin", "destination", "metric"):
        flows[col] = flows[col].astype(str)
    # The run's agents pay the market's fees only with fees, and then times the worker's share.
    own = bool(market.get("fees", True)) and market.get("worker_fee_share", 1.0) == 1.0
    return origins_figures(flows, host, caption, own_fees=own)


# ---- ensembles, experiments, comparisons ---------------------------------------------------


def band_figure(
    bands: pd.DataFrame,
    metric: str,
    words: ScenarioWords | None = None,
    observed: pd.DataFrame | None = None,
    caption: Caption | None = None,
    title: str | None = None,
    note: str = BAND_NOTE,
) -> Figure:
    """The median and 5-95% band across runs of a metric, a colour per point (or variant).

    ``bands`` has columns date, metric, point, q05, q50, q95 and n (runs in the band); ``note``
    says what the band covers (``band_note``).
    """
    words = words or ScenarioWords()
    across = "seeds" if note == BAND_NOTE else "runs"
    title = title or f"{words.label(metric).capitalize()}: median and band across {across}"
    sel = bands[bands["metric"] == metric]
    if sel.empty:
        return empty_figure(title, f"no {metric} in these runs", caption)
    data: list[dict[str, Any]] = []
    for i, (point, grp) in enumerate(sel.groupby("point", sort=False)):
        grp = grp.sort_values("date")
        x = _dates(grp["date"])
        color = COLORS[i % len(COLORS)]
        n = int(grp["n"].max())
        label = f"{point} ({n} {across})"
        group = str(point)
        names = (f"{point} 5%", f"{label}: 5-95% across {across}", f"{label}: median")
        data.extend(_band(x, grp["q05"], grp["q95"], grp["q50"], names, color, group))
    window = (sel["date"].min(), sel["date"].max())
    markers = observed_markers(metric, words, observed, window)
    data.extend(markers)
    if caption is not None:
        caption = caption.with_sources(*_sources(markers, words, metric), note)
    layout = _layout(title, words.unit(metric) or "people", caption)
    mark_events(layout, words, window)
    return {"data": data, "layout": layout}


def _band(
    x: list[str], lo: Any, hi: Any, mid: Any, names: tuple[str, str, str], color: str, group: str
) -> list[dict[str, Any]]:
    """A band (an unseen lower edge, the upper edge filled down to it) and its middle line."""
    return [
        _line(
            x, lo, names[0], color, line={"width": 0, "color": color},
            showlegend=False, hoverinfo="skip", legendgroup=group,
        ),
        _line(
            x, hi, names[1], color, fill="tonexty", fillcolor=_rgba(color, 0.2),
            line={"width": 0, "color": color}, legendgroup=group,
        ),
        _line(x, mid, names[2], color, legendgroup=group, line={"color": color, "width": 2}),
    ]  # fmt: skip


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def effects_figure(
    effects: pd.DataFrame,
    output: str,
    title: str,
    ytitle: str,
    caption: Caption | None = None,
    note: str = BAND_NOTE,
) -> Figure:
    """A headline output per experiment point: mean and 5-95% interval across runs.

    ``effects`` has columns point, output, mean, q05, q95, n; ``note`` says what the interval
    covers (``band_note``).
    """
    across = "seeds" if note == BAND_NOTE else "runs"
    sel = effects[effects["output"] == output]  # in point order
    if sel.empty:
        return empty_figure(title, f"no {output} in this experiment", caption)
    mean = sel["mean"].to_numpy(dtype=float)
    data = [
        {
            "type": "bar",
            "name": f"mean across {across}, with 5-95% interval ({ytitle})",
            "x": [str(p) for p in sel["point"]],
            "y": _clean(mean, 1),
            "error_y": {
                "type": "data",
                "symmetric": False,
                "array": _clean(np.maximum(sel["q95"].to_numpy(dtype=float) - mean, 0), 1),
                "arrayminus": _clean(np.maximum(mean - sel["q05"].to_numpy(dtype=float), 0), 1),
            },
            "marker": {"color": COLORS[0]},
            "hovertemplate": "%{y:,.0f}",
        }
    ]
    if caption is not None:
        caption = caption.with_sources(note)
    layout = _layout(title, ytitle, caption, xtitle="experiment point (lever and parameter values)")
    layout["hovermode"] = "closest"
    layout["showlegend"] = True
    return {"data": data, "layout": layout}


def compare_figure(
    series_a: pd.DataFrame,
    series_b: pd.DataFrame,
    metric: str,
    label_a: str,
    label_b: str,
    words: ScenarioWords | None = None,
    caption: Caption | None = None,
) -> Figure:
    """One metric of two runs on the same axes (A solid, B dashed)."""
    words = words or ScenarioWords()
    title = f"{words.label(metric).capitalize()}: A and B"
    data = []
    window = None
    for series, label, color, dash in (
        (series_a, label_a, COLORS[0], "solid"),
        (series_b, label_b, COLORS[1], "dash"),
    ):
        table = wide(series, [metric])
        if table.empty:
            continue
        window = _window(table) if window is None else window
        data.append(
            _line(
                _dates(table.index),
                table[metric],
                label,
                color,
                line={"color": color, "dash": dash, "width": 2},
            )
        )
    if not data:
        return empty_figure(title, f"no {metric} in these runs", caption)
    layout = _layout(title, words.unit(metric) or "people", caption)
    if window is not None:
        mark_events(layout, words, window)
    return {"data": data, "layout": layout}


def difference_figure(
    diffs: pd.DataFrame,
    metric: str,
    words: ScenarioWords | None = None,
    caption: Caption | None = None,
) -> Figure:
    """Variant minus base on the same seeds: mean paired difference and its range, per variant.

    ``diffs`` has columns date, metric, point (the variant), mean, lo, hi and n.
    """
    words = words or ScenarioWords()
    title = f"{words.label(metric).capitalize()}: variant minus base (same seeds)"
    sel = diffs[diffs["metric"] == metric]
    if sel.empty:
        return empty_figure(title, f"no {metric} in this comparison", caption)
    data: list[dict[str, Any]] = []
    for i, (point, grp) in enumerate(sel.groupby("point", sort=False)):
        grp = grp.sort_values("date")
        x = _dates(grp["date"])
        color = COLORS[(i + 1) % len(COLORS)]
        n = int(grp["n"].max())
        names = (
            f"{point} low",
            f"{point}: lowest to highest of {n} seeds",
            f"{point}: mean difference",
        )
        data.extend(_band(x, grp["lo"], grp["hi"], grp["mean"], names, color, str(point)))
    window = (sel["date"].min(), sel["date"].max())
    layout = _layout(title, f"difference, {words.unit(metric) or 'people'}", caption)
    layout["yaxis"]["rangemode"] = "normal"
    layout["yaxis"]["zeroline"] = True
    mark_events(layout, words, window)
    return {"data": data, "layout": layout}
