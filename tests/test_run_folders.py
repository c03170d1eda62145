"""Run folders never mix runs, and readers refuse a folder that is incomplete, mixed or damaged.

A run is staged beside its target and renamed into place whole, with run.json (the manifest:
format version, each file's size and SHA-256) written last. These tests write, overwrite, kill
writers mid-way and tamper with folders, then read them with every reader.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import scenario_file, tmpsim_cli, tmpsim_inprocess

import tmpsim
from tmpsim.results import Result
from tmpsim.runfolder import (
    FORMAT_VERSION,
    LegacyRunFolderWarning,
    RunFolderError,
    check_run_folder,
    safe_name,
)

MINI = str(scenario_file("mini"))
RUN_FILES = {
    "series.parquet",
    "summary.json",
    "scenario.yaml",
    "agents.parquet",
    "groups.parquet",
    "run.json",
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "mini"
    tmpsim.run(MINI, seed=2, scale=0.5, out=out)
    return out


def fresh_copy(run_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ---- writing ---------------------------------------------------------------------------------


def test_run_json_is_a_manifest_of_the_files(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["format"] == "tmpsim-run"
    assert manifest["format_version"] == FORMAT_VERSION
    assert set(manifest["files"]) == RUN_FILES - {"run.json"}
    for name, meta in manifest["files"].items():
        assert meta["bytes"] == (run_dir / name).stat().st_size
        assert len(meta["sha256"]) == 64
    assert manifest["seed"] == 2 and manifest["scale"] == 0.5  # the run's description stays
    assert check_run_folder(run_dir)["files"] == manifest["files"]
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES
    assert not [p for p in run_dir.parent.iterdir() if p.name.startswith(".")]  # no staging


def test_a_second_run_into_the_same_folder_is_refused_and_force_replaces_it_whole(
    tmp_path: Path,
) -> None:
    out = tmp_path / "R"
    code, _, err = tmpsim_inprocess("run", MINI, "--scale", "0.5", "--out", str(out), "--quiet")
    assert code == 0, err
    before = snapshot(out)
    args = ("run", MINI, "--scale", "0.5", "--seed", "2", "--no-agents", "--out", str(out))
    code, _, err = tmpsim_inprocess(*args, "--quiet")
    assert code == 2
    assert "already holds a run" in err and "--force" in err
    assert snapshot(out) == before  # nothing touched
    code, _, err = tmpsim_inprocess(*args, "--quiet", "--force")
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == RUN_FILES - {"agents.parquet"}  # seed 1's gone
    assert json.loads((out / "run.json").read_text())["seed"] == 2
    check_run_folder(out)
    assert [p.name for p in tmp_path.iterdir()] == ["R"]  # the replaced run removed


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: p.write_text("x"), "exists and is not a folder"),
        (lambda p: (p.mkdir(), (p / "notes.txt").write_text("mine")), "holding other files"),
        (lambda p: (p.mkdir(), (p / "experiment.json").write_text("{}")), "holds an experiment"),
    ],
    ids=["a file", "a foreign folder", "an experiment folder"],
)
def test_force_never_replaces_what_is_not_a_run(tmp_path: Path, make, words: str) -> None:
    out = tmp_path / "target"
    make(out)
    before = out.read_bytes() if out.is_file() else snapshot(out)
    code, _, err = tmpsim_inprocess("run", MINI, "--scale", "0.5", "--out", str(out), "--force")
    assert code == 2 and words in err
    assert (out.read_bytes() if out.is_file() else snapshot(out)) == before


WRITER = """
import sys, time
import tmpsim
from tmpsim.results import AgentsSnapshot

real = AgentsSnapshot.write
def slow(self, path):
    real(self, path)
    print("written", flush=True)
    time.sleep(60)  # killed here: every file but run.json is staged
