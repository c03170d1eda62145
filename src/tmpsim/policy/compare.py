"""Run a base scenario and its variants on common random numbers and compare them.

Every variant runs on the same seeds as the base. Random draws come from one stream per model
module (``tmpsim.engine.rng``), so a variant differs from its base only through what its levers
change, and the paired difference ``variant - base`` on each seed has far less noise than two
independent runs.

The table reports the mean paired difference with a percentile bootstrap interval over seeds
(:func:`paired_effect`). Unlike a t interval it stays inside what is possible: every figure is a
count or an amount that cannot be negative, so the difference is at least ``-base`` and a relative
change at least -100%. Below ``MIN_RUNS`` seeds the intervals are rough (the table says so), and a
relative change is given only where the base supports one (:func:`relative_supported`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tmpsim.engine.population import NEVER
from tmpsim.policy.levers import apply_levers, variant_label
from tmpsim.results import metric_arrays
from tmpsim.runfolder import PARTIAL_MARK
from tmpsim.scenario import Scenario, load_scenario
from tmpsim.simulation import Simulation

if TYPE_CHECKING:
    from tmpsim.experiments.designs import PosteriorDraws

YEAR = 365.25


@dataclass(frozen=True)
class Metric:
    """A figure compared between runs."""

    key: str
    label: str
    unit: str
    fmt: str = "{:,.0f}"
    count: bool = True
    """A count of people or person-days (scaled from agents), not a mean per person."""


METRICS: tuple[Metric, ...] = (
    Metric("person_days_stranded", "person-days stranded", "person-days"),
    Metric("peak_stranded", "peak stranded", "people"),
    Metric("peak_destitute", "peak destitute", "people"),
    Metric("shelter_nights_needed", "shelter-nights needed", "nights"),
    Metric("peak_needs_bed", "peak needing a bed", "people"),
    Metric("unmet_shelter_nights", "shelter-nights without a place", "nights"),
    Metric("emergency_money", "emergency money paid", "currency", count=False),
    Metric("mean_debt_at_return", "mean debt at return", "currency", count=False),
    Metric("missing", "missing (left the employer)", "people"),
    Metric("years_separated", "person-years separated from family", "person-years"),
    Metric("years_away_per_return", "years away, per return", "years", "{:,.2f}", count=False),
    Metric("workers_served", "workers served", "people"),
    Metric("person_years_worked", "person-years worked", "person-years"),
)
"""The figures of the comparison table, in order."""
DAILY_METRICS = ("stranded", "destitute", "unmet_shelter_need", "programme_stock", "in_host")
"""Metrics kept day by day for the variant-against-base figures."""


def _window(sim: Simulation, window: tuple[dt.date | None, dt.date | None] | None) -> slice:
    if window is None:
        return slice(0, sim.n_days)
    first, last = window
    a = 0 if first is None else max(sim.scenario.day(first), 0)
    b = sim.n_days - 1 if last is None else min(sim.scenario.day(last), sim.n_days - 1)
    if b < a:
        raise ValueError(f"window {first}..{last} holds no day of the run")
    return slice(a, b + 1)


def measure(
    sim: Simulation,
    window: tuple[dt.date | None, dt.date | None] | None = None,
    arrays: dict[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """Return the comparison figures of a finished run (full-population scale), over a date window.

    - person-days stranded, peak stranded: the essay's count (contract over or job lost, cannot
      go home, whatever bridging status was given);
    - peak destitute; shelter-nights needed: nights spent needing a bed (destitute, or without
      work where the job comes with a bed), whether a shelter had one or not; peak needing a
      bed; shelter-nights without a place (needing a bed, no shelter place); emergency money
      paid by the scenario's funds;
    - mean debt at return: debt still owed by those who returned in the window;
    - missing: workers who left their employer (became irregular) in the window;
    - person-years separated from family: time spent in the host by people whose programme does
      not allow family; years away, per return: mean time since first entry of those who returned;
    - workers served: people who were in the host under the programme at some time in the window;
      person-years worked: time employed (regular or special working status).
    """
    arrays = metric_arrays(sim) if arrays is None else arrays
    w = _window(sim, window)
    scale = sim.scale

    def total(name: str) -> np.ndarray:
        return np.nansum(arrays[name][w], axis=1)

    returns = total("returns").sum()
    pop = sim.pop
    n = pop.n
    entered = pop.entered[:n].astype(np.int64)
    exited = pop.exited[:n].astype(np.int64)
    still_in = (exited == NEVER) | (exited >= w.start)
    served = (entered != NEVER) & (entered <= w.stop - 1) & still_in
    separated = 0.0 if sim.scenario.programme.family_allowed else total("in_host").sum() / YEAR
    return {
        "person_days_stranded": float(total("stranded").sum() / scale),
        "peak_stranded": float(total("stranded").max() / scale),
        "peak_destitute": float(total("destitute").max() / scale),
        "shelter_nights_needed": float(total("needs_bed").sum() / scale),
        "peak_needs_bed": float(total("needs_bed").max() / scale),
        "unmet_shelter_nights": float(total("unmet_shelter_need").sum() / scale),
        "emergency_money": float(total("emergency_paid").sum() / scale),
        "mean_debt_at_return": float(total("returned_debt").sum() / returns) if returns else 0.0,
        "missing": float(total("missing").sum() / scale),
        "years_separated": float(separated / scale),
        "years_away_per_return": (
            float(total("returned_years_away").sum() / returns) if returns else 0.0
        ),
        "workers_served": float(served.sum() / scale),
        "person_years_worked": float(total("employed").sum() / YEAR / scale),
    }


MIN_RUNS = 10
"""Fewer paired runs than this: intervals are flagged as rough."""
MIN_BASE_AGENTS = 30
"""A relative change of a count needs a base of at least this many simulated agents (or
agent-days, agent-nights for the person-day figures): on fewer, a ratio is mostly noise."""
BOOTSTRAP = 4000
"""Bootstrap resamples of the seeds."""


@dataclass(frozen=True)
class Effect:
    """A variant's paired effect on one figure, with intervals that respect the figure's bounds."""

    base: float
    value: float
    difference: float
    low: float
    high: float
    relative: float
    """Relative change, NaN where the base does not support one."""
    rel_low: float
    rel_high: float
    n: int
    note: str = ""


def relative_supported(base: np.ndarray, base_low: float, scale: float, count: bool) -> bool:
    """The rule for giving a relative change: a base large enough to divide by.

    The base's interval must exclude 0 (its lower end above 0), and for a count the mean base must
    stand on at least ``MIN_BASE_AGENTS`` simulated agents (base x scale).
    """
    if not base_low > 0:
        return False
    return not count or float(np.mean(base)) * scale >= MIN_BASE_AGENTS


def _resampled_means(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return x[idx].mean(axis=1)


def paired_effect(
    base: np.ndarray,
    variant: np.ndarray,
    confidence: float = 0.95,
    *,
    scale: float = 1.0,
    count: bool = True,
    seed: int = 0,
) -> Effect:
    """Mean paired difference ``variant - base`` with percentile bootstrap intervals.

    Seeds are resampled in pairs (common random numbers). Both figures are non-negative, so the
    difference interval is clipped to ``>= -mean(base)`` and the relative interval (ratio of
    resampled means, minus one) is ``>= -1`` by construction. With one seed there is no interval.
    """
    b = np.asarray(base, dtype=float)
    v = np.asarray(variant, dtype=float)
    n = b.size
    bmean, vmean = float(b.mean()), float(v.mean())
    diff = vmean - bmean
    nan = math.nan
    if n < 2:
        return Effect(bmean, vmean, diff, nan, nan, nan, nan, nan, n, "1 run: no interval")
    a = (1 - confidence) / 2
    idx = np.random.default_rng(seed).integers(0, n, size=(BOOTSTRAP, n))
    bm, vm = _resampled_means(b, idx), _resampled_means(v, idx)
    low, high = (float(q) for q in np.quantile(vm - bm, [a, 1 - a]))
    low, high = max(low, -bmean), max(high, -bmean)
    base_low = float(np.quantile(bm, a))
    note = f"{n} runs (< {MIN_RUNS}): rough intervals" if n < MIN_RUNS else ""
    rel = rel_low = rel_high = nan
    if relative_supported(b, base_low, scale, count):
        rel = diff / bmean
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = vm / bm - 1.0
        # A resample of zero bases only (fewer than a / 2 of them, as base_low > 0) has no ratio.
        rel_low, rel_high = (float(q) for q in np.nanquantile(ratios, [a, 1 - a]))
    elif bmean != 0:
        why = "base interval reaches 0" if not base_low > 0 else f"base < {MIN_BASE_AGENTS} agents"
        note = "; ".join(x for x in (note, f"no relative change ({why})") if x)
    return Effect(bmean, vmean, diff, low, high, rel, rel_low, rel_high, n, note)


def mean_interval(
    values: np.ndarray, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of per-run values of a non-negative figure and its percentile bootstrap interval.

    The interval lies between the smallest and the largest value, never below 0 (NaN bounds with
    fewer than two runs).
    """
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    a = (1 - confidence) / 2
    idx = np.random.default_rng(seed).integers(0, x.size, size=(BOOTSTRAP, x.size))
    lo, hi = np.quantile(_resampled_means(x, idx), [a, 1 - a])
    return mean, max(float(lo), 0.0), max(float(hi), 0.0)


