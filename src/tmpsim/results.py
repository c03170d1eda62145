"""Results of a run: the tidy daily series, the headline summary, the agents, the run folder."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tmpsim.arrow import arrow_array, arrow_strings
from tmpsim.engine.population import NEVER
from tmpsim.grouping import group_table
from tmpsim.runfolder import (  # atomic_*: kept importable from here for their callers
    RunFolderError,
    atomic_path,
    atomic_write_bytes,
    check_run_folder,
    describe_file,
    staged_run_folder,
    write_manifest,
)
from tmpsim.scenario import Scenario, scenario_hash, to_yaml
from tmpsim.states import STATE_NAMES, STOCK_METRICS, STRANDED_SPLIT, State

if TYPE_CHECKING:  # pandas is imported only when a DataFrame is asked for (start-up time)
    import pandas as pd

SERIES_SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("metric", pa.string()),
        ("origin", pa.string()),
        ("value", pa.float64()),
    ]
)
# The same with the labels dictionary-encoded, as a finished run keeps them (see Result).
SERIES_DICTIONARY_SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("metric", pa.dictionary(pa.int32(), pa.string())),
        ("origin", pa.dictionary(pa.int32(), pa.string())),
        ("value", pa.float64()),
    ]
)
HOST_METRICS = frozenset({"shelter_capacity"})  # reported for origin "all" only
FLOW_METRICS = {
    "new_entries": ([State.AWAITING_ENTRY], [State.EMPLOYED]),
    "returns": (None, [State.RETURNED]),
    # 'Missing' as official statistics count it: people holding the programme's status who left.
    "missing": (STOCK_METRICS["programme_stock"], [State.IRREGULAR]),
    "became_irregular": (None, [State.IRREGULAR]),
    "switched_status": (None, [State.OTHER_STATUS]),
    "dropped": (None, [State.DROPPED]),
    "became_stranded": (None, [State.STRANDED]),
}


@cache
def _renamed() -> dict[str, str]:
    """Old metric name (or prefix ending in "*") -> current one, from data/renamed_metrics.yaml."""
    import yaml

    text = (resources.files("tmpsim") / "data" / "renamed_metrics.yaml").read_text("utf-8")
    return {str(k): str(v) for k, v in (yaml.safe_load(text)["renamed"] or {}).items()}


def current_metric_name(name: str) -> str:
    """A metric's current name, given a name an earlier version may have written."""
    renamed = _renamed()
    if name in renamed:
        return renamed[name]
    for old, new in renamed.items():
        if old.endswith("*") and name.startswith(old[:-1]):
            return new[:-1] + name[len(old) - 1 :]
    return name


def metric_names_to_read(names: Iterable[str]) -> list[str]:
    """The names to ask a series file for: ``names`` and what earlier versions called them."""
    names = set(names)
    old = set()
    for before, now in _renamed().items():
        if before.endswith("*"):
            old |= {before[:-1] + n[len(now) - 1 :] for n in names if n.startswith(now[:-1])}
        elif now in names:
            old.add(before)
    return sorted(names | old)


def with_current_metric_names(series: pd.DataFrame) -> pd.DataFrame:
    """A tidy series (a run folder's, maybe from an earlier version) with current metric names."""
    names = series["metric"].unique()
    mapping = {n: current_metric_name(str(n)) for n in names}
    if all(k == v for k, v in mapping.items()):
        return series
    series = series.copy()
    series["metric"] = series["metric"].astype(str).map(mapping)
    return series


