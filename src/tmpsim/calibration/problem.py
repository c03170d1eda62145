"""A calibration problem: the scenario, its free parameters, the variant and the target data.

Trial scenarios are built on the raw scenario data (as written in the file): the free parameters
are applied first (their paths refer to the file, e.g. ``events.entry_cap_2020.per_day``), then
the variant (another start or end, values set, events outside the new dates dropped, extra
events).
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
from tmpsim.scenario.paths import PathError, crop_window, get_path, set_path
from tmpsim.validation.compare import window as obs_window
from tmpsim.validation.indicators import UnknownIndicator, resolve
from tmpsim.validation.observed import load_observed


class CalibrationError(ValueError):
    """A calibration that cannot run; the message names the scenario key or target at fault."""


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
        except PathError as exc:
            raise CalibrationError(f"calibration.variant.set: {path}: {exc}") from None
    data, _ = crop_window(data, v.start, v.end)
    data["events"] = data["events"] + copy.deepcopy(v.events)
    return data


def build_problem(
    scenario: str | Path,
    observed_files: list[str | Path] | None = None,
    overrides: dict[str, Any] | list[str] | None = None,
    only: list[str] | None = None,
    holdout_from: dt.date | None = None,
) -> Problem:
    """Load a scenario with a ``calibration:`` section and check it against the data.

    ``only`` names the declared parameters to fit; the others keep the scenario's values.
    ``holdout_from`` (default: the section's) holds out the observations from that day on.
    """
    sc = load_scenario(scenario, overrides)
    if sc.calibration is None:
        raise CalibrationError(f"{scenario}: the scenario has no calibration: section")
    spec = sc.calibration
    raw, source = load_raw(scenario)
    if holdout_from is not None:
        spec = spec.model_copy(update={"holdout_from": holdout_from})
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
            try:
                set_path(raw, k, v)
            except PathError as exc:
                raise CalibrationError(f"--set {k}: {exc}") from None
    for p in spec.parameters:
        for path in p.paths:
            try:
                value = get_path(raw, path)
            except PathError as exc:
                raise CalibrationError(
                    f"{source}: calibration.parameters {p.name}: {path}: {exc}"
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
    default the calibration window) that the calibration runs cover (``run``: first and last day),
    dated before ``holdout_from`` if set (a target with none left is dropped).
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
        if spec.holdout_from is not None:
            sel = sel[sel["date"] < pd.Timestamp(spec.holdout_from)]
            if sel.empty:  # a target wholly inside the held-out years
                continue
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
