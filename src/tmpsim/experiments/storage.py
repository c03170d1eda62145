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

Each record carries the size and SHA-256 of its series file. Readers take a run as done only when
its record is readable, names its own run, point and replicate, and its series file matches the
digest; any other run is *damaged* (a truncated file, another run's file copied in, a record from
another run): ``status`` and ``summarize`` report it and leave it out, and the next ``run`` redoes
it.

One process writes a folder at a time: ``run`` holds an exclusive lock (``DIR/.lock``) while it
sets the folder up, runs and rebuilds the catalog; a second writer is refused, not mixed in.
``experiment.json`` keeps the SHA-256 of the files describing the experiment
(``experiment.yaml``, ``scenario.yaml``, ``points.parquet``): a resume writes them again when
they no longer match (they follow from the experiment), and readers refuse them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from tmpsim.experiments.designs import Plan
from tmpsim.experiments.spec import (
    ExperimentError,
    ExperimentSpec,
    fingerprints,
    parse_spec,
    spec_fingerprint,
)
from tmpsim.results import atomic_path, atomic_write_bytes
from tmpsim.runfolder import lock_file, release_lock

EXPERIMENT_FILES = frozenset(
    ["experiment.yaml", "experiment.json", "scenario.yaml", "points.parquet", "runs", "series"]
    + ["catalog.duckdb", "summary", "report.html", "figures"]
    + ["uncertainty.json", "posterior_draws.parquet"]
)
"""What an experiment folder may hold (written by ``run``, ``summarize``, ``report``)."""
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
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder's write lock (``DIR/.lock``), or refuse: another process writes it."""
        if not self.exists():
            self.refuse_foreign()  # a run's folder, say, gets no lock file either
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            fd = lock_file(self.path / ".lock")
        except BlockingIOError:
            raise ExperimentError(
                f"{self.path}: another tmpsim is writing this folder now; wait for it to "
                "finish (then run again to resume), or choose another --out"
            ) from None
        try:
            yield  # without file locks (fd None) one writer is the user's care
        finally:
            if fd is not None:
                release_lock(fd)

    def sweep_partials(self, older_than: float = 600.0) -> list[Path]:
        """Remove temporary files an interrupted writer left (call with the lock held).

        Only those untouched for ``older_than`` seconds: a ``status`` or ``summarize`` reading the
        folder now (they take no lock) may be writing its own.
        """
        gone = []
        now = time.time()
        for pattern in (".*.tmp", "*/.*.tmp", "*/*/*/.*.tmp", ".catalog.*.duckdb*"):
            for path in self.path.glob(pattern):
                if path.is_file() and now - path.stat().st_mtime > older_than:
                    path.unlink()
                    gone.append(path)
        return gone

    def init(self, plan: Plan) -> None:
        """Write the experiment's description, or check that the folder holds the same one.

        A resume writes the describing files again where they no longer match the digests
        ``experiment.json`` keeps (they follow from the experiment, whose fingerprint matched).
        """
        fingerprint = spec_fingerprint(plan.spec, plan.scenario)
        if self.exists():
            info = self.info()
            if info["fingerprint"] not in fingerprints(plan.spec, plan.scenario):
                raise ExperimentError(
                    f"{self.path}: holds a different experiment (spec or base scenario changed); "
                    "choose another output folder or delete this one"
                )
            described = self._described(plan)
            digests = {n: _sha256_bytes(b) for n, b in described}
            for name, data in described:
                path = self.path / name
                if not path.is_file() or _sha256(path) != digests[name]:
                    atomic_write_bytes(path, data)
            if info.get("digests") != digests:  # a folder of an earlier version gets them
                info = {**info, "digests": digests}
                atomic_write_bytes(self.path / "experiment.json", _json(info))
            return
        self.refuse_foreign()
        self.path.mkdir(parents=True, exist_ok=True)
        described = self._described(plan)
        for name, data in described:
            atomic_write_bytes(self.path / name, data)
        info = {
            "name": plan.spec.name,
            "fingerprint": fingerprint,
            "n_points": len(plan.points),
            "n_runs": len(plan.runs),
            "columns": plan.columns,
            "design": plan.spec.design.type,
            "created_at": time.time(),
            "digests": {name: _sha256_bytes(data) for name, data in described},
        }
        atomic_write_bytes(self.path / "experiment.json", _json(info))

    @staticmethod
    def _described(plan: Plan) -> list[tuple[str, bytes]]:
        """The files that describe the experiment, as they are written: (name, bytes)."""
        spec_json = plan.spec.model_dump(mode="json", exclude_none=True)
        out = [("experiment.yaml", yaml.safe_dump(spec_json, sort_keys=False).encode())]
        if plan.scenario is not None:
            from tmpsim.scenario import load_scenario, to_yaml

            out.append(("scenario.yaml", to_yaml(load_scenario(plan.scenario)).encode()))
        out.append(("points.parquet", _parquet_bytes(points_frame(plan))))
        return out

    def check_described(self, name: str) -> Path:
        """The path of a describing file, ExperimentError if it does not match its digest."""
        path = self.path / name
        said = self.info().get("digests", {}).get(name)
        if said is not None and (not path.is_file() or _sha256(path) != said):
            raise ExperimentError(
                f"{path}: damaged (it does not match the digest experiment.json keeps); run the "
                "experiment again to write it anew"
            )
        return path

    def refuse_foreign(self) -> None:
        """ExperimentError if the folder holds something else than an experiment being set up."""
        from tmpsim.runfolder import holds_run

        if not self.path.exists():
            return
        if not self.path.is_dir():
            raise ExperimentError(f"{self.path}: exists and is not a folder; choose another --out")
        if holds_run(self.path):
            raise ExperimentError(
                f"{self.path}: holds a run of `tmpsim run` (run.json), not an experiment; "
                "choose another --out"
            )
        foreign = sorted(
            p.name
            for p in self.path.iterdir()
            if p.name not in EXPERIMENT_FILES and not p.name.startswith(".")
        )
        if foreign:
            raise ExperimentError(
                f"{self.path}: holds other files ({', '.join(foreign[:5])}); an experiment "
                "needs a new or empty folder"
            )

    def info(self) -> dict[str, Any]:
        """Read experiment.json."""
        if not self.exists():
            raise ExperimentError(f"{self.path}: not an experiment folder (no experiment.json)")
        path = self.path / "experiment.json"
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ExperimentError(f"{path}: unreadable ({exc}); {DAMAGED}") from None
        if not isinstance(info, dict) or not {"fingerprint", "n_runs", "n_points"} <= set(info):
            raise ExperimentError(f"{path}: not an experiment's description; {DAMAGED}")
        return info

    def spec(self) -> ExperimentSpec:
        """Read the experiment as run."""
        path = self.check_described("experiment.yaml")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ExperimentError(f"{path}: unreadable ({exc}); {DAMAGED}") from None
        return parse_spec(data, str(path))

    def points(self) -> pd.DataFrame:
        """Point number and parameter values."""
        path = self.check_described("points.parquet")
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise ExperimentError(f"{path}: unreadable ({exc}); {DAMAGED}") from None

    def scenario_data(self) -> dict[str, Any]:
        """The resolved base scenario as data ({} for a model without one)."""
        path = self.path / "scenario.yaml"
        if not path.is_file():
            return {}
        self.check_described("scenario.yaml")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ExperimentError(f"{path}: unreadable ({exc}); {DAMAGED}") from None
        if not isinstance(data, dict):
            raise ExperimentError(f"{path}: not a scenario; {DAMAGED}")
        return data

    # -- runs -------------------------------------------------------------------------------
    def write_run(self, record: dict[str, Any], series: bytes | None) -> None:
        """Store a finished run: series first, record last (the record marks it complete).

        The record gets the series file's size and SHA-256, checked by every reader.
        """
        if series is not None:
            path = self.series_path(record["point"], record["rep"])
            replace_file(path, series)
            record = {
                **record,
                "series_file": {
                    "path": path.relative_to(self.path).as_posix(),
                    "bytes": len(series),
                    "sha256": hashlib.sha256(series).hexdigest(),
                },
            }
        record = json.loads(_json(record))  # as it reads back, for its digest
        record["sha256"] = _record_digest(record)
        replace_file(self.record_path(record["run"]), _json(record))

    def records(self) -> dict[int, dict[str, Any]]:
        """Every sound run record, by run index (damaged runs left out: see :meth:`scan`)."""
        return self.scan()[0]

    def scan(self) -> tuple[dict[int, dict[str, Any]], dict[int, str]]:
        """Sound records by run index, and what is wrong with each damaged run."""
        sound: dict[int, dict[str, Any]] = {}
        damaged: dict[int, str] = {}
        if not self.runs_dir.is_dir():
            return sound, damaged
        seeds = self._seeds()
        n_runs = self._n_runs()
        planned = self._planned_seeds()
        for path in sorted(self.runs_dir.glob("[0-9]*.json")):
            run = int(path.stem) if path.stem.isdigit() else -1
            if n_runs is not None and not 0 <= run < n_runs:
                damaged[run] = f"record {path.name} is outside the plan ({n_runs} runs)"
                continue
            try:
                rec = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                damaged[run] = f"record {path.name} is unreadable"
                continue
            problem = self.check_record(run, rec, seeds)
            if problem is None and planned is not None and rec.get("seed") != planned(run):
                problem = f"record {path.name} has seed {rec.get('seed')}, the plan {planned(run)}"
            if problem:
                damaged[run] = problem
            else:
                sound[run] = rec
        return sound, damaged

    def _seeds(self) -> int | None:
        try:
            info = self.info()
            return int(info["n_runs"]) // max(int(info["n_points"]), 1)
        except (ExperimentError, KeyError, ValueError, TypeError):
            return None

    def remove_strays(self, n_runs: int) -> list[str]:
        """Remove the record files of no planned run (call with the lock held); their names."""
        planned = {f"{run:06d}.json" for run in range(n_runs)}
        gone = []
        for path in sorted(self.runs_dir.glob("*.json")) if self.runs_dir.is_dir() else []:
            if path.name not in planned:
                path.unlink()
                gone.append(path.name)
        return gone

    def _planned_seeds(self) -> Any:
        """The seed the plan gives each run (a function of its index), or None if unknown."""
        from tmpsim.engine.rng import run_seed

        try:
            spec, seeds = self.spec(), self._seeds()
        except ExperimentError:
            return None
        if seeds is None:
            return None
        if spec.common_random_numbers:
            return lambda run: run_seed(spec.seed, run % seeds)
        return lambda run: run_seed(spec.seed, run)

    def _n_runs(self) -> int | None:
        try:
            return int(self.info()["n_runs"])
        except (ExperimentError, KeyError, ValueError, TypeError):
            return None

    def check_record(self, run: int, rec: Any, seeds: int | None) -> str | None:
        """What is wrong with run ``run``'s record and its series file (None: nothing)."""
        if not isinstance(rec, dict) or rec.get("run") != run:
            return f"record {run:06d}.json belongs to another run"
        if seeds is not None and (rec.get("point"), rec.get("rep")) != divmod(run, seeds):
            return f"record {run:06d}.json names point {rec.get('point')}, rep {rec.get('rep')}"
        if "sha256" in rec and rec["sha256"] != _record_digest(rec):
            return f"record {run:06d}.json was changed after it was written (its digest)"
        if not isinstance(rec.get("summary", {}), dict) or not isinstance(rec.get("seed"), int):
            return f"record {run:06d}.json does not hold a run's seed and summary"
        if rec.get("status") != "done":
            return None
        meta = rec.get("series_file")
        path = self.series_path(rec["point"], rec["rep"])
        if meta is None:
            if path.is_file() and not _readable_parquet(path):  # an earlier, unsigned record
                return f"series file {path.relative_to(self.path)} is not readable Parquet"
            return None
        if not path.is_file():
            return f"series file {meta.get('path')} is missing"
        size = path.stat().st_size
        if size != meta.get("bytes"):
            said = meta.get("bytes")
            return f"series file {meta.get('path')} has {size:,} bytes, the record says {said}"
        if _sha256(path) != meta.get("sha256"):
            return f"series file {meta.get('path')} does not match the record's SHA-256"
        return None

    def series_files(self, recs: dict[int, dict[str, Any]] | None = None) -> list[str]:
        """The series files of sound, done runs (absolute paths), in run order."""
        recs = self.records() if recs is None else recs
        out = []
        for _, rec in sorted(recs.items()):
            if rec.get("status") == "done":
                path = self.series_path(rec["point"], rec["rep"])
                if path.is_file():
                    out.append(str(path.resolve()))
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
    def build_catalog(self, recs: dict[int, dict[str, Any]] | None = None) -> Path:
        """(Re)write catalog.duckdb from the sound records; replaced atomically.

        The views read the series dataset by absolute path: after moving the folder, any
        ``tmpsim experiment status`` or ``summarize`` rebuilds them.
        """
        from tmpsim.extras import require

        duckdb = require("duckdb", "an ensemble or experiment (its catalog.duckdb)")
        recs = self.records() if recs is None else recs
        files = self.series_files(recs)
        runs = self.runs_frame(recs)
        outputs = self.outputs_frame(recs)
        points = self.points()
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".catalog.", suffix=".duckdb")
        os.close(fd)
        os.unlink(tmp)  # duckdb wants to create the file itself
        try:
            self._write_catalog(duckdb, tmp, points, runs, outputs, files)
            os.replace(tmp, self.catalog_path)
        except duckdb.Error as exc:  # a full disk, say: DuckDB's own error, not an OSError
            raise ExperimentError(f"{self.catalog_path}: not written ({exc})") from None
        finally:
            for leftover in (tmp, tmp + ".wal"):
                if os.path.exists(leftover):
                    os.unlink(leftover)
        return self.catalog_path

    @staticmethod
    def _write_catalog(
        duckdb: Any,
        tmp: str,
        points: pd.DataFrame,
        runs: pd.DataFrame,
        outputs: pd.DataFrame,
        files: list[str],
    ) -> None:
        """The catalog's tables and views, into the new file ``tmp``."""
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
            if files:
                con.execute(series_view_sql(files))
                con.execute(
                    "CREATE VIEW series_runs AS SELECT s.date, s.metric, s.origin, s.value, "
                    "r.* FROM series s JOIN runs r USING (point, rep)"
                )
        finally:
            con.close()


