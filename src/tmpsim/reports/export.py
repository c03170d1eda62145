"""Monthly tables a spreadsheet opens: a wide CSV and an .xlsx workbook of a run folder.

One row per month and origin (``all`` first), one column per metric, headed in plain words with
how the month is summarised and the unit (from the glossary): people counted on a day are the
month's mean, flows and payments the month's total, month-end metrics the month-end value. The
workbook has a sheet per indicator group, a sheet of headline figures and a sheet of notes and
sources (what each column is, its caveats, the scenario's sources).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from tmpsim.reports.glossary import GROUPS, SCALE, TERMS, ScenarioWords, summary_rows, term
from tmpsim.results import atomic_path, atomic_write_bytes

SHEETS = {
    "hardship": "Hardship",
    "stocks": "In the host",
    "flows": "Flows",
    "pipeline": "On the way",
    "money": "Money",
    "states": "States",
}
NOTES_SHEET = "Notes and sources"


def _known(metric: str) -> bool:
    try:
        term(metric)
    except KeyError:
        return False
    return True


def monthly_values(series: pd.DataFrame) -> pd.DataFrame:
    """Each metric summarised per calendar month and origin, long: month, origin, metric, value.

    ``month`` is ``YYYY-MM``. Metrics the glossary does not know are left out. Labels are
    worked out once per distinct metric and date, not per row (a run has a million rows).
    """
    known = [m for m in series["metric"].unique() if _known(str(m))]
    frame = series[series["metric"].isin(known)]
    months = {d: pd.Timestamp(d).strftime("%Y-%m") for d in frame["date"].unique()}
    frame = frame.assign(month=frame["date"].map(months))
    how = {m: term(str(m)).monthly for m in known}
    parts = []
    for kind, agg in (("mean", "mean"), ("sum", "sum"), ("month_end", "last")):
        names = [m for m, h in how.items() if h == kind]
        sel = frame[frame["metric"].isin(names)].sort_values("date", kind="stable")
        if sel.empty:
            continue
        parts.append(sel.groupby(["month", "origin", "metric"], as_index=False)["value"].agg(agg))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _order(metrics: list[str]) -> list[str]:
    """Metrics by group, then in the glossary's order (families such as ``state_*`` in place)."""
    groups, names = list(GROUPS), list(TERMS)

    def rank(m: str) -> tuple[int, int, str]:
        family = (
            m if m in TERMS else next(n for n in names if n.endswith("*") and m.startswith(n[:-1]))
        )
        return groups.index(term(m).group), names.index(family), m

    return sorted(metrics, key=rank)


def headings(metrics: list[str], words: ScenarioWords) -> dict[str, str]:
    """Column heading of each metric: label, how the month is summarised, unit (currency too)."""
    out = {}
    for m in metrics:
        t = term(m)
        out[m] = t.heading(words.label(m)).replace("currency)", f"{words.currency})")
    return out


