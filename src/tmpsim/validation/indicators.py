"""Observed indicators and how a simulation is aggregated to match each one.

An indicator names what an official statistic measures. Each maps to a metric of ``series.parquet``
(or to columns of ``agents.parquet``) and an aggregation that follows the statistic's definition:

- ``stock``: the metric's value on the observation date (residents at the end of June / December,
  the stranded count on the day it was reported);
- ``year`` / ``half``: a daily flow summed over the 12 / 6 months that end on the date
  (calendar-year new entries or runaways when the date is 31 December);
- ``agents_mean`` / ``agents_share``: over agents in the host on the date (entered on or before it,
  not yet gone), the mean of a column among those with a positive value (fees among payers, debt
  among borrowers) or the share with a positive value (as the ISA survey defines them).

The registered indicators, with the host country and programme they describe, are data: the
packaged observed data's ``indicators.yaml``. Names that are not registered still work when they
are a metric of ``series.parquet`` (compared as a stock on the date) or a flow metric with
``_year`` / ``_half`` appended.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from tmpsim.engine.recorder import EXTRAS
from tmpsim.results import FLOW_METRICS
from tmpsim.states import STATE_NAMES, STOCK_METRICS

Kind = Literal["stock", "year", "half", "agents_mean", "agents_share"]
PERIOD_MONTHS = {"year": 12, "half": 6}


@dataclass(frozen=True)
class Indicator:
    """An observed quantity and how the simulation is aggregated to compare with it."""

    name: str
    kind: Kind
    source: str
    """Series metric (for stock, year, half) or agents column (for agents_mean, agents_share)."""
    description: str = ""

    @property
    def uses_agents(self) -> bool:
        """Whether the indicator is computed from ``agents.parquet``."""
        return self.kind.startswith("agents")


@cache
def _packaged() -> dict[str, Any]:
    """The packaged data's indicators file (data/observed/indicators.yaml), read once."""
    path = resources.files("tmpsim") / "data" / "observed" / "indicators.yaml"
    return yaml.safe_load(path.read_text("utf-8"))


def packaged_host() -> str:
    """The host country the packaged observed data describe (from their indicators file)."""
    return str(_packaged()["host"])


def forecast_indicators() -> tuple[str, ...]:
    """The indicators ``tmpsim forecast`` reports by default (from the indicators file)."""
    return tuple(str(i) for i in _packaged().get("forecast") or ())


REGISTRY: dict[str, Indicator] = {
    str(name): Indicator(str(name), spec["kind"], str(spec["source"]), str(spec["description"]))
    for name, spec in _packaged()["indicators"].items()
}

FLOWS = sorted({*FLOW_METRICS, *EXTRAS})
SERIES_METRICS = sorted(
    {
        *STOCK_METRICS,
        *FLOW_METRICS,
        *EXTRAS,
        *(f"state_{s}" for s in STATE_NAMES),
        "destitute",
        "sheltered",
        "unmet_shelter_need",
        "outside_welfare",
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
    if name in REGISTRY:
        return REGISTRY[name]
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