DAMAGED = "the experiment folder is damaged: delete it and run the experiment again"


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record_digest(record: dict[str, Any]) -> str:
    """SHA-256 of a record's content (its own digest left out), in canonical JSON."""
    body = {k: v for k, v in record.items() if k != "sha256"}
    return _sha256_bytes(json.dumps(body, sort_keys=True, default=str).encode())


def replace_file(path: Path, data: bytes) -> None:
    """Write a file atomically (temporary file, then rename) without forcing it to disk.

    Readers and crashed processes never see a partial file. Skipping ``fsync`` keeps thousands
    of small toy-model runs from waiting on the disk; after a power cut an unreadable record
    counts as unfinished and its run is redone.
    """
    with atomic_path(path, sync=False) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def series_view_sql(files: str | list[str]) -> str:
    """Return SQL creating the ``series`` view over the hive-partitioned dataset.

    ``files``: a glob, or a list of files (the sound runs' files, from ``series_files``).
    """
    names = [files] if isinstance(files, str) else files
    quoted = ", ".join("'" + f.replace("'", "''") + "'" for f in names)
    return (
        "CREATE VIEW series AS SELECT * FROM read_parquet("
        f"[{quoted}], hive_partitioning = true, "
        "hive_types = {'point': INTEGER, 'rep': INTEGER})"
    )


def _sha256(path: Path) -> str:
    from tmpsim.runfolder import sha256_file

    return sha256_file(path)


def _readable_parquet(path: Path) -> bool:
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except (OSError, ValueError):
        return False
    return True


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
