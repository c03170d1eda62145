"""A calibration problem: the scenario, its free parameters, the variant and the target data.

Trial scenarios are built on the raw scenario data (as written in the file): the free parameters
are applied first (their paths refer to the file, e.g. ``events.3.seats_per_day``), then the
variant (another start or end, values set, events outside the new dates dropped, extra events).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tmpsim.calibration.spec import CalibrationSpec, FreeParameter, Target, Variant
from tmpsim.scenario import ScenarioError, load_scenario
from tmpsim.scenario.loader import load_raw, parse_override
from tmpsim.validation.compare import window as obs_window
from tmpsim.validation.indicators import UnknownIndicator, resolve
from tmpsim.validation.observed import load_observed


class CalibrationError(ValueError):
    """A calibration that cannot run; the message names the scenario key or target at fault."""


def _key(node: Any, key: str) -> Any:
    if isinstance(node, list):
        if not key.isdigit() or int(key) >= len(node):
            raise KeyError(key)
        return int(key)
    if isinstance(node, dict):
        if key in node:
            return key
        if key.lstrip("-").isdigit() and int(key) in node:
            return int(key)
    raise KeyError(key)


def get_path(data: dict[str, Any], dotted: str) -> Any:
    """The value at a dotted path (``programme.stages.0.continue_prob``); KeyError if absent."""
    node: Any = data
    for key in dotted.split("."):
        node = node[_key(node, key)]
    return node


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set the value at a dotted path whose parent exists (a new dict key may be added)."""
    keys = dotted.split(".")
    parent = get_path(data, ".".join(keys[:-1])) if len(keys) > 1 else data
    last = keys[-1]
    try:
        parent[_key(parent, last)] = value
    except KeyError:
        if not isinstance(parent, dict):
            raise
        parent[int(last) if last.isdigit() else last] = value


@dataclass
class Problem:
    """Everything needed to build and score trial scenarios."""

    spec: CalibrationSpec
    raw: dict[str, Any]
    source: str
    observed: pd.DataFrame
    """Target observations: date, indicator, origin, value, source, plus ``target`` (name)."""
    targets: dict[str, float]
    """Target name -> weight."""

    @property
    def parameters(self) -> list[FreeParameter]:
        """The free parameters."""
        return self.spec.parameters

    def base_values(self) -> dict[str, float]:
        """Each parameter's value in the scenario as written (1.0 for scale parameters)."""
        out = {}
        for p in self.parameters:
            out[p.name] = 1.0 if p.scale else float(get_path(self.raw, p.paths[0]))
        return out

    def scenario(
        self, values: dict[str, float], variant: bool = True, keep_end: bool = False
    ) -> dict[str, Any]:
        """Raw scenario data with parameter values applied (and the variant, by default).

        With ``keep_end`` the variant's other start and values apply but the run keeps the
        scenario's end and later events (the calibrated model run from the variant's start).
        """
        data = copy.deepcopy(self.raw)
        for p in self.parameters:
            value = values[p.name]
            for path in p.paths:
                new = float(get_path(self.raw, path)) * value if p.scale else value
                set_path(data, path, int(round(new)) if p.integer else new)
        if variant:
            # Read the variant from the data: free parameters may drive its values too.
            raw_variant = (data.get("calibration") or {}).get("variant") or {}
            v = Variant.model_validate(raw_variant)
            data = apply_variant(data, v.model_copy(update={"end": None}) if keep_end else v)
        data["calibration"] = None
        return data


def apply_variant(data: dict[str, Any], v: Variant) -> dict[str, Any]:
    """Apply a calibration variant to raw scenario data (a modified copy)."""
    data = copy.deepcopy(data)
    for path, value in v.set.items():
        try:
            set_path(data, path, copy.deepcopy(value))
        except (KeyError, TypeError):
            raise CalibrationError(
                f"calibration.variant.set: no key {path!r} in the scenario"
            ) from None
    if v.start is not None:
        data["start"] = v.start
    if v.end is not None:
        data["end"] = v.end
    start, end = _date(data["start"]), _date(data["end"])
    kept = [i for i, e in enumerate(data.get("events", [])) if start <= _date(e["date"]) <= end]
    data["events"] = [data["events"][i] for i in kept] + copy.deepcopy(v.events)
    data["sources"] = _renumber_event_sources(data.get("sources") or {}, kept)
    return data


def _renumber_event_sources(sources: dict[str, str], kept: list[int]) -> dict[str, str]:
    """Sources of ``events.N...`` keys follow their event when others are dropped."""
    new_index = {old: new for new, old in enumerate(kept)}
    out = {}
    for key, text in sources.items():
        parts = key.split(".")
        if parts[0] == "events" and len(parts) > 1 and parts[1].isdigit():
            if int(parts[1]) not in new_index:
                continue
            parts[1] = str(new_index[int(parts[1])])
        out[".".join(parts)] = text
    return out


