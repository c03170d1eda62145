"""The experiment file: what to run, what to vary, and what to keep. Validated strictly.

An experiment is plain YAML::

    name: charter-flights
    scenario: japan-titp-covid        # shipped name, a path (relative to this file) or a mapping
    scale: 0.1
    seed: 7                           # the experiment seed: every run's seed derives from it
    seeds: 10                         # replicates per point
    overrides: {end: 2022-12-31}      # applied to every run
    design: {type: lhs, samples: 20}  # grid | lhs | sobol | morris
    parameters:
      borders.seats_out_per_day: {low: 50, high: 2000, integer: true}
      money.wage_per_month: {low: 120000, high: 200000, name: wage}
    outputs:
      summary: [peak_stranded, person_days_stranded]
      series: [stranded, destitute]
      origins: [all]

Unknown keys, impossible ranges and parameters a design cannot sample are errors naming the key;
parameter paths are checked against the scenario when the experiment is planned
(:mod:`tmpsim.experiments.designs`), before any run starts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from tmpsim.ranges import check_range
from tmpsim.scenario.bounds import MAX_SEED, MAX_SEEDS, Strict
from tmpsim.scenario.yamlfile import YamlError, read_yaml

TMPSIM_MODEL = "tmpsim"
RANGE_DESIGNS = ("lhs", "sobol", "morris")
MAX_RUNS = 100_000
"""Most runs in one experiment (points times seeds): more is a mistake or needs several files."""
MODEL_ENTRY_POINTS = "tmpsim.models"
"""Entry-point group under which packages register function models for experiments."""
BUILTIN_MODELS = ("ishigami", "linear", "flaky")
"""Toy models shipped with tmpsim (``tmpsim.experiments.toys:NAME``)."""


class ExperimentError(ValueError):
    """An experiment that cannot be run; the message names the file, the key and the reason."""


def registered_models() -> dict[str, str]:
    """Function models an experiment may name: ``package.module:function`` -> where it is from.

    An experiment file is data that may come from someone else (or travel to a Dask cluster), so
    ``model:`` may name only functions that an installed package registered for the purpose (the
    ``tmpsim.models`` entry-point group) or tmpsim's own toy models: never any importable callable.
    """
    from importlib.metadata import entry_points

    out = {f"tmpsim.experiments.toys:{name}": "tmpsim" for name in BUILTIN_MODELS}
    for ep in entry_points(group=MODEL_ENTRY_POINTS):
        out[ep.value.replace(" ", "")] = (
            f"entry point {ep.name} of {ep.dist.name if ep.dist else '?'}"
        )
    return out


class Parameter(Strict):
    """One thing to vary: a list of ``values`` (grid), or a range ``low``..``high``."""

    values: list[Any] | None = Field(None, min_length=1, description="Grid values, any YAML type.")
    low: float | None = Field(None, description="Lower end of the range.")
    high: float | None = Field(None, description="Upper end of the range.")
    num: Annotated[int, Field(ge=2, le=MAX_RUNS)] | None = Field(
        None, description="Grid over a range: this many evenly spaced values from low to high."
    )
    log: bool = Field(False, description="Sample (or space grid values) on a log scale.")
    integer: bool = Field(False, description="Round sampled values to whole numbers.")
    name: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Column name in the catalog."
    )

    @model_validator(mode="after")
    def _check(self) -> Parameter:
        has_range = self.low is not None or self.high is not None
        if self.values is not None and (has_range or self.num is not None):
            raise ValueError("give either values or low/high, not both")
        if self.values is None:
            if self.low is None or self.high is None:
                raise ValueError("needs values, or both low and high")
            check_range(self.low, self.high, self.log)
            if self.integer and math.floor(self.high) < math.ceil(self.low):
                raise ValueError(f"no whole number between {self.low:g} and {self.high:g}")
        if self.values is not None and self.log:
            raise ValueError("log applies to ranges (low/high), not to a list of values")
        return self

    @property
    def is_range(self) -> bool:
        """True when given as low..high (samplable by LHS, Sobol and Morris)."""
        return self.values is None


class Design(Strict):
    """How points are chosen from the parameters."""

    type: Literal["grid", "lhs", "sobol", "morris"] = "grid"
    samples: Annotated[int, Field(gt=0, le=MAX_RUNS)] | None = Field(
        None,
        description="lhs: number of points; sobol: base sample N (points = N*(D+2), or "
        "N*(2D+2) with second_order); morris: number of trajectories (points = N*(D+1)).",
    )
    levels: Annotated[int, Field(ge=2, le=1000)] = Field(4, description="morris: grid levels.")
    second_order: bool = Field(False, description="sobol: also estimate second-order indices.")


class Outputs(Strict):
    """What is kept from each run (``None`` keeps everything)."""

    summary: list[str] | None = Field(None, description="Headline figures (summary.json keys).")
    series: list[str] | None = Field(None, description="Daily metrics kept in the dataset.")
    origins: list[str] | None = Field(None, description="Origins kept ('all' is the total).")


class ExperimentSpec(Strict):
    """A whole experiment file."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    model: str = Field(
        TMPSIM_MODEL,
        description="'tmpsim', or 'package.module:function' taking (params, seed) and returning "
        "a dict of numbers (toy models, surrogates).",
    )
    scenario: str | dict[str, Any] | None = None
    scale: Annotated[float, Field(gt=0, le=100)] = 0.1
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 1
    seeds: Annotated[int, Field(gt=0, le=MAX_SEEDS)] = Field(1, description="Replicates per point.")
    common_random_numbers: bool = Field(
        True,
        description="Replicate r uses the same seed at every point (differences between points "
        "are then not sampling noise); false gives every run its own seed.",
    )
    overrides: dict[str, Any] = Field(default_factory=dict)
    posterior: bool | None = Field(
        None,
        description="Draw replicate r's free parameters from the scenario's posterior "
        "(calibration.posterior), the same draw at every point: true requires one, false "
        "ignores it (seed noise only), unset uses it where the scenario has one.",
    )
    design: Design = Field(default_factory=Design)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    outputs: Outputs = Field(default_factory=Outputs)

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        if self.model == TMPSIM_MODEL:
            if self.scenario is None:
                raise ValueError("scenario: required when model is tmpsim")
        elif not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", self.model):
            raise ValueError(
                f"model: expected 'tmpsim' or 'package.module:function', got {self.model!r}"
            )
        elif self.model not in registered_models():
            raise ValueError(
                f"model: {self.model} is not a registered model (registered: "
                f"{', '.join(registered_models())}); a package registers a function under the "
                f"'{MODEL_ENTRY_POINTS}' entry-point group (docs/experiments.md)"
            )
        if self.design.type in RANGE_DESIGNS:
            if not self.parameters:
                raise ValueError(f"design.type {self.design.type} needs parameters to vary")
            for path, p in self.parameters.items():
                if not p.is_range:
                    raise ValueError(
                        f"parameters.{path}: design {self.design.type} samples ranges; "
                        "give low and high instead of values"
                    )
                if p.num is not None:
                    raise ValueError(f"parameters.{path}: num applies to grid designs only")
            if self.design.samples is None:
                raise ValueError(f"design.samples: required for design {self.design.type}")
        else:
            for path, p in self.parameters.items():
                if p.is_range and p.num is None:
                    raise ValueError(
                        f"parameters.{path}: a grid needs values, or low, high and num"
                    )
        runs = self.n_points() * self.seeds
        if runs > MAX_RUNS:
            raise ValueError(
                f"design: {self.n_points():,} points x {self.seeds:,} seeds = {runs:,} runs, more "
                f"than {MAX_RUNS:,}; use fewer values, samples or seeds, or split the experiment"
            )
        names = [column_name(path, p) for path, p in self.parameters.items()]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(
                f"parameters: two parameters share the column name {sorted(dupes)}; give one a name"
            )
        reserved = {"run", "point", "rep", "seed", "status", "error", "wall_seconds", "worker"}
        clash = reserved & set(names)
        if clash:
            raise ValueError(f"parameters: column name {sorted(clash)} is reserved; give a name")
        return self

    def n_points(self) -> int:
        """Points the design will have (counted without drawing them)."""
        d, n = len(self.parameters), self.design.samples or 0
        if not self.parameters:
            return 1
        if self.design.type == "grid":
            return math.prod(
                len(p.values) if p.values is not None else (p.num or 1)
                for p in self.parameters.values()
            )
        if self.design.type == "lhs":
            return n
        if self.design.type == "sobol":
            return n * (2 * d + 2 if self.design.second_order else d + 2)
        return n * (d + 1)

    @property
    def uses_tmpsim(self) -> bool:
        """True when each run is a tmpsim simulation (not a Python function model)."""
        return self.model == TMPSIM_MODEL

    def columns(self) -> dict[str, str]:
        """Parameter path -> catalog column name."""
        return {path: column_name(path, p) for path, p in self.parameters.items()}


