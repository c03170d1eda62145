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

Names that are not registered still work when they are a metric of ``series.parquet`` (compared as
a stock on the date) or a flow metric with ``_year`` / ``_half`` appended.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

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


REGISTRY: dict[str, Indicator] = {
    i.name: i
    for i in (
        Indicator(
            "titp_stock",
            "stock",
            "titp_stock",
            "Residents holding the programme's status on the date (employed, between employers, "
            "on a home visit, or waiting to leave before a special status).",
        ),
        *(
            Indicator(
                f"titp_stock_stage_{k}",
                "stock",
                f"titp_stock_stage_{k}",
                f"Residents holding the programme's status in stage {k} ({k}号), month end.",
            )
            for k in ("1", "2", "3")
        ),
        Indicator(
            "stranded",
            "stock",
            "stranded",
            "Contract ended or job lost and unable to return home, whatever bridging status.",
        ),
        Indicator(
            "new_entries_year",
            "year",
            "new_entries",
            "First-stage (1号) new entries in the 12 months ending on the date.",
        ),
        Indicator(
            "new_entries_year_1ro",
            "year",
            "new_entries",
            "As new_entries_year; the statistic counts 1号ロ only (about 96% of 1号 in 2019).",
        ),
        Indicator(
            "new_entries_half_1ro",
            "half",
            "new_entries",
            "First-stage new entries in the 6 months ending on the date; statistic is 1号ロ only.",
        ),
        Indicator(
            "missing_year",
            "year",
            "missing",
            "Trainees who left their employer (失踪) in the 12 months ending on the date.",
        ),
        Indicator(
            "fee_paid",
            "agents_mean",
            "fee",
            "Mean fee paid to sending agencies and brokers, among those who paid.",
        ),
        Indicator(
            "fee_paid_share",
            "agents_share",
            "fee",
            "Share of trainees who paid a fee before departure.",
        ),
        Indicator(
            "debt_at_departure",
            "agents_mean",
            "debt_at_departure",
            "Mean debt before departure, among those with debt.",
        ),
        Indicator(
            "debt_share",
            "agents_share",
            "debt_at_departure",
            "Share of trainees with debt before departure.",
        ),
    )
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
