"""Policy levers: named overlays that change a scenario the way a reform would, on any programme.

A lever takes one value. At its ``default`` value it leaves the scenario exactly as it is (the
status quo); any other value overlays the change described in ``description`` on the scenario's
data, and the result is validated like a scenario file. Levers compose: ``apply_levers`` applies
several in the fixed order of ``LEVERS``, whatever order they are given in.

``LEVERS`` is plain, introspectable data (name, label, type, bounds, default, the value used when
a lever is named without one, the scenario keys it writes, as key paths of
:mod:`tmpsim.scenario.paths` where a single key is meant), so a dashboard can build its controls
from ``[lever.to_dict() for lever in LEVERS.values()]``.

What each lever leaves alone matters as much as what it changes: runs of a base and a variant on
the same seed use common random numbers (one random stream per model module), so a lever that
touches only money (welfare) leaves every movement of every agent unchanged, and one that touches
only the programme's rules in the host leaves recruitment and entries unchanged.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tmpsim.scenario import Scenario, ScenarioError, load_scenario
from tmpsim.scenario.paths import get_path, set_path

DAYS_PER_MONTH = 365.25 / 12
NO_INCOME_STATES = ["jobless", "stranded", "special_idle", "special_working"]


class LeverError(ValueError):
    """An unknown lever or a value it cannot take; the message names both."""


Data = dict[str, Any]


@dataclass(frozen=True)
class Lever:
    """One policy lever: what it means, the values it takes, and how it changes a scenario."""

    name: str
    label: str
    description: str
    type: Literal["bool", "float"]
    default: bool | float
    on: bool | float
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    changes: tuple[str, ...] = ()
    floor: bool = False
    """The value is a lower bound on the scenario's own: below the scenario's value it changes
    nothing, so ``default`` means "the scenario as it is", not a value of the scenario."""
    apply: Callable[[Data, Any], None] = field(repr=False, compare=False, default=lambda d, v: None)

    def coerce(self, value: Any) -> bool | float:
        """Check and convert a value (a Python value or the text after ``NAME=``)."""
        if value is None:
            return self.on
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise LeverError(f"lever {self.name}: expected true or false, got {value!r}")
        if isinstance(value, bool):
            raise LeverError(f"lever {self.name}: expected a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise LeverError(f"lever {self.name}: expected a number, got {value!r}") from None
        if number != number:  # NaN
            raise LeverError(f"lever {self.name}: expected a number, got {value!r}")
        if self.minimum is not None and number < self.minimum:
            raise LeverError(f"lever {self.name}: {number:g} is below the minimum {self.minimum:g}")
        if self.maximum is not None and number > self.maximum:
            raise LeverError(f"lever {self.name}: {number:g} is above the maximum {self.maximum:g}")
        return number

    def is_default(self, value: Any) -> bool:
        """Whether ``value`` is the status quo (the lever then changes nothing)."""
        return self.coerce(value) == self.default

    def to_dict(self) -> dict[str, Any]:
        """Return the lever as JSON-able data (for dashboards and ``tmpsim levers --json``)."""
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "type": self.type,
            "default": self.default,
            "on": self.on,
            "unit": self.unit,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "changes": list(self.changes),
            "floor": self.floor,
        }


# ---- helpers on scenario data ------------------------------------------------------------------


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _events(data: Data, kind: str) -> list[Data]:
    return [e for e in data.get("events", []) if e.get("type") == kind]


def outbound_restrictions(data: Data) -> dict[str, list[tuple[dt.date, dt.date]]]:
    """Periods (first day, last day) when each corridor's outbound seats are below normal.

    Border events are replayed in date order (file order on the same day), as the model does;
    a corridor is judged restricted or not once a day, after all of the day's events, so that an
    event for every corridor followed the same day by one for a single corridor does not end that
    corridor's restriction for a day.
    """
    normal = float(data.get("borders", {}).get("seats_out_per_day", 5000.0))
    end = _date(data["end"])
    origins = list(data["origins"])
    seats = dict.fromkeys(origins, normal)
    changes: list[tuple[dt.date, int, Data]] = []
    for i, ev in enumerate(_events(data, "border")):
        if ev.get("direction", "both") in ("out", "both"):
            changes.append((_date(ev["date"]), i, ev))
    changes.sort(key=lambda c: (c[0], c[1]))
    windows: dict[str, list[tuple[dt.date, dt.date]]] = {o: [] for o in origins}
    since: dict[str, dt.date | None] = dict.fromkeys(origins)
    for date, group in itertools.groupby(changes, key=lambda c: c[0]):
        touched: list[str] = []
        for _, _, ev in group:
            corridor = ev.get("corridor", "all")
            for o in origins if corridor == "all" else [corridor]:
                seats[o] = float(ev["seats_per_day"])
                touched.append(o)
        for o in dict.fromkeys(touched):  # each once, in the order first touched
            restricted = seats[o] < normal
            if restricted and since[o] is None:
                since[o] = date
            elif not restricted and since[o] is not None:
                windows[o].append((since[o], date - dt.timedelta(days=1)))
                since[o] = None
    for o, first in since.items():
        if first is not None:
            windows[o].append((first, end))
    return windows


def _welfare(data: Data, value: bool) -> None:
    set_path(data, "programme.welfare_eligible", value, add=False)
    for ev in _events(data, "rule"):
        if ev.get("welfare_eligible") is not None:
            ev["welfare_eligible"] = value


def _free_job_change(data: Data, value: bool) -> None:
    if not value:
        return
    jc = data["programme"].setdefault("job_change", {})
    jc.update(mode="free", free_after_years=0.0, needs_sponsor_consent=False)
    jc.update(max_changes=None, max_changes_by_stage=None)
    for sector in data["sectors"].values():
        sector["job_change_after_years"] = None
    for ev in _events(data, "rule"):
        if ev.get("job_change_mode") is not None:
            ev["job_change_mode"] = "free"
    data.setdefault("events", []).append(
        {
            "type": "job_change",
            "date": str(data["start"]),
            "states": ["stranded"],
            "to_state": "employed",
            "rate_multiplier": 1.0,
            "note": "lever free_job_change: a worker whose contract ended may work for another "
            "employer while waiting for a seat home",
        }
    )


def _worker_fee_share(data: Data, share: float) -> None:
    """Scale fees and debt, keeping the calibrated relation between debt and leaving.

    Where the sending market sets an origin's fees (``origins_market.fees``), its runaway rate
    is stated at the market's debt before the worker's share (``Hazards``), so scaling that share
    keeps the relation already and the rate is left as it is.
    """
    money = data["money"]
    wage_year = 12.0 * float(money["wage_per_month"]) * float(money.get("net_share", 0.8))
    e = float(data.get("behaviour", {}).get("runaway_debt_elasticity", 1.0))
    segments = data.get("segments") or {}
    market = data.get("origins_market")
    from_market = _market_origins(market) if market and market.get("fees", True) else set()
    for name, o in data["origins"].items():
        # The terms to restate: each of the origin's segment entries', read through what they
        # inherit (the segment's terms, then the origin's), and the origin's own.
        entries = [(own, [own, segments[seg], o]) for seg, own in o.get("segments", {}).items()]
        entries.append((o, [o]))  # last: the entries above read the origin's terms as they were
        for target, chain in entries:
            term = _inherited(chain)
            ref_old = term("fee_pay_share", 0.85) * term("borrow_share") * term("debt_mean")
            ref_old /= wage_year
            target["fee_mean"] = term("fee_mean") * share
            target["debt_mean"] = term("debt_mean") * share
            if name in from_market:
                continue
            # The runaway rate is given at the mean debt; restate it at the new mean so that a
            # worker with a given debt runs away at the same rate as before.
            target["runaway_rate_per_year"] = (
                term("runaway_rate_per_year") * (1 + e * share * ref_old) / (1 + e * ref_old)
            )
    if market and market.get("fees", True):  # its fees stand in for fee_mean and debt_mean
        market["worker_fee_share"] = float(market.get("worker_fee_share", 1.0)) * share


def _market_origins(market: Data) -> set[str]:
    """The origins of a scenario's sending market (none if its configuration cannot be read).

    A configuration that cannot be read is reported by the run that builds the market.
    """
    from tmpsim.corridors.config import CorridorsError, load_corridors
    from tmpsim.scenario.schema import OriginsMarketSpec

    name = market.get("corridors", OriginsMarketSpec.model_fields["corridors"].default)
    try:
        return set(load_corridors(name).market.origins)
    except CorridorsError:
        return set()


def _inherited(chain: list[Data]):
    """A term's value: from the first of ``chain`` that sets it, else the default given."""

    def term(key: str, default: float | None = None) -> float:
        return next((d[key] for d in chain if d.get(key) is not None), default)

    return term


