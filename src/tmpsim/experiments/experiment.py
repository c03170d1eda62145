"""Run an experiment: plan it, skip what is finished, fan the rest out, store each run as it lands.

>>> from tmpsim.experiments import run_experiment
>>> report = run_experiment("sweep.yaml", "experiments/sweep", workers=2)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tmpsim.experiments.designs import SEED_NOISE_ONLY, Plan, make_plan
from tmpsim.experiments.runner import iter_runs
from tmpsim.experiments.spec import ExperimentError, ExperimentSpec, load_spec, parse_spec
from tmpsim.experiments.storage import DAMAGED, ExperimentDir
from tmpsim.experiments.worker import RunOutput, RunTask, execute


@dataclass
class Counts:
    """Where an experiment stands."""

    total: int
    done: int = 0
    failed: int = 0
    skipped: int = 0
    """Runs finished by an earlier invocation (included in done/failed)."""
    damaged: dict[int, str] = field(default_factory=dict)
    """Runs whose stored outputs failed their checks, and why (redone by ``run``)."""
    removed: list[str] = field(default_factory=list)
    """Records outside the plan that ``run`` removed (no run to redo), by file name."""

    @property
    def left(self) -> int:
        """Runs neither done nor failed."""
        return self.total - self.done - self.failed


ProgressHook = Callable[[Counts], None]


@dataclass
class Report:
    """What one ``run_experiment`` call did."""

    path: Path
    counts: Counts
    ran: int
    elapsed_seconds: float
    run_seconds: float
    """Sum of the wall seconds of the runs executed by this call."""


def load_experiment(source: str | Path | dict[str, Any] | ExperimentSpec) -> Plan:
    """Parse, resolve and check an experiment (file, mapping or spec) into its plan."""
    if isinstance(source, ExperimentSpec):
        return make_plan(source, None, f"<{source.name}>")
    if isinstance(source, dict):
        return make_plan(parse_spec(source, "<dict>"), None, "<dict>")
    spec, base = load_spec(source)
    return make_plan(spec, base, str(source))


def tasks_for(plan: Plan, runs: list[int]) -> list[RunTask]:
    """Build the self-contained tasks of the given run indices."""
    spec = plan.spec
    out = spec.outputs
    tasks = []
    for i in runs:
        r = plan.runs[i]
        tasks.append(
            RunTask(
                run=r.run,
                point=r.point,
                rep=r.rep,
                seed=r.seed,
                model=spec.model,
                scenario=plan.scenario,
                overrides=plan.run_overrides(r),
                scale=spec.scale,
                summary_keys=tuple(out.summary) if out.summary is not None else None,
                series_metrics=tuple(out.series) if out.series is not None else None,
                origins=tuple(out.origins) if out.origins is not None else None,
                draw=r.draw,
            )
        )
    return tasks


def run_experiment(
    source: str | Path | dict[str, Any] | ExperimentSpec | Plan,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: ProgressHook | None = None,
    retry_failed: bool = True,
) -> Report:
    """Run every run of the experiment not yet finished in ``out``; return what happened.

    Runs already done are skipped; runs with no record (never started, or interrupted) or a
    damaged one (see :meth:`ExperimentDir.scan`) are run; failed runs are run again unless
    ``retry_failed`` is false. The whole plan is checked before
    the first run starts. The catalog is rebuilt at the end (also after Ctrl-C).
    """
    plan = source if isinstance(source, Plan) else load_experiment(source)
    if scheduler:
        from tmpsim.experiments.runner import scheduler_problem

        problem = scheduler_problem(scheduler)
        if problem:
            raise ExperimentError(problem)
    folder = ExperimentDir(out)
    with folder.lock():  # one writer at a time: a second is refused, never mixed in
        folder.sweep_partials()
        return _run_locked(plan, folder, workers, scheduler, progress, retry_failed)


def _run_locked(
    plan: Plan,
    folder: ExperimentDir,
    workers: int | None,
    scheduler: str | None,
    progress: ProgressHook | None,
    retry_failed: bool,
) -> Report:
    """``run_experiment`` with the folder's lock held."""
    check_uncertainty(folder, plan)
    folder.init(plan)
    write_uncertainty(folder, plan)
    records, damaged = folder.scan()  # another experiment's record (its seed) among the damaged
    stray = folder.remove_strays(len(plan.runs))  # outside the plan: nothing to redo
    damaged = {run: why for run, why in damaged.items() if 0 <= run < len(plan.runs)}
    keep = {"done", "failed"} if not retry_failed else {"done"}
    finished = {run for run, rec in records.items() if rec.get("status") in keep}
    counts = Counts(total=len(plan.runs), damaged=damaged, removed=stray)
    for run in finished:
        if records[run]["status"] == "done":
            counts.done += 1
        else:
            counts.failed += 1
    counts.skipped = len(finished)
    todo = [r.run for r in plan.runs if r.run not in finished]
    if progress:
        progress(counts)
    t0 = time.perf_counter()
    run_seconds = 0.0
    ran = 0
    try:
        for _, result in iter_runs(execute, tasks_for(plan, todo), workers, scheduler):
            assert isinstance(result, RunOutput)
            folder.write_run(result.record, result.series)
            ran += 1
            run_seconds += float(result.record["wall_seconds"])
            if result.record["status"] == "done":
                counts.done += 1
            else:
                counts.failed += 1
            if progress:
                progress(counts)
    finally:
        folder.build_catalog()
    return Report(folder.path, counts, ran, time.perf_counter() - t0, run_seconds)


