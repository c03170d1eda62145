"""Before and after: the flagship command of two versions of tmpsim, run alternately.

On a shared machine the load moves a five-second run by several tenths of a second from one
minute to the next; running the two versions in turn, each in a fresh interpreter, exposes both
to the same load. ``--before`` is a git revision, checked out in a temporary worktree and run
from its ``src`` with this environment's Python and libraries; "after" is the working tree.
Each version keeps its own numba cache (beside its sources), warmed by one run first.

    .venv/bin/python benchmarks/alternate.py --before HEAD~3 --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from _bench import reference_seconds  # noqa: E402


def timed_run(src: Path, args: list[str], out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``tmpsim run`` from the sources in ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, "-m", "tmpsim", "run", *args, "--quiet", "--force", "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    """Run both versions alternately and print each one's times and medians."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True, help="git revision to compare with")
    p.add_argument("--runs", type=int, default=5, help="runs of each version")
    p.add_argument("--save", type=Path, default=None, help="also write the figures as JSON here")
    p.add_argument("run_args", nargs="*", default=["japan-titp-covid"], help="tmpsim run args")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tmpsim-alternate-") as tmp:
        tree = Path(tmp) / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.before],
            check=True,
            capture_output=True,
        )
        try:
            versions = {"before": tree / "src", "after": ROOT / "src"}
            for src in versions.values():
                # Both versions start from bytecode, as installed ones do (scripts/setup compiles
                # it; where PYTHONDONTWRITEBYTECODE is set a fresh tree would compile its sources
                # at every start, not the version's own speed).
                subprocess.run([sys.executable, "-m", "compileall", "-qq", str(src)], check=True)
            for src in versions.values():  # warm each version's numba cache
                timed_run(src, [*args.run_args, "--scale", "0.01"], Path(tmp) / "out")
            times: dict[str, list[tuple[float, float]]] = {k: [] for k in versions}
            refs = []
            for _ in range(args.runs):
                refs.append(reference_seconds())
                for name, src in versions.items():
                    times[name].append(timed_run(src, args.run_args, Path(tmp) / "out"))
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                check=False,
                capture_output=True,
            )
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} (1 min); {args.runs} runs of each, alternating")
    ref = statistics.median(refs)
    print(f"reference loop s {', '.join(f'{r:.2f}' for r in refs)}  median {ref:.2f}")
    for name, runs in times.items():
        walls = ", ".join(f"{w:.2f}" for w, _ in runs)
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        ratios = ", ".join(f"{w / r:.2f}" for (w, _), r in zip(runs, refs, strict=True))
        print(f"{name:7s} wall s {walls}  median {wall:.2f}  (CPU median {cpu:.2f})")
        print(f"{'':7s} ratio to the reference loop, run by run {ratios}  median {wall / ref:.2f}x")
    if args.save:
        figures = {
            "before_revision": args.before,
            "run_args": args.run_args,
            "load_average_at_end": list(load),
            "reference_s": refs,
            **{
                name: {
                    "wall_s": [w for w, _ in runs],
                    "cpu_s": [c for _, c in runs],
                    "ratio": [w / r for (w, _), r in zip(runs, refs, strict=True)],
                    "median_wall_s": statistics.median(w for w, _ in runs),
                    "median_cpu_s": statistics.median(c for _, c in runs),
                    "median_ratio": statistics.median(w for w, _ in runs) / ref,
                }
                for name, runs in times.items()
            },
        }
        args.save.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