def _charter_flights(data: Data, seats_per_week: float) -> None:
    flights = data.setdefault("events", [])
    for corridor, windows in outbound_restrictions(data).items():
        for first, last in windows:
            day = first + dt.timedelta(days=7)
            while day <= last:
                flights.append(
                    {
                        "type": "flight",
                        "date": str(day),
                        "corridor": corridor,
                        "seats": seats_per_week,
                        "note": "lever charter_flights",
                    }
                )
                day += dt.timedelta(days=7)


def _proactive(data: Data, floor: float) -> None:
    key = "supervision.proactivity_floor"
    set_path(data, key, max(float(get_path(data, key)), floor), add=False)


def _own_language(data: Data, value: bool) -> None:
    if value:
        set_path(data, "information.own_language_info", True, add=False)


def _stay_cap(data: Data, years: float) -> None:
    set_path(data, "programme.max_stay_years", years, add=False)


def _remove_stay_cap(data: Data, prob: float) -> None:
    prog = data["programme"]
    prog["max_stay_years"] = None
    prog["renewals"] = max(int(prog.get("renewals", 0)), 50)
    prog["renewal_prob"] = max(float(prog.get("renewal_prob", 0.0)), prob)


def _status_change(data: Data, rate: float) -> None:
    data.setdefault("events", []).append(
        {
            "type": "status_switch",
            "date": str(data["start"]),
            "from_states": list(NO_INCOME_STATES),
            "rate_per_year": rate,
            "note": "lever status_change",
        }
    )


