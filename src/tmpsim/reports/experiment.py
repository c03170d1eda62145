"""The HTML report of an experiment folder: bands across seeds, effects of each point, validation.

The folder is read through ``tmpsim.experiments`` (its storage layout and summaries); the bands
are quantiles across replicates computed by DuckDB over the hive-partitioned series dataset,
restricted to the few metrics the figures show.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tmpsim.reports import charts
from tmpsim.reports.context import load_observed_safe
from tmpsim.reports.glossary import ScenarioWords
from tmpsim.reports.html import (
    esc,
    figure_html,
    info_list_html,
    notes_html,
    page,
    parameters_html,
    table_html,
    validation_html,
)
from tmpsim.results import current_metric_name, metric_names_to_read

# Headline outputs whose effect per point is shown: key -> (title, unit).
EFFECT_OUTPUTS = {
    "person_days_stranded": ("Person-days stranded", "person-days"),
    "peak_stranded": ("Peak stranded", "people"),
    "peak_destitute": ("Peak destitute", "people"),
    "peak_needs_bed": ("Peak needing a bed", "people"),
    "peak_unmet_shelter_need": ("Peak unmet shelter need", "people"),
    "unmet_shelter_nights": ("Unmet shelter nights", "person-nights"),
    "emergency_money_paid": ("Emergency money paid", "currency"),
    "mean_debt_at_return": ("Mean debt at return", "currency"),
    "missing": ("Missing (left the employer)", "people"),
}
MAX_BAND_POINTS = 6  # more points than this: one band pooling every run
MAX_EFFECT_POINTS = 40
MAX_VALIDATION_RUNS = 50


@dataclass
class ExperimentData:
    """What the report shows of an experiment folder."""

    path: Path
    info: dict[str, Any]
    spec: Any
    points: pd.DataFrame
    runs: pd.DataFrame
    bands: pd.DataFrame
    effects: pd.DataFrame
    sensitivity: pd.DataFrame | None
    method: str | None
    scenario: dict[str, Any]
    labels: dict[int, str]
    notes: list[str] = field(default_factory=list)
    uncertainty: dict[str, Any] = field(default_factory=dict)  # uncertainty.json, if any

    @property
    def band_note(self) -> str:
        """What the bands cover: chance alone, or parameters from a posterior as well."""
        return charts.band_note(self.uncertainty)


def point_labels(points: pd.DataFrame, columns: dict[str, str]) -> dict[int, str]:
    """Name each point by its parameter values (``welfare_eligible=True, ...``)."""
    short = {col: path.split(".")[-1] for path, col in columns.items()}
    out = {}
    for _, row in points.iterrows():
        parts = [f"{short.get(c, c)}={_fmt(row[c])}" for c in points.columns if c != "point"]
        out[int(row["point"])] = ", ".join(parts) or "ensemble"
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:.4g}"
    return str(value)


def series_bands(folder: Any, metrics: list[str], pooled: bool) -> pd.DataFrame:
    """Return per point (or pooled) and date the 5/50/95% quantiles and n (origin all)."""
    files = folder.series_files()  # sound runs only
    if not files:
        return pd.DataFrame(columns=["point", "date", "metric", "q05", "q50", "q95", "n"])
    from tmpsim.experiments.storage import series_view_sql
    from tmpsim.extras import require

    duckdb = require("duckdb", "the report of an experiment")

    point = "-1 AS point" if pooled else "point"
    names = ", ".join("'" + m.replace("'", "''") + "'" for m in metric_names_to_read(metrics))
    con = duckdb.connect()
    try:
        view = series_view_sql(files)
        con.execute(view.replace("CREATE VIEW", "CREATE TEMP VIEW"))
        frame = con.execute(
            f"""SELECT {point}, date, metric, quantile_cont(value, 0.05) AS q05,
                       quantile_cont(value, 0.5) AS q50, quantile_cont(value, 0.95) AS q95,
                       count(*) AS n
                FROM series WHERE origin = 'all' AND metric IN ({names})
                GROUP BY ALL ORDER BY point, metric, date"""
        ).df()
    finally:
        con.close()
    frame["date"] = pd.to_datetime(frame["date"])
    frame["metric"] = frame["metric"].map(current_metric_name)  # folders of earlier versions
    return frame


def load_experiment_data(path: str | Path) -> ExperimentData:
    """Read an experiment folder for the report."""
    from tmpsim.experiments.storage import ExperimentDir
    from tmpsim.experiments.summarize import scalar_bands, sensitivity

    folder = ExperimentDir(path)
    info = folder.info()
    spec = folder.spec()
    points = folder.points()
    runs = folder.runs_frame()
    outputs = folder.outputs_frame()
    labels = point_labels(points, info.get("columns", {}))
    notes: list[str] = []
    pooled = len(points) > MAX_BAND_POINTS
    bands = series_bands(folder, charts.BAND_METRICS, pooled)
    if pooled:
        labels = {**labels, -1: "all runs"}
        notes.append(
            f"{len(points)} points: the bands pool every run (at most {MAX_BAND_POINTS} "
            "points are drawn one by one)."
        )
    bands["point"] = bands["point"].map(lambda p: labels.get(int(p), str(p)))
    effects = scalar_bands(outputs, points).rename(columns={"p05": "q05", "p95": "q95"})
    if not effects.empty:
        effects["point"] = effects["point"].map(lambda p: f"{int(p)}: {labels.get(int(p), p)}")
    sens, method = sensitivity(spec, outputs, notes) if len(outputs) else (None, None)
    scenario = folder.scenario_data()
    return ExperimentData(
        Path(path),
        info,
        spec,
        points,
        runs,
        bands,
        effects,
        sens,
        method,
        scenario or {},
        labels,
        notes,
        read_uncertainty(folder.path),
    )


def read_uncertainty(folder: Path) -> dict[str, Any]:
    """The folder's uncertainty.json (what its bands cover), or {} for seeds only."""
    from tmpsim.experiments.experiment import read_uncertainty as read

    return read(folder) or {}


