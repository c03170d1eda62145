"""The ``calibration:`` section of a scenario file: free parameters, targets and settings.

Kept free of heavy imports: the scenario schema imports :class:`CalibrationSpec` to validate the
section strictly whenever a scenario is loaded. Whether parameter paths exist in the scenario and
target indicators are known is checked by :func:`tmpsim.calibration.problem.build_problem`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from tmpsim.ranges import check_range

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FreeParameter(_Strict):
    """A calibrated parameter: its range and the scenario values it sets or scales."""

    name: str = Field(pattern=NAME)
    paths: list[str] = Field(
        min_length=1, description="Dotted key paths in the scenario this parameter drives."
    )
    low: float
    high: float
    log: bool = Field(False, description="Search on a log scale (low must be > 0).")
    scale: bool = Field(
        False,
        description="The value multiplies the scenario's values at the paths instead of "
        "replacing them (one factor for several related values).",
    )
    integer: bool = False
    note: str = ""

    @model_validator(mode="after")
    def _range(self) -> FreeParameter:
        check_range(self.low, self.high, self.log)
        return self


class Target(_Strict):
    """Observed series the calibration fits: an indicator, origins, a date range, a weight."""

    indicator: str
    origins: list[str] = Field(default_factory=lambda: ["all"])
    start: dt.date | None = Field(None, description="First date used (default: window start).")
    end: dt.date | None = Field(None, description="Last date used (default: window end).")
    weight: Annotated[float, Field(gt=0)] = 1.0
    per_origin: bool = Field(
        True, description="Each origin is its own target with the full weight (else pooled)."
    )
    note: str = ""


class Window(_Strict):
    """Observations that may be targets by default (the issue's calibration window)."""

    start: dt.date
    end: dt.date


class Variant(_Strict):
    """How calibration runs differ from the scenario (an earlier start, an earlier end)."""

    start: dt.date | None = None
    end: dt.date | None = None
    set: dict[str, Any] = Field(
        default_factory=dict, description="Dotted path -> value set before the free parameters."
    )
    events: list[dict[str, Any]] = Field(
        default_factory=list, description="Extra dated events for the calibration runs only."
    )
    note: str = ""


class AbcSettings(_Strict):
    """ABC-SMC settings (``method: abc-smc``): particles, generations, stopping rules."""

    population: Annotated[int, Field(ge=10)] = Field(
        100, description="Accepted parameter sets per generation (the posterior's size)."
    )
    generations: Annotated[int, Field(ge=1)] = Field(
        8, description="Most generations, the first proposed from the prior."
    )
    min_acceptance: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.02, description="Stop when a generation accepts fewer of its proposals than this."
    )
    min_epsilon: Annotated[float, Field(ge=0)] = Field(
        0.0, description="Stop when the tolerance (a loss value) falls to this."
    )
    quantile: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.5,
        description="Quantile of a generation's distances (of the prior sample, for the first) "
        "that becomes the next tolerance. With one generation and a small quantile this is "
        "rejection ABC: the prior draws closest to the data, equally weighted.",
    )
    first_tolerance: Annotated[float, Field(gt=0)] | None = Field(
        None,
        description="Tolerance (a loss value) of the first generation, proposed from the prior; "
        "by default the quantile of a prior sample as for the later generations. With a "
        "small first tolerance and a larger quantile after it, the first generation is "
        "rejection ABC and the later ones shrink the tolerance by halves of their distances.",
    )
    batch: Annotated[int, Field(ge=1)] = Field(
        8,
        description="Fewest proposals simulated together; part of the result's identity (the "
        "same seed and batch give the same posterior on any number of workers).",
    )
    kernel_scaling: Annotated[float, Field(gt=0)] = Field(
        1.0,
        description="Factor on the covariance of the proposal kernel (a Gaussian around each "
        "particle, Silverman's bandwidth times the weighted covariance). Above 1 the proposal "
        "is smoother and closer to the prior on weakly identified parameters, so the importance "
        "weights vary less (a larger effective size) at the cost of a lower acceptance rate.",
    )
    prior_only: list[str] = Field(
        default_factory=list,
        description="Free parameters the window's targets cannot depend on (for example 2020 "
        "parameters when calibrating on 2012-2019): not proposed (the SMC works in fewer "
        "dimensions), drawn from their prior into the posterior instead, which is their exact "
        "posterior when the simulated targets do not depend on them.",
    )