@dataclass
class Comparison:
    """Per-seed figures of a base and its variants, and their paired differences."""

    base: str
    variants: list[str]
    seeds: list[int]
    scale: float
    runs: pd.DataFrame
    """Long table: variant, seed, metric, value (the base's rows have variant ``base``)."""
    scenarios: dict[str, Scenario] = field(default_factory=dict, repr=False)
    daily: pd.DataFrame | None = field(default=None, repr=False)
    """Daily totals (all origins) of the figures' metrics: variant, seed, date, metric, value."""
    window: tuple[dt.date | None, dt.date | None] = (None, None)
    """The days the figures are measured over (None: the run's first or last day)."""
    posterior: str | None = None
    """The posterior file each seed drew its parameter set from (None: the scenario's values)."""

    def window_text(self) -> str:
        """The window as ``FIRST..LAST`` (the run's own ends where not set), or ''."""
        first, last = self.window
        if first is None and last is None:
            return ""
        return f"{first or 'start'}..{last or 'end'}"

    def table(self, confidence: float = 0.95) -> pd.DataFrame:
        """One row per variant and metric: base and variant means, paired difference, interval."""
        wide = self.runs.pivot_table(index=["seed", "metric"], columns="variant", values="value")
        rows = []
        for variant in self.variants:
            for m in METRICS:
                sel = wide.xs(m.key, level="metric")
                base, value = sel["base"].to_numpy(), sel[variant].to_numpy()
                e = paired_effect(base, value, confidence, scale=self.scale, count=m.count)
                rows.append({"variant": variant, "metric": m.key, "label": m.label, **vars(e)})
        return pd.DataFrame(rows)

    def write(self, out: str | Path, figures: bool = True, confidence: float = 0.95) -> Path:
        """Write the comparison folder: per-seed figures, the table, daily series, PNG figures.

        ``runs.csv`` (per seed), ``table.csv`` (paired differences at ``confidence``),
        ``daily.parquet`` (daily totals of the figures' metrics, every day of the run),
        ``comparison.json`` (what was compared: seeds, scale, window, confidence) and
        ``scenario.yaml`` (the base, for labels and events); with ``figures``, ``figures/*.png``
        (variant against base, over the window).
        A run folder, an experiment or a folder of other files is refused
        (:func:`check_comparison_target`).

        Every file is written whole (a temporary file renamed into place) and comparison.json
        last: an earlier comparison's is removed first, so a folder without it is an unfinished
        comparison (a full disk, say), which ``tmpsim plot`` refuses and a new comparison may
        replace.
        """
        from tmpsim import __version__
        from tmpsim.runfolder import atomic_path, atomic_write_bytes, atomic_write_csv
        from tmpsim.scenario import to_yaml

        out = Path(out)
        check_comparison_target(out)
        out.mkdir(parents=True, exist_ok=True)
        # The mark of a comparison being written: only a folder holding it may be taken for an
        # unfinished comparison (a user's scenario.yaml alone is not one).
        (out / PARTIAL_MARK).touch()
        (out / "comparison.json").unlink(missing_ok=True)
        atomic_write_csv(out / "runs.csv", self.runs)
        atomic_write_csv(out / "table.csv", self.table(confidence))
        if self.daily is not None:
            with atomic_path(out / "daily.parquet") as tmp:
                self.daily.to_parquet(tmp, index=False)
        if "base" in self.scenarios:
            atomic_write_bytes(out / "scenario.yaml", to_yaml(self.scenarios["base"]).encode())
        info = {
            "base": self.base,
            "variants": self.variants,
            "seeds": self.seeds,
            "scale": self.scale,
            "window": [None if d is None else d.isoformat() for d in self.window],
            "posterior": self.posterior,
            "bands": (
                "parameter and stochastic uncertainty"
                if self.posterior
                else "stochastic (seed) uncertainty only"
            ),
            "confidence": confidence,
            "tmpsim_version": __version__,
        }
        if figures and self.daily is not None:
            from tmpsim.reports.comparison import comparison_figures
            from tmpsim.reports.figures import write_pngs

            base = self.scenarios.get("base")
            scenario = base.model_dump(mode="json") if base is not None else {}
            write_pngs(comparison_figures(self.daily, scenario, info), out / "figures")
        atomic_write_bytes(out / "comparison.json", (json.dumps(info, indent=2) + "\n").encode())
        (out / PARTIAL_MARK).unlink(missing_ok=True)
        return out


