"""The experiment folder: per-run outputs written atomically, and a DuckDB catalog over them.

Layout::

    DIR/experiment.yaml      the experiment as run
    DIR/experiment.json      fingerprint, counts, parameter columns
    DIR/scenario.yaml        the resolved base scenario (tmpsim models)
    DIR/points.parquet       point, one column per parameter
    DIR/runs/000012.json     one record per finished run (status, seed, seconds, error, summary)
    DIR/series/point=3/rep=1/part-0.parquet   hive-partitioned dataset of every run's series
    DIR/catalog.duckdb       tables points, runs, outputs; views series, series_runs

A run's series file is written before its record, each atomically (temporary file + rename), so a
record means the run is complete; a run without a record is redone on the next ``run``. Files are
named by (point, rep), so a rerun replaces, never duplicates. Only the coordinating process writes.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from tmpsim.experiments.designs import Plan
from tmpsim.experiments.spec import ExperimentError, ExperimentSpec, parse_spec, spec_fingerprint
from tmpsim.results import atomic_path, atomic_write_bytes

RUN_COLUMNS = ["run", "point", "rep", "seed"]
RECORD_COLUMNS = [
    "status",
    "wall_seconds",
    "cpu_seconds",
    "error",
    "worker",
    "started_at",
    "finished_at",
]


class ExperimentDir:
    """One experiment's results folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # -- paths ------------------------------------------------------------------------------
    @property
    def runs_dir(self) -> Path:
        """Folder of the per-run records."""
        return self.path / "runs"

    @property
    def series_dir(self) -> Path:
        """Root of the hive-partitioned series dataset."""
        return self.path / "series"

    @property
    def catalog_path(self) -> Path:
        """The DuckDB catalog."""
        return self.path / "catalog.duckdb"

    def record_path(self, run: int) -> Path:
        """Where run ``run``'s record goes."""
        return self.runs_dir / f"{run:06d}.json"

    def series_path(self, point: int, rep: int) -> Path:
        """Where a run's series goes (hive partitions point=, rep=)."""
        return self.series_dir / f"point={point}" / f"rep={rep}" / "part-0.parquet"

    def exists(self) -> bool:
        """Tell whether the folder holds an experiment."""
        return (self.path / "experiment.json").is_file()

    # -- set up -----------------------------------------------------------------------------
    def init(self, plan: Plan) -> None:
        """Write the experiment's description, or check that the folder holds the same one."""
        fingerprint = spec_fingerprint(plan.spec, plan.scenario)
        if self.exists():
            info = self.info()
            if info["fingerprint"] != fingerprint:
                raise ExperimentError(
                    f"{self.path}: holds a different experiment (spec or base scenario changed); "
                    "choose another output folder or delete this one"
                )
            return
        self.path.mkdir(parents=True, exist_ok=True)
        spec_json = plan.spec.model_dump(mode="json", exclude_none=True)
        atomic_write_bytes(
            self.path / "experiment.yaml", yaml.safe_dump(spec_json, sort_keys=False).encode()
        )
        if plan.scenario is not None:
            from tmpsim.scenario import load_scenario, to_yaml

            atomic_write_bytes(
                self.path / "scenario.yaml", to_yaml(load_scenario(plan.scenario)).encode()
            )
        atomic_write_bytes(self.path / "points.parquet", _parquet_bytes(points_frame(plan)))
        info = {
            "name": plan.spec.name,
            "fingerprint": fingerprint,
            "n_points": len(plan.points),
            "n_runs": len(plan.runs),
            "columns": plan.columns,
            "design": plan.spec.design.type,
            "created_at": time.time(),
        }
        atomic_write_bytes(self.path / "experiment.json", _json(info))

    def info(self) -> dict[str, Any]:
        """Read experiment.json."""
        if not self.exists():
            raise ExperimentError(f"{self.path}: not an experiment folder (no experiment.json)")
        return json.loads((self.path / "experiment.json").read_text(encoding="utf-8"))

    def spec(self) -> ExperimentSpec:
        """Read the experiment as run."""
        data = yaml.safe_load((self.path / "experiment.yaml").read_text(encoding="utf-8"))
        return parse_spec(data, str(self.path / "experiment.yaml"))

    def points(self) -> pd.DataFrame:
        """Point number and parameter values."""
        return pd.read_parquet(self.path / "points.parquet")

    # -- runs -------------------------------------------------------------------------------
    def write_run(self, record: dict[str, Any], series: bytes | None) -> None:
        """Store a finished run: series first, record last (the record marks it complete)."""
        if series is not None:
            replace_file(self.series_path(record["point"], record["rep"]), series)
        replace_file(self.record_path(record["run"]), _json(record))

    def records(self) -> dict[int, dict[str, Any]]:
        """Every stored run record, by run index."""
        out = {}
        if self.runs_dir.is_dir():
            for path in sorted(self.runs_dir.glob("[0-9]*.json")):
                try:
                    rec = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue  # unreadable (e.g. emptied by a power cut): the run is redone
                out[int(rec["run"])] = rec
        return out

    def runs_frame(self, recs: dict[int, dict[str, Any]] | None = None) -> pd.DataFrame:
        """One row per planned run: index, point, rep, seed, parameters and record fields."""
        info = self.info()
        spec = self.spec()
        points = self.points()
        n_runs, seeds = info["n_runs"], spec.seeds
        recs = self.records() if recs is None else recs
        rows = []
        for run in range(n_runs):
            rec = recs.get(run, {})
            row = {"run": run, "point": run // seeds, "rep": run % seeds, "seed": rec.get("seed")}
            for col in RECORD_COLUMNS:
                row[col] = rec.get(col)
            if not rec:
                row["status"] = "pending"
            rows.append(row)
        frame = pd.DataFrame(rows, columns=RUN_COLUMNS + RECORD_COLUMNS)
        frame = frame.merge(points, on="point", how="left")
        return frame

    def outputs_frame(self, recs: dict[int, dict[str, Any]] | None = None) -> pd.DataFrame:
        """One row per done run: run, point, rep and its summary figures."""
        rows = []
        for run, rec in sorted((self.records() if recs is None else recs).items()):
            if rec.get("status") == "done":
                rows.append(
                    {"run": run, "point": rec["point"], "rep": rec["rep"], **rec.get("summary", {})}
                )
        return pd.DataFrame(rows)

    def has_series(self) -> bool:
        """Tell whether at least one run stored a series."""
        return self.series_dir.is_dir() and any(self.series_dir.glob("point=*/rep=*/*.parquet"))

    def series_glob(self) -> str:
        """Return a glob over the series dataset, for DuckDB and polars."""
        return str(self.series_dir.resolve() / "*" / "*" / "*.parquet")

    # -- catalog ----------------------------------------------------------------------------
    def build_catalog(self) -> Path:
        """(Re)write catalog.duckdb from the records; replaced atomically.

        The views read the series dataset by absolute path: after moving the folder, any
        ``tmpsim experiment status`` or ``summarize`` rebuilds them.
        """
        from tmpsim.extras import require

        duckdb = require("duckdb", "an ensemble or experiment (its catalog.duckdb)")
        recs = self.records()
        runs = self.runs_frame(recs)
        outputs = self.outputs_frame(recs)
        points = self.points()
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".catalog.", suffix=".duckdb")
        os.close(fd)
        os.unlink(tmp)  # duckdb wants to create the file itself
        try:
            con = duckdb.connect(tmp)
            try:
                con.register("points_df", points)
                con.register("runs_df", runs)
                con.execute("CREATE TABLE points AS SELECT * FROM points_df")
                con.execute("CREATE TABLE runs AS SELECT * FROM runs_df ORDER BY run")
                if len(outputs):
                    con.register("outputs_df", outputs)
                    con.execute("CREATE TABLE outputs AS SELECT * FROM outputs_df ORDER BY run")
                else:
                    con.execute("CREATE TABLE outputs (run INTEGER, point INTEGER, rep INTEGER)")
                if self.has_series():
                    con.execute(series_view_sql(self.series_glob()))
                    con.execute(
                        "CREATE VIEW series_runs AS SELECT s.date, s.metric, s.origin, s.value, "
                        "r.* FROM series s JOIN runs r USING (point, rep)"
                    )
            finally:
                con.close()
            os.replace(tmp, self.catalog_path)
        finally:
            for leftover in (tmp, tmp + ".wal"):
                if os.path.exists(leftover):
                    os.unlink(leftover)
        return self.catalog_path


def replace_file(path: Path, data: bytes) -> None:
    """Write a file atomically (temporary file, then rename) without forcing it to disk.

    Readers and crashed processes never see a partial file. Skipping ``fsync`` keeps thousands
    of small toy-model runs from waiting on the disk; after a power cut an unreadable record
    counts as unfinished and its run is redone.
    """
    with atomic_path(path, sync=False) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def series_view_sql(glob: str) -> str:
    """Return SQL creating the ``series`` view over the hive-partitioned dataset."""
    quoted = glob.replace("'", "''")
    return (
        "CREATE VIEW series AS SELECT * FROM read_parquet("
        f"'{quoted}', hive_partitioning = true, "
        "hive_types = {'point': INTEGER, 'rep': INTEGER})"
    )


def points_frame(plan: Plan) -> pd.DataFrame:
    """Point number and one column per parameter (the catalog column names)."""
    rows = []
    for i, pt in enumerate(plan.points):
        rows.append({"point": i, **{plan.columns[path]: v for path, v in pt.items()}})
    return pd.DataFrame(rows)


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, default=str, ensure_ascii=False) + "\n").encode()