def monthly_table(
    series: pd.DataFrame,
    words: ScenarioWords,
    group: str | None = None,
    long: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The wide monthly table: month, origin, then a column per metric (of one group, or all).

    ``long`` is ``monthly_values(series)`` when already computed.
    """
    long = monthly_values(series) if long is None else long
    if long.empty:
        return pd.DataFrame(columns=["month", "origin"])
    if group is not None:
        members = [m for m in long["metric"].unique() if term(str(m)).group == group]
        long = long[long["metric"].isin(members)]
    table = long.pivot_table(
        index=["origin", "month"], columns="metric", values="value", aggfunc="first"
    )
    metrics = _order(list(table.columns))
    table = table[metrics].round(1).reset_index()
    origins = sorted(table["origin"].unique(), key=lambda o: (o != "all", o))
    table["origin"] = pd.Categorical(table["origin"], origins, ordered=True)
    table = table.sort_values(["origin", "month"]).reset_index(drop=True)
    table["origin"] = table["origin"].astype(str)
    table = table[["month", "origin", *metrics]].rename(columns=headings(metrics, words))
    table.columns.name = None
    return table


def write_monthly_csv(
    series: pd.DataFrame, words: ScenarioWords, path: Path, long: pd.DataFrame | None = None
) -> Path:
    """Write the wide monthly CSV (UTF-8 with a byte-order mark, so spreadsheets read it)."""
    table = monthly_table(series, words, long=long)
    with atomic_path(Path(path)) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8-sig")
    return Path(path)


def notes_rows(
    series: pd.DataFrame,
    words: ScenarioWords,
    run_info: dict[str, Any],
    scenario: dict[str, Any],
) -> list[list[Any]]:
    """The notes sheet: what was run, each column in plain words, and the scenario's sources."""
    from tmpsim import __version__

    rows: list[list[Any]] = [
        ["tmpsim monthly tables", "", "", ""],
        ["scenario", words.name or run_info.get("scenario", ""), "", ""],
        ["programme", words.programme, "", ""],
        ["host country", words.host, "", ""],
        ["seed", run_info.get("seed", ""), "", ""],
        ["scale", run_info.get("scale", ""), SCALE.replace("``", ""), ""],
        ["window", f"{run_info.get('start', '')} to {run_info.get('end', '')}", "", ""],
        ["tmpsim version", run_info.get("tmpsim_version", __version__), "", ""],
        ["currency", words.currency, "", ""],
        [
            "months",
            "One row per month and origin ('all' is every origin together). The first and last "
            "months may be partial: their means and totals cover the simulated days only.",
            "",
            "",
        ],
        ["", "", "", ""],
        ["column", "metric", "meaning", "caveat"],
    ]
    metrics = _order([m for m in series["metric"].unique() if _known(m)])
    names = headings(metrics, words)
    for m in metrics:
        t = term(m)
        rows.append([names[m], m, t.definition, t.caveat])
    rows.append(["", "", "", ""])
    rows.append(["reference figures", "date", "value", "source"])
    for h in words.headlines:
        if h.get("reference") is not None:
            rows.append(
                [
                    h.get("reference_label", ""),
                    h["reference_date"],
                    h["reference"],
                    h.get("source", ""),
                ]
            )
    rows.append(["", "", "", ""])
    rows.append(["scenario parameter", "source of its value", "", ""])
    for key, source in (scenario.get("sources") or {}).items():
        rows.append([str(key), str(source), "", ""])
    return rows


def write_workbook(
    series: pd.DataFrame,
    words: ScenarioWords,
    path: Path,
    summary: dict[str, Any] | None = None,
    run_info: dict[str, Any] | None = None,
    scenario: dict[str, Any] | None = None,
    long: pd.DataFrame | None = None,
) -> Path:
    """Write the .xlsx workbook: a sheet per indicator group, headline figures, notes, sources."""
    from openpyxl.utils import get_column_letter

    path = Path(path)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as xl:
        notes = pd.DataFrame(notes_rows(series, words, run_info or {}, scenario or {}))
        notes.to_excel(xl, sheet_name=NOTES_SHEET, index=False, header=False)
        if summary:
            head = pd.DataFrame(summary_rows(summary, words), columns=["figure", "value"])
            head.to_excel(xl, sheet_name="Headline figures", index=False)
        long = monthly_values(series) if long is None else long
        for group, sheet in SHEETS.items():
            table = monthly_table(series, words, group, long)
            if len(table.columns) > 2:
                table.to_excel(xl, sheet_name=sheet, index=False, freeze_panes=(1, 2))
        for ws in xl.book.worksheets:
            for i, column in enumerate(ws.iter_cols(max_row=min(ws.max_row, 50)), start=1):
                longest = max((len(str(c.value)) for c in column if c.value is not None), default=8)
                ws.column_dimensions[get_column_letter(i)].width = min(max(10, longest + 2), 60)
            if ws.title in SHEETS.values():
                for row in ws.iter_rows(min_row=2, min_col=3):
                    for cell in row:
                        cell.number_format = "#,##0"
        xl.book.active = 0
    atomic_write_bytes(path, buffer.getvalue())
    return path


def export_run(folder: Path, out: Path, xlsx: bool = False) -> list[Path]:
    """Write a run folder's monthly CSV (and workbook) into ``out``; return the paths."""
    from tmpsim.reports.context import load_run

    run = load_run(folder)
    words = run.words
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    long = monthly_values(run.series)
    paths = [write_monthly_csv(run.series, words, out / "monthly.csv", long)]
    if xlsx:
        info = (run.summary, run.run_info, run.scenario)
        paths.append(write_workbook(run.series, words, out / "monthly.xlsx", *info, long=long))
    return paths
