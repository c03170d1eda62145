"""Experiments on the local backend: determinism, resume, failures, catalog, CLI, ensembles."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from pandas.testing import assert_frame_equal
from test_experiments_support import TMPSIM, assert_each_run_once, results, write_sweep

from tmpsim.engine.rng import run_seed
from tmpsim.experiments import ExperimentError, run_experiment, summarize

N_RUNS = 20  # 5 x 2 points x 2 seeds


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    return write_sweep(tmp_path_factory.mktemp("sweep"))


@pytest.fixture(scope="module")
def reference(sweep) -> Path:
    """The sweep run once, uninterrupted, on one local worker process."""
    out = sweep.parent / "reference"
    report = run_experiment(sweep, out, workers=1)
    assert report.counts.done == N_RUNS and report.ran == N_RUNS
    return out


def wait_for_records(
    folder: Path, at_least: int, proc: subprocess.Popen, timeout: float = 300
) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = len(list((folder / "runs").glob("*.json"))) if (folder / "runs").is_dir() else 0
        if n >= at_least:
            return n
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError(f"fewer than {at_least} runs finished in {timeout} s")


def start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [TMPSIM, "experiment", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_reference_is_complete_and_seeds_differ(reference):
    assert_each_run_once(reference, N_RUNS)
    _, outputs = results(reference)
    assert outputs["person_days_stranded"].nunique() > 3  # the runs really differ


def test_two_workers_give_the_same_results_as_one(sweep, reference):
    out = sweep.parent / "two-workers"
    report = run_experiment(sweep, out, workers=2)
    assert report.counts.done == N_RUNS and report.counts.failed == 0
    assert_each_run_once(out, N_RUNS)
    for mine, ref in zip(results(out), results(reference), strict=True):
        assert_frame_equal(mine, ref)


def test_running_a_finished_experiment_again_runs_nothing(sweep, reference):
    before = (reference / "runs" / "000007.json").read_text()
    report = run_experiment(sweep, reference, workers=2)
    assert (report.ran, report.counts.skipped, report.counts.done) == (0, N_RUNS, N_RUNS)
    assert (reference / "runs" / "000007.json").read_text() == before


def test_a_different_experiment_is_refused_in_the_same_folder(sweep, reference, tmp_path):
    data = yaml.safe_load(sweep.read_text())
    data["seed"] = 6
    other = sweep.parent / "other-seed.yaml"
    other.write_text(yaml.safe_dump(data))
    with pytest.raises(ExperimentError, match="holds a different experiment"):
        run_experiment(other, reference, workers=0)


def test_resume_after_a_hard_kill_has_no_duplicates_and_identical_results(sweep, reference):
    out = sweep.parent / "killed"
    proc = start_cli(str(sweep), "--out", str(out), "--workers", "2", "--quiet")
    try:
        wait_for_records(out, 4, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its workers, mid-run
        proc.communicate(timeout=60)
    finished = len(list((out / "runs").glob("*.json")))
    assert 4 <= finished < N_RUNS, "the kill came too late to test anything"
    again = subprocess.run(
        [TMPSIM, "experiment", "run", str(sweep), "--out", str(out), "--workers", "2", "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    assert f"{finished} finished earlier, {N_RUNS - finished} run now" in again.stdout
    assert_each_run_once(out, N_RUNS)
    for mine, ref in zip(results(out), results(reference), strict=True):
        assert_frame_equal(mine, ref)


def test_ctrl_c_stops_cleanly_and_leaves_a_resumable_folder(sweep):
    out = sweep.parent / "interrupted"
    proc = start_cli(str(sweep), "--out", str(out), "--workers", "2", "--quiet")
    try:
        wait_for_records(out, 2, proc)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    assert "interrupted:" in stderr and "resume" in stderr
    con = duckdb.connect(str(out / "catalog.duckdb"), read_only=True)
    try:
        counts = dict(con.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall())
    finally:
        con.close()
    assert counts.get("pending", 0) > 0 and counts["done"] >= 2
    assert sum(counts.values()) == N_RUNS
    assert not list(out.rglob(".*.tmp"))


def test_catalog_joins_series_to_parameters_and_the_dataset_reads_everywhere(reference):
    con = duckdb.connect(str(reference / "catalog.duckdb"), read_only=True)
    try:
        cols = [r[0] for r in con.execute("DESCRIBE runs").fetchall()]
        by_seats = con.execute(
            "SELECT seats_out, avg(value) AS stranded FROM series_runs "
            "WHERE metric = 'stranded' AND origin = 'all' GROUP BY seats_out ORDER BY seats_out"
        ).df()
        points = con.execute("SELECT * FROM points ORDER BY point").df()
    finally:
        con.close()
    for col in (
        "run",
        "point",
        "rep",
        "seed",
        "status",
        "wall_seconds",
        "error",
        "seats_out",
        "money_wage_per_month",
    ):
        assert col in cols
    assert by_seats["seats_out"].tolist() == [1, 2, 3, 4, 5]
    assert len(points) == 10
    # The same aggregate straight from the Parquet dataset with pandas and polars.
    frame = pd.read_parquet(reference / "series")
    frame = frame[(frame.metric == "stranded") & (frame.origin == "all")]
    frame["point"] = frame["point"].astype(int)
    frame = frame.merge(points[["point", "seats_out"]], on="point")
    assert frame.groupby("seats_out")["value"].mean().tolist() == pytest.approx(
        by_seats["stranded"].tolist()
    )
    lazy = pl.scan_parquet(str(reference / "series" / "**" / "*.parquet"), hive_partitioning=True)
    n = lazy.select(pl.struct("point", "rep").n_unique()).collect().item()
    assert n == N_RUNS


def test_summarize_gives_means_and_5_95_bands(reference):
    result = summarize(reference)
    _, outputs = results(reference)
    bands = result.scalar_bands.set_index(["point", "output"])
    for point, grp in outputs.groupby("point"):
        vals = grp["person_days_stranded"]
        row = bands.loc[(point, "person_days_stranded")]
        assert row["mean"] == pytest.approx(vals.mean())
        assert row["p05"] == pytest.approx(vals.quantile(0.05))
        assert row["p95"] == pytest.approx(vals.quantile(0.95))
        assert row["n"] == 2
    s = result.series_bands
    series, _ = results(reference)
    one = series[(series.point == 3) & (series.metric == "jobless") & (series.origin == "all")]
    mine = s[(s.point == 3) & (s.metric == "jobless") & (s.origin == "all")]
    assert mine["mean"].tolist() == pytest.approx(one.groupby("date")["value"].mean().tolist())
    assert result.sensitivity is None and "grid" in result.notes[0]
    assert (reference / "summary" / "scalar_bands.parquet").is_file()
    written = pq.read_schema(reference / "summary" / "series_bands.parquet")
    assert written.field("date").type == pa.date32()  # a day, as in the runs' series


def test_series_bands_add_the_runs_in_run_order(tmp_path):
    """Means are the runs' values summed in run order, bit for bit, however many threads the
    machine has: the same bytes for the same runs (a parallel sum adds them in any order)."""
    import datetime as dt

    from tmpsim.experiments.summarize import series_bands

    rng = np.random.default_rng(7)
    days = [dt.date(2020, 1, 1) + dt.timedelta(days=d) for d in range(2000)]
    metrics, origins, reps = ["a", "b", "c", "d", "e"], ["X", "Y", "all"], 8
    keys = pd.MultiIndex.from_product([days, metrics, origins], names=["date", "metric", "origin"])
    values = rng.lognormal(3.0, 2.0, size=(reps, len(keys)))
    files = []
    for rep in range(reps):
        path = tmp_path / "series" / "point=0" / f"rep={rep}" / "part-0.parquet"
        path.parent.mkdir(parents=True)
        keys.to_frame(index=False).assign(value=values[rep]).to_parquet(path, index=False)
        files.append(str(path))
    got = series_bands(None, files).sort_values(["date", "metric", "origin"])
    expected = values[0].copy()
    for rep in range(1, reps):
        expected = expected + values[rep]
    assert (got["mean"].to_numpy() == expected / reps).all()


def test_status_and_summarize_commands(reference):
    status = subprocess.run(
        [TMPSIM, "experiment", "status", str(reference)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert status.returncode == 0
    assert "20 done, 0 failed, 0 left of 20" in status.stdout
    summ = subprocess.run(
        [TMPSIM, "experiment", "summarize", str(reference), "--output", "peak_stranded"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert summ.returncode == 0, summ.stderr
    assert "peak_stranded" in summ.stdout and "seats_out" in summ.stdout


def test_failed_runs_are_recorded_with_their_error_and_the_others_go_on(tmp_path):
    spec = {
        "name": "flaky",
        "model": "tmpsim.experiments.toys:flaky",
        "seeds": 2,
        "parameters": {"x": {"values": [0.1, 0.9, 0.3]}},
    }
    path = tmp_path / "flaky.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    proc = subprocess.run(
        [TMPSIM, "experiment", "run", str(path), "--out", str(out), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    for word in ("4 done", "2 failed", "0 left", "ETA"):  # the progress bar's last state
        assert word in proc.stderr
    # The first failure's error is printed, and where to find the others'.
    assert "2 runs failed" in proc.stdout
    assert "run 2 (seed" in proc.stdout and "ValueError: x=0.9 is above 0.5" in proc.stdout
    assert f"tmpsim experiment status {out}" in proc.stdout.replace("\n", "")
    status = subprocess.run(
        [TMPSIM, "experiment", "status", str(out)], capture_output=True, text=True, timeout=120
    )
    assert "ValueError: x=0.9 is above 0.5" in status.stdout
    con = duckdb.connect(str(out / "catalog.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT point, status, error FROM runs ORDER BY run").fetchall()
    finally:
        con.close()
    assert [r[1] for r in rows] == ["done", "done", "failed", "failed", "done", "done"]
    assert rows[2][2] == "ValueError: x=0.9 is above 0.5"
    record = json.loads((out / "runs" / "000002.json").read_text())
    assert "raise ValueError" in record["traceback"]
    kept = run_experiment(path, out, workers=0, retry_failed=False)
    assert kept.ran == 0
    retried = run_experiment(path, out, workers=0)
    assert (retried.ran, retried.counts.failed, retried.counts.done) == (2, 2, 4)


def test_run_seeds_is_an_ensemble_of_one_point(sweep):
    out = sweep.parent / "ensemble"
    proc = subprocess.run(
        [
            TMPSIM,
            "run",
            str(sweep.parent / "tiny.yaml"),
            "--seeds",
            "3",
            "--seed",
            "4",
            "--scale",
            "1",
            "--workers",
            "2",
            "--out",
            str(out),
            "--set",
            "borders.seats_out_per_day=2",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Across runs: mean and 5-95% band" in proc.stdout
    assert_each_run_once(out, 3)
    records = [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))]
    assert [r["seed"] for r in records] == [run_seed(4, i) for i in range(3)]
    assert {r["point"] for r in records} == {0}
    spec = yaml.safe_load((out / "experiment.yaml").read_text())
    assert spec["overrides"] == {"borders.seats_out_per_day": 2}


def test_reading_an_unfinished_experiment_says_how_many_runs_it_lacks(reference, tmp_path):
    import shutil

    from tmpsim.validation.rundata import load_runs

    copy = tmp_path / "unfinished"
    shutil.copytree(reference, copy)
    (copy / "runs" / "000000.json").unlink()  # as if run 0 had not finished
    with pytest.warns(UserWarning, match=r"19 of its 20 runs are read"):
        runs = load_runs(copy, point=0)
    assert len(runs) == 1
