#!/usr/bin/env python
r"""Drop parameters from a posterior file, saying why in its metadata.

Usage (from the repository root)::

    .venv/bin/python scripts/posterior_drop.py POSTERIOR.parquet NAME [NAME ...] --why "..."

When a mechanism replaces a free parameter (a dated multiplier, say), the posteriors made before
hold a column the scenario no longer declares, and loading them is an error. Where the column's
marginal was its prior's (the targets did not pin it), dropping it keeps the rest of the sample:
the parameter's new form then takes the scenario's value in every draw, as any declared
parameter a posterior does not hold. The file keeps its weights and other columns unchanged;
its metadata gains ``dropped``: for each name, the column's weighted mean and range, the date,
and the reason.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np

from tmpsim.uncertainty.posterior import Posterior, load_posterior, write_posterior


def main(argv: list[str] | None = None) -> int:
    """Rewrite the posterior without the named columns."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("posterior", type=Path)
    parser.add_argument("names", nargs="+", help="parameter columns to drop")
    parser.add_argument("--why", required=True, help="the reason, kept in the metadata")
    args = parser.parse_args(argv)
    post = load_posterior(args.posterior)
    missing = [n for n in args.names if n not in post.values.columns]
    if missing:
        print(f"{args.posterior}: no parameter column {', '.join(missing)}", file=sys.stderr)
        return 2
    dropped = dict(post.metadata.get("dropped", {}))
    for name in args.names:
        col = post.values[name].to_numpy(dtype=float)
        dropped[name] = {
            "weighted_mean": float(np.dot(col, post.weights)),
            "min": float(col.min()),
            "max": float(col.max()),
            "date": dt.date.today().isoformat(),
            "why": args.why,
        }
    metadata = {**post.metadata, "dropped": dropped}
    values = post.values.drop(columns=args.names)
    write_posterior(Posterior(values, post.weights, metadata, post.source), args.posterior)
    print(f"{args.posterior}: dropped {', '.join(args.names)}; {values.shape[1]} parameters left")
    return 0


if __name__ == "__main__":
    sys.exit(main())
