"""Experiments on a real Dask cluster: a scheduler and two workers on 127.0.0.1, one killed."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from pandas.testing import assert_frame_equal
from test_experiments_support import (
    DASK,
    TMPSIM,
    assert_each_run_once,
    free_port,
    results,
    write_sweep,
)

from tmpsim.experiments import map_runs, run_experiment

pytestmark = pytest.mark.dask

N_RUNS = 20


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen
    workers: dict[str, subprocess.Popen]
    """Worker name -> its process (no nanny: killing it kills the worker)."""


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture
def cluster(tmp_path) -> Cluster:
    """A `dask scheduler` and two single-threaded `dask worker` processes, stopped afterwards."""
    from dask.distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        log = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [DASK, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            start_new_session=True,
        )
        log.close()
        procs.append(proc)
        return proc

    try:
        scheduler = start(
            "scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"
        )
        workers = {
            name: start(
                name,
                "worker",
                address,
                "--name",
                name,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
                "--memory-limit",
                "0",
            )
            for name in ("w0", "w1")
        }
        with Client(address, timeout="120s", set_as_default=False) as client:
            client.wait_for_workers(2, timeout=180)
        yield Cluster(address, scheduler, workers)
    finally:
        for proc in reversed(procs):
            stop(proc)


def worker_address(client, name: str) -> str:
    for addr, info in client.scheduler_info(n_workers=-1)["workers"].items():
        if info["name"] == name:
            return addr
    raise AssertionError(f"no worker {name}")


def test_map_runs_on_the_cluster_keeps_item_order(cluster):
    seen: list[int] = []
    out = map_runs(
        math.factorial,
        range(12),
        scheduler=cluster.address,
        progress=lambda done, total: seen.append(done),
    )
    assert out == [math.factorial(i) for i in range(12)]
    assert seen == list(range(1, 13))


def test_a_worker_killed_mid_sweep_loses_nothing_and_duplicates_nothing(cluster, tmp_path):
    from dask.distributed import Client

    sweep = write_sweep(tmp_path / "exp")
    out = tmp_path / "on-dask"
    proc = subprocess.Popen(
        [
            TMPSIM,
            "experiment",
            "run",
            str(sweep),
            "--out",
            str(out),
            "--scheduler",
            cluster.address,
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    victim = cluster.workers["w0"]
    try:
        with Client(cluster.address, timeout="60s", set_as_default=False) as client:
            addr = worker_address(client, "w0")
            deadline = time.monotonic() + 300
            while True:
                assert time.monotonic() < deadline, "the sweep never got going"
                assert proc.poll() is None, proc.communicate()
                done = list((out / "runs").glob("*.json")) if out.exists() else []
                finished = len(done)
                by_victim = any(
                    json.loads(p.read_text())["worker"].endswith(f":{victim.pid}") for p in done
                )  # run records are written atomically
                if finished >= 3 and by_victim and client.processing(workers=[addr])[addr]:
                    break  # w0 has finished a run and holds another right now
                time.sleep(0.02)
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert finished < N_RUNS, "the kill came too late to test anything"
    assert proc.returncode == 0, stderr
    assert f"{N_RUNS} done, 0 failed, 0 left" in stdout
    assert_each_run_once(out, N_RUNS)
    workers = {json.loads(p.read_text())["worker"] for p in (out / "runs").glob("*.json")}
    assert any(w.endswith(f":{victim.pid}") for w in workers)  # w0 did work before it died
    assert len(workers) == 2

    local = tmp_path / "local"
    run_experiment(sweep, local, workers=2)
    for on_dask, on_local in zip(results(out), results(local), strict=True):
        assert_frame_equal(on_dask, on_local)


def test_ensemble_on_the_cluster(cluster, tmp_path):
    sweep = write_sweep(tmp_path / "exp")
    out = tmp_path / "ensemble"
    proc = subprocess.run(
        [
            TMPSIM,
            "run",
            str(sweep.parent / "tiny.yaml"),
            "--seeds",
            "4",
            "--scale",
            "1",
            "--scheduler",
            cluster.address,
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert_each_run_once(Path(out), 4)