def ensemble_validation(data: ExperimentData) -> tuple[pd.DataFrame | None, str]:
    """Validate the first point's runs as an ensemble (tmpsim.validation), or say why not."""
    try:
        from tmpsim.validation import validate_run
        from tmpsim.validation.compare import needed_metrics
        from tmpsim.validation.observed import packaged_observed
        from tmpsim.validation.rundata import from_tidy
    except ImportError:
        return None, "No validation table: tmpsim.validation is not available in this installation."
    from tmpsim.experiments.storage import ExperimentDir

    folder = ExperimentDir(data.path)
    done = data.runs[(data.runs["status"] == "done") & (data.runs["point"] == 0)]
    done = done.head(MAX_VALIDATION_RUNS)
    if done.empty:
        return None, "No validation table: no finished run at point 0."
    try:
        host = data.scenario.get("host")
        observed = packaged_observed(host)
        if observed is None:
            return None, f"No validation table: no packaged observed data describe {host}."
        metrics = sorted(needed_metrics(observed))
        origins = list((data.scenario.get("origins") or {}).keys()) or None
        runs = []
        for _, row in done.iterrows():
            path = folder.series_path(int(row["point"]), int(row["rep"]))
            if not path.is_file():
                continue
            series = pd.read_parquet(path, filters=[("metric", "in", metrics)])
            if series.empty:
                continue
            runs.append(
                from_tidy(series, f"run {int(row['run'])}", host, lambda: None, origins=origins)
            )
        if not runs:
            return None, (
                "No validation table: the experiment kept none of the series the "
                "observed data need (outputs.series)."
            )
        for run in runs:
            run.start = pd.Timestamp(data.scenario.get("start", run.start))
            run.end = pd.Timestamp(data.scenario.get("end", run.end))
        with warnings.catch_warnings():  # all-NaN slices where no run covers a date
            warnings.simplefilter("ignore", RuntimeWarning)
            table = validate_run(runs)
    except (OSError, ValueError, KeyError) as exc:
        return None, f"No validation table: {exc}"
    label = data.labels.get(0, "point 0")
    return table, f"Ensemble of {len(runs)} run(s) at point 0 ({label}); the band is 5-95%."


def experiment_caption(data: ExperimentData) -> charts.Caption:
    """The caption of an experiment's figures: scenario, seeds, scale, version."""
    spec = data.spec
    seeds = getattr(spec, "seeds", None)
    return charts.Caption(
        scenario=str(data.scenario.get("name") or data.info.get("name") or ""),
        seeds=f"{seeds} seeds per point" if seeds else "",
        scale=getattr(spec, "scale", None),
        version=str(data.info.get("tmpsim_version") or ""),
    )


