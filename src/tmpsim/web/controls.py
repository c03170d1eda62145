"""What the dashboard lets a user change, and how a request becomes a validated scenario.

Only three kinds of change reach a scenario: a whitelisted key parameter (``KEY_PARAMETERS`` and
each shelter's places), a policy lever from ``tmpsim.policy.levers`` (when that part of tmpsim is
installed), and the end of the simulated window. Every value is bounded here and the result goes
through the scenario schema, so an impossible combination is refused with the schema's message.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from tmpsim.scenario import Scenario, ScenarioError
from tmpsim.scenario.loader import load_raw, resolve_extends, shipped_scenarios, validate
from tmpsim.scenario.paths import PathError, crop_window, get_path, set_path
from tmpsim.scenario.yamlfile import YamlError, decode, parse_yaml

MAX_UPLOAD_BYTES = 512 * 1024
MIN_WINDOW_DAYS = 30


class RequestError(ValueError):
    """A dashboard request that cannot be honoured; the message is shown to the user as is."""


@dataclass(frozen=True)
class Control:
    """One labelled input of the dashboard: a key parameter or a policy lever."""

    name: str
    label: str
    kind: str  # "bool", "number", "int" or "choice"
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    unit: str = ""
    default: Any = None

    def to_json(self) -> dict[str, Any]:
        """Describe the control for the page."""
        out = asdict(self)
        out["choices"] = list(self.choices)
        return out

    def check(self, value: Any) -> Any:
        """Return the value if it suits the control, else raise RequestError naming the control."""
        where = f"{self.label} ({self.name})"
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise RequestError(f"{where}: expected true or false, got {value!r}")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise RequestError(f"{where}: expected one of {', '.join(self.choices)}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RequestError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(value):  # NaN, or JSON's 1e400 read as infinity
            raise RequestError(f"{where}: expected a finite number, got {value!r}")
        if self.kind == "int" and int(value) != value:
            raise RequestError(f"{where}: expected a whole number, got {value}")
        if self.minimum is not None and value < self.minimum:
            raise RequestError(f"{where}: {value} is below the minimum {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise RequestError(f"{where}: {value} is above the maximum {self.maximum:g}")
        return int(value) if self.kind == "int" else float(value)


KEY_PARAMETERS: tuple[Control, ...] = (
    Control(
        "programme.welfare_eligible",
        "Programme workers eligible for welfare",
        "bool",
        "Public assistance open to workers on the programme's status.",
    ),
    Control(
        "programme.housing_with_job",
        "The job comes with a bed",
        "bool",
        "Employer housing or a dormitory: whoever is without work in the host needs a shelter "
        "place, not only the destitute (unless the scenario lets them rent a room privately).",
    ),
    Control(
        "programme.job_change.mode",
        "When workers may change employer",
        "choice",
        "forbidden, only after a dismissal, or freely.",
        choices=("forbidden", "on_dismissal", "free"),
    ),
    Control(
        "programme.grace_days",
        "Grace period after losing a job",
        "int",
        "Days a jobless worker keeps the status while looking for an employer.",
        0,
        365,
        1,
        unit="days",
    ),
    Control(
        "supervision.proactivity_mean",
        "Proactivity of supervising organisations",
        "number",
        "Mean help a jobless worker gets in finding a new employer (0 none, 1 full).",
        0,
        1,
        0.05,
    ),
    Control(
        "information.own_language_info",
        "Job information in workers' own languages",
        "bool",
        "Job information published in the workers' languages.",
    ),
    Control(
        "money.wage_per_month",
        "Wage per month",
        "number",
        "Gross monthly wage under the programme.",
        0,
        2_000_000,
        1000,
        unit="currency",
    ),
    Control(
        "money.living_cost_per_month",
        "Living costs per month",
        "number",
        "Rent and food while working.",
        0,
        1_000_000,
        1000,
        unit="currency",
    ),
    Control(
        "behaviour.dismissal_labour_need.elasticity",
        "How hard employers dismiss when work falls away",
        "number",
        "How strongly dismissals rise when the labour market has fallen below a year before "
        "(0: only the base dismissal rates). Scenarios without that rule do not show it.",
        0,
        5,
        0.05,
    ),
    Control(
        "behaviour.runaway_no_income_factor",
        "Runaway risk without income (multiplier)",
        "number",
        "How much more likely a worker without income is to leave.",
        0,
        20,
        0.5,
    ),
)
SHELTER_CONTROL = re.compile(r"^shelters\.(\d+)\.capacity$")


def parameter_controls(data: dict[str, Any]) -> list[Control]:
    """List the key parameters that apply to a scenario, with its values as defaults."""
    resolved = validate(copy.deepcopy(data), "<scenario>").model_dump(mode="json")
    out = []
    covered = lever_paths()
    for control in KEY_PARAMETERS:
        if control.name in covered:
            continue
        try:
            value = get_path(resolved, control.name)
        except PathError:
            continue
        out.append(Control(**{**asdict(control), "default": value}))
    for i, shelter in enumerate(resolved.get("shelters") or []):
        if shelter.get("capacity", 0) > 0:
            out.append(
                Control(
                    f"shelters.{i}.capacity",
                    f"Shelter places: {shelter['name']}",
                    "int",
                    "Beds this provider offers while it runs.",
                    0,
                    1_000_000,
                    10,
                    unit="places",
                    default=int(shelter["capacity"]),
                )
            )
    return out


# ---- policy levers (tmpsim.policy.levers, when installed) ------------------------------------


def lever_module() -> Any | None:
    """Import ``tmpsim.policy.levers``; None when that part of tmpsim is not installed."""
    try:
        from tmpsim.policy import levers
    except ImportError:
        return None
    if not hasattr(levers, "LEVERS") or not hasattr(levers, "apply_levers"):
        return None
    return levers


def lever_controls() -> list[Control]:
    """List the policy levers as controls (none when tmpsim.policy is not installed)."""
    levers = lever_module()
    if levers is None:
        return []
    out = []
    for lever in levers.LEVERS.values():
        spec = lever.to_dict()
        lo, hi = spec.get("minimum"), spec.get("maximum")
        kind = "bool" if spec["type"] == "bool" else "number"
        step = None
        if kind == "number":
            span = (hi - lo) if lo is not None and hi is not None else None
            step = 0.05 if span is not None and span <= 1 else 1.0
        hint = spec.get("description", "")
        if kind == "number" and spec.get("on") is not None:
            hint += f" Typical setting: {spec['on']:g}."
        out.append(
            Control(
                name=spec["name"],
                label=spec["label"],
                kind=kind,
                help=hint,
                minimum=lo,
                maximum=hi,
                step=step,
                unit=spec.get("unit", ""),
                default=spec["default"],
            )
        )
    return out


def lever_paths() -> set[str]:
    """Scenario keys that some lever writes (the dashboard then offers only the lever)."""
    levers = lever_module()
    if levers is None:
        return set()
    return {path for lever in levers.LEVERS.values() for path in lever.to_dict()["changes"]}


def writes(change: str, path: str) -> bool:
    """Whether a lever's change (an entry of its ``changes``) writes the scenario key ``path``.

    ``programme.job_change`` writes ``programme.job_change.mode``; ``*`` stands for any one key
    (``sectors.*.job_change_after_years``). Changes to events write no key a control has.
    """
    if "[" in change or " " in change:  # events[type=rule].x, "events += flight"
        return False
    ours, theirs = change.split("."), path.split(".")
    return all(a in ("*", b) for a, b in zip(ours, theirs, strict=False))


def levers_writing(path: str, levers: dict[str, Any] | None = None) -> list[str]:
    """Names of the levers (of ``levers``, default all) that write the key ``path``."""
    module = lever_module()
    if module is None:
        return []
    names = module.LEVERS if levers is None else levers
    return [
        name
        for name in names
        if any(writes(c, path) for c in module.LEVERS[name].to_dict()["changes"])
    ]


# ---- base scenarios ---------------------------------------------------------------------------


@dataclass
class BaseScenario:
    """A scenario the user picked (shipped) or uploaded, before the dashboard's changes."""

    key: str  # shipped name, or "upload:<id>"
    source: str  # what error messages name: the file
    data: dict[str, Any]
    label: str
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """Describe it for the page: window, origins, controls with this scenario's values."""
        sc = validate(copy.deepcopy(self.data), self.source)
        return {
            "key": self.key,
            "label": self.label,
            "description": sc.description,
            "start": str(sc.start),
            "end": str(sc.end),
            "min_end": str(sc.start + dt.timedelta(days=MIN_WINDOW_DAYS)),
            "origins": list(sc.origins),
            "currency": sc.currency,
            "parameters": [c.to_json() for c in parameter_controls(self.data)],
        }


