"""Benchmark: a 40-run ensemble on a real Dask cluster with 1 and with 2 workers, alternately.

    .venv/bin/python benchmarks/dask_workers.py                 # flagship, 40 runs, scale 0.02
    .venv/bin/python benchmarks/dask_workers.py --scale 0.1 --rounds 3

Each round starts ``dask scheduler`` and ``dask worker --nworkers K --nthreads 1`` on 127.0.0.1,
runs the same ensemble (``run_experiment`` with the scheduler's address) into a fresh folder,
and stops the cluster; rounds alternate K = 1, 2, 2, 1, ... so that a change of the machine's
load during the measurement hits both. Cluster start-up is not timed. The load average before
each round and the runs' CPU seconds (measured inside the workers) are recorded next to the
elapsed time: on a shared machine the speed-up says more about the other users than about the
code. Writes benchmarks/results/dask_workers.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tmpsim.experiments import ExperimentDir, run_experiment

HERE = Path(__file__).resolve().parent


def ensemble(scale: float, runs: int) -> dict:
    """The flagship, one point, ``runs`` seeds."""
    return {
        "name": "bench-dask",
        "scenario": "japan-titp-covid",
        "scale": scale,
        "seed": 16,
        "seeds": runs,
        "outputs": {"series": ["stranded", "destitute", "jobless", "employed"]},
    }


def start_cluster(workers: int) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler and ``workers`` single-threaded worker processes on 127.0.0.1."""
    from dask.distributed import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bindir = Path(sys.executable).parent
    addr = f"tcp://127.0.0.1:{port}"
    scheduler = [bindir / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port)]
    procs = [subprocess.Popen([*scheduler, "--no-dashboard"], stderr=subprocess.DEVNULL)]
    worker = [bindir / "dask", "worker", addr, "--nworkers", str(workers), "--nthreads", "1"]
    procs.append(
        subprocess.Popen(
            [*worker, "--no-dashboard", "--host", "127.0.0.1"], stderr=subprocess.DEVNULL
        )
    )
    with Client(addr, timeout="60s") as client:
        client.wait_for_workers(workers, timeout=180)
    return addr, procs


def stop_cluster(procs: list[subprocess.Popen]) -> None:
    """Stop the worker then the scheduler (only the processes this script started)."""
    for p in reversed(procs):
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def timed_round(spec: dict, workers: int, root: Path, index: int) -> dict:
    """Run the ensemble once on a fresh cluster of ``workers`` workers."""
    addr, procs = start_cluster(workers)
    try:
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        report = run_experiment(spec, root / f"round{index}-w{workers}", scheduler=addr)
        elapsed = time.perf_counter() - t0
    finally:
        stop_cluster(procs)
    recs = ExperimentDir(root / f"round{index}-w{workers}").records().values()
    return {
        "round": index,
        "workers": workers,
        "runs": report.ran,
        "failed": report.counts.failed,
        "elapsed_s": round(elapsed, 2),
        "run_wall_s": round(sum(r["wall_seconds"] for r in recs), 2),
        "run_cpu_s": round(sum(r["cpu_seconds"] for r in recs), 2),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def where_the_rest_goes(rows: list[dict]) -> dict:
    """Split the gap between the speed-up and 2.0 into its parts (means over rounds).

    * the runs' own slowdown: a run's wall and CPU time with 2 workers over 1 (two runs share
      the memory bus and caches, and a busy machine gives each less CPU);
    * the time outside the runs: elapsed minus the runs' wall time per worker (scheduling,
      moving results, writing the folder, a worker idle at the end of the ensemble);
    * the speed-up the runs would give if they did not slow each other down.
    """

    def mean(key: str, k: int) -> float:
        vals = [r[key] for r in rows if r["workers"] == k]
        return sum(vals) / len(vals)

    wall1, wall2 = mean("run_wall_s", 1), mean("run_wall_s", 2)
    outside1 = mean("elapsed_s", 1) - wall1
    outside2 = mean("elapsed_s", 2) - wall2 / 2
    return {
        "run_wall_ratio": round(wall2 / wall1, 3),
        "run_cpu_ratio": round(mean("run_cpu_s", 2) / mean("run_cpu_s", 1), 3),
        "outside_runs_s_1": round(outside1, 2),
        "outside_runs_s_2": round(outside2, 2),
        "speedup_without_slowdown": round(mean("elapsed_s", 1) / (wall1 / 2 + outside2), 3),
    }


def main() -> None:
    """Alternate 1 and 2 workers; print the table and the speed-up."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.02)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=2, help="Rounds of each worker count.")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "dask_workers.json")
    args = ap.parse_args()
    spec = ensemble(args.scale, args.runs)
    order = [[1, 2], [2, 1]] * args.rounds
    counts = [k for pair in order[: args.rounds] for k in pair]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, k in enumerate(counts):
            rows.append(timed_round(spec, k, Path(tmp), i))
            print(rows[-1], flush=True)
    one = [r["elapsed_s"] for r in rows if r["workers"] == 1]
    two = [r["elapsed_s"] for r in rows if r["workers"] == 2]
    speedup = (sum(one) / len(one)) / (sum(two) / len(two))
    rest = where_the_rest_goes(rows)
    result = {
        "scale": args.scale,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "rounds": rows,
        "speedup_2_over_1": round(speedup, 3),
        "where_the_rest_goes": rest,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print("| round | workers | elapsed s | Σ run wall s | Σ run CPU s | load before |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['round']} | {r['workers']} | {r['elapsed_s']} | {r['run_wall_s']} | "
            f"{r['run_cpu_s']} | {r['load_before']} |"
        )
    print(f"speed-up of 2 workers over 1: {speedup:.2f}x")
    print(
        f"per run, 2 workers against 1: wall x{rest['run_wall_ratio']}, CPU "
        f"x{rest['run_cpu_ratio']} (the runs slow each other down: shared memory bandwidth and "
        "caches, other users); outside the runs (scheduling, serialisation, writing results): "
        f"{rest['outside_runs_s_1']} s with 1 worker, {rest['outside_runs_s_2']} s with 2; "
        f"the speed-up if the runs did not slow each other: {rest['speedup_without_slowdown']}x"
    )


if __name__ == "__main__":
    main()