def read_series(folder: str | Path, metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """A run folder's series.parquet as a DataFrame, with current metric names.

    ``metrics`` reads only those metrics (by current name; older names are found too). Labels
    are str, dates ``datetime.date``.
    """
    filters = None if metrics is None else [("metric", "in", metric_names_to_read(metrics))]
    series = pq.read_table(Path(folder) / "series.parquet", filters=filters).to_pandas()
    series["metric"] = series["metric"].astype(str)
    series["origin"] = series["origin"].astype(str)
    return with_current_metric_names(series)


def atomic_write_table(path: Path, table: pa.Table, store_schema: bool = True) -> None:
    """Write a Parquet file atomically (``store_schema``: also the Arrow schema)."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", store_schema=store_schema)


@dataclass
class Result:
    """What a run produced; ``series`` is tidy: date, metric, origin, value (full-population).

    The series is kept as an Arrow table, its labels dictionary-encoded in a finished run
    (``series_source``: a few names and their codes instead of millions of strings);
    ``series_table`` (labels as strings, what series.parquet reads back as) and the DataFrame
    ``series`` are made from it when first asked for.
    """

    scenario: Scenario
    seed: int
    scale: float
    series_source: pa.Table
    summary: dict[str, Any]
    agents_source: AgentsSnapshot | None
    run_info: dict[str, Any] = field(default_factory=dict)
    groups_table: pa.Table | None = None  # the stocks by sector and by stage (groups.parquet)
    # With a sending market: its flows, stocks, fees and debt by origin × destination
    # (origins_flows.parquet) and by broker (origins_brokers.parquet); see corridors.tables.
    origins_tables: dict[str, pa.Table] | None = None

    @cached_property
    def series_table(self) -> pa.Table:
        """The tidy series as an Arrow table with the labels as strings (``SERIES_SCHEMA``)."""
        source = self.series_source
        return source if source.schema.equals(SERIES_SCHEMA) else source.cast(SERIES_SCHEMA)

    @cached_property
    def series(self) -> pd.DataFrame:
        """The tidy series as a DataFrame (dates as ``datetime.date``, labels as str)."""
        return self.series_table.to_pandas()

    @cached_property
    def agents_table(self) -> pa.Table | None:
        """Final state of every agent as an Arrow table (None when agents were not kept)."""
        return None if self.agents_source is None else self.agents_source.table()

    @cached_property
    def agents(self) -> pd.DataFrame | None:
        """Final state of every agent as a DataFrame (None when agents were not kept)."""
        return None if self.agents_table is None else self.agents_table.to_pandas()

    def metric(self, name: str, origin: str = "all") -> pd.Series:
        """One metric as a pandas Series with a DatetimeIndex (daily, or month ends).

        ``result.metric("stranded").loc["2021-01-21"]`` and ``.resample("MS").mean()`` work.
        An unknown metric or origin is a KeyError naming the valid ones.
        """
        import pandas as pd

        s = self.series
        if name not in self.metric_names:
            raise KeyError(f"no metric {name!r}; metrics are: {', '.join(self.metric_names)}")
        sel = s[(s.metric == name) & (s.origin == origin)]
        if sel.empty:
            origins = sorted(s.loc[s.metric == name, "origin"].unique())
            raise KeyError(f"no origin {origin!r} for {name}; origins are: {', '.join(origins)}")
        out = pd.Series(
            sel["value"].to_numpy(), index=pd.DatetimeIndex(pd.to_datetime(sel["date"])), name=name
        )
        out.index.name = "date"
        return out

    @cached_property
    def metric_names(self) -> list[str]:
        """Every metric of the series, sorted."""
        metric = self.series_source.column("metric")
        if not pa.types.is_dictionary(metric.type):
            return sorted(set(metric.to_pylist()))
        names: set[str] = set()  # the names present, without a string per row
        for chunk in metric.chunks:
            known = chunk.dictionary.to_pylist()
            names.update(known[i] for i in np.unique(chunk.indices.to_numpy()))
        return sorted(names)

    def _repr_html_(self) -> str:
        """A summary for Jupyter: what was run and the headline figures."""
        from html import escape

        from tmpsim.reports.glossary import summary_rows

        rows = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(v)}</td></tr>"
            for k, v in summary_rows(self.summary, self.scenario)
        )
        head = (
            f"<b>tmpsim result</b>: {escape(self.scenario.name)}, seed {self.seed}, "
            f"scale {self.scale:g}, {self.scenario.start} to {self.scenario.end}, "
            f"{len(self.metric_names)} metrics (<code>result.metric(name)</code>)"
        )
        return f"<div>{head}<table>{rows}</table></div>"

    def __repr__(self) -> str:
        return (
            f"Result(scenario={self.scenario.name!r}, seed={self.seed}, scale={self.scale:g}, "
            f"metrics={len(self.metric_names)})"
        )

    def write(self, out: str | Path, force: bool = False) -> Path:
        """Write the run folder ``out`` as a whole (see :mod:`tmpsim.runfolder`).

        The files are written into a staged folder beside ``out``, run.json (the manifest) last,
        and the folder is then renamed into place. An existing run folder is refused unless
        ``force``, which replaces it whole. agents.parquet, the largest file, is written in a
        second thread while the other files are written (Arrow encodes and compresses without
        holding the GIL).
        """
        out = Path(out)
        with staged_run_folder(out, force) as staged:
            writer = AgentsWriter(self.agents_source, staged / "agents.parquet")
            try:
                self.write_small_files(staged)
            finally:
                writer.join()
            writer.raise_error()
            self.write_manifest(staged, writer.described)
        return out

    def write_small_files(self, out: Path) -> None:
        """Write every file of the run folder but agents.parquet and the manifest.

        The series is written in a second thread while this one writes the other tables and
        files (Arrow encodes and compresses without holding the GIL): the two largest, series
        and groups, are then written at the same time.
        """
        with ThreadPoolExecutor(1, thread_name_prefix="tmpsim-series-writer") as pool:
            # Labels go to the writer as the dictionary Parquet stores anyway, and no Arrow
            # schema is stored beside the Parquet one: readers get strings, as SERIES_SCHEMA says.
            series = pool.submit(
                atomic_write_table, out / "series.parquet", self.series_source, False
            )
            if self.groups_table is not None:
                atomic_write_table(out / "groups.parquet", self.groups_table)
            for name, table in (self.origins_tables or {}).items():
                atomic_write_table(out / name, table)
            atomic_write_bytes(out / "summary.json", _json(self.summary))
            atomic_write_bytes(out / "scenario.yaml", to_yaml(self.scenario).encode())
            series.result()  # its error, if any, is raised here

    def write_manifest(self, out: Path, known: dict[str, dict[str, Any]] | None = None) -> None:
        """Write run.json last: the run's description, its files' sizes and digests."""
        self.run_info = write_manifest(out, self.run_info, known)

    @classmethod
    def read(cls, folder: str | Path) -> Result:
        """Read a run folder, checked against its manifest (RunFolderError if it does not hold).

        The series and summary are read now, agents.parquet (if any) when first asked for.
        """
        from tmpsim.scenario import load_scenario

        folder = Path(folder)
        info = check_run_folder(folder)
        try:
            scenario = load_scenario(folder / "scenario.yaml")
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
            series = pq.read_table(folder / "series.parquet")
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise RunFolderError(f"{folder}: cannot be read: {exc}") from None
        series = series.replace_schema_metadata(None).cast(SERIES_SCHEMA)
        agents_path = folder / "agents.parquet"
        agents = StoredAgents(agents_path) if agents_path.is_file() else None
        seed, scale = int(info.get("seed", 0)), float(info.get("scale", summary.get("scale", 1)))
        groups_path = folder / "groups.parquet"
        groups = pq.read_table(groups_path) if groups_path.is_file() else None
        origins = {
            name: pq.read_table(folder / name)
            for name in ORIGINS_FILES
            if (folder / name).is_file()
        }
        return cls(scenario, seed, scale, series, summary, agents, info, groups, origins or None)


class StoredAgents:
    """agents.parquet of a run folder, read when its table is first asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def table(self) -> pa.Table:
        """Every agent as one Arrow table."""
        return pq.read_table(self.path)


class AgentsWriter:
    """agents.parquet written in a second thread from the moment this is made.

    Nothing when there is no snapshot. :meth:`join` waits for the file; :meth:`raise_error`
    then re-raises what went wrong in the thread, if anything.
    """

    def __init__(self, snapshot: AgentsSnapshot | None, path: Path) -> None:
        self.errors: list[BaseException] = []
        self.described: dict[str, dict[str, Any]] = {}
        """The file's size and SHA-256 for the manifest, hashed here while the page cache is warm
        and the main thread builds the other files."""
        self.thread = None
        if snapshot is not None:
            self.thread = threading.Thread(
                target=_capture(self._write, self.errors),
                args=(snapshot, Path(path)),
                name="tmpsim-agents-writer",
            )
            self.thread.start()

    def _write(self, snapshot: AgentsSnapshot, path: Path) -> None:
        snapshot.write(path)
        self.described[path.name] = describe_file(path)

    def join(self) -> None:
        """Wait until the file is written (or the writing failed)."""
        if self.thread is not None:
            self.thread.join()

    def raise_error(self) -> None:
        """Re-raise the writer's exception, if it had one."""
        if self.errors:
            raise self.errors[0]


def write_run(sim, out: str | Path, with_agents: bool = True, force: bool = False) -> Result:
    """Build the Result of a finished simulation and write its run folder.

    The same folder as ``build_result(sim, with_agents).write(out, force)``, but agents.parquet
    starts being written (in a second thread) before the series and summary are built, so that
    building them overlaps the longest write instead of preceding it.
    """
    with staged_run_folder(Path(out), force) as staged:
        snapshot = build_agents(sim) if with_agents else None
        writer = AgentsWriter(snapshot, staged / "agents.parquet")
        try:
            result = build_result(sim, with_agents=with_agents, snapshot=snapshot)
            result.write_small_files(staged)
        finally:
            writer.join()
        writer.raise_error()
        result.write_manifest(staged, writer.described)
    return result


def _capture(fn: Callable[..., Any], errors: list[BaseException]) -> Callable[..., None]:
    """``fn`` wrapped to store its exception in ``errors`` (for a thread to report back)."""

    def call(*args: Any) -> None:
        try:
            fn(*args)
        except BaseException as exc:  # re-raised by the caller after join
            errors.append(exc)

    return call


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n").encode()


def build_result(sim, with_agents: bool = True, snapshot: AgentsSnapshot | None = None) -> Result:
    """Turn a finished simulation into a Result (``snapshot``: the agents, if already taken)."""
    from tmpsim import __version__

    arrays = metric_arrays(sim)
    series = build_series_table(sim, arrays, dictionary=True)
    summary = build_summary(sim, arrays=arrays)
    agents = (snapshot or build_agents(sim)) if with_agents else None
    info = {
        "scenario": sim.scenario.name,
        "scenario_hash": scenario_hash(sim.scenario),
        "seed": sim.seed,
        "scale": sim.scale,
        "tmpsim_version": __version__,
        "wall_seconds": round(sim.wall_seconds, 3),
        "agents_created": int(sim.pop.n),
        **applicants_outside(sim),
        "days": sim.n_days,
        "start": str(sim.scenario.start),
        "end": str(sim.scenario.end),
    }
    groups = group_table(sim)
    return Result(
        sim.scenario,
        sim.seed,
        sim.scale,
        series,
        summary,
        agents,
        info,
        groups,
        origins_tables(sim),
    )


def applicants_outside(sim) -> dict[str, int]:
    """Applicants never selected, who are counted in the series but are not agents.

    Only the selected become agents (rows of ``agents.parquet``); the others are in the pool
    state at the end (``applicants_waiting``) or gave up (``applicants_gave_up``, in the dropped
    state).
    """
    outside = sim.outside_counts()
    return {
        "applicants_waiting": int(outside[int(State.POOL)].sum()),
        "applicants_gave_up": int(outside[int(State.DROPPED)].sum()),
    }


ORIGINS_FILES = ("origins_flows.parquet", "origins_brokers.parquet")


def origins_tables(sim) -> dict[str, pa.Table] | None:
    """The sending market's tidy tables of a run with ``origins_market`` (None without)."""
    market = getattr(getattr(sim, "recruitment", None), "market", None)
    if market is None:
        return None
    return dict(zip(ORIGINS_FILES, market.tables(), strict=True))


def metric_arrays(sim) -> dict[str, np.ndarray]:
    """Every daily metric as an array [day, origin] of agent counts or sums (not yet scaled)."""
    rec = sim.recorder
    stocks = rec.stocks.astype(np.float64)
    out: dict[str, np.ndarray] = {}
    for name, states in STOCK_METRICS.items():
        out[name] = stocks[:, [int(s) for s in states], :].sum(axis=1)
    out["destitute"] = rec.flag_history["destitute"].astype(np.float64)
    out["sheltered"] = rec.flag_history["sheltered"].astype(np.float64)
    out["needs_bed"] = rec.flag_history["needs_bed"].astype(np.float64)
    out["stranded"] = rec.flag_history["stranded"].astype(np.float64)
    if sim.scenario.programme.private_rental is not None:  # scenarios where people rent rooms
        out["renting"] = rec.flag_history["renting"].astype(np.float64)
    by_state = rec.flag_state_history["stranded"]
    for name, states in STRANDED_SPLIT.items():
        out[name] = by_state[:, [int(s) for s in states], :].sum(axis=1, dtype=np.float64)
    out["unmet_shelter_need"] = out["needs_bed"] - out["sheltered"]
    # The women among them (a women's shelter plans from these).
    for name in ("destitute", "needs_bed", "sheltered"):
        out[f"{name}_women"] = rec.flag_women_history[name].astype(np.float64)
    out["unmet_shelter_need_women"] = out["needs_bed_women"] - out["sheltered_women"]
    welfare = np.asarray(sim.welfare_by_day, dtype=np.float64)
    out["outside_welfare"] = out["in_host"] * (1.0 - welfare[:, None])
    # Flows are counted in integers: summed as such (exact, as the float sums were) and only
    # the sums converted, not the whole [day, from, to, origin] table.
    for name, (src, dst) in FLOW_METRICS.items():
        f = rec.flows[:, :, [int(s) for s in dst], :].sum(axis=2, dtype=np.int64)
        if src is None:
            keep = [i for i in range(len(State)) if i not in [int(s) for s in dst]]
        else:
            keep = [int(s) for s in src]
        out[name] = f[:, keep, :].sum(axis=1).astype(np.float64)
    for name, arr in rec.extras.items():
        out[name] = arr
    for name, arr in rec.monthly.items():
        out[name] = arr
    for s in State:
        out[f"state_{STATE_NAMES[s]}"] = stocks[:, int(s), :]
    if rec.n_segments > 1:  # the programme's stock of each segment (statistics count them apart)
        holders = [int(s) for s in STOCK_METRICS["programme_stock"]]
        by_segment = rec.segment_stocks[:, holders].sum(axis=1, dtype=np.int64)
        for g, name in enumerate(sim.segments):
            out[f"programme_stock_segment_{name}"] = by_segment[:, :, g].astype(np.float64)
    return out


# Arrow arrays are made from NumPy buffers directly: ``pa.array`` imports pandas (to check for
# pandas objects) on its first call, a third of a second the run folder does not need.


def _labels(codes: np.ndarray, names: list[str]) -> pa.DictionaryArray:
    """Codes (int32) into ``names`` as an Arrow dictionary array."""
    codes = np.ascontiguousarray(codes, dtype=np.int32)
    kind = pa.dictionary(pa.int32(), pa.string())
    return pa.DictionaryArray.from_buffers(
        kind, codes.size, [None, pa.py_buffer(codes)], arrow_strings(names), null_count=0
    )


def build_series_table(
    sim, arrays: dict[str, np.ndarray] | None = None, dictionary: bool = False
) -> pa.Table:
    """The tidy series table: one row per (date, metric, origin), scaled to full population.

    Rows are sorted by date, metric and origin; month-end-only metrics have rows on month ends.
    Built as Arrow columns straight from codes (no Python objects per row). With
    ``dictionary`` the labels stay dictionary-encoded (``SERIES_DICTIONARY_SCHEMA``: the codes
    and a few names instead of millions of strings); ``cast(SERIES_SCHEMA)`` makes them strings.
    """
    arrays = metric_arrays(sim) if arrays is None else arrays
    names = sorted(arrays)
    labels = np.array([*sim.origins, "all"], dtype=object)
    order = np.argsort(labels.astype(str), kind="stable")
    n_days, n_m, n_o = sim.n_days, len(names), labels.size
    # The cube is filled with the origins already in their sorted order (``slot``: each label's
    # column), and the rows kept and their codes are taken with one mask of the values present:
    # no reordered copy of the cube, and no int64 row numbers to divide into codes.
    slot = np.argsort(order)
    by_origin, whole = slot[:-1], int(slot[-1])
    cube = np.empty((n_days, n_m, n_o))
    for j, name in enumerate(names):
        arr = arrays[name]
        if name in HOST_METRICS:  # a figure for the host as a whole, not by origin
            cube[:, j, :] = np.nan
            cube[:, j, whole] = arr[:, 0]
            continue
        cube[:, j, by_origin] = arr
        missing = np.isnan(arr).all(axis=1)  # days a month-end metric was not recorded
        cube[:, j, whole] = np.where(missing, np.nan, np.nansum(arr, axis=1))
    cube /= sim.scale
    present = ~np.isnan(cube)
    day0 = (sim.scenario.start - dt.date(1970, 1, 1)).days
    rows_per_day = np.count_nonzero(present.reshape(n_days, -1), axis=1)
    date = np.repeat(np.arange(day0, day0 + n_days, dtype=np.int32), rows_per_day)
    metric = np.broadcast_to(np.arange(n_m, dtype=np.int32)[None, :, None], cube.shape)[present]
    origin = np.broadcast_to(np.arange(n_o, dtype=np.int32)[None, None, :], cube.shape)[present]

    def strings(codes: np.ndarray, values: list[str]) -> pa.Array:
        encoded = _labels(codes, values)
        return encoded if dictionary else encoded.cast(pa.string())

    return pa.Table.from_arrays(
        [
            arrow_array(date, pa.date32()),
            strings(metric, names),
            strings(origin, [str(x) for x in labels[order]]),
            arrow_array(cube[present], pa.float64()),
        ],
        schema=SERIES_DICTIONARY_SCHEMA if dictionary else SERIES_SCHEMA,
    )


def build_summary(
    sim, series: pd.DataFrame | None = None, arrays: dict[str, np.ndarray] | None = None
) -> dict[str, Any]:
    """Headline figures (full-population scale); ``series`` is not needed (kept for callers)."""
    arrays = metric_arrays(sim) if arrays is None else arrays
    scale = sim.scale
    start = sim.scenario.start

    def total(name: str) -> np.ndarray:
        return arrays[name].sum(axis=1) / scale

    def peak(name: str) -> tuple[float, str | None]:
        s = total(name)
        i = int(np.argmax(s))
        when = str(start + dt.timedelta(days=i)) if s[i] > 0 else None
        return float(s[i]), when

    stranded = total("stranded")
    returns = total("returns").sum()
    out: dict[str, Any] = {}
    out["peak_stranded"], out["peak_stranded_date"] = peak("stranded")
    out["person_days_stranded"] = float(stranded.sum())
    out.update(headline_figures(sim.scenario, total_of=lambda m: _headline_total(arrays, m, scale)))
    out["peak_destitute"], out["peak_destitute_date"] = peak("destitute")
    out["person_days_destitute"] = float(total("destitute").sum())
    out["peak_needs_bed"], out["peak_needs_bed_date"] = peak("needs_bed")
    out["peak_unmet_shelter_need"], out["peak_unmet_shelter_need_date"] = peak("unmet_shelter_need")
    out["peak_needs_bed_women"], out["peak_needs_bed_women_date"] = peak("needs_bed_women")
    out["peak_unmet_shelter_need_women"], out["peak_unmet_shelter_need_women_date"] = peak(
        "unmet_shelter_need_women"
    )
    if "renting" in arrays:  # scenarios where those who lose the job's bed may rent a room
        out["peak_renting"], out["peak_renting_date"] = peak("renting")
    out["unmet_shelter_nights"] = float(total("unmet_shelter_need").sum())
    out["shelter_nights"] = float(total("sheltered").sum())
    out["mean_debt_at_return"] = float(total("returned_debt").sum() / max(returns, 1e-9))
    out["mean_savings_at_return"] = float(total("returned_savings").sum() / max(returns, 1e-9))
    out["mean_years_away_at_return"] = float(
        total("returned_years_away").sum() / max(returns, 1e-9)
    )
    out["mean_age_at_return"] = float(total("returned_age").sum() / max(returns, 1e-9))
    out["missing"] = float(total("missing").sum())
    out["new_entries"] = float(total("new_entries").sum())
    out["returns"] = float(returns)
    out["emergency_money_paid"] = float(total("emergency_paid").sum())
    if "emergency_payments" in arrays:  # scenarios with emergency funds
        out["emergency_payments"] = float(total("emergency_payments").sum())
    out["cash_payments"] = float(total("cash_paid").sum())
    years_sep = 0.0 if sim.scenario.programme.family_allowed else out["mean_years_away_at_return"]
    out["years_separated_from_family_per_return"] = years_sep
    out["agents_created"] = int(sim.pop.n)
    out["scale"] = scale
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}


