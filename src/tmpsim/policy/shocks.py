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
    "exit_amnesty",
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


# ---- the scenario's own shock, moved ----------------------------------------------------------
ROUTES_MOVED = ("bridges", "job_changes")
"""The routes' dated measures that move with a replayed shock (onward statuses do not)."""


@dataclass(frozen=True)
class Replay:
    """What ``replay_shock`` moved, and the keys a variant file sets to move it."""

    first: dt.date
    """The base's shock's first day: its earliest dated shock event."""
    start: dt.date
    end: dt.date
    changes: dict[str, Any]
    moved: dict[str, int]
    """How many items of each kind moved (events, shelters, funds, routes, index months)."""
    end_why: str = ""
    """Why the run ends when it does."""

    @property
    def days(self) -> int:
        """How far everything moved, in days."""
        return (self.start - self.first).days


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _dates(items: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dt.date]:
    return [_day(i[k]) for i in items for k in keys if i.get(k) is not None]


def _held_level(
    own: dict[str, Any], shifted: dict[str, Any], first: str, last: str, months: int
) -> dict[str, Any]:
    """The base's own fall taken away: its months held level, so only the moved fall remains.

    Moved later, the index keeps its level of the month before the shock from the shock's
    first month until the moved window begins; moved earlier, the level the moved window ends
    with until the end of the base's own window.
    """
    if not shifted or months == 0:
        return {}
    if months > 0:
        level = own.get(_month_key(first, -1))
        span = (first, _month_key(min(shifted), -1))
    else:
        level = shifted[max(shifted)]
        span = (_month_key(max(shifted), 1), min(last, max(own)))
    if level is None:
        return {}
    out, month = {}, span[0]
    while month <= span[1]:
        out[month] = level
        month = _month_key(month, 1)
    return out


def _contiguous(index: dict[str, Any]) -> dict[str, Any]:
    """A monthly index with every month from its first to its last: a gap holds the month before."""
    keys = sorted(index)
    out, month, value = {}, keys[0], index[keys[0]]
    while month <= keys[-1]:
        value = index.get(month, value)
        out[month] = value
        month = _month_key(month, 1)
    return out


