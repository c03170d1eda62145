"""A killed ``tmpsim experiment run`` leaves no worker behind (real processes, real signals).

The experiment's model sleeps, so both local workers are mid-run when the coordinator is killed;
only the coordinator is signalled (not its process group), as a scheduler or ``kill PID`` would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from test_experiments_support import TMPSIM

psutil = pytest.importorskip("psutil")

SLOW_MODEL = '''
import time


def slow(parameters, seed):
    """A run that takes a while: the workers are busy when the coordinator is killed."""
    time.sleep(60)
    return {"y": float(seed % 7)}
'''
GONE_WITHIN = 10.0


def start_slow_experiment(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    (tmp_path / "slowmodel.py").write_text(SLOW_MODEL)
    # Registered as a package would register it (experiment files name only registered models).
    dist = tmp_path / "slowmodel-0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: slowmodel\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text("[tmpsim.models]\nslow = slowmodel:slow\n")
    spec = {"name": "slow", "model": "slowmodel:slow", "seeds": 4, "seed": 1}
    (tmp_path / "slow.yaml").write_text(yaml.safe_dump(spec))
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [TMPSIM, "experiment", "run", str(tmp_path / "slow.yaml"), "--out", str(out)]
        + ["--workers", "2", "--quiet"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: cleaned up below whatever happens
    )
    return proc, out


def busy_workers(proc: subprocess.Popen, timeout: float = 120) -> list[psutil.Process]:
    """The coordinator's descendants once the fork server and both workers are up."""
    deadline = time.monotonic() + timeout
    coordinator = psutil.Process(proc.pid)
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if len(coordinator.children(recursive=True)) >= 3:  # fork server + 2 workers
            time.sleep(1.0)  # let both workers pick up a run
            return coordinator.children(recursive=True)
        time.sleep(0.2)
    raise AssertionError("the workers did not start")


def survivors(processes: list[psutil.Process]) -> list[psutil.Process]:
    deadline = time.monotonic() + GONE_WITHIN
    alive = processes
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.2)
    return alive


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_the_coordinator_ends_its_workers(tmp_path: Path, sig: signal.Signals) -> None:
    proc, out = start_slow_experiment(tmp_path)
    processes: list[psutil.Process] = []
    try:
        processes = busy_workers(proc)
        assert len(processes) >= 2, processes
        os.kill(proc.pid, sig)  # the coordinator only
        _, stderr = proc.communicate(timeout=60)
        left = survivors(processes)
        assert left == [], f"still running {GONE_WITHIN} s after {sig.name}: {left}"
    finally:  # whatever happened, nothing this test started outlives it
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for p in processes:
            try:
                p.kill()
            except psutil.Error:
                pass
    if sig == signal.SIGTERM:  # handled as Ctrl-C: a clean stop, a resumable folder
        assert proc.returncode == 143, stderr
        assert "terminated:" in stderr and "resume" in stderr
        assert (out / "catalog.duckdb").is_file()
        assert not list((out / "runs").glob("*.json"))  # nothing half-done counted as done
        info = json.loads((out / "experiment.json").read_text())
        assert info["n_runs"] == 4
