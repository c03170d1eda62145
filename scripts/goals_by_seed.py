#!/usr/bin/env python
r"""The calibration window's goals checked on several ensembles that differ only in their seeds.

Usage (from the repository root)::

    .venv/bin/python scripts/goals_by_seed.py --sets 3 --no-posterior --out runs/goals-by-seed
    .venv/bin/python scripts/goals_by_seed.py --sets 3 --out runs/goals-by-seed-posterior

Ensemble ``k`` (k = 1..``--sets``) is ``tmpsim run SCENARIO --seeds N --seed k`` (full scale
unless ``--scale``), then ``tmpsim validate --goals packaged``; a finished ensemble is not run
again. The table printed (and written to ``OUT/goals_by_seed.csv``) gives each goal's value in
each ensemble and how many ensembles meet it. A goal met by one set of seeds and missed by
another is on its edge: the seeds decide it, not the model. ``--no-posterior`` checks the
scenario's written values (the single run's); without it each ensemble draws its parameter sets
from the scenario's posterior, other draws for each seed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd


def _tmpsim(*args: str) -> None:
    """Run a tmpsim command in this interpreter's environment; stop on failure."""
    subprocess.run([sys.executable, "-m", "tmpsim", *args], check=True)


def _ensemble(args: argparse.Namespace, k: int) -> pd.DataFrame:
    """The goals of ensemble ``k``, run and validated if not done already."""
    folder = args.out / f"seed-{k}"
    goals = folder / "goals.csv"
    if not goals.exists():
        run = ["run", args.scenario, "--seeds", str(args.seeds), "--seed", str(k)]
        run += ["--scale", str(args.scale), "--workers", str(args.workers), "--quiet"]
        run += ["--out", str(folder), "--force"]
        run += ["--posterior" if args.posterior else "--no-posterior"]
        _tmpsim(*run)
        _tmpsim("validate", str(folder), "--goals", "packaged")
    table = pd.read_csv(goals)
    table["set"] = k
    return table


def main(argv: list[str] | None = None) -> int:
    """Run the ensembles, print and write the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="japan-titp-covid")
    p.add_argument("--sets", type=int, default=3, help="how many ensembles (seeds 1..N)")
    p.add_argument("--seeds", type=int, default=10, help="runs in each ensemble")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--posterior", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.sets < 2:
        p.error("--sets: give at least 2 ensembles to compare")

    rows = pd.concat([_ensemble(args, k) for k in range(1, args.sets + 1)])
    rows["series"] = rows["indicator"] + " " + rows["origin"].astype(str)
    rows["shown"] = rows.apply(_shown, axis=1)
    wide = rows.pivot_table(
        index=["goal", "series"], columns="set", values="shown", aggfunc="first", sort=False
    )
    wide.columns = [f"seed {k}" for k in wide.columns]
    met = rows.groupby(["goal", "series"], sort=False)["met"].sum().astype(int)
    wide["met by"] = [f"{m} of {args.sets}" for m in met.reindex(wide.index)]
    args.out.mkdir(parents=True, exist_ok=True)
    partial = args.out / "goals_by_seed.csv.partial"
    wide.to_csv(partial)
    partial.replace(args.out / "goals_by_seed.csv")  # whole or not at all
    print(wide.to_string())
    edge = wide[~wide["met by"].isin([f"0 of {args.sets}", f"{args.sets} of {args.sets}"])]
    print(f"\n{len(edge)} of {len(wide)} goals are met by some sets of seeds and not by others")
    return 0


def _shown(row: pd.Series) -> str:
    """A goal's value as its measure states it: a share, or the range of ratios."""
    if row["measure"] == "ratio":
        return f"×{row['ratio_min']:.2f}–{row['ratio_max']:.2f}"
    return f"{row['value']:+.1%}" if row["measure"] == "each" else f"{row['value']:.1%}"


if __name__ == "__main__":
    sys.exit(main())
