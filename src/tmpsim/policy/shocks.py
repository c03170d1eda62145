"""Shocks as overlays: the same pandemic on any programme, and the counterfactual without one.

``standard_shock`` puts one stylised border shock, modelled on the flagship scenario's 2020-2022
border timeline, on any scenario at a chosen date, so that programmes can be compared under *the
same* shock (the essay's fourth question). It closes and restricts borders and raises dismissals;
it adds no special measure (special statuses, job-change routes, cash): those are each host's
policy, not the shock.

``without_shocks`` removes dated shocks and measures from a scenario (its no-pandemic
counterfactual), keeping rule changes that are part of the programme's design.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tmpsim.scenario import Scenario, load_scenario
from tmpsim.scenario.paths import keep_items

SHOCK_EVENT_TYPES = (
    "border",
    "entry_cap",
    "flight",
    "hazard",
    "recruitment",
    "grant_status",
    "job_change",
    "status_switch",
    "stay_extension",
    "cash_payment",
)
"""Event types that belong to a shock and the responses to it (everything but ``rule``)."""


@dataclass(frozen=True)
class ShockSpec:
    """A stylised border shock; durations in months from its start.

    The defaults follow the flagship's host in 2020-2022 (border_timeline.csv): new entries stopped
    for about 23 months; outbound travel cut to a trickle for about 21 months; dismissals 2.5 times
    the normal rate for 9 months; sending agencies selecting at half pace while borders are shut.
    """

    inbound_closed_months: float = 23.0
    outbound_restricted_months: float = 21.0
    outbound_share: float = 0.2
    """Outbound seats while restricted, as a share of the corridor's normal daily returns."""
    dismissal_multiplier: float = 2.5
    dismissal_months: float = 9.0
    recruitment_multiplier: float = 0.5
    recruitment_months: float = 21.0


def _plus_months(date: dt.date, months: float) -> dt.date:
    return date + dt.timedelta(days=round(months * 365.25 / 12))


def normal_daily_returns(scenario: Scenario, when: dt.date) -> dict[str, float]:
    """Estimate the daily returns of each corridor in normal times (steady state: = entries).

    Estimated from the scenario's demand for new entries in that year and each origin's share,
    so the same shock is equally severe relative to each programme's own traffic.
    """
    demand = scenario.recruitment.demand
    years = sorted(demand)
    total = float(np.interp(when.year, years, [demand[y] for y in years]))
    x = when.year + 0.5
    raw = {
        name: float(
            np.interp(
                x,
                [y + 0.5 for y in sorted(o.demand_share)],
                [o.demand_share[y] for y in sorted(o.demand_share)],
            )
        )
        for name, o in scenario.origins.items()
    }
    norm = sum(raw.values()) or 1.0
    return {name: total * share / norm / 365.25 for name, share in raw.items()}


def shock_events(scenario: Scenario, start: dt.date, spec: ShockSpec | None = None) -> list[dict]:
    """Return the dated events of the standard shock starting on ``start`` (clipped to the run)."""
    spec = spec or ShockSpec()
    end = scenario.end
    normal_in = scenario.borders.seats_in_per_day
    normal_out = scenario.borders.seats_out_per_day

    def within(d: dt.date) -> bool:
        return scenario.start <= d <= end

    events: list[dict[str, Any]] = []
    note = "standard shock"

    def border(date: dt.date, corridor: str, direction: str, seats: float, what: str) -> None:
        events.append(
            {
                "type": "border",
                "date": date,
                "corridor": corridor,
                "direction": direction,
                "seats_per_day": seats,
                "note": f"{note}: {what}",
            }
        )

    border(start, "all", "in", 0.0, "new entries stop")
    reopen = _plus_months(start, spec.inbound_closed_months)
    if within(reopen):
        border(reopen, "all", "in", normal_in, "entries resume")
    for corridor, per_day in normal_daily_returns(scenario, start).items():
        seats = round(spec.outbound_share * per_day, 3)
        border(start, corridor, "out", seats, "outbound restricted")
    back = _plus_months(start, spec.outbound_restricted_months)
    if within(back):
        border(back, "all", "out", normal_out, "flights back")
    if spec.dismissal_multiplier != 1.0:
        events.append(
            {
                "type": "hazard",
                "date": start,
                "hazard": "dismissal",
                "multiplier": spec.dismissal_multiplier,
                "end": min(_plus_months(start, spec.dismissal_months), end),
                "note": f"{note}: dismissals",
            }
        )
    if spec.recruitment_multiplier != 1.0:
        events.append(
            {
                "type": "recruitment",
                "date": start,
                "multiplier": spec.recruitment_multiplier,
                "end": min(_plus_months(start, spec.recruitment_months), end),
                "note": f"{note}: slower selection",
            }
        )
    return [{k: (str(v) if isinstance(v, dt.date) else v) for k, v in e.items()} for e in events]


def standard_shock(
    scenario: Scenario | str | Path,
    start: dt.date | str,
    spec: ShockSpec | None = None,
    keep_events: bool = False,
) -> Scenario:
    """Return the scenario with the standard shock from ``start`` (its own shocks removed first).

    With ``keep_events`` the scenario's own dated events stay (the shock is added to them).
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    start = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start))
    if not (sc.start <= start <= sc.end):
        raise ValueError(f"shock start {start} is outside the run {sc.start}..{sc.end}")
    base = sc if keep_events else without_shocks(sc)
    data = json.loads(json.dumps(base.model_dump(mode="json")))
    data["events"] = data.get("events", []) + shock_events(base, start, spec)
    data["name"] = f"{sc.name}+shock@{start}"
    spec_text = asdict(spec or ShockSpec())
    data["description"] = f"{sc.description} Standard shock from {start}: {spec_text}."
    return load_scenario(data)


def without_shocks(
    scenario: Scenario | str | Path, types: Iterable[str] = SHOCK_EVENT_TYPES
) -> Scenario:
    """Return the scenario without dated shocks and measures (its no-pandemic counterfactual)."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    drop = set(types)
    data = json.loads(json.dumps(sc.model_dump(mode="json")))
    # The sources of the events kept follow them to their new positions.
    keep_items(data, "events", lambda e: e["type"] not in drop)
    if not data["name"].endswith("+no-shock"):
        data["name"] = f"{sc.name}+no-shock"
    return load_scenario(data)


__all__ = [
    "SHOCK_EVENT_TYPES",
    "ShockSpec",
    "normal_daily_returns",
    "shock_events",
    "standard_shock",
    "without_shocks",
]