def _free_exit(data: Data, value: bool) -> None:
    if value:
        set_path(data, "programme.exit_needs_sponsor", False, add=False)


LEVERS: dict[str, Lever] = {
    lever.name: lever
    for lever in [
        Lever(
            name="welfare_eligible",
            label="Welfare for programme workers",
            description="Programme workers may receive public assistance: without income they get "
            "the subsistence cost instead of using up their savings (also overrides dated rule "
            "changes of eligibility).",
            type="bool",
            default=False,
            on=True,
            changes=("programme.welfare_eligible", "events[type=rule].welfare_eligible"),
            apply=_welfare,
        ),
        Lever(
            name="free_job_change",
            label="Free job change",
            description="Workers may change employer at any time and as often as they like, "
            "without the sponsor's consent; a jobless worker may always take another employer; "
            "a worker whose contract ended "
            "and who cannot fly home may work for another employer while waiting for a seat; "
            "some would-be runaways change employer instead (job_change.runaway_diverted).",
            type="bool",
            default=False,
            on=True,
            changes=(
                "programme.job_change",
                "sectors.*.job_change_after_years",
                "events[type=rule].job_change_mode",
                "events += job_change (stranded -> employed)",
            ),
            apply=_free_job_change,
        ),
        Lever(
            name="worker_fee_share",
            label="Share of recruitment fees paid by the worker",
            description="Fees and debt at departure are scaled by this share (0: the employer pays "
            "all fees), the sending market's too where the scenario takes its fees from it "
            "(origins_market). The debt-runaway relation is kept: a worker with a given debt "
            "leaves the employer as often as before. The employer's cost is not modelled.",
            type="float",
            default=1.0,
            on=0.0,
            unit="share",
            minimum=0.0,
            maximum=1.0,
            changes=(
                "origins.*.fee_mean",
                "origins.*.debt_mean",
                "origins.*.runaway_rate_per_year (where the fees are the origin's own)",
                "origins_market.worker_fee_share (where the fees come from the market)",
            ),
            apply=_worker_fee_share,
        ),
        Lever(
            name="charter_flights",
            label="Charter / repatriation flights",
            description="Extra outbound seats each week on every corridor while its outbound seats "
            "are below normal (first flight a week after the restriction starts).",
            type="float",
            default=0.0,
            on=300.0,
            unit="seats per week per corridor",
            minimum=0.0,
            maximum=1_000_000.0,
            changes=("events += flight",),
            apply=_charter_flights,
        ),
        Lever(
            name="proactive_supervision",
            label="Proactive supervising organisations",
            description="Every supervising organisation gives a jobless worker at least this share "
            "of full help in finding another employer (raises supervision.proactivity_floor).",
            type="float",
            default=0.0,
            on=0.8,
            unit="share of full help",
            minimum=0.0,
            maximum=1.0,
            changes=("supervision.proactivity_floor",),
            floor=True,
            apply=_proactive,
        ),
        Lever(
            name="own_language_info",
            label="Information in workers' own languages",
            description="Job information is given in the workers' languages: the chance of "
            "hearing of a job uses at least information.own_language_level instead of their own "
            "language level.",
            type="bool",
            default=False,
            on=True,
            changes=("information.own_language_info",),
            apply=_own_language,
        ),
        Lever(
            name="stay_cap_years",
            label="Cap on the length of stay",
            description="No stage or renewal may take a worker beyond this many years since first "
            "entry (programme.max_stay_years; 0 leaves the programme's own cap).",
            type="float",
            default=0.0,
            on=3.0,
            unit="years",
            minimum=0.0,
            maximum=60.0,
            changes=("programme.max_stay_years",),
            apply=_stay_cap,
        ),
        Lever(
            name="remove_stay_cap",
            label="Remove the cap on the length of stay",
            description="No longest stay; at the end of the last stage a worker renews with at "
            "least this probability, up to 50 times (with routes: a renewal is offered with this "
            "probability and chosen as the next_stage route; 0 leaves the programme as it is).",
            type="float",
            default=0.0,
            on=0.5,
            unit="renewal probability",
            minimum=0.0,
            maximum=1.0,
            changes=(
                "programme.max_stay_years",
                "programme.renewals",
                "programme.renewal_prob",
            ),
            apply=_remove_stay_cap,
        ),
        Lever(
            name="status_change",
            label="Change to another residence status",
            description="Workers without a job (jobless, stranded, on a special status) may switch "
            "to another residence status at this yearly rate, for the whole run.",
            type="float",
            default=0.0,
            on=0.5,
            unit="per year",
            minimum=0.0,
            maximum=52.0,
            changes=("events += status_switch",),
            apply=_status_change,
        ),
        Lever(
            name="free_exit",
            label="Exit without the sponsor's permission",
            description="Leaving the country no longer needs an exit permit from the employer "
            "(programme.exit_needs_sponsor = false).",
            type="bool",
            default=False,
            on=True,
            changes=("programme.exit_needs_sponsor",),
            apply=_free_exit,
        ),
    ]
}


