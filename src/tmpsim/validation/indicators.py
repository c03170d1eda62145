"""Observed indicators and how a simulation is aggregated to match each one.

An indicator names what an official statistic measures. Each maps to a metric of ``series.parquet``
(or to columns of ``agents.parquet``) and an aggregation that follows the statistic's definition;
the mapping is data, ``tmpsim/data/observed/indicators.yaml``, read into :data:`REGISTRY`:

- ``stock``: the metric's value on the observation date (residents at the end of June / December,
  the stranded count on the day it was reported); with ``since: YYYY-MM-DD``, its value on the
  date less its value on that day (a rise over a base date, where the statistic is one);
- ``year`` / ``half``: a daily flow summed over the 12 / 6 months that end on the date
  (calendar-year new entries or runaways when the date is 31 December);
- ``agents_mean`` / ``agents_share``: over agents in the host on the date (entered on or before it,
  not yet gone), the mean of a column among those with a positive value (fees among payers, debt
  among borrowers) or the share with a positive value (as the ISA survey defines them).

Names that are not registered still work when they are a metric of ``series.parquet`` (compared as
a stock on the date) or a flow metric with ``_year`` / ``_half`` appended.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

import yaml

from tmpsim.engine.recorder import EXTRAS
from tmpsim.results import FLOW_METRICS
from tmpsim.states import STATE_NAMES, STOCK_METRICS, STRANDED_SPLIT

Kind = Literal["stock", "year", "half", "agents_mean", "agents_share"]
KINDS = get_args(Kind)
Scope = Literal["same", "part"]
SCOPES = get_args(Scope)
KEYS = ("name", "kind", "metric", "description", "since", "scope")
"""The keys an entry of ``indicators.yaml`` may have."""
PERIOD_MONTHS = {"year": 12, "half": 6}


@dataclass(frozen=True)
class Indicator:
    """An observed quantity and how the simulation is aggregated to compare with it."""

    name: str
    kind: Kind
    source: str
    """Series metric (for stock, year, half) or agents column (for agents_mean, agents_share)."""
    description: str = ""
    since: str | None = None
    """A stock compared as its rise since this date (YYYY-MM-DD), or None."""
    scope: Scope = "same"
    """``same``: the statistic counts the people the model simulates. ``part``: the model
    simulates only part of those the statistic counts (the programme's former trainees among
    everyone holding a status), so the statistic bounds the model's figure from above."""

    @property
    def uses_agents(self) -> bool:
        """Whether the indicator is computed from ``agents.parquet``."""
        return self.kind.startswith("agents")


INDICATORS_FILE = "indicators.yaml"
"""The packaged file (next to the observed CSVs) that maps each indicator to a simulated metric."""
STAGE = "{stage}"
"""Placeholder for a stage name of the scenario's programme in an indicator's name and metric."""
SEGMENT = "{segment}"
"""Placeholder for a segment name of the scenario (its ``segments``) in a name and metric."""
PLACEHOLDERS = (STAGE, SEGMENT)


def load_registry(path: Path | None = None) -> dict[str, Indicator]:
    """Read the indicator-to-metric mapping (the packaged ``indicators.yaml`` by default)."""
    if path is None:
        path = Path(str(resources.files("tmpsim") / "data" / "observed" / INDICATORS_FILE))
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out: dict[str, Indicator] = {}
    for i, entry in enumerate(entries):
        where = f"{path}: entry {i + 1}"
        if not isinstance(entry, dict) or not {"name", "kind", "metric"} <= set(entry):
            raise ValueError(f"{where}: needs name, kind and metric")
        unknown = sorted(set(entry) - set(KEYS))
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r} (keys: {', '.join(KEYS)})")
        scope = entry.get("scope", "same")
        if scope not in SCOPES:
            raise ValueError(f"{where}: scope {scope!r} is not one of {', '.join(SCOPES)}")
        if entry["kind"] not in KINDS:
            raise ValueError(f"{where}: kind {entry['kind']!r} is not one of {', '.join(KINDS)}")
        name = str(entry["name"])
        since = entry.get("since")
        if since is not None:
            if entry["kind"] != "stock":
                raise ValueError(f"{where}: since is for stock indicators only")
            try:
                since = dt.date.fromisoformat(str(since)).isoformat()
            except ValueError:
                raise ValueError(f"{where}: since {since!r} is not a date (YYYY-MM-DD)") from None
        if name in out:
            raise ValueError(f"{where}: indicator {name!r} appears twice")
        out[name] = Indicator(
            name,
            entry["kind"],
            str(entry["metric"]),
            " ".join(str(entry.get("description", "")).split()),
            since,
            scope,
        )
    return out


