#!/usr/bin/env python
r"""A posterior's parameter sets run again at another scale, each target's error recorded.

Usage (from the repository root; the ``--set`` flags are those of the calibration's
``command.txt``)::

    .venv/bin/python scripts/posterior_targets.py --scale 1 --workers 2 \
        --set calibration.window.end=2022-12-31 --set calibration.variant.end=2023-01-31 \
        --out docs/calibration/posterior-full/targets-full-scale.csv

Each set of the scenario's posterior (``--posterior`` for another file) runs once at ``--scale``
with its own seed (from ``--seed``'s ``SeedSequence``), and the scenario as written runs with
seeds 1..``--base-seeds``; both are scored by the calibration's loss and by each target's error
(``tmpsim.calibration.optimise.target_errors``). The parameters the posterior leaves out keep
the scenario's values. ``--out`` gets one row per run (``set`` is the posterior's row, -1 for
the scenario as written) and a printed summary: each target's error over the sets (median, 10%
and 90% quantiles) beside the written values' mean.

It answers a question the summed loss hides: which targets the posterior fits better or worse
than the written values, that is what the sets trade against each other.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tmpsim.calibration.abc import ScenarioModel, simulate_proposal
from tmpsim.calibration.optimise import target_errors
from tmpsim.calibration.problem import build_problem
from tmpsim.experiments.runner import map_runs
from tmpsim.uncertainty.posterior import load_posterior, scenario_posterior

SCENARIO = "japan-titp-covid"


def main(argv: list[str] | None = None) -> int:
    """Run the sets, write the table, print the summary."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default=SCENARIO)
    p.add_argument("--posterior", type=Path, default=None, help="default: the scenario's")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=20261207)
    p.add_argument("--base-seeds", type=int, default=4)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)

    found = args.posterior or scenario_posterior(args.scenario)
    if found is None:
        sys.exit(f"{args.scenario} names no posterior: give --posterior FILE")
    post = load_posterior(found)
    problem = build_problem(args.scenario, None, args.overrides, list(post.parameters), None)
    model = ScenarioModel(problem, args.scale)
    sets = post.values.to_dict("records")
    seeds = np.random.SeedSequence(args.seed).generate_state(len(sets))
    base = problem.base_values()
    items = [
        (model, {k: float(v) for k, v in row.items()}, int(s))
        for row, s in zip(sets, seeds, strict=True)
    ] + [(model, base, s) for s in range(1, args.base_seeds + 1)]
    simulated = map_runs(simulate_proposal, items, args.workers, None)

    rows = []
    for k, ((_, _, seed), y) in enumerate(zip(items, simulated, strict=True)):
        y = np.asarray(y, dtype=float)
        row = {"set": k if k < len(sets) else -1, "seed": seed, "loss": model.distance(y)}
        row.update(target_errors(problem, y))
        rows.append(row)
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".partial")
    table.to_csv(partial, index=False, float_format="%.6g")
    partial.replace(args.out)  # whole or not at all

    targets = [c for c in table.columns if c not in ("set", "seed")]
    sets_part, base_part = table[table["set"] >= 0], table[table["set"] < 0]
    summary = pd.DataFrame(
        {
            "sets_median": sets_part[targets].median(),
            "sets_q10": sets_part[targets].quantile(0.1),
            "sets_q90": sets_part[targets].quantile(0.9),
            "written_mean": base_part[targets].mean(),
        }
    )
    print(
        f"{len(sets)} sets and {len(base_part)} runs of the written values at scale "
        f"{args.scale}; errors are relative (RMS over each target's observations)"
    )
    print(summary.round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