def get_lever(name: str) -> Lever:
    """Return the lever called ``name``, or raise a LeverError that suggests close names."""
    lever = LEVERS.get(name)
    if lever is None:
        close = difflib.get_close_matches(name, LEVERS, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise LeverError(f"unknown lever {name!r}{hint}; levers are {', '.join(LEVERS)}")
    return lever


def parse_levers(text: str) -> dict[str, bool | float]:
    """Read ``NAME[=VALUE][,NAME[=VALUE]...]`` (a variant combining levers) into values."""
    out: dict[str, bool | float] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, raw = part.partition("=")
        lever = get_lever(name.strip())
        if lever.name in out:
            raise LeverError(f"--lever {text!r}: {lever.name} is given twice; give it once")
        out[lever.name] = lever.coerce(raw.strip() if sep else None)
    if not out:
        raise LeverError(f"--lever {text!r}: name at least one lever ({', '.join(LEVERS)})")
    return out


def variant_label(levers: Mapping[str, Any]) -> str:
    """Short name of a variant, e.g. ``welfare_eligible+charter_flights=300``."""
    parts = []
    for name in LEVERS:
        if name not in levers:
            continue
        lever, value = LEVERS[name], LEVERS[name].coerce(levers[name])
        if lever.type == "bool" and value is True:
            parts.append(name)
        else:
            parts.append(f"{name}={value:g}" if lever.type == "float" else f"{name}={value}")
    return "+".join(parts) or "base"


def apply_levers(
    scenario: Scenario | str | Path | Mapping[str, Any], levers: Mapping[str, Any]
) -> Scenario:
    """Return the scenario with the levers overlaid (in the order of ``LEVERS``), validated.

    Levers at their default value change nothing. The returned scenario's name records the
    levers (``base+lever=value``); random streams do not depend on the name.
    """
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)  # type: ignore[arg-type]
    values = {get_lever(name).name: get_lever(name).coerce(v) for name, v in levers.items()}
    active = {n: v for n, v in values.items() if not LEVERS[n].is_default(v)}
    if not active:
        return base
    data = json.loads(json.dumps(base.model_dump(mode="json")))
    for name, lever in LEVERS.items():
        if name in active:
            lever.apply(data, active[name])
    label = variant_label(active)
    data["name"] = f"{base.name}+{label}"
    data["description"] = f"{base.description} Levers: {label}.".strip()
    try:
        return load_scenario(data)
    except ScenarioError as exc:
        raise LeverError(f"levers {label} on {base.name}: {exc}") from None


def describe_levers() -> list[dict[str, Any]]:
    """Every lever as JSON-able data, in the order levers are applied."""
    return [lever.to_dict() for lever in LEVERS.values()]


__all__ = [
    "LEVERS",
    "Lever",
    "LeverError",
    "apply_levers",
    "describe_levers",
    "get_lever",
    "outbound_restrictions",
    "parse_levers",
    "variant_label",
]