def _month_key(key: str, months: int) -> str:
    year, month = (int(p) for p in str(key).split("-"))
    n = year * 12 + month - 1 + months
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def replay_shock(
    scenario: Scenario | str | Path, start: dt.date | str, end: dt.date | str | None = None
) -> Replay:
    """The scenario's own shock and the measures answering it, moved to begin on ``start``.

    The shock begins on the earliest event of a shock type (``SHOCK_EVENT_TYPES``). Everything
    dated from that day on moves by the same number of days: those events (and their ends),
    the shelters and emergency funds that open then or later, and the routes' bridges and
    job-change routes that start then or later; the months of the dismissals' labour-need index
    from ``lag_months`` before the first day to the last day moved move by the same number of
    months, so that dismissals follow the same fall; the base's own fall is taken away (its
    months held at the level before it, ``_held_level``), and months between the index's own
    and the moved ones hold the value before them. Headlines over the shock move too,
    renamed ``NAME_replayed`` and without their observed reference. Rule changes and onward
    statuses stay.
    The run ends on ``end`` (by default the base's end, or the end of the year after the last
    day moved if that is later); what moves beyond it is dropped.

    ``changes`` holds the keys a file ``extends``-ing the base sets (lists given whole).
    """
    from tmpsim.scenario.loader import load_raw

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    raw = (
        json.loads(json.dumps(sc.model_dump(mode="json", exclude_defaults=True)))
        if isinstance(scenario, Scenario)
        else load_raw(scenario)[0]
    )
    start = _day(start)
    shock = [_day(e["date"]) for e in raw.get("events") or [] if e.get("type") in SHOCK_EVENT_TYPES]
    if not shock:
        kinds = ", ".join(SHOCK_EVENT_TYPES)
        raise ValueError(f"{sc.name}: no dated shock to replay (no event of a type: {kinds})")
    if start < sc.start:
        raise ValueError(f"the shock's new start {start} is before the run starts ({sc.start})")
    first = min(shock)
    offset = start - first
    months = (start.year - first.year) * 12 + start.month - first.month

    def moves(item: dict[str, Any], key: str) -> bool:
        return item.get(key) is not None and _day(item[key]) >= first

    def moved(item: dict[str, Any], *keys: str) -> dict[str, Any]:
        out = dict(item)
        for key in keys:
            if out.get(key) is not None:
                out[key] = (_day(out[key]) + offset).isoformat()
        return out

    went: list[dict[str, Any]] = []  # the items moved (the run's end follows the last of them)
    count: dict[str, int] = {}

    def shift(items: list[dict[str, Any]], name: str, key: str, *keys: str) -> list:
        """``items`` with those dated from the shock on moved; counted under ``name``."""
        out = []
        count[name] = 0
        for item in items:
            if moves(item, key) and (key != "date" or item.get("type") in SHOCK_EVENT_TYPES):
                item = moved(item, key, *keys)
                went.append(item)
                count[name] += 1
            out.append(item)
        return out

    routes = raw.get("routes") or {}
    events = shift(raw.get("events") or [], "events", "date", "end", "eligible_on")
    for event in went:  # moved before the run starts: those in its states at the start
        if event.get("eligible_on") is not None and _day(event["eligible_on"]) < sc.start:
            event["eligible_on"] = sc.start.isoformat()
    lists = {n: shift(raw.get(n) or [], n, "start", "end") for n in ("shelters", "emergency_funds")}
    route_lists = {
        n: shift(routes.get(n) or [], f"routes.{n}", "start", "end") for n in ROUTES_MOVED
    }
    last = max(_dates(went, ("date", "start", "end")))
    if end is not None:
        end, end_why = _day(end), "as asked"
    elif sc.end >= dt.date(last.year + 1, 12, 31):
        end, end_why = sc.end, f"{sc.name}'s own end"
    else:
        end = dt.date(last.year + 1, 12, 31)
        end_why = "the end of the year after the last day moved"
    if end <= start:
        raise ValueError(f"the run's end {end} is not after the shock's start {start}")

    def inside(item: dict[str, Any], key: str) -> bool:
        return item.get(key) is None or _day(item[key]) <= end

    changes: dict[str, Any] = {"end": end.isoformat()}
    changes["events"] = [e for e in events if inside(e, "date")]
    for name, items in lists.items():
        if count[name]:
            changes[name] = [i for i in items if inside(i, "start")]
    moved_routes = {n: [r for r in rs if inside(r, "start")] for n, rs in route_lists.items()}
    if any(count[f"routes.{n}"] for n in ROUTES_MOVED):
        changes["routes"] = {n: rs for n, rs in moved_routes.items() if routes.get(n)}
    headlines = [
        {
            **{
                k: v
                for k, v in moved(h, "start", "end").items()
                if not k.startswith("reference") and k != "source"
            },
            "name": f"{h['name']}_replayed",
            "label": f"{h.get('label') or h['name']} (replayed {offset.days} days later)",
        }
        for h in raw.get("headlines") or []
        if moves(h, "start")
    ]
    if headlines:  # a headline of the shock moves with it, without the observation it had
        kept = [h for h in raw.get("headlines") or [] if not moves(h, "start")]
        changes["headlines"] = kept + [h for h in headlines if inside(h, "end")]
        count["headlines"] = len(headlines)
    need = (raw.get("behaviour") or {}).get("dismissal_labour_need") or {}
    index = need.get("index") or {}
    if index:
        first_month = f"{first.year:04d}-{first.month:02d}"
        lo = _month_key(first_month, -int(need.get("lag_months", 12)))
        hi = f"{(last - offset).year:04d}-{(last - offset).month:02d}"
        own = {_month_key(str(k), 0): v for k, v in index.items()}
        window = {k: v for k, v in own.items() if lo <= k <= hi}
        shifted = {_month_key(k, months): v for k, v in window.items()}
        held = _held_level(own, shifted, first_month, hi, months)
        merged = _contiguous(own | held | shifted)
        new = {k: v for k, v in merged.items() if index.get(k) != v}
        changes["behaviour"] = {"dismissal_labour_need": {"index": new}}
        count["index months"] = len(shifted)
    return Replay(first, start, end, changes, count, end_why)


def replay_file_text(base: str, replay: Replay, name: str) -> str:
    """The YAML of a scenario file that extends ``base`` with its shock replayed."""
    import yaml

    said = f"{base}'s own shock of {replay.first} and the measures answering it"
    head = {
        "extends": base,
        "name": name,
        "description": f"{said}, moved by {replay.days} days to begin on {replay.start} "
        "(tmpsim shock); everything else as in the base.",
    }
    sources = {
        key: f"moved: {said}, {replay.days} days later (their sources in {base})"
        for key in ("events", "shelters", "emergency_funds", "routes")
        if key in replay.changes
    }
    if "behaviour" in replay.changes:
        sources["behaviour.dismissal_labour_need.index"] = (
            f"moved: {base}'s index over its shock, by the same number of months (the months "
            "before and after keep the base's values or none)"
        )
    if "headlines" in replay.changes:
        sources["headlines"] = f"moved: {base}'s headlines over its shock, without their references"
    sources["end"] = f"tmpsim shock: {replay.end_why}"
    data = {**head, **replay.changes, "sources": sources}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


__all__ = [
    "SHOCK_EVENT_TYPES",
    "Replay",
    "ShockSpec",
    "normal_daily_returns",
    "replay_file_text",
    "replay_shock",
    "shock_events",
    "standard_shock",
    "without_shocks",
]