def column_name(path: str, param: Parameter) -> str:
    """Return the catalog column of a parameter: its ``name``, else its path with '.' as '_'."""
    if param.name:
        return param.name
    return re.sub(r"\W", "_", path)


def _format_error(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-after"))
        msg = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (see docs/experiments.md for the valid keys)"
        lines.append(f"{source}: {loc + ': ' if loc else ''}{msg}")
    return "\n".join(lines)


def parse_spec(data: Any, source: str = "<experiment>") -> ExperimentSpec:
    """Validate an experiment mapping, raising ExperimentError naming the source and the key."""
    if not isinstance(data, dict):
        raise ExperimentError(f"{source}: an experiment must be a mapping of keys to values")
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as err:
        raise ExperimentError(_format_error(err, source)) from None


def load_spec(path: str | Path) -> tuple[ExperimentSpec, Path]:
    """Read and validate an experiment file; returns the spec and the folder it lives in."""
    path = Path(path)
    if not path.is_file():
        raise ExperimentError(f"{path}: no such experiment file")
    try:
        data, _ = read_yaml(path)  # duplicate keys (a parameter given twice) are refused
    except YamlError as exc:
        raise ExperimentError(str(exc)) from None
    return parse_spec(data, str(path)), path.resolve().parent


# Text in a scenario that decides nothing a run computes: a new source or description leaves
# the experiment the same one (its folder resumes).
SCENARIO_TEXT = ("sources", "description")


def spec_fingerprint(
    spec: ExperimentSpec, scenario_data: dict[str, Any] | None, text: bool = False
) -> str:
    """SHA-256 of everything that decides the runs' results (spec and resolved base scenario).

    The scenario's sources and description are left out; ``text`` keeps them, as fingerprints
    of earlier versions did (``fingerprints``).
    """
    # An unset posterior key leaves the fingerprint of experiments made before it existed.
    skip = {"description"} | ({"posterior"} if spec.posterior is None else set())
    if scenario_data is not None and not text:
        scenario_data = {k: v for k, v in scenario_data.items() if k not in SCENARIO_TEXT}
    blob = {
        "spec": spec.model_dump(mode="json", exclude=skip),
        "scenario": scenario_data,
    }
    dumped = json.dumps(blob, sort_keys=True, default=str)
    return hashlib.sha256(dumped.encode()).hexdigest()


def fingerprints(spec: ExperimentSpec, scenario_data: dict[str, Any] | None) -> set[str]:
    """The fingerprint, and the one earlier versions wrote (sources and description included)."""
    return {spec_fingerprint(spec, scenario_data), spec_fingerprint(spec, scenario_data, True)}
