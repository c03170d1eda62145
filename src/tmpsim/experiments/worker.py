"""What a worker does for one run: simulate, keep the outputs asked for, report success or failure.

``execute`` never raises for a failing run: the error and the end of its traceback come back in the
record, so one bad point does not stop an experiment. It writes nothing either; the coordinating
process writes the outputs, so Dask workers need no shared file system and a run killed half-way
leaves no trace.
"""

from __future__ import annotations

import importlib
import os
import socket
import time
import traceback
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tmpsim.experiments.spec import TMPSIM_MODEL


@dataclass(frozen=True)
class RunTask:
    """Everything one run needs, picklable and self-contained."""

    run: int
    point: int
    rep: int
    seed: int
    model: str
    scenario: dict[str, Any] | None
    overrides: dict[str, Any]
    scale: float
    summary_keys: tuple[str, ...] | None
    series_metrics: tuple[str, ...] | None
    origins: tuple[str, ...] | None
    draw: int | None = None
    """Posterior row of the run's parameter set (recorded; None: the scenario's values)."""


@dataclass
class RunOutput:
    """A finished run: its record (status, timing, summary) and its series as Parquet bytes."""

    record: dict[str, Any]
    series: bytes | None


def execute(task: RunTask) -> RunOutput:
    """Run one task; failures are returned as a record with status 'failed' and the error."""
    started = time.time()
    t0, c0 = time.perf_counter(), time.process_time()
    record: dict[str, Any] = {
        "run": task.run,
        "point": task.point,
        "rep": task.rep,
        "seed": task.seed,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "started_at": started,
    }
    if task.draw is not None:
        record["draw"] = task.draw
    series: bytes | None = None
    try:
        if task.model == TMPSIM_MODEL:
            summary, series = _run_tmpsim(task)
        else:
            summary = _run_function(task)
        record.update(status="done", error=None, summary=summary)
    except Exception as exc:  # noqa: BLE001 - any failure of a run is data, not a crash
        tb = traceback.format_exc(limit=-4)
        record.update(
            status="failed", error=f"{type(exc).__name__}: {exc}", traceback=tb, summary={}
        )
        series = None
    record["wall_seconds"] = round(time.perf_counter() - t0, 4)
    record["cpu_seconds"] = round(time.process_time() - c0, 4)  # < wall: the CPU was shared
    record["finished_at"] = time.time()
    return RunOutput(record, series)


def _keep(summary: dict[str, Any], keys: tuple[str, ...] | None) -> dict[str, Any]:
    if keys is None:
        return dict(summary)
    missing = [k for k in keys if k not in summary]
    if missing:
        raise KeyError(
            f"outputs.summary: {missing} not in the run's summary (available: {sorted(summary)})"
        )
    return {k: summary[k] for k in keys}


def _run_tmpsim(task: RunTask) -> tuple[dict[str, Any], bytes]:
    from tmpsim.api import run as run_scenario
    from tmpsim.results import SERIES_SCHEMA

    result = run_scenario(
        task.scenario, seed=task.seed, scale=task.scale, overrides=task.overrides, agents=False
    )
    s = result.series
    if task.series_metrics is not None:
        unknown = sorted(set(task.series_metrics) - set(s["metric"].unique()))
        if unknown:
            raise KeyError(f"outputs.series: no metric {unknown} in the run's series")
        s = s[s["metric"].isin(task.series_metrics)]
    if task.origins is not None:
        s = s[s["origin"].isin(task.origins)]
    return _keep(result.summary, task.summary_keys), _parquet(s, SERIES_SCHEMA)


def _parquet(frame: pd.DataFrame, schema: pa.Schema) -> bytes:
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table.replace_schema_metadata(None), sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def load_function(model: str) -> Any:
    """Import ``package.module:function``."""
    module, _, name = model.partition(":")
    return getattr(importlib.import_module(module), name)


def _run_function(task: RunTask) -> dict[str, Any]:
    out = load_function(task.model)(dict(task.overrides), task.seed)
    if not isinstance(out, dict):
        raise TypeError(f"{task.model} returned {type(out).__name__}, expected a dict")
    return _keep({k: float(v) for k, v in out.items()}, task.summary_keys)