def experiment_figures(data: ExperimentData) -> dict[str, Any]:
    """Bands across seeds of the main metrics, and the effect of each point on headline outputs."""
    words = ScenarioWords.of(data.scenario)
    observed, _ = load_observed_safe(words.host)
    caption = experiment_caption(data)
    kept = set(data.bands["metric"]) if "metric" in data.bands else set()
    figures: dict[str, Any] = {  # the metrics the runs kept (an experiment may keep a few)
        f"band-{metric}": charts.band_figure(
            data.bands, metric, words, observed, caption, note=data.band_note
        )
        for metric in charts.BAND_METRICS
        if metric in kept
    }
    if len(data.points) <= MAX_EFFECT_POINTS and not data.effects.empty:
        for key, (title, unit) in EFFECT_OUTPUTS.items():
            if key in set(data.effects["output"]):
                shown = words.currency if unit == "currency" else unit
                figures[f"effect-{key}"] = charts.effects_figure(
                    data.effects, key, title, shown, caption, note=data.band_note
                )
    return figures


def experiment_report_html(path: str | Path) -> str:
    """Render the HTML of an experiment report."""
    data = load_experiment_data(path)
    _, obs_note = load_observed_safe(ScenarioWords.of(data.scenario).host)
    figures = experiment_figures(data)
    effect_ids = [k for k in figures if k.startswith("effect-")]
    counts = data.runs["status"].value_counts().to_dict()
    spec = data.spec
    info_html = info_list_html(
        [
            ("experiment", data.info.get("name")),
            (
                "design",
                f"{data.info.get('design')}, {data.info.get('n_points')} point(s) x "
                f"{spec.seeds} seed(s) = {data.info.get('n_runs')} runs",
            ),
            ("runs", ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))),
            ("scale", f"{spec.scale} (figures scaled to the full population)"),
            ("common random numbers", "yes" if spec.common_random_numbers else "no"),
            ("overrides", ", ".join(f"{k}={v}" for k, v in spec.overrides.items())),
            ("folder", str(data.path)),
        ]
    )
    points = data.points.copy()
    points.insert(1, "label", points["point"].map(lambda p: data.labels.get(int(p), "")))
    band_grid = "".join(
        figure_html(
            k,
            "Median (line) and 5-95% band; diamonds are observed figures. " + data.band_note,
        )
        for k in figures
        if k.startswith("band-")
    )
    effect_grid = "".join(
        figure_html(k, "Mean with the 5-95% interval, per experiment point. " + data.band_note)
        for k in effect_ids
    )
    effects_html = (
        f'<div class="grid">{effect_grid}</div>'
        if effect_ids
        else notes_html(["No effect figures: no finished runs, or too many points."])
    )
    effects_table = ""
    if not data.effects.empty:
        keys = [k for k in EFFECT_OUTPUTS if k in set(data.effects["output"])]
        table = data.effects[data.effects["output"].isin(keys)][
            ["point", "output", "mean", "q05", "q95", "n"]
        ]
        effects_table = "<h3>Headline figures per point</h3>" + table_html(
            table,
            numeric=["mean", "q05", "q95", "n"],
            formats={c: "{:,.1f}" for c in ("mean", "q05", "q95")},
            css_class="effects",
        )
    sens_html = ""
    if data.sensitivity is not None and not data.sensitivity.empty:
        numeric = [c for c in data.sensitivity.columns if c not in ("output", "parameter")]
        sens_html = f"<h3>Sensitivity indices ({esc(data.method)})</h3>" + table_html(
            data.sensitivity,
            numeric=numeric,
            formats={c: "{:.3f}" for c in numeric},
            css_class="sensitivity",
        )
    validation, val_note = ensemble_validation(data)
    sections = [
        ("points", "Experiment points", table_html(points, css_class="points")),
        (
            "bands",
            "Bands across runs",
            notes_html([obs_note, *data.notes]) + f'<div class="grid">{band_grid}</div>',
        ),
        ("effects", "Lever and parameter effects", effects_html + effects_table + sens_html),
        ("validation", "Validation against observed data", validation_html(validation, val_note)),
        (
            "parameters",
            "Base scenario: parameters and their sources",
            parameters_html(data.scenario),
        ),
    ]
    return page(
        f"tmpsim experiment report: {data.info.get('name', data.path.name)}",
        sections,
        figures,
        lead=str(spec.description or data.scenario.get("description", "")),
        info=info_html,
    )