def shipped_base(name: str) -> BaseScenario:
    """Load a shipped scenario by name; RequestError if there is none by that name."""
    names = shipped_scenarios()
    if name not in names:
        raise RequestError(f"{name!r} is not a shipped scenario ({', '.join(names)})")
    data, source = load_raw(name)
    return BaseScenario(key=name, source=source, data=data, label=name, description=names[name])


def safe_filename(name: str | None) -> str:
    """Make a display name for an upload: its last path part, harmless characters only."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip() or "uploaded.yaml"
    return base[:80]


def parse_upload(filename: str | None, content: bytes) -> tuple[str, dict[str, Any]]:
    """Read and validate an uploaded scenario file; ScenarioError/RequestError on any problem.

    The checks and messages are the ones ``tmpsim run FILE`` gives, naming the file.
    """
    name = safe_filename(filename)
    if len(content) > MAX_UPLOAD_BYTES:
        raise RequestError(
            f"{name}: file too large ({len(content):,} bytes; at most {MAX_UPLOAD_BYTES:,})"
        )
    if not content.strip():
        raise ScenarioError(f"{name}: the file is empty")
    try:
        data = parse_yaml(decode(content, name), name)
    except YamlError as exc:
        raise ScenarioError(str(exc)) from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{name}: a scenario must be a mapping of keys to values")
    data = resolve_extends(data, name)
    validate(copy.deepcopy(data), name, content.decode("utf-8-sig"))
    return name, data


# ---- a run request ----------------------------------------------------------------------------


def build_scenario(
    base: BaseScenario,
    parameters: dict[str, Any] | None = None,
    levers: dict[str, Any] | None = None,
    end: str | None = None,
) -> tuple[Scenario, list[str]]:
    """Apply the dashboard's changes to a base scenario and validate it; return it and notes.

    Raises RequestError for a control that does not exist or a value out of its bounds, and
    ScenarioError (the schema's message, naming the file) for a scenario the schema refuses.
    """
    notes: list[str] = []
    allowed = {c.name: c for c in parameter_controls(base.data)}
    values = {}
    for path, value in (parameters or {}).items():
        if path not in allowed:
            hint = ", ".join(f"the policy lever {n}" for n in levers_writing(path))
            raise RequestError(
                f"{path!r} is not a parameter the dashboard can change"
                + (f"; {hint} sets it" if hint else "")
            )
        values[path] = allowed[path].check(value)
    chosen = _checked_levers(levers or {})
    _refuse_overrides(values, chosen)
    data = copy.deepcopy(base.data)
    if values:  # a control may set a key the file leaves to its default
        data = validate(data, base.source).model_dump(mode="json")
    for path, value in values.items():
        set_path(data, path, value)
    if end:
        data, note = _with_end(data, end, base.source)
        if note:
            notes.append(note)
    scenario = validate(data, base.source)
    if chosen:
        scenario = _apply_levers(scenario, chosen)
        notes.append("levers: " + ", ".join(f"{k}={v}" for k, v in (levers or {}).items()))
    return scenario, notes


def _with_end(data: dict[str, Any], end: str, source: str) -> tuple[dict[str, Any], str]:
    try:
        new_end = dt.date.fromisoformat(str(end))
    except ValueError:
        raise RequestError(f"end date {end!r} is not a date (YYYY-MM-DD)") from None
    sc = validate(copy.deepcopy(data), source)
    first = sc.start + dt.timedelta(days=MIN_WINDOW_DAYS)
    if not first <= new_end <= sc.end:
        raise RequestError(
            f"end date {new_end} must lie between {first} and {sc.end} "
            f"(the scenario runs {sc.start} to {sc.end})"
        )
    if new_end == sc.end:
        return data, ""
    data, dropped = crop_window(data, end=new_end.isoformat())
    notes = []
    if dropped:
        notes.append(f"window ends {new_end}; {len(dropped)} later event(s) left out")
    if data.pop("calibration", None) is not None:
        notes.append("the calibration section (for the whole window) left out")
    return data, "; ".join(notes)


def _checked_levers(chosen: dict[str, Any]) -> dict[str, Any]:
    """Each lever's value checked against its control; RequestError naming a bad one."""
    if not chosen:
        return {}
    if lever_module() is None:
        raise RequestError("policy levers are not available in this installation of tmpsim")
    controls = {c.name: c for c in lever_controls()}
    checked = {}
    for name, value in chosen.items():
        if name not in controls:
            raise RequestError(f"{name!r} is not a policy lever ({', '.join(controls)})")
        checked[name] = controls[name].check(value)
    return checked


def _refuse_overrides(parameters: dict[str, Any], levers: dict[str, Any]) -> None:
    """RequestError when a lever that changes something would overwrite a parameter given."""
    module = lever_module()
    if module is None or not parameters or not levers:
        return
    active = {n: v for n, v in levers.items() if not module.LEVERS[n].is_default(v)}
    clashes = [
        f"the policy lever {name} ({module.LEVERS[name].label}) sets {path!r}"
        for path in parameters
        for name in levers_writing(path, active)
    ]
    if clashes:
        raise RequestError(
            "; ".join(clashes)
            + ", which the request also gives as a parameter; give the lever or the parameter"
        )


def _apply_levers(scenario: Scenario, checked: dict[str, Any]) -> Scenario:
    levers = lever_module()
    try:
        result = levers.apply_levers(scenario, checked)
    except (KeyError, ValueError) as exc:
        raise RequestError(f"levers: {exc}") from None
    if isinstance(result, Scenario):
        return result
    return validate(result, f"<{scenario.name} with levers>")
