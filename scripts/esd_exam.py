#!/usr/bin/env python
"""What ESD's exam decides: the Employment for Skill Development scenario at several pass rates.

Usage (from the repository root)::

    .venv/bin/python scripts/esd_exam.py --seeds 10 --scale 0.1 --report docs/analyses

``japan-esd-2027`` runs with ``routes.exam_pass`` at each rate of ``--rates`` on seeds 1..N (the
same seeds for every rate: common random numbers). Counted over 2030-2034, once the starting
stock has worked through (decisions at the turning points and everyone who became irregular),
and at 2034-12-31 (stocks). ``--report`` writes ``esd_exam.csv`` (one row per run) and
``esd_exam.md`` (means over the seeds, and each rate's paired difference from the scenario's
own rate with its percentile-bootstrap interval, :func:`tmpsim.policy.compare.paired_effect`).
Full-population figures (counts divided by the scale).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from tmpsim.policy.compare import paired_effect
from tmpsim.results import metric_arrays
from tmpsim.scenario import load_scenario
from tmpsim.simulation import Simulation

SCENARIO = "japan-esd-2027"
FIRST, LAST = "2030-01-01", "2034-12-31"
FLOWS: dict[str, str] = {
    "went home": "route_home",
    "SSW (i)": "route_specified_skilled_worker_i",
    "fourth year (resits)": "route_next_stage_extension",
    "became irregular (any way)": "became_irregular",
}
"""Figure -> the daily metric summed over 2030-2034."""
STOCKS: dict[str, str] = {
    "holding the status, 2034-12": "programme_stock",
    "irregular, 2034-12": "irregular",
}
"""Figure -> the metric on the last day."""


def one_run(rate: float, seed: int, scale: float) -> dict[str, float]:
    """The figures of one run at pass rate ``rate``."""
    sc = load_scenario(SCENARIO, {"routes.exam_pass": rate})
    sim = Simulation(sc, seed=seed, scale=scale).run()
    m = metric_arrays(sim)
    first, last = sc.day(pd.Timestamp(FIRST).date()), sc.day(pd.Timestamp(LAST).date())
    row: dict[str, float] = {"exam_pass": rate, "seed": seed}
    for label, metric in FLOWS.items():
        row[label] = float(m[metric][first : last + 1].sum()) / scale
    for label, metric in STOCKS.items():
        row[label] = float(m[metric][last].sum()) / scale
    return row


def report(runs: pd.DataFrame, base_rate: float) -> str:
    """Markdown: means by rate, and differences from ``base_rate`` (paired over seeds)."""
    labels = [*FLOWS, *STOCKS]
    base = runs[runs.exam_pass == base_rate].sort_values("seed")
    lines = [
        "| pass rate | " + " | ".join(labels) + " |",
        "|---:|" + "---:|" * len(labels),
    ]
    for rate, group in runs.groupby("exam_pass"):
        group = group.sort_values("seed")
        cells = []
        for label in labels:
            if rate == base_rate:
                cells.append(f"{group[label].mean():,.0f}")
                continue
            e = paired_effect(base[label].to_numpy(), group[label].to_numpy())
            cells.append(f"{e.value:,.0f} ({e.difference:+,.0f} [{e.low:+,.0f}, {e.high:+,.0f}])")
        lines.append(f"| {rate:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the pass rates and print (and with ``--report`` write) the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rates", type=float, nargs="+", default=[0.6, 0.75, 0.9, 1.0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--scale", type=float, default=0.1)
    p.add_argument("--report", type=Path, default=None, help="folder for esd_exam.csv and .md")
    args = p.parse_args(argv)
    base_rate = load_scenario(SCENARIO).routes.exam_pass
    rates = sorted({*args.rates, base_rate})
    rows = []
    for rate in rates:
        for seed in range(1, args.seeds + 1):
            rows.append(one_run(rate, seed, args.scale))
            print(f"pass rate {rate:g}, seed {seed}: done", file=sys.stderr)
    runs = pd.DataFrame(rows)
    table = report(runs, base_rate)
    print(table)
    if args.report is not None:
        args.report.mkdir(parents=True, exist_ok=True)
        runs.to_csv(args.report / "esd_exam.csv", index=False)
        (args.report / "esd_exam.md").write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
