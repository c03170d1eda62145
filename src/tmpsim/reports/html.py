"""One self-contained HTML report of a run or an experiment (opens offline: plotly.js is embedded).

``tmpsim.reports.build.build_report(DIR)`` writes ``DIR/report.html`` from these pages: the
headline figures, interactive charts (people by state, stranded with the observed figures marked,
destitution and shelter, debt and savings at return by origin, new entries and returns; for
experiments, bands across seeds and the effect of each point), the validation table, the dated
events and every parameter with its source.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from tmpsim.reports import charts
from tmpsim.reports.context import (
    RunData,
    event_table,
    load_observed_safe,
    parameter_table,
    validation_safe,
)
from tmpsim.reports.glossary import summary_rows

FIGURE_CAPTIONS = {
    "states": "Everyone in the host country, by situation, each day (each person in one).",
    "abroad": "People in training, waiting to enter or on a home visit: outside the host country.",
    "stranded": (
        "Stranded: contract ended or job lost, and unable to return home (whatever bridging "
        "status they hold). Black diamonds are observed or reference figures."
    ),
    "stranded_by_origin": "Stranded people by origin (the largest origins; the rest summed).",
    "special_by_origin": "People on a special bridging status, by origin.",
    "stock": "The programme's stock as official statistics count it; diamonds are observed stocks.",
    "destitution": (
        "Destitute: no income and no savings. Needing a bed: the destitute and, where the job "
        "comes with a bed, everyone in the host without work; unmet need is those needing a bed "
        "without a shelter place."
    ),
    "money": "Means over everyone who returned during the run, by origin.",
    "flows": "Calendar-month totals.",
    "origins_departures": "The sending market (origins_market): departures to the host by origin.",
    "origins_fees": (
        "Mean fee paid at departure to the host in the sending market, by origin (US dollars): "
        "the run's own only with origins_market.fees (times its worker_fee_share), otherwise "
        "its origins' fee_mean are."
    ),
    "origins_debt": (
        "Mean debt at departure to the host in the sending market, by origin (US dollars): the "
        "run's own only with origins_market.fees (times its worker_fee_share), otherwise its "
        "origins' debt_mean are."
    ),
}

CSS = """
:root { --ink:#1d2733; --muted:#5b6773; --line:#d8dee4; --accent:#1f5f99; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1200px; padding: 1.5rem; }
h1 { margin: 0 0 .3rem; font-size: 1.7rem; }
h2 { border-bottom: 2px solid var(--line); padding-bottom: .2rem; margin-top: 2.2rem; }
p.lead { color: var(--muted); margin-top: 0; }
nav a { margin-right: 1rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f3f5f7; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { max-height: 32rem; overflow: auto; border: 1px solid var(--line); }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1rem; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: .5rem; }
figure.chart figcaption { color: var(--muted); font-size: .85rem; padding: .2rem .4rem; }
.plot { min-height: 460px; }
.note { background: #fff8e1; border-left: 4px solid #f2b600; padding: .5rem .8rem;
        margin: .6rem 0; }
.kind { font-size: .75rem; padding: 0 .4rem; border-radius: 3px; white-space: nowrap; }
.kind-cited { background: #e3f1e6; } .kind-calibrated { background: #e3ecf9; }
.kind-assumed { background: #fde9e7; } .kind-derived { background: #efe7f7; }
.kind-none { background: #eee; }
dl.info { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: .5rem 0; }
dl.info dt { color: var(--muted); } dl.info dd { margin: 0; }
footer { color: var(--muted); font-size: .8rem; margin-top: 3rem; }
"""

RENDER_JS = """
(function () {
  var figures = JSON.parse(document.getElementById('tmpsim-figures').textContent);
  var config = {responsive: true, displaylogo: false};
  var jobs = [];
  document.querySelectorAll('[data-figure]').forEach(function (el) {
    var fig = figures[el.getAttribute('data-figure')];
    if (fig) { jobs.push(Plotly.newPlot(el, fig.data, fig.layout, config)); }
  });
  Promise.all(jobs).then(function () {
    document.body.setAttribute('data-rendered', String(jobs.length));
  }, function (err) {
    document.body.setAttribute('data-render-error', String(err));
  });
})();
"""


def esc(value: Any) -> str:
    """Escape any value for HTML."""
    return html.escape(str(value), quote=True)


def plotly_js() -> str:
    """Return the plotly.js bundle shipped with the installed ``plotly`` package (no CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def json_for_script(obj: Any) -> str:
    """Serialise to JSON that is safe to embed in a ``<script>`` element."""
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def table_html(
    frame: pd.DataFrame,
    columns: Sequence[str] | None = None,
    numeric: Iterable[str] = (),
    css_class: str = "",
    formats: dict[str, Any] | None = None,
) -> str:
    """Render a DataFrame as an escaped HTML table.

    ``formats``: for a column, a format string or a function of the value.
    """
    columns = list(columns or frame.columns)
    numeric = set(numeric)
    formats = formats or {}
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for c in columns:
            v = row[c]
            fmt = formats.get(c)
            text = "" if _missing(v) else (str(v) if fmt is None else _formatted(fmt, v))
            cls = ' class="num"' if c in numeric else ""
            cells.append(f"<td{cls}>{esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cls = f' class="{esc(css_class)}"' if css_class else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _formatted(fmt: str | Any, v: Any) -> str:
    """``v`` by a format string, or by a function of the value."""
    return fmt(v) if callable(fmt) else fmt.format(v)


def amount(v: Any) -> str:
    """A count with thousands separators, or a share or mean below 10 with three digits."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{x:,.0f}" if abs(x) >= 10 or x == int(x) else f"{x:.3g}"


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def figure_html(fig_id: str, caption: str) -> str:
    """Render a chart placeholder that the render script fills in."""
    return (
        f'<figure class="chart" id="fig-{esc(fig_id)}">'
        f'<div class="plot" data-figure="{esc(fig_id)}"></div>'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def notes_html(notes: Iterable[str]) -> str:
    """Render notes in a highlighted box."""
    return "".join(f'<p class="note">{esc(n)}</p>' for n in notes if n)


def validation_html(table: pd.DataFrame | None, note: str) -> str:
    """Render the validation table from tmpsim.validation, or why there is none."""
    if table is None:
        return notes_html([note])
    status = table["status"] if "status" in table else pd.Series("ok", index=table.index)
    ok = table[status == "ok"].copy()
    others = status[status != "ok"].value_counts()
    skipped = "; ".join(f"{n} {s}" for s, n in others.items())
    parts = [notes_html([note])] if note else []
    if ok.empty:
        return "".join(parts) + notes_html(
            [
                "No observed figure can be compared with this run"
                + (f" ({skipped})." if skipped else ".")
            ]
        )
    try:
        from tmpsim.validation import summarise

        per_series = summarise(table)
    except ImportError:
        per_series = None
    if per_series is not None and not per_series.empty:
        shown = per_series.copy()
        pct = [c for c in ("mape", "max_abs_rel_error", "ard", "in_band_share") if c in shown]
        for c in pct:
            shown[c] = shown[c] * 100
        for c in ("first", "last"):
            if c in shown:
                shown[c] = pd.to_datetime(shown[c]).dt.strftime("%Y-%m-%d")
        formats: dict[str, Any] = {c: "{:.1f}%" for c in pct}
        formats["mean_abs_error"] = amount
        parts.append(
            "<h3>By series</h3><p>MAPE: mean absolute percentage error; ARD: Flee's averaged "
            "relative difference (origin * aggregates an indicator over its origins).</p>"
            + table_html(
                shown,
                numeric=[*pct, "n", "mean_abs_error"],
                formats=formats,
                css_class="validation-summary",
            )
        )
    ok["date"] = pd.to_datetime(ok["date"]).dt.strftime("%Y-%m-%d")
    ok["rel_error"] = ok["rel_error"] * 100
    if "source" in ok:
        ok["source"] = ok["source"].astype(str).map(lambda s: s if len(s) <= 90 else s[:87] + "...")
    cols = [
        c
        for c in (
            "indicator",
            "origin",
            "date",
            "observed",
            "simulated",
            "sim_lo",
            "sim_hi",
            "in_band",
            "abs_error",
            "rel_error",
            "source",
        )
        if c in ok
    ]
    formats: dict[str, Any] = {
        c: amount for c in ("observed", "simulated", "sim_lo", "sim_hi", "abs_error")
    }
    formats["rel_error"] = "{:+.1f}%"
    numeric = [c for c in cols if c in formats]
    body = table_html(ok, cols, numeric=numeric, css_class="validation", formats=formats)
    parts.append(
        f"<h3>Every observation compared ({len(ok)})</h3>"
        "<p>rel_error is (simulated - observed) / observed. Which observations were "
        "calibration targets is the scenario's to say (its calibration section and sources)."
        + (f" Not compared: {esc(skipped)}." if skipped else "")
        + f'</p><div class="scroll">{body}</div>'
    )
    return "".join(parts)


def parameters_html(scenario: dict[str, Any]) -> str:
    """Render every parameter with its value and source, and the dated events."""
    if not scenario:
        return notes_html(["No scenario.yaml in this folder: parameters unknown."])
    params = parameter_table(scenario)
    counts = params["kind"].value_counts()
    legend = ", ".join(
        f"{counts.get(k, 0)} {k}" for k in ("cited", "calibrated", "derived", "assumed", "none")
    )
    rows = []
    for _, r in params.iterrows():
        kind = r["kind"] if r["kind"] != "none" else "none"
        source = r["source"] or "(no source given: schema default or unstated)"
        via = (
            f" <small>(via {esc(r['source_key'])})</small>"
            if r["source_key"] not in ("", r["parameter"])
            else ""
        )
        rows.append(
            f"<tr><td><code>{esc(r['parameter'])}</code></td><td>{esc(r['value'])}</td>"
            f'<td><span class="kind kind-{esc(kind)}">{esc(kind)}</span></td>'
            f"<td>{esc(source)}{via}</td></tr>"
        )
    table = (
        '<table class="parameters"><thead><tr><th>parameter</th><th>value</th><th>kind</th>'
        f"<th>source</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    events = event_table(scenario)
    ev_source = (scenario.get("sources") or {}).get("events", "")
    ev_html = (
        f"<h3>Dated events ({len(events)})</h3>"
        + (f"<p>Source: {esc(ev_source)}</p>" if ev_source else "")
        + f'<div class="scroll">{table_html(events, css_class="events")}</div>'
    )
    return (
        f"<p>{len(params)} parameters ({legend}). A source covers every key below the key path "
        "it names.</p>" + f'<div class="scroll">{table}</div>' + ev_html
    )


def info_list_html(items: Iterable[tuple[str, Any]]) -> str:
    """Render (name, value) pairs as a definition list, leaving out empty values."""
    return (
        '<dl class="info">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items if v not in (None, ""))
        + "</dl>"
    )


def page(
    title: str,
    sections: list[tuple[str, str, str]],
    figures: dict[str, Any],
    lead: str = "",
    info: str = "",
) -> str:
    """Render the whole document; sections are (anchor, heading, html)."""
    nav = "".join(f'<a href="#{esc(a)}">{esc(h)}</a>' for a, h, _ in sections)
    body = "".join(
        f'<section id="{esc(a)}"><h2>{esc(h)}</h2>{content}</section>' for a, h, content in sections
    )
    from tmpsim import __version__

    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style>"
        f'<script type="text/javascript">{plotly_js()}</script></head><body>'
        f'<header><h1>{esc(title)}</h1><p class="lead">{esc(lead)}</p>{info}</header>'
        f"<nav>{nav}</nav>{body}"
        f"<footer>Made by tmpsim {esc(__version__)} on {esc(stamp)}. Self-contained: opens "
        "offline; charts are interactive (hover, zoom, legend toggles, PNG export).</footer>"
        f'<script type="application/json" id="tmpsim-figures">{json_for_script(figures)}</script>'
        f"<script>{RENDER_JS}</script></body></html>\n"
    )


def run_report_html(run: RunData) -> str:
    """Render the HTML of a run report."""
    words = run.words
    observed, obs_note = load_observed_safe(words.host)
    caption = charts.run_caption(run.run_info, words)
    figures = charts.run_figures(run.series, words, observed, caption)
    figures.update(charts.origins_figures_of(run.path, caption))
    validation, val_note = validation_safe(run.path)
    summary = pd.DataFrame(summary_rows(run.summary, words), columns=["figure", "value"])
    info = run.run_info
    info_html = info_list_html(
        [
            ("scenario", run.title),
            (
                "window",
                f"{info.get('start', run.scenario.get('start'))} to "
                f"{info.get('end', run.scenario.get('end'))}",
            ),
            ("seed", info.get("seed")),
            (
                "scale",
                f"{info.get('scale')} (figures scaled to the full population)"
                if "scale" in info
                else None,
            ),
            (
                "agents simulated",
                f"{info['agents_created']:,}" if "agents_created" in info else None,
            ),
            ("wall time", f"{info['wall_seconds']} s" if "wall_seconds" in info else None),
            ("scenario hash", info.get("scenario_hash")),
            ("run folder", str(run.path)),
        ]
    )
    grid = "".join(figure_html(k, FIGURE_CAPTIONS.get(k, "")) for k in figures)
    sections = [
        (
            "summary",
            "Headline figures",
            table_html(summary, numeric=["value"], css_class="summary"),
        ),
        (
            "figures",
            "Figures",
            notes_html([obs_note, *run.notes]) + f'<div class="grid">{grid}</div>',
        ),
        ("validation", "Validation against observed data", validation_html(validation, val_note)),
        ("parameters", "Parameters and their sources", parameters_html(run.scenario)),
    ]
    return page(
        f"tmpsim report: {run.title}",
        sections,
        figures,
        lead=str(run.scenario.get("description", "")),
        info=info_html,
    )
