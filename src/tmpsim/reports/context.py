"""What a report shows, gathered from a run folder: series, summary, scenario, sources, validation.

Shared by the HTML report and the dashboard so that both show the same tables. Optional parts of
tmpsim (``tmpsim.validation``) are imported lazily; when they are missing, the report says so in a
note instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from tmpsim.reports.glossary import ScenarioWords
from tmpsim.results import read_series
from tmpsim.scenario.paths import positional
from tmpsim.scenario.routes_schema import RULES_SOURCED


def is_run_folder(path: Path) -> bool:
    """Tell whether a folder was written by ``tmpsim run`` (run.json or series.parquet)."""
    from tmpsim.runfolder import holds_run

    return holds_run(Path(path))


def is_experiment_folder(path: Path) -> bool:
    """Tell whether a folder was written by ``tmpsim experiment run`` (experiment.json)."""
    return (Path(path) / "experiment.json").is_file()


# ---- scenario parameters and their sources --------------------------------------------------


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_compact(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return "null" if value is None else str(value)


def _is_table(value: dict[Any, Any]) -> bool:
    """Tell whether a mapping is keyed by years or stage numbers with scalar values."""
    return (
        bool(value)
        and all(_is_scalar(v) for v in value.values())
        and all(str(k).lstrip("-").isdigit() for k in value)
    )


# Keys that name, label or source a thing rather than set a figure of the model.
TEXT_KEYS = frozenset(
    {"name", "label", "stock_label", "note", "source", "rules_source", "host", "currency"}
)


def flatten_parameters(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield (dotted key path, value as text) for every parameter but events and sources.

    Names, labels, notes and sources (``TEXT_KEYS``) are not parameters and are left out.

    Year- or stage-keyed mappings (``demand_share``, ``initial_stock``) and lists of scalars stay
    on one line; lists of records (stages, shelters) use their index, as ``sources`` keys do.
    """

    def walk(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
        if isinstance(value, dict) and not _is_table(value):
            for key, sub in value.items():
                yield from walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, sub in enumerate(value):
                yield from walk(f"{prefix}.{i}", sub)
        else:
            yield prefix, _compact(value)

    for key, value in data.items():
        if key in ("events", "sources", "description", "calibration"):
            continue
        for path, text in walk(key, value):
            if path.rsplit(".", 1)[-1] not in TEXT_KEYS:
                yield path, text


def inline_sources(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yield (key path, text) for each section's own ``source`` (it covers the section's keys)."""
    for key, value in data.items():
        if key in ("events", "sources", "calibration"):
            continue
        path = f"{prefix}.{key}" if prefix else str(key)
        if key == "routes" and isinstance(value, dict) and value.get("rules_source"):
            for rule in RULES_SOURCED:
                yield f"{path}.{rule}", value["rules_source"]
        if isinstance(value, dict):
            own = value.get("source")
            if isinstance(own, str) and own.strip():
                yield path, own
            yield from inline_sources(value, path)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    yield from inline_sources({str(i): item}, path)


def source_for(path: str, sources: dict[str, str]) -> tuple[str, str]:
    """Find a parameter's source: the most specific ``sources`` key covering it, and the key."""
    best = ""
    for key in sources:
        if (path == key or path.startswith(key + ".")) and len(key) > len(best):
            best = key
    return (sources[best], best) if best else ("", "")


def source_kind(source: str) -> str:
    """Classify a source: 'calibrated', 'assumed', 'derived', 'none' or 'cited'."""
    text = source.strip().lower()
    if not text:
        return "none"
    for kind in ("calibrated", "assumed", "derived"):
        if text.startswith(kind):
            return kind
    return "cited"


def parameter_table(data: dict[str, Any]) -> pd.DataFrame:
    """Tabulate every parameter of a resolved scenario with its value and source.

    Parameters are listed by position in lists of records; a source may name such an item by
    its ``name`` instead, and is matched to it. A section's own ``source`` text covers its keys
    where no ``sources`` key covers them.
    """
    explicit = {positional(data, str(k)): str(v) for k, v in (data.get("sources") or {}).items()}
    inline = dict(inline_sources(data))
    sources = inline | explicit
    rows = []
    for path, value in flatten_parameters(data):
        # Any sources key covering the path outranks a section's own text (rules_source, say,
        # whose default "assumed" is there whether or not anyone wrote it).
        source, key = source_for(path, explicit)
        if not key:
            source, key = source_for(path, inline)
        below = [(k[len(path) + 1 :], s) for k, s in sources.items() if k.startswith(path + ".")]
        if below:  # sources of single entries of a one-line table (a year's demand)
            parts = [source] if source else []
            parts += [f"{sub}: {s}" for sub, s in below]
            key = key or path
            source = "; ".join(parts)
        rows.append(
            {
                "parameter": path,
                "value": value,
                "source": source,
                "source_key": key,
                "kind": source_kind(source),
            }
        )
    return pd.DataFrame(rows, columns=["parameter", "value", "source", "source_key", "kind"])


def event_table(data: dict[str, Any]) -> pd.DataFrame:
    """List the scenario's dated events: date, type, details, note and own source."""
    sources = {str(k): str(v) for k, v in (data.get("sources") or {}).items()}
    rows = []
    for i, ev in enumerate(data.get("events") or []):
        skip = ("date", "type", "note")
        details = {
            k: ("none (the cap ends)" if v is None else v)
            for k, v in ev.items()
            if k not in skip and v not in ("", [], {}) and (v is not None or k == "per_day")
        }  # an entry cap of null lifts the cap: say so; other nulls and blanks are defaults
        # A source names its event by position or by name (scenario key paths).
        prefixes = [f"events.{i}"] + ([f"events.{ev['name']}"] if ev.get("name") else [])
        own = [
            (k[len(prefix) :].lstrip("."), s)
            for prefix in prefixes
            for k, s in sources.items()
            if k == prefix or k.startswith(prefix + ".")
        ]
        rows.append(
            {
                "date": str(ev.get("date", "")),
                "type": str(ev.get("type", "")),
                "details": _compact(details),
                "note": str(ev.get("note", "")),
                "source": "; ".join(f"{sub}: {s}" if sub else s for sub, s in own),
            }
        )
    frame = pd.DataFrame(rows, columns=["date", "type", "details", "note", "source"])
    return frame.sort_values("date", kind="stable", ignore_index=True)


# ---- optional parts of tmpsim -----------------------------------------------------------------


def load_observed_safe(host: str | None = None) -> tuple[pd.DataFrame | None, str]:
    """Load the packaged observed data of ``host`` (tmpsim.validation), or None and why not.

    The packaged data describe a few host countries (each folder's ``about.yaml`` names its
    host); a scenario of another host, or of none, gets no observed points.
    """
    try:
        from tmpsim.validation.indicators import resolve
        from tmpsim.validation.observed import packaged_hosts, packaged_observed
    except ImportError:
        return None, (
            "Packaged observed data are not available in this installation (tmpsim.validation "
            "is missing); only the scenario's own reference figures are marked."
        )
    hosts = packaged_hosts()
    if host not in hosts:
        where = f"this scenario's host is {host}" if host else "this scenario names no host"
        return None, (
            f"The packaged observed data describe {', '.join(sorted(hosts))}; {where}, so no "
            "observed series is marked."
        )
    try:
        observed = packaged_observed(host)
    except (OSError, ValueError) as exc:
        return None, f"Could not load the packaged observed data: {exc}"
    observed = observed.copy()
    observed["date"] = pd.to_datetime(observed["date"])
    # The metric each stock indicator is a count of (figures mark observed values by metric).
    kinds = {name: resolve(str(name)) for name in observed["indicator"].unique()}
    stocks = {name: i.source for name, i in kinds.items() if i.kind == "stock"}
    observed["metric"] = observed["indicator"].map(stocks)
    return observed, ""


def validation_safe(source: Path) -> tuple[pd.DataFrame | None, str]:
    """The run's validation table, or None and why not.

    A ``validation.csv`` that ``tmpsim validate`` wrote in the folder (with the user's own
    observed files, say) is shown as it is; otherwise the run is compared with the packaged data
    of its host (``tmpsim.validation.validate_run``).
    """
    written = Path(source) / "validation.csv"
    if written.is_file():
        try:
            table = pd.read_csv(written, parse_dates=["date"])
        except (OSError, ValueError) as exc:
            return None, f"No validation table: {written} cannot be read ({exc})"
        return table, f"From {written.name}, written by `tmpsim validate` (its observed files)."
    try:
        from tmpsim.validation import validate_run
    except ImportError:
        return None, (
            "No validation table: tmpsim.validation is not available in this installation. "
            "Compare with `tmpsim validate` once it is installed."
        )
    try:
        table = validate_run(source)
    except (OSError, ValueError, KeyError) as exc:
        return None, f"No validation table: {exc}"
    return table, ""


# ---- a run folder -----------------------------------------------------------------------------


@dataclass
class RunData:
    """Everything a report shows about one run folder."""

    path: Path
    series: pd.DataFrame
    summary: dict[str, Any]
    run_info: dict[str, Any]
    scenario: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def words(self) -> ScenarioWords:
        """What the scenario names itself: currency, stock label, headlines, events."""
        return ScenarioWords.of(self.scenario)

    @property
    def currency(self) -> str:
        """Return the scenario's currency."""
        return self.words.currency

    @property
    def title(self) -> str:
        """Return the scenario's name."""
        return str(self.scenario.get("name") or self.run_info.get("scenario") or self.path.name)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def load_run(path: str | Path) -> RunData:
    """Read a run folder (series.parquet, summary.json, run.json, scenario.yaml)."""
    from tmpsim.runfolder import check_run_folder

    path = Path(path)
    check_run_folder(path)  # RunFolderError (a ValueError) saying what is wrong
    series = read_series(path)
    scenario_file = path / "scenario.yaml"
    scenario = (
        yaml.safe_load(scenario_file.read_text(encoding="utf-8")) if scenario_file.is_file() else {}
    )
    notes = [] if scenario_file.is_file() else ["The run folder has no scenario.yaml."]
    return RunData(
        path=path,
        series=series,
        summary=_read_json(path / "summary.json"),
        run_info=_read_json(path / "run.json"),
        scenario=scenario or {},
        notes=notes,
    )