def _about() -> dict:
    """What the packaged observed data describe (``data/observed/about.yaml``)."""
    path = resources.files("tmpsim") / "data" / "observed" / "about.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def packaged_host() -> str:
    """The host country the packaged observed data describe (from ``about.yaml``)."""
    return str(_about()["host"])


def forecast_indicators() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Indicators ``tmpsim forecast`` reports by default, and those also given by origin."""
    spec = _about().get("forecast") or {}
    return tuple(spec.get("indicators") or ()), tuple(spec.get("by_origin") or ())


REGISTRY: dict[str, Indicator] = load_registry()
PATTERNS = {
    re.compile(re.escape(name).replace(re.escape(slot), r"(?P<part>\w+)") + "$"): (slot, ind)
    for name, ind in REGISTRY.items()
    for slot in PLACEHOLDERS
    if slot in name
}


def _filled(name: str) -> Indicator | None:
    """The indicator of a name that fills a ``{stage}`` or ``{segment}`` pattern, if any."""
    for pattern, (slot, ind) in PATTERNS.items():
        m = pattern.match(name)
        if m:
            part = m.group("part")
            return Indicator(
                name,
                ind.kind,
                ind.source.replace(slot, part),
                ind.description.replace(slot, part),
                ind.since,
                ind.scope,
            )
    return None


FLOWS = sorted({*FLOW_METRICS, *EXTRAS})
SERIES_METRICS = sorted(
    {
        *STOCK_METRICS,
        *FLOW_METRICS,
        *EXTRAS,
        *(f"state_{s}" for s in STATE_NAMES),
        "destitute",
        "needs_bed",
        "sheltered",
        "unmet_shelter_need",
        "outside_welfare",
        *STRANDED_SPLIT,
    }
)


class UnknownIndicator(KeyError):
    """An indicator name that tmpsim cannot compute (the message suggests close names)."""

    def __str__(self) -> str:
        return str(self.args[0])


def known_names() -> list[str]:
    """Every indicator name accepted, registered ones first."""
    derived = [f"{f}_{p}" for f in FLOWS for p in PERIOD_MONTHS]
    return [*REGISTRY, *[m for m in SERIES_METRICS if m not in REGISTRY], *derived]


def resolve(name: str) -> Indicator:
    """The Indicator for a name, or UnknownIndicator naming the closest valid names."""
    if name in REGISTRY and not any(slot in name for slot in PLACEHOLDERS):
        return REGISTRY[name]
    filled = _filled(name)
    if filled is not None:
        return filled
    if name in SERIES_METRICS:
        return Indicator(name, "stock", name, f"series metric {name} on the date")
    for period in PERIOD_MONTHS:
        base = name.removesuffix(f"_{period}")
        if base != name and base in FLOWS:
            months = PERIOD_MONTHS[period]
            return Indicator(name, period, base, f"{base} summed over {months} months")
    close = difflib.get_close_matches(name, known_names(), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UnknownIndicator(
        f"unknown indicator {name!r}{hint} (registered: {', '.join(REGISTRY)}; any series metric "
        f"as a stock, or a flow metric with _year/_half)"
    )
