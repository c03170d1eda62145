"""What validation needs from a run, whatever it comes from.

A run can be a run folder (``series.parquet``, ``agents.parquet``, ``scenario.yaml``), an experiment
or ensemble folder holding many run folders, a :class:`tmpsim.Result`, or a finished
:class:`tmpsim.simulation.Simulation` (calibration uses this one and skips building the tidy table).
Each becomes a :class:`RunData`: daily metrics by origin (full-population scale) and, when
available, the agents table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml

from tmpsim.results import metric_names_to_read, read_series, with_current_metric_names

AgentsLoader = Callable[[], pd.DataFrame | None]


class RunSourceError(ValueError):
    """A path or object that holds no run to validate."""


@dataclass
class RunData:
    """Daily metrics of one run, by origin, and a lazy loader of its agents."""

    label: str
    start: pd.Timestamp
    end: pd.Timestamp
    origins: list[str]
    host: str | None
    metrics: dict[str, pd.DataFrame]
    """metric -> wide frame: daily DatetimeIndex, one column per origin plus ``all``."""
    load_agents: AgentsLoader = field(default=lambda: None, repr=False)
    _agents: Any = field(default=None, init=False, repr=False)

    def metric(self, name: str, origin: str) -> pd.Series | None:
        """A daily series, or None when the run did not record it."""
        wide = self.metrics.get(name)
        if wide is None or origin not in wide.columns:
            return None
        return wide[origin]

    @property
    def agents(self) -> pd.DataFrame | None:
        """The agents table (loaded on first use), or None when the run has none."""
        if self._agents is None:
            self._agents = self.load_agents()
            if self._agents is None:
                self._agents = False
        return self._agents if self._agents is not False else None


def _wide(tidy: pd.DataFrame) -> dict[str, pd.DataFrame]:
    out = {}
    for name, grp in tidy.groupby("metric", sort=False, observed=True):
        wide = grp.pivot(index="date", columns="origin", values="value")
        wide.index = pd.DatetimeIndex(pd.to_datetime(wide.index))
        out[str(name)] = wide.sort_index()
    return out


def from_tidy(
    series: pd.DataFrame,
    label: str,
    host: str | None,
    agents: AgentsLoader,
    metrics: Iterable[str] | None = None,
    origins: list[str] | None = None,
) -> RunData:
    """RunData from a tidy series table (date, metric, origin, value)."""
    if metrics is not None:
        series = series[series["metric"].isin(list(metrics))]
    dates = pd.to_datetime(series["date"])
    if series.empty:
        raise RunSourceError(f"{label}: the run has none of the metrics needed")
    found = sorted(set(series["origin"].astype(str)) - {"all"})
    return RunData(
        label=label,
        start=dates.min(),
        end=dates.max(),
        origins=origins or found,
        host=host,
        metrics=_wide(series),
        load_agents=agents,
    )


def _scenario_info(folder: Path) -> tuple[str | None, list[str] | None, tuple[str, str] | None]:
    path = folder / "scenario.yaml"
    if not path.is_file():
        return None, None, None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RunSourceError(f"{path}: unreadable ({exc}); the folder is damaged") from None
    if not isinstance(data, dict):
        raise RunSourceError(f"{path}: not a scenario; the folder is damaged")
    origins = list((data.get("origins") or {}).keys()) or None
    window = (str(data["start"]), str(data["end"])) if "start" in data and "end" in data else None
    return data.get("host"), origins, window


def from_run_dir(folder: str | Path, metrics: Iterable[str] | None = None) -> RunData:
    """RunData from a run folder written by ``tmpsim run`` or ``Result.write``."""
    from tmpsim.runfolder import RunFolderError, check_run_folder

    folder = Path(folder)
    try:
        check_run_folder(folder)
    except RunFolderError as exc:
        raise RunSourceError(str(exc)) from None
    series = read_series(folder, metrics)
    host, origins, window = _scenario_info(folder)
    agents_path = folder / "agents.parquet"

    def agents() -> pd.DataFrame | None:
        if not agents_path.is_file():
            return None
        return pq.read_table(
            agents_path, columns=["origin", "entered", "exited", "fee", "debt_at_departure"]
        ).to_pandas()

    run = from_tidy(series, str(folder), host, agents, origins=origins)
    if window is not None:
        run.start, run.end = pd.Timestamp(window[0]), pd.Timestamp(window[1])
    return run


def from_result(result: Any, metrics: Iterable[str] | None = None) -> RunData:
    """RunData from a :class:`tmpsim.Result`."""
    sc = result.scenario
    run = from_tidy(
        result.series,
        f"{sc.name} seed {result.seed}",
        sc.host,
        lambda: result.agents,
        metrics,
        origins=list(sc.origins),
    )
    run.start, run.end = pd.Timestamp(sc.start), pd.Timestamp(sc.end)
    return run


def from_simulation(sim: Any, metrics: Iterable[str] | None = None) -> RunData:
    """RunData straight from a finished Simulation (no tidy table, agents built on demand)."""
    from tmpsim.results import build_agents, metric_arrays

    arrays = metric_arrays(sim)
    wanted = set(arrays) if metrics is None else set(metrics) & set(arrays)
    dates = pd.date_range(sim.scenario.start, periods=sim.n_days, freq="D")
    cols = [*sim.origins, "all"]
    wide = {}
    for name in wanted:
        arr = arrays[name]
        full = np.concatenate([arr, np.nansum(arr, axis=1, keepdims=True)], axis=1) / sim.scale
        wide[name] = pd.DataFrame(full, index=dates, columns=cols)
    return RunData(
        label=f"{sim.scenario.name} seed {sim.seed}",
        start=pd.Timestamp(sim.scenario.start),
        end=pd.Timestamp(sim.scenario.end),
        origins=list(sim.origins),
        host=sim.scenario.host,
        metrics=wide,
        load_agents=lambda: build_agents(sim),
    )


def is_experiment(path: Path) -> bool:
    """Whether ``path`` is an experiment folder of ``tmpsim experiment run`` / ``run --seeds``."""
    return (path / "experiment.json").is_file() and (path / "series").is_dir()


def experiment_runs(
    folder: str | Path, metrics: Iterable[str] | None = None, point: int | None = None
) -> list[RunData]:
    """The runs of one point of an experiment folder (every run, if it has a single point)."""
    folder = Path(folder)
    files = _sound_series_files(folder)
    points = sorted({int(f.parent.parent.name.split("=")[1]) for f in files})
    if not files:
        raise RunSourceError(f"{folder}: the experiment has no run series (yet)")
    _warn_if_incomplete(folder, len(files))
    if point is None and len(points) > 1:
        raise RunSourceError(
            f"{folder}: the experiment has {len(points)} points; choose one with --point "
            f"({', '.join(map(str, points[:10]))}{'...' if len(points) > 10 else ''})"
        )
    chosen = points[0] if point is None else point
    if chosen not in points:
        raise RunSourceError(f"{folder}: no point {chosen} (points: {points[:10]})")
    host, origins, window = _scenario_info(folder)
    filters = [("metric", "in", metric_names_to_read(metrics))] if metrics is not None else None
    runs = []
    for f in files:
        if int(f.parent.parent.name.split("=")[1]) != chosen:
            continue
        series = with_current_metric_names(pq.read_table(f, filters=filters).to_pandas())
        label = f"{folder} point {chosen} {f.parent.name}"
        run = from_tidy(series, label, host, lambda: None, origins=origins)
        if window is not None:
            run.start, run.end = pd.Timestamp(window[0]), pd.Timestamp(window[1])
        runs.append(run)
    return runs


def run_folders(path: str | Path) -> list[Path]:
    """Run folders in ``path``: itself if it is one, else every folder below holding a run."""
    path = Path(path)
    if not path.exists():
        raise RunSourceError(f"{path}: no such file or folder")
    if (path / "series.parquet").is_file():
        return [path]
    found = sorted(
        p.parent
        for p in path.rglob("series.parquet")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )  # hidden folders are runs still being written (or left by a killed process)
    if not found:
        raise RunSourceError(
            f"{path}: neither a run folder nor an experiment holding run folders "
            "(no series.parquet found)"
        )
    return found


def load_runs(
    source: Any, metrics: Iterable[str] | None = None, point: int | None = None
) -> list[RunData]:
    """Every run of a source: a Result, a Simulation, a run folder or an experiment folder.

    An experiment folder with several points (a sweep) needs ``point``: the runs of one point
    form the ensemble.
    """
    metrics = None if metrics is None else sorted(set(metrics))
    if isinstance(source, RunData):
        return [source]
    if isinstance(source, list | tuple):
        return [run for item in source for run in load_runs(item, metrics, point)]
    if isinstance(source, str | Path) and is_experiment(Path(source)):
        return experiment_runs(source, metrics, point)
    if hasattr(source, "series") and hasattr(source, "scenario"):
        return [from_result(source, metrics)]
    if hasattr(source, "recorder") and hasattr(source, "scenario"):
        return [from_simulation(source, metrics)]
    if isinstance(source, str | Path):
        if point is not None:
            raise RunSourceError(
                f"{source}: --point chooses among an experiment's points; not a run"
            )
        return [from_run_dir(p, metrics) for p in run_folders(source)]
    raise RunSourceError(f"cannot validate a {type(source).__name__}")


_WARNED: set[tuple[str, int]] = set()


def _warn_if_incomplete(folder: Path, sound: int) -> None:
    """Say so when fewer runs are read than the experiment planned (pending or damaged)."""
    import json
    import warnings

    try:
        planned = int(
            json.loads((folder / "experiment.json").read_text(encoding="utf-8"))["n_runs"]
        )
    except (OSError, ValueError, KeyError, TypeError):
        return
    if sound < planned and (str(folder), sound) not in _WARNED:
        _WARNED.add((str(folder), sound))  # once per folder, however often it is read
        warnings.warn(
            f"{folder}: {sound} of its {planned} runs are read; the others are not done or "
            "damaged (`tmpsim experiment status` names them; running the experiment again "
            "finishes it)",
            stacklevel=2,
        )


def _sound_series_files(folder: Path) -> list[Path]:
    """Series files of done runs whose record's size and SHA-256 they match (damaged left out).

    The records' own check is ``ExperimentDir.scan``; this reads only what it needs (importing the
    experiments package here would make an import cycle through calibration).
    """
    import json

    from tmpsim.runfolder import sha256_file

    out = []
    for record in sorted((folder / "runs").glob("[0-9]*.json")):
        try:
            rec = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(rec, dict) or rec.get("status") != "done":
            continue
        if not record.stem.isdigit() or rec.get("run") != int(record.stem):
            continue  # another run's record
        part = f"point={rec.get('point')}/rep={rec.get('rep')}/part-0.parquet"
        path = folder / "series" / part
        meta = rec.get("series_file")
        if not path.is_file():
            continue
        if meta is not None and (
            path.stat().st_size != meta.get("bytes") or sha256_file(path) != meta.get("sha256")
        ):
            continue
        out.append(path)
    return sorted(out)