VariantSpec = Scenario | Mapping[str, Any]


def compare(
    base: Scenario | str | Path | Mapping[str, Any],
    variants: Mapping[str, VariantSpec] | Sequence[Mapping[str, Any]],
    seeds: Sequence[int] | int = 3,
    scale: float = 0.01,
    overrides: Mapping[str, Any] | list[str] | None = None,
    window: tuple[dt.date | None, dt.date | None] | None = None,
    progress: Callable[[str, int], None] | None = None,
    posterior: str | Path | None = None,
) -> Comparison:
    """Run the base and every variant on the same seeds and collect their figures.

    ``variants`` maps a label to lever values (``{"welfare_eligible": True}``) or to a ready
    Scenario; a list of lever mappings is labelled from the levers. ``seeds`` is a list of seeds
    or a count (seeds 1..N). ``overrides`` apply to the base before the levers.

    With ``posterior`` (a posterior file of the base's calibration), the k-th seed also takes
    the k-th parameter set drawn from it (``draw_indices`` with seed 1), the same for the base
    and every variant: the paired differences then carry parameter as well as chance
    uncertainty. Levers apply after the draw; a scenario variant keeps the values it sets apart
    from the base (its policy), scale parameters being multiplied by the draw as in the base.
    """
    base_sc = load_scenario(base if not isinstance(base, Mapping) else dict(base), overrides)  # type: ignore[arg-type]
    if not isinstance(variants, Mapping):
        variants = {variant_label(v): v for v in variants}
    if not variants:
        raise ValueError("compare needs at least one variant")
    scenarios: dict[str, Scenario] = {"base": base_sc}
    for label, spec in variants.items():
        if label == "base":
            raise ValueError("'base' is reserved for the base scenario")
        scenarios[label] = spec if isinstance(spec, Scenario) else apply_levers(base_sc, spec)
    if isinstance(seeds, int):
        seed_list = list(range(1, seeds + 1))
    else:
        seed_list = [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("compare needs at least one seed")
    draws = _drawn(posterior, base_sc, len(seed_list)) if posterior is not None else None
    rows = []
    daily = []
    for k, seed in enumerate(seed_list):
        drawn = scenarios if draws is None else _with_draw(scenarios, variants, draws, k)
        for label, sc in drawn.items():
            if progress is not None:
                progress(label, seed)
            sim = Simulation(sc, seed=seed, scale=scale).run()
            arrays = metric_arrays(sim)
            row = {"variant": label, "seed": seed}
            if draws is not None:
                row["draw"] = int(draws.rows[k])
            for key, value in measure(sim, window, arrays).items():
                rows.append({**row, "metric": key, "value": value})
            daily.append(daily_totals(sim, arrays, label, seed))
            del sim
    return Comparison(
        base=base_sc.name,
        variants=[v for v in scenarios if v != "base"],
        seeds=seed_list,
        scale=scale,
        runs=pd.DataFrame(rows),
        scenarios=scenarios,
        daily=pd.concat(daily, ignore_index=True),
        window=tuple(window) if window is not None else (None, None),  # type: ignore[arg-type]
        posterior=None if draws is None else str(draws.path),
    )


def _drawn(path: str | Path, base: Scenario, n: int) -> PosteriorDraws:
    """The posterior's parameter sets for ``n`` seeds, validated against the base's parameters."""
    from tmpsim.calibration.spec import CalibrationSpec
    from tmpsim.experiments.designs import PosteriorDraws
    from tmpsim.uncertainty.posterior import draw_indices, load_posterior

    if base.calibration is None:
        raise ValueError(f"{base.name}: no calibration section, so no free parameters to draw")
    data = base.model_dump(mode="python")
    parameters = CalibrationSpec.model_validate(data["calibration"]).parameters
    posterior = load_posterior(path, parameters)
    rows = draw_indices(posterior, n, 1)
    return PosteriorDraws(posterior, Path(path), rows, parameters, data)


def _with_draw(
    scenarios: dict[str, Scenario],
    variants: Mapping[str, VariantSpec],
    draws: PosteriorDraws,
    k: int,
) -> dict[str, Scenario]:
    """The base and variants with the k-th drawn parameter set (levers laid on after it)."""
    from tmpsim.calibration.problem import get_path
    from tmpsim.uncertainty.posterior import overrides_for

    values = draws.posterior.row(int(draws.rows[k]))
    base_data = scenarios["base"].model_dump(mode="python")
    scaled = {path for p in draws.parameters if p.scale for path in p.paths}

    def drawn(sc: Scenario) -> Scenario:
        """The draw laid on ``sc``; a value ``sc`` sets apart from the base is its policy: kept."""
        data = sc.model_dump(mode="python")
        overrides = {
            path: value
            for path, value in overrides_for(values, draws.parameters, data).items()
            if path in scaled or get_path(data, path) == get_path(base_data, path)
        }
        return load_scenario(data, overrides)

    base = drawn(scenarios["base"])
    out = {"base": base}
    for label, spec in variants.items():
        out[label] = drawn(spec) if isinstance(spec, Scenario) else apply_levers(base, spec)
    return out


def daily_totals(
    sim: Simulation, arrays: dict[str, np.ndarray], variant: str, seed: int
) -> pd.DataFrame:
    """Daily totals over origins (full-population scale) of the metrics the figures draw."""
    dates = pd.date_range(sim.scenario.start, periods=sim.n_days)
    frames = [
        pd.DataFrame(
            {
                "variant": variant,
                "seed": seed,
                "date": dates,
                "metric": metric,
                "value": np.nansum(arrays[metric], axis=1) / sim.scale,
            }
        )
        for metric in DAILY_METRICS
        if metric in arrays
    ]
    return pd.concat(frames, ignore_index=True)


__all__ = [
    "METRICS",
    "Comparison",
    "Effect",
    "Metric",
    "compare",
    "mean_interval",
    "measure",
    "paired_effect",
    "relative_supported",
]


def check_comparison_target(out: Path) -> None:
    """Refuse a folder a comparison may not be written to (RunFolderError saying why).

    A new or empty folder, or one holding an earlier comparison (which it replaces file by
    file), finished or not (:func:`is_unfinished_comparison`), may be written; a run folder, an
    experiment, a file, or a folder of other files may not.
    """
    from tmpsim.runfolder import (
        RunFolderError,
        check_target,
        holds_run,
        is_experiment_folder,
        is_unfinished_comparison,
    )

    out = Path(out)
    if not out.is_dir() or not any(out.iterdir()):
        check_target(out)  # missing, empty, a file in the way, or not writable
        return
    if is_experiment_folder(out) or holds_run(out):
        what = "an experiment" if is_experiment_folder(out) else "a run"
        raise RunFolderError(
            f"{out}: holds {what}; a comparison cannot go there. Choose another --out"
        )
    if not (out / "comparison.json").is_file() and not is_unfinished_comparison(out):
        raise RunFolderError(
            f"{out}: a folder holding other files (not a comparison); tmpsim will not write "
            "into it. Choose a new or empty --out"
        )
