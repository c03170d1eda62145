"""Damaged experiment outputs are noticed: never counted as done, never summarised, redone.

Each run record carries its series file's size and SHA-256. Three ways to damage a finished
experiment: a truncated part file, another run's (valid) part file copied in, another run's
record copied in. Each is reported by ``status`` and ``summarize``, and the next ``run`` redoes
exactly the damaged run, giving the same results as the untouched experiment.
"""

from __future__ import annotations

import os
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


# ---- one writer, and the files that describe the experiment --------------------------------------
def test_a_second_writer_is_refused_while_one_holds_the_folder(sweep, reference, tmp_path) -> None:
    from tmpsim.experiments.spec import ExperimentError
    from tmpsim.experiments.storage import ExperimentDir

    out = tmp_path / "exp"
    shutil.copytree(reference, out)
    with ExperimentDir(out).lock():
        with pytest.raises(ExperimentError, match="another tmpsim is writing this folder"):
            run_experiment(sweep, out, workers=0)
    assert run_experiment(sweep, out, workers=0).ran == 0  # released: the resume goes on


def test_another_experiments_record_and_an_edited_one_are_damaged(sweep, reference, tmp_path):
    import json

    from tmpsim.experiments.storage import _record_digest

    out = tmp_path / "exp"
    shutil.copytree(reference, out)
    path = out / "runs" / "000001.json"
    rec = json.loads(path.read_text())
    rec["summary"] = {k: v * 2 for k, v in rec["summary"].items()}  # edited by hand
    path.write_text(json.dumps(rec))
    other = out / "runs" / "000003.json"
    rec = json.loads(other.read_text())
    rec["seed"] += 1  # as if another experiment (another seed) had written it, digest and all
    rec["sha256"] = _record_digest(rec)
    other.write_text(json.dumps(rec))
    assert status(out)[0].damaged == {
        1: "record 000001.json was changed after it was written (its digest)",
        3: f"record 000003.json has seed {rec['seed']}, the plan {rec['seed'] - 1}",
    }  # status and summarize see both, as run does
    report = run_experiment(sweep, out, workers=0)
    assert report.ran == 2 and sorted(report.counts.damaged) == [1, 3]
    assert "seed" in report.counts.damaged[3]
    for mine, ref in zip(results(out), results(reference), strict=True):
        assert_frame_equal(mine, ref)


def test_a_record_outside_the_plan_is_removed_not_redone(sweep, reference, tmp_path) -> None:
    out = tmp_path / "exp"
    shutil.copytree(reference, out)
    shutil.copyfile(out / "runs" / "000003.json", out / "runs" / "000099.json")
    shutil.copyfile(out / "runs" / "000003.json", out / "runs" / "0_copy.json")
    assert "outside the plan (4 runs)" in status(out)[0].damaged[99]
    report = run_experiment(sweep, out, workers=0)
    assert report.ran == 0 and report.counts.damaged == {}
    assert report.counts.removed == ["000099.json", "0_copy.json"]
    assert sorted(p.name for p in (out / "runs").iterdir()) == [f"{r:06d}.json" for r in range(4)]
    assert status(out)[0].damaged == {}


def test_describing_files_are_written_anew_and_leftovers_swept(sweep, reference, tmp_path) -> None:
    out = tmp_path / "exp"
    shutil.copytree(reference, out)
    (out / "experiment.yaml").write_text("name: [")  # damaged
    (out / "points.parquet").write_bytes(b"PAR1")
    leftover = out / "summary" / ".series_bands.parquet.x1.tmp"
    leftover.parent.mkdir(exist_ok=True)
    leftover.write_bytes(b"half")
    os.utime(leftover, (1, 1))  # an old leftover (a fresh one may be a reader's, and is kept)
    shown = subprocess.run(
        [TMPSIM, "experiment", "status", str(out)], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 2 and "Traceback" not in shown.stderr
    assert "experiment.yaml: damaged" in " ".join(shown.stderr.split())
    assert run_experiment(sweep, out, workers=0).ran == 0
    for name in ("experiment.yaml", "points.parquet"):
        assert (out / name).read_bytes() == (reference / name).read_bytes()
    assert not leftover.exists()


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("experiment.json", '{"name": ', "experiment.json: unreadable"),
        ("uncertainty.json", '{"bands', "uncertainty.json: unreadable"),
    ],
)
def test_an_unreadable_description_is_one_line(sweep, reference, tmp_path, name, text, message):
    out = tmp_path / "exp"
    shutil.copytree(reference, out)
    (out / name).write_text(text)
    commands = [["experiment", "run", str(sweep), "--out", str(out), "--workers", "0"]]
    if name == "experiment.json":  # summarize does not read uncertainty.json
        commands.append(["experiment", "summarize", str(out)])
    for args in commands:
        shown = subprocess.run([TMPSIM, *args], capture_output=True, text=True, timeout=120)
        said = " ".join(shown.stderr.split())
        assert shown.returncode == 2 and message in said and "Traceback" not in said, args


def test_a_malformed_scheduler_is_refused_before_anything_is_written(sweep, tmp_path) -> None:
    from tmpsim.experiments.spec import ExperimentError

    out = tmp_path / "never"
    for address in ("garbage", "tcp://127.0.0.1:18786/../x", "tcp://host:99999"):
        with pytest.raises(ExperimentError, match="--scheduler"):
            run_experiment(sweep, out, scheduler=address)
    assert not out.exists()


def test_a_scenarios_sources_or_description_do_not_make_another_experiment(tmp_path) -> None:
    """Text that decides no run leaves the experiment the same; an earlier version's digest too."""
    import json

    import yaml
    from helpers import scenario_file

    from tmpsim.experiments.experiment import load_experiment
    from tmpsim.experiments.spec import spec_fingerprint

    data = yaml.safe_load(scenario_file("mini").read_text(encoding="utf-8"))
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    spec = {"name": "e", "scenario": str(path), "seeds": 2, "scale": 0.05, "posterior": False}
    out = tmp_path / "exp"
    assert run_experiment(spec, out, workers=0).ran == 2
    data["sources"]["money"] = "a new source for an old value"
    data["description"] = "said differently"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert run_experiment(spec, out, workers=0).ran == 0
    plan = load_experiment(spec)  # a folder written before: its digest counted the text
    info = json.loads((out / "experiment.json").read_text())
    info["fingerprint"] = spec_fingerprint(plan.spec, plan.scenario, text=True)
    (out / "experiment.json").write_text(json.dumps(info))
    assert run_experiment(spec, out, workers=0).ran == 0
    data["money"]["wage_per_month"] += 1  # a value: another experiment
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(Exception, match="holds a different experiment"):
        run_experiment(spec, out, workers=0)