class HistoryMatchingSettings(_Strict):
    """History matching then rejection ABC (``method: history-matching``): waves and cutoffs."""

    waves: Annotated[int, Field(ge=1)] = Field(
        3,
        description="Waves of runs; each after the first is drawn where no emulator rules out "
        "a loss within the tolerance.",
    )
    runs_per_wave: Annotated[int, Field(ge=10)] = Field(300, description="Runs in each wave.")
    quantile: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.01,
        description="The tolerance, when not given: this quantile of the loss over the prior, "
        "as the first wave's emulator predicts it.",
    )
    tolerance: Annotated[float, Field(gt=0)] | None = Field(
        None, description="The tolerance as a loss value (instead of the quantile)."
    )
    cutoff: Annotated[float, Field(gt=0)] = Field(
        3.0,
        description="Implausibility (standard deviations of the emulator above the tolerance) "
        "beyond which a point is ruled out; 3 is Pukelsheim's three-sigma rule.",
    )
    screen: Annotated[int, Field(ge=1000)] = Field(
        50_000, description="Prior draws screened at a time by the emulators."
    )
    chunk: Annotated[int, Field(ge=1)] = Field(
        40, description="Runs simulated and saved together (what a resumed calibration keeps)."
    )
    prior_only: list[str] = Field(
        default_factory=list,
        description="Free parameters the targets cannot depend on: not emulated, drawn from "
        "their prior into the posterior (as for abc-smc).",
    )


class CalibrationSpec(_Strict):
    """Everything ``tmpsim calibrate`` needs, declared in the scenario file."""

    method: Literal["optuna-tpe", "abc-smc", "history-matching"] = "optuna-tpe"
    posterior: str | None = Field(
        None,
        description="Posterior file (Parquet) of the free parameters, relative to the scenario "
        "file's folder; ensembles draw parameter sets from it (see docs/calibration.md).",
    )
    abc: AbcSettings = Field(default_factory=AbcSettings)
    history_matching: HistoryMatchingSettings = Field(default_factory=HistoryMatchingSettings)
    seed: Annotated[int, Field(ge=0)] = 1
    trials: Annotated[int, Field(gt=0)] = 200
    batch: Annotated[int, Field(gt=0)] = Field(
        4,
        description="Trials proposed together and run in parallel; part of the result's "
        "identity (the same seed and batch give the same trials on any number of workers).",
    )
    startup_trials: Annotated[int, Field(ge=1)] = Field(
        20, description="Random trials before TPE starts modelling the loss."
    )
    scale: Annotated[float, Field(gt=0, le=100)] = 0.03
    seeds: list[Annotated[int, Field(ge=0)]] = Field(
        default_factory=lambda: [1],
        description="Simulation seeds of every trial (common random numbers across trials).",
    )
    loss: Literal["rmsre", "mape"] = Field(
        "rmsre", description="Error of one target: root mean square or mean absolute relative."
    )
    window: Window | None = None
    holdout_from: dt.date | None = Field(
        None,
        description="Observations dated on or after this day are held out of every target (a "
        "forecast check: calibrate on the years before, compare the forecast with the rest); "
        "targets left with no observation are dropped.",
    )
    variant: Variant = Field(default_factory=Variant)
    parameters: list[FreeParameter] = Field(min_length=1)
    targets: list[Target] = Field(min_length=1)
    note: str = ""

    @model_serializer(mode="wrap")
    def _leave_out_defaults(self, handler: Any) -> dict[str, Any]:
        """Leave ``posterior``, ``holdout_from``, ``abc`` and ``history_matching`` out while unset.

        Scenarios written before these keys existed keep the same resolved YAML and hash.
        """
        data = handler(self)
        if isinstance(data, dict):
            for key in ("posterior", "holdout_from"):
                if data.get(key) is None:
                    data.pop(key, None)
            if self.abc == AbcSettings():
                data.pop("abc", None)
            if self.history_matching == HistoryMatchingSettings():
                data.pop("history_matching", None)
        return data

    @model_validator(mode="after")
    def _unique(self) -> CalibrationSpec:
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError(f"parameter names must be unique, got {names}")
        paths = [path for p in self.parameters for path in p.paths]
        dup = sorted({p for p in paths if paths.count(p) > 1})
        if dup:
            raise ValueError(f"paths driven by more than one parameter: {dup}")
        return self
