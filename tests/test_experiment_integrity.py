"""Damaged experiment outputs are noticed: never counted as done, never summarised, redone.

Each run record carries its series file's size and SHA-256. Three ways to damage a finished
experiment: a truncated part file, another run's (valid) part file copied in, another run's
record copied in. Each is reported by ``status`` and ``summarize``, and the next ``run`` redoes
exactly the damaged run, giving the same results as the untouched experiment.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pandas.testing import assert_frame_equal
from test_experiments_support import TMPSIM, assert_each_run_once, results, write_sweep

from tmpsim.experiments import run_experiment, summarize
from tmpsim.experiments.experiment import status

N_RUNS = 4  # 1 seat level x 2 points x 2 seeds


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    return write_sweep(tmp_path_factory.mktemp("integrity"), seats=(2,))


@pytest.fixture(scope="module")
def reference(sweep) -> Path:
    out = sweep.parent / "reference"
    report = run_experiment(sweep, out, workers=0)
    assert report.counts.done == N_RUNS
    return out


def part(folder: Path, point: int, rep: int) -> Path:
    return folder / "series" / f"point={point}" / f"rep={rep}" / "part-0.parquet"


def truncate(folder: Path) -> None:
    path = part(folder, 1, 0)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def copy_other_runs_file(folder: Path) -> None:
    shutil.copyfile(part(folder, 0, 1), part(folder, 1, 0))


def test_a_file_of_the_same_size_is_caught_by_its_digest(reference, tmp_path) -> None:
    """Same size, one byte changed: only the SHA-256 tells."""
    out = tmp_path / "exp"
    shutil.copytree(reference, out)
    path = part(out, 1, 0)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    counts, _, _ = status(out)
    assert counts.damaged == {
        2: "series file series/point=1/rep=0/part-0.parquet does not match the record's SHA-256"
    }


def copy_other_runs_record(folder: Path) -> None:
    shutil.copyfile(folder / "runs" / "000003.json", folder / "runs" / "000002.json")


# What status says: another run's file is caught by its size, or if equal, by its digest.
DAMAGE = {
    "truncated part file": (truncate, ("bytes, the record says",)),
    "another run's part file": (
        copy_other_runs_file,
        ("bytes, the record says", "does not match the record's SHA-256"),
    ),
    "another run's record": (copy_other_runs_record, ("belongs to another run",)),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_run_is_reported_left_out_and_redone(sweep, reference, tmp_path, kind) -> None:
    damage, reasons = DAMAGE[kind]
    out = tmp_path / "exp"
    shutil.copytree(reference, out)
    damage(out)  # run 2 (point 1, rep 0) is damaged in each case

    counts, _, _ = status(out)
    assert counts.done == N_RUNS - 1
    assert list(counts.damaged) == [2]
    assert any(reason in counts.damaged[2] for reason in reasons), counts.damaged
    shown = subprocess.run(
        [TMPSIM, "experiment", "status", str(out)], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    assert "1 damaged run(s)" in shown.stdout and f"run 2: {counts.damaged[2]}" in shown.stdout

    summary = summarize(out)  # no DuckDB traceback; the damaged run is left out and said so
    assert list(summary.damaged) == [2]
    assert any(note.startswith("run 2 left out, damaged") for note in summary.notes)
    point1 = summary.scalar_bands[summary.scalar_bands["point"] == 1]
    assert set(point1["n"]) == {1}  # one of point 1's two replicates
    assert set(summary.series_bands.query("point == 1")["n"]) == {1}

    report = run_experiment(sweep, out, workers=0)
    assert report.ran == 1 and list(report.counts.damaged) == [2]
    assert report.counts.done == N_RUNS
    assert status(out)[0].damaged == {}
    assert_each_run_once(out, N_RUNS)
    for mine, ref in zip(results(out), results(reference), strict=True):
        assert_frame_equal(mine, ref)
