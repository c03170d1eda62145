"""Cost of the asia-corridors run at two scales, as a ratio to the reference loop of the same run.

Each measurement is a fresh interpreter doing what ``tmpsim corridors run --scale S --out TMP``
does (load the configuration and its border rules, run with the spin-up, write both Parquet
files), timed whole with its peak resident memory, and reporting its simulation seconds. The
reference loop ``numpy_life.py 400000 365`` is timed in a fresh interpreter in the same
invocation, before and after, and the ratio uses their mean.

    .venv/bin/python benchmarks/corridors.py [--scales 0.25 1.0] [--reference PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _bench import _spawn, machine, machine_table, table

REFERENCE = Path("/work/shared/bench/numpy_life.py")


def reference_seconds(path: Path) -> float:
    """Wall seconds of ``numpy_life.py 400000 365`` in a fresh interpreter."""
    return _spawn([sys.executable, str(path), "400000", "365"], timeout=600).wall


CHILD = """
import json, sys
from tmpsim.corridors.config import load_corridors, with_all_rules
from tmpsim.corridors.simulate import simulate
from tmpsim.corridors.tables import write_outputs
cfg = load_corridors("asia-corridors")
run = simulate(with_all_rules(cfg), float(sys.argv[1]), int(sys.argv[2]))
write_outputs(run, sys.argv[3])
print(json.dumps({"simulate": run.wall_seconds}))
"""


def corridors_run(scale: float, seed: int = 1) -> dict[str, float]:
    """One run at ``scale``: whole wall and CPU seconds, simulation seconds, peak MiB."""
    with tempfile.TemporaryDirectory(prefix="tmpsim-bench-corridors-") as tmp:
        cmd = [sys.executable, "-c", CHILD, repr(scale), str(seed), tmp]
        child = _spawn(cmd, timeout=600)
    return {
        "scale": scale,
        "wall": child.wall,
        "cpu": child.cpu,
        "simulate": child.report["simulate"],
        "peak_mib": child.max_rss_mib,
    }


def main() -> None:
    """Measure and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.25, 1.0])
    ap.add_argument("--reference", type=Path, default=REFERENCE)
    args = ap.parse_args()
    ref_before = reference_seconds(args.reference)
    runs = [corridors_run(s) for s in args.scales]
    ref_after = reference_seconds(args.reference)
    ref = (ref_before + ref_after) / 2
    print(machine_table(machine()))
    print(
        f"\nreference loop: {ref_before:.2f} s before, {ref_after:.2f} s after, mean {ref:.2f} s\n"
    )
    rows = [
        [
            f"{r['scale']:g}",
            f"{r['wall']:.2f}",
            f"{r['wall'] / ref:.3f}",
            f"{r['simulate']:.2f}",
            f"{r['simulate'] / ref:.3f}",
            f"{r['cpu']:.2f}",
            f"{r['peak_mib']:.0f}",
        ]
        for r in runs
    ]
    header = ["scale", "command s", "/ reference", "simulate s", "/ reference", "CPU s", "peak MiB"]
    print(table(header, rows))


if __name__ == "__main__":
    main()