UNCERTAINTY_FILE = "uncertainty.json"
DRAWS_FILE = "posterior_draws.parquet"


def uncertainty_info(plan: Plan) -> dict[str, Any]:
    """What the experiment's bands show: parameter and seed uncertainty, or seed noise only."""
    return plan.draws.describe() if plan.draws is not None else dict(SEED_NOISE_ONLY)


def read_uncertainty(folder: str | Path) -> dict[str, Any] | None:
    """A folder's uncertainty.json (what its bands cover), None if it has none.

    ExperimentError naming the file when it is unreadable.
    """
    path = Path(folder) / UNCERTAINTY_FILE
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExperimentError(f"{path}: unreadable ({exc}); {DAMAGED}") from None
    if not isinstance(info, dict) or "bands" not in info:
        raise ExperimentError(f"{path}: not a description of the bands; {DAMAGED}")
    return info


def check_uncertainty(folder: ExperimentDir, plan: Plan) -> None:
    """Refuse to add runs to a folder whose runs drew from another posterior."""
    before = read_uncertainty(folder.path)
    if before is None:
        return
    now = uncertainty_info(plan)
    if before.get("posterior_sha256") != now.get("posterior_sha256"):
        was, will = before.get("posterior") or "no posterior", now.get("posterior") or "none"
        raise ExperimentError(
            f"{folder.path}: its runs drew from {was}, this experiment from {will}; "
            "choose another output folder or delete this one"
        )


def write_uncertainty(folder: ExperimentDir, plan: Plan) -> None:
    """Write uncertainty.json and, with a posterior, the parameter set of every replicate."""
    from tmpsim.results import atomic_write_bytes

    info = uncertainty_info(plan)
    text = json.dumps(info, indent=1, sort_keys=True, default=str) + "\n"
    atomic_write_bytes(folder.path / UNCERTAINTY_FILE, text.encode())
    if plan.draws is None:
        return
    import pyarrow as pa

    from tmpsim.results import atomic_write_table

    rows = plan.draws.rows
    values = plan.draws.posterior.values.iloc[rows].reset_index(drop=True)
    frame = values.assign(rep=np.arange(len(rows)), draw=rows.astype(np.int64))
    frame = frame[["rep", "draw", *values.columns]]
    atomic_write_table(folder.path / DRAWS_FILE, pa.Table.from_pandas(frame, preserve_index=False))


def status(path: str | Path) -> tuple[Counts, dict[str, Any], list[dict[str, Any]]]:
    """Return counts, experiment.json contents and the failed runs' records of a folder."""
    folder = ExperimentDir(path)
    info = folder.info()
    folder.spec(), folder.points()  # the description is sound (ExperimentError if not)
    recs, damaged = folder.scan()
    counts = Counts(total=int(info["n_runs"]), damaged=damaged)
    failed = []
    for rec in recs.values():
        if rec.get("status") == "done":
            counts.done += 1
        elif rec.get("status") == "failed":
            counts.failed += 1
            failed.append(rec)
    return counts, info, sorted(failed, key=lambda r: r["run"])


def ensemble_spec(
    scenario: str,
    seeds: int,
    seed: int = 1,
    scale: float = 1.0,
    overrides: dict[str, Any] | None = None,
    posterior: bool | None = None,
) -> ExperimentSpec:
    """``tmpsim run SCENARIO --seeds N``: an experiment with one point and N replicates."""
    from tmpsim.scenario import load_scenario

    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", load_scenario(scenario, overrides or {}).name)
    name = name.lstrip("-_.") or "scenario"  # the names single runs accept, made safe
    scenario_ref = str(Path(scenario).resolve()) if Path(scenario).is_file() else scenario
    return parse_spec(
        {
            "name": f"{name}-ensemble",
            "scenario": scenario_ref,
            "seeds": seeds,
            "seed": seed,
            "scale": scale,
            "overrides": overrides or {},
            "posterior": posterior,
        },
        f"<ensemble of {scenario}>",
    )
