"""Benchmark: an experiment sweep on 1 and 2 local workers, and the per-run scheduling overhead.

    .venv/bin/python benchmarks/experiments.py          # 40 runs at scale 0.1, 1 and 2 workers
    .venv/bin/python benchmarks/experiments.py --scale 0.01 --runs 8 --dask

To time committed code while others edit the tree, run it from a snapshot:
``git archive HEAD | tar -x -C /tmp/snap && PYTHONPATH=/tmp/snap/src python benchmarks/...``.

Prints a Markdown table and writes benchmarks/results/experiments.json. Figures measured:

- throughput (runs per minute) and speed-up of 2 workers over 1 on the same sweep;
- coordination overhead per run: (elapsed x workers - sum of run wall seconds) / runs, i.e. what
  a run costs beyond the simulation itself (pool start, pickling, writing, catalog);
- scheduler overhead per task: ``map_runs`` on a function that does nothing, on the local pool
  and (with --dask) on a real scheduler + worker started here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tmpsim.experiments import ExperimentDir, map_runs, run_experiment
from tmpsim.experiments.runner import default_workers

HERE = Path(__file__).resolve().parent


def sweep_spec(scale: float, runs: int) -> dict:
    """A grid over outbound seats with enough seeds to make ``runs`` runs (4 points)."""
    points = 4
    return {
        "name": "bench-sweep",
        "scenario": "japan-titp-covid",
        "scale": scale,
        "seed": 2024,
        "seeds": max(1, runs // points),
        "parameters": {"borders.seats_out_per_day": {"values": [500, 1500, 3000, 5000]}},
        "outputs": {"series": ["stranded", "destitute", "jobless", "employed"]},
    }


def timed_sweep(spec: dict, workers: int, root: Path) -> dict:
    out = root / f"w{workers}"
    t0 = time.perf_counter()
    report = run_experiment(spec, out, workers=workers)
    elapsed = time.perf_counter() - t0
    n = report.ran
    recs = ExperimentDir(out).records().values()
    cpu = sum(r["cpu_seconds"] for r in recs)
    return {
        "workers": workers,
        "runs": n,
        "failed": report.counts.failed,
        "elapsed_s": round(elapsed, 2),
        "runs_per_min": round(60 * n / elapsed, 2),
        "mean_run_s": round(report.run_seconds / n, 3),
        "mean_run_cpu_s": round(cpu / n, 3),
        "overhead_per_run_s": round((elapsed * workers - report.run_seconds) / n, 3),
        "dataset_mb": round(
            sum(p.stat().st_size for p in (out / "series").rglob("*.parquet")) / 1e6, 2
        ),
    }


def task_overhead(n: int, workers: int | None = None, scheduler: str | None = None) -> float:
    """Seconds per task of map_runs on a no-op (includes starting the pool or connecting)."""
    t0 = time.perf_counter()
    # abs of a non-negative int: a builtin, so a Dask worker can unpickle it without our code.
    assert map_runs(abs, range(n), workers=workers, scheduler=scheduler) == list(range(n))
    return (time.perf_counter() - t0) / n


def dask_overhead(n: int) -> float:
    """Per-task overhead on a real `dask scheduler` + one `dask worker` started here."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bindir = Path(sys.executable).parent
    addr = f"tcp://127.0.0.1:{port}"
    procs = [
        subprocess.Popen(
            [
                bindir / "dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        procs.append(
            subprocess.Popen(
                [
                    bindir / "dask",
                    "worker",
                    addr,
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--no-nanny",
                ],
                stderr=subprocess.DEVNULL,
            )
        )
        from dask.distributed import Client

        with Client(addr, timeout="60s") as client:
            client.wait_for_workers(1, timeout=120)
        return task_overhead(n, scheduler=addr)
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dask", action="store_true", help="Also time a real Dask scheduler.")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "experiments.json")
    args = ap.parse_args()

    spec = sweep_spec(args.scale, args.runs)
    root = Path(tempfile.mkdtemp(prefix="tmpsim-bench-"))
    load0 = os.getloadavg()
    try:
        rows = []
        for w in args.workers:
            rows.append(timed_sweep(spec, w, root))
            print(json.dumps(rows[-1]), flush=True)  # a figure per sweep, as it lands
        overhead = {"local_pool_s": round(task_overhead(200, workers=2), 5)}
        if args.dask:
            overhead["dask_s"] = round(dask_overhead(200), 5)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load1 = os.getloadavg()
    base = next((r for r in rows if r["workers"] == 1), rows[0])["runs_per_min"]
    for r in rows:
        r["speedup"] = round(r["runs_per_min"] / base, 2)
    result = {
        "scale": args.scale,
        "cpus_usable": default_workers(),
        "sweeps": rows,
        "noop_task_overhead": overhead,
        "load_average_before_after": [round(load0[0], 2), round(load1[0], 2)],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"scale {args.scale}, {rows[0]['runs']} runs, {default_workers()} usable CPUs, "
        f"load average {load0[0]:.1f} -> {load1[0]:.1f}"
    )
    print(
        "| workers | elapsed s | runs/min | speed-up | mean run wall s | mean run CPU s "
        "| overhead/run s |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['workers']} | {r['elapsed_s']} | {r['runs_per_min']} | {r['speedup']} | "
            f"{r['mean_run_s']} | {r['mean_run_cpu_s']} | {r['overhead_per_run_s']} |"
        )
    print("no-op task overhead (s/task):", overhead)


if __name__ == "__main__":
    main()