def _date(x: Any) -> dt.date:
    return x if isinstance(x, dt.date) else dt.date.fromisoformat(str(x))


def build_problem(
    scenario: str | Path,
    observed_files: list[str | Path] | None = None,
    overrides: dict[str, Any] | list[str] | None = None,
    only: list[str] | None = None,
) -> Problem:
    """Load a scenario with a ``calibration:`` section and check it against the data.

    ``only`` names the declared parameters to fit; the others keep the scenario's values.
    """
    sc = load_scenario(scenario, overrides)
    if sc.calibration is None:
        raise CalibrationError(f"{scenario}: the scenario has no calibration: section")
    spec = sc.calibration
    raw, source = load_raw(scenario)
    if only:
        declared = [p.name for p in spec.parameters]
        unknown = [name for name in only if name not in declared]
        if unknown:
            raise CalibrationError(
                f"{source}: --only names no declared parameter: {', '.join(unknown)} "
                f"(declared: {', '.join(declared)})"
            )
        kept = [p for p in spec.parameters if p.name in only]
        spec = spec.model_copy(update={"parameters": kept})
    if overrides:
        items = overrides if isinstance(overrides, dict) else dict(map(parse_override, overrides))
        for k, v in items.items():
            set_path(raw, k, v)
    for p in spec.parameters:
        for path in p.paths:
            try:
                value = get_path(raw, path)
            except (KeyError, TypeError):
                raise CalibrationError(
                    f"{source}: calibration.parameters {p.name}: no key {path!r} in the scenario"
                ) from None
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise CalibrationError(
                    f"{source}: calibration.parameters {p.name}: {path} is not a number"
                )
    observed = load_observed(observed_files)
    run = (spec.variant.start or sc.start, spec.variant.end or sc.end)
    selected, weights = select_targets(spec, observed, set(sc.origins), source, run)
    problem = Problem(spec, raw, source, selected, weights)
    for values in (problem.base_values(),):
        try:
            load_scenario(problem.scenario(values))
        except ScenarioError as exc:
            raise CalibrationError(
                f"{source}: the calibration variant is not valid: {exc}"
            ) from None
    return problem


def target_name(t: Target, origin: str | None) -> str:
    """The name a target is reported under."""
    return f"{t.indicator}:{origin}" if origin else f"{t.indicator}:{'+'.join(t.origins)}"


def select_targets(
    spec: CalibrationSpec,
    observed: pd.DataFrame,
    origins: set[str],
    source: str,
    run: tuple[dt.date, dt.date] | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Select the observations of each target (tagged with its name) and the targets' weights.

    A target uses the observations of its indicator and origins between its start and end (by
    default the calibration window) that the calibration runs cover (``run``: first and last day).
    """
    frames, weights = [], {}
    if run is not None:
        first, last = pd.Timestamp(run[0]), pd.Timestamp(run[1])
        spans = [
            obs_window(resolve(str(r.indicator)), pd.Timestamp(r.date))
            for r in observed.itertuples()
        ]
        inside = [first <= a and b <= last for a, b in spans]
        observed = observed[inside]
    window = spec.window
    for i, t in enumerate(spec.targets):
        where = f"{source}: calibration.targets[{i}] ({t.indicator})"
        try:
            resolve(t.indicator)
        except UnknownIndicator as exc:
            raise CalibrationError(f"{where}: {exc}") from None
        bad = [o for o in t.origins if o != "all" and o not in origins]
        if bad:
            raise CalibrationError(f"{where}: origin(s) {bad} not in the scenario")
        start = t.start or (window.start if window else None)
        end = t.end or (window.end if window else None)
        sel = observed[(observed["indicator"] == t.indicator) & observed["origin"].isin(t.origins)]
        if start is not None:
            sel = sel[sel["date"] >= pd.Timestamp(start)]
        if end is not None:
            sel = sel[sel["date"] <= pd.Timestamp(end)]
        if sel.empty:
            raise CalibrationError(f"{where}: no observations for {t.origins} in {start}..{end}")
        for origin in t.origins if t.per_origin else [None]:
            part = sel if origin is None else sel[sel["origin"] == origin]
            if part.empty:
                continue
            name = target_name(t, origin)
            if name in weights:
                raise CalibrationError(f"{where}: target {name} is declared twice")
            weights[name] = t.weight
            frames.append(part.assign(target=name))
    return pd.concat(frames, ignore_index=True), weights