def _headline_total(arrays: dict[str, np.ndarray], metric: str, scale: float) -> np.ndarray:
    if metric not in arrays:
        raise KeyError(
            f"headlines: metric {metric!r} is not a daily metric of the series "
            f"(known: {', '.join(sorted(arrays))})"
        )
    return np.nansum(arrays[metric], axis=1) / scale


def headline_figures(scenario: Scenario, total_of: Callable[[str], np.ndarray]) -> dict[str, float]:
    """The scenario's headline figures: each metric's mean, peak or total over its window.

    ``total_of(metric)`` gives the metric's daily totals over all origins, one per day of the run.
    A headline's ``stat`` says which (``mean`` by default; ``max`` the highest day, ``sum`` the
    days added up: person-days, or a flow's total). A headline whose window lies outside the run
    is left out.
    """
    out: dict[str, float] = {}
    for h in scenario.headlines:
        lo = max(scenario.day(h.start), 0)
        hi = min(scenario.day(h.end), scenario.n_days - 1)
        if lo <= hi:
            days = total_of(h.metric)[lo : hi + 1]
            out[h.name] = float({"mean": np.mean, "max": np.max, "sum": np.sum}[h.stat](days))
    return out


class AgentsSnapshot:
    """The final state of every agent, turned into Arrow columns when asked.

    Columns are built in slices, so a run folder is written without the whole table in memory.
    """

    ROWS_PER_GROUP = 262_144
    # Encodings chosen column by column for the time to write and the size (both smaller than
    # plain encoding for each): dictionaries for the labels, the dates (a few thousand days) and
    # the remittances (many agents share an amount); the ids as deltas (all 1); the ages (float32
    # values stored as float64) split by byte, which compresses their zero low bytes. The other
    # money columns are nearly all distinct and stay plain.
    DICTIONARY = ["state", "origin", "sector", "stage", "created", "selected", "entered", "exited"]
    DICTIONARY += ["remitted", "segment"]
    ENCODING = {"id": "DELTA_BINARY_PACKED", "age_at_creation": "BYTE_STREAM_SPLIT"}
    # Column statistics (min and max per row group) for the numbers and dates only: those of the
    # labels and flags are a sixth of the writing time and let no reader skip anything.
    STATISTICS = [
        "id",
        "age_at_creation",
        "created",
        "selected",
        "entered",
        "exited",
        "fee",
        "debt_at_departure",
        "debt",
        "savings",
        "remitted",
        "emergency_money",
    ]

    def __init__(self, sim) -> None:
        pop = sim.pop
        self.n = pop.n
        self.fields = {name: getattr(pop, name)[: pop.n] for name in AGENT_FIELDS}
        # The segment column only in programmes with segments (others' tables are unchanged).
        self.segmented = sim.n_segments > 1
        self.fields["segment"] = pop.segment[: pop.n]
        # The voluntary changes of employer only where the programme limits them.
        jc = sim.scenario.programme.job_change
        self.limited = jc.max_changes is not None or jc.max_changes_by_stage is not None
        self.fields["employer_changes"] = pop.employer_changes[: pop.n]
        self.start = np.datetime64(sim.scenario.start, "s")
        self.start_seconds = int(self.start.astype(np.int64))
        self.names = {
            "state": STATE_NAMES,
            "origin": list(sim.origins),
            "sector": list(sim.sectors),
            "stage": [s.name for s in sim.scenario.programme.stages],
            "segment": list(sim.segments),
        }

    def batch(self, lo: int, hi: int, dictionary: bool = False) -> pa.RecordBatch:
        """Agents ``lo`` to ``hi`` (exclusive) as one record batch.

        Labels (state, origin, sector, segment, stage) are strings; with ``dictionary`` they are
        left dictionary-encoded (codes and names), as the Parquet writer stores them anyway.
        """
        f = {k: v[lo:hi] for k, v in self.fields.items()}

        def dates(name: str) -> pa.Array:
            # Seconds since the epoch, in integers (no datetime64 arithmetic); nulls for NEVER.
            d = f[name]
            never = d == NEVER
            seconds = d.astype(np.int64) * 86400 + self.start_seconds
            return arrow_array(seconds, pa.timestamp("s"), valid=~never)

        def labels(name: str, codes: str) -> pa.Array:
            # Dictionary-encoded from the codes (no Python objects); plain strings unless asked.
            encoded = _labels(f[codes].astype(np.int32), self.names[name])
            return encoded if dictionary else encoded.cast(pa.string())

        columns = {
            "id": arrow_array(np.arange(lo, hi, dtype=np.int64), pa.int64()),
            "state": labels("state", "state"),
            "origin": labels("origin", "origin"),
            "sector": labels("sector", "sector"),
            **({"segment": labels("segment", "segment")} if self.segmented else {}),
            "stage": labels("stage", "stage"),
            "female": arrow_array(f["female"], pa.bool_()),
            "age_at_creation": arrow_array(f["age0"].astype(np.float64), pa.float64()),
            "created": dates("created"),
            "selected": dates("selected"),
            "entered": dates("entered"),
            "exited": dates("exited"),
            "fee": arrow_array(f["fee"], pa.float64()),
            "debt_at_departure": arrow_array(f["debt0"], pa.float64()),
            "debt": arrow_array(f["debt"], pa.float64()),
            "savings": arrow_array(f["savings"], pa.float64()),
            "remitted": arrow_array(f["remitted"], pa.float64()),
            "emergency_money": arrow_array(f["emergency"], pa.float64()),
            "destitute": arrow_array(f["destitute"], pa.bool_()),
            **(
                {"employer_changes": arrow_array(f["employer_changes"], pa.uint8())}
                if self.limited
                else {}
            ),
        }
        return pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))

    def table(self) -> pa.Table:
        """Every agent as one Arrow table."""
        return pa.Table.from_batches([self.batch(0, self.n)])

    def write(self, path: Path) -> None:
        """Write agents.parquet atomically, one row group at a time.

        The next row group's columns are built in a second thread while the current one is
        encoded and compressed (both release the GIL for most of their work). Label columns go
        to the writer dictionary-encoded, as Parquet stores them, and no Arrow schema is stored
        beside the Parquet one: readers then get the labels as plain strings (the Arrow schema
        would say "dictionary"), every other column type being the Parquet one anyway.
        """
        bounds = [
            (lo, min(lo + self.ROWS_PER_GROUP, self.n))
            for lo in range(0, max(self.n, 1), self.ROWS_PER_GROUP)
        ]
        with atomic_path(path) as tmp, ThreadPoolExecutor(1) as builder:
            pending = builder.submit(self.batch, *bounds[0], True)
            writer = None
            try:
                for k in range(len(bounds)):
                    batch = pending.result()
                    if k + 1 < len(bounds):
                        pending = builder.submit(self.batch, *bounds[k + 1], True)
                    if writer is None:
                        writer = pq.ParquetWriter(
                            tmp,
                            batch.schema,
                            compression="zstd",
                            use_dictionary=self.DICTIONARY,
                            column_encoding=self.ENCODING,
                            write_statistics=self.STATISTICS,
                            store_schema=False,
                        )
                    writer.write_batch(batch)
            finally:
                if writer is not None:
                    writer.close()


AGENT_FIELDS = (
    "state",
    "origin",
    "sector",
    "stage",
    "female",
    "age0",
    "created",
    "selected",
    "entered",
    "exited",
    "fee",
    "debt0",
    "debt",
    "savings",
    "remitted",
    "emergency",
    "destitute",
)


def build_agents(sim) -> AgentsSnapshot:
    """The final state of every agent, ready to be written or turned into a table."""
    return AgentsSnapshot(sim)