AgentsSnapshot.write = slow
tmpsim.run(sys.argv[1], seed=int(sys.argv[3]), scale=0.5, out=sys.argv[2], force=True)
"""


def kill_while_writing(out: Path, seed: int, tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, str(script), MINI, str(out), str(seed)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout.readline().strip() == "written"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)


def test_a_writer_killed_mid_run_leaves_the_old_run_or_nothing(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    kill_while_writing(fresh, 1, tmp_path)
    assert not fresh.exists()  # on a fresh target: no folder at all, not half of one
    existing = tmp_path / "existing"
    tmpsim.run(MINI, seed=1, scale=0.5, out=existing)
    before = snapshot(existing)
    kill_while_writing(existing, 2, tmp_path)
    assert snapshot(existing) == before  # overwriting: seed 1's run, whole
    check_run_folder(existing)
    staged = [p.name for p in tmp_path.iterdir() if p.name.startswith(".existing.partial-")]
    assert len(staged) == 1  # what the killed writer staged is left beside the target...
    tmpsim.run(MINI, seed=2, scale=0.5, out=existing, force=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".existing.")]  # ...till next
    assert json.loads((existing / "run.json").read_text())["seed"] == 2


# ---- default folder names ----------------------------------------------------------------------


def test_default_folder_reflects_overrides_and_is_never_replaced(tmp_path: Path) -> None:
    base = tmpsim_cli("run", MINI, "--scale", "0.5", "--quiet", "--no-agents", cwd=tmp_path)
    assert base.returncode == 0, base.stderr
    variant = tmpsim_cli(
        "run", MINI, "--scale", "0.5", "--quiet", "--no-agents", "--set", "programme.grace_days=30",
        cwd=tmp_path,
    )  # fmt: skip
    assert variant.returncode == 0, variant.stderr
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(folders) == 2 and folders[0] == "mini_seed1_scale0.5"
    assert folders[1].startswith("mini_seed1_scale0.5_") and len(folders[1]) == 28
    again = tmpsim_cli("run", MINI, "--scale", "0.5", "--quiet", cwd=tmp_path)
    assert again.returncode == 2 and "already holds a run" in again.stderr
    assert "Traceback" not in again.stderr


def test_a_scenario_name_cannot_lead_outside_runs(tmp_path: Path) -> None:
    data = yaml.safe_load(Path(MINI).read_text())
    data["name"] = "/tmp/x/../../esc"
    path = tmp_path / "escape.yaml"
    path.write_text(yaml.safe_dump(data))
    proc = tmpsim_cli("run", str(path), "--scale", "0.5", "--quiet", "--no-agents", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["tmp-x-esc_seed1_scale0.5"]
    assert safe_name("..") == "scenario" and safe_name("a/b\\c d") == "a-b-c-d"


def test_run_and_experiment_folders_refuse_each_other(run_dir: Path, tmp_path: Path) -> None:
    from test_experiments_support import write_sweep

    sweep = write_sweep(tmp_path / "sweep", seats=(2,), seeds=1)
    before = snapshot(run_dir)
    proc = tmpsim_cli("experiment", "run", str(sweep), "--out", str(run_dir), "--workers", "0")
    assert proc.returncode == 2 and "holds a run of `tmpsim run`" in proc.stderr
    assert snapshot(run_dir) == before
    exp = tmp_path / "exp"
    assert tmpsim_cli("experiment", "run", str(sweep), "--out", str(exp), "--workers", "0")
    listing = sorted(p.name for p in exp.iterdir())
    proc = tmpsim_cli("run", MINI, "--scale", "0.5", "--out", str(exp), "--force")
    assert proc.returncode == 2 and "holds an experiment" in proc.stderr
    assert sorted(p.name for p in exp.iterdir()) == listing


# ---- reading ---------------------------------------------------------------------------------


def no_manifest(folder: Path) -> None:
    (folder / "run.json").unlink()


def changed_summary(folder: Path) -> None:
    (folder / "summary.json").write_text("{}")


def other_runs_agents(folder: Path) -> None:
    (folder / "agents.parquet").unlink()
    manifest = json.loads((folder / "run.json").read_text())
    del manifest["files"]["agents.parquet"]
    (folder / "run.json").write_text(json.dumps(manifest))
    shutil.copyfile(scenario_file("mini"), folder / "agents.parquet")  # a stray file by name


def same_size_edit(folder: Path) -> None:
    data = bytearray((folder / "series.parquet").read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / "series.parquet").write_bytes(bytes(data))


def newer_format(folder: Path) -> None:
    manifest = json.loads((folder / "run.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (folder / "run.json").write_text(json.dumps(manifest))


BROKEN = {
    "interrupted (no run.json)": (no_manifest, "incomplete run folder: no run.json"),
    "summary replaced": (changed_summary, "summary.json has 2 bytes, run.json says"),
    "another run's agents": (other_runs_agents, "agents.parquet is not part of this run"),
    "one byte changed": (same_size_edit, "series.parquet does not match its SHA-256"),
    "newer format": (newer_format, "written by a newer tmpsim"),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_readers_refuse_a_broken_folder_saying_why(run_dir: Path, tmp_path: Path, kind) -> None:
    breaks, words = BROKEN[kind]
    folder = fresh_copy(run_dir, tmp_path)
    breaks(folder)
    with pytest.raises(RunFolderError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Result.read(folder)
    for command in (["report"], ["plot"], ["validate"], ["forecast"]):
        code, out, err = tmpsim_inprocess(*command, str(folder))
        assert code == 2, (command, out, err)
        assert words in err, (command, err)
    assert not (folder / "report.html").exists() and not (folder / "figures").exists()


def test_result_read_gives_back_the_run(run_dir: Path) -> None:
    again = Result.read(run_dir)
    original = tmpsim.run(MINI, seed=2, scale=0.5)
    assert again.series_table.equals(original.series_table)
    assert again.summary == original.summary
    assert again.seed == 2 and again.scale == 0.5
    assert again.agents_table.num_rows == original.agents_table.num_rows
    assert again.metric("stranded").equals(original.metric("stranded"))


def test_a_folder_of_the_previous_format_is_read_with_a_warning(
    run_dir: Path, tmp_path: Path
) -> None:
    """Earlier releases wrote no manifest: readable, but whether it mixes runs is unknown."""
    folder = fresh_copy(run_dir, tmp_path)
    manifest = json.loads((folder / "run.json").read_text())
    for key in ("format", "format_version", "files"):
        del manifest[key]
    (folder / "run.json").write_text(json.dumps(manifest))
    with pytest.warns(LegacyRunFolderWarning, match="cannot be checked"):
        assert Result.read(folder).summary == Result.read(run_dir).summary
    proc = tmpsim_cli("report", str(folder))  # a real terminal: one plain warning line
    assert proc.returncode == 0, proc.stderr
    assert "warning:" in proc.stderr and "cannot be checked" in proc.stderr
    assert "Traceback" not in proc.stderr and "LegacyRunFolderWarning" not in proc.stderr
    (folder / "summary.json").unlink()  # an incomplete one is still refused
    with pytest.raises(RunFolderError, match="incomplete run folder written by an earlier"):
        check_run_folder(folder)


def test_derived_files_do_not_break_a_run_folder(run_dir: Path, tmp_path: Path) -> None:
    folder = fresh_copy(run_dir, tmp_path)
    code, _, err = tmpsim_inprocess("report", str(folder))
    assert code == 0, err
    code, _, err = tmpsim_inprocess("plot", str(folder))
    assert code == 0, err
    check_run_folder(folder)  # the report and figures are beside the run, not part of it
    assert set(json.loads((folder / "run.json").read_text())["files"]) == RUN_FILES - {"run.json"}
