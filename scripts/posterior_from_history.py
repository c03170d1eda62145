#!/usr/bin/env python
r"""Write the posterior of one finished generation of an ABC-SMC run from its pyabc database.

Usage (from the repository root)::

    .venv/bin/python scripts/posterior_from_history.py OUT/abc.db japan-titp-covid \
        --holdout-from 2020-01-01 --set calibration.variant.end=2020-01-31 --scale 0.03

``tmpsim calibrate --method abc-smc --out OUT`` keeps every finished generation in
``OUT/abc.db``. When a run is stopped before its last generation (or to look at an earlier one),
this writes ``posterior.parquet``, ``generations.csv`` and ``posterior.png`` of generation ``--t``
(default: the last finished) into the database's folder, with the same metadata as the command
would have written plus ``stopped_after_generation``. Pass the scenario, ``--holdout-from``,
``--set`` and ``--scale`` of the run: they rebuild its parameters and targets (and, with
``calibration.abc.prior_only``, the prior draws of the parameters it did not propose).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import pyabc

from tmpsim.calibration.abc import (
    AbcResult,
    read_history,
    split_prior_only,
    with_prior_draws,
    write_result,
)
from tmpsim.calibration.optimise import _code_version
from tmpsim.calibration.problem import build_problem
from tmpsim.uncertainty.posterior import Posterior


def main(argv: list[str] | None = None) -> int:
    """Read the database, write the posterior of the chosen generation."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("database", type=Path)
    ap.add_argument("scenario")
    ap.add_argument("--holdout-from", type=dt.date.fromisoformat)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--scale", type=float, required=True)
    ap.add_argument("--t", type=int, help="generation (default: the last finished)")
    ap.add_argument("--out", type=Path, help="folder (default: the database's)")
    args = ap.parse_args(argv)
    problem = build_problem(args.scenario, None, args.overrides or None, None, args.holdout_from)
    history = pyabc.History(f"sqlite:///{args.database.resolve()}", create=False)
    population = int(history.get_all_populations().query("t >= 0")["particles"].iloc[0])
    spec, obs = problem.spec, problem.observed
    proposed, held = split_prior_only(problem.parameters, spec.abc.prior_only)
    gens, values, w = read_history(history, proposed, population, args.t)
    values = with_prior_draws(values, problem.parameters, held, spec.seed)
    meta = {
        "scenario": str(problem.raw.get("name", args.scenario)),
        "scenario_file": problem.source,
        "window": [obs["date"].min().date().isoformat(), obs["date"].max().date().isoformat()],
        "holdout_from": spec.holdout_from.isoformat() if spec.holdout_from else None,
        "distance": f"weighted mean over targets of the {spec.loss} relative error",
        "targets": problem.targets,
        "scale": args.scale,
        "overrides": args.overrides,
        "log_parameters": [p.name for p in problem.parameters if p.log],
        "observed": "packaged",
        "code": _code_version(),
        "method": f"abc-smc (pyabc {pyabc.__version__})",
        "generations": len(gens),
        "stopped_after_generation": int(gens["t"].iloc[-1]),
        "population": population,
        "epsilon": [float(e) for e in gens["epsilon"]],
        "evaluations": int(gens["evaluations"].sum()),
        "seed": spec.seed,
        "batch": spec.abc.batch,
        "quantile": spec.abc.quantile,
        "kernel_scaling": spec.abc.kernel_scaling,
        "prior_only": [p.name for p in held],
    }
    post = Posterior(values, w / w.sum(), meta, str(args.database))
    out = args.out or args.database.parent
    out.mkdir(parents=True, exist_ok=True)
    write_result(AbcResult(post, gens), out, problem)
    print(gens.to_string(index=False))
    print(f"wrote {out / 'posterior.parquet'} (generation {meta['stopped_after_generation']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
