#!/usr/bin/env python
r"""Who stays, bridges or leaves: the flagship's turning-point decisions of 2020-2022, per lever.

Usage (from the repository root)::

    .venv/bin/python scripts/policy_routes.py --draws 10 --scale 0.25 --out runs/policy-routes
    .venv/bin/python scripts/policy_routes.py --out runs/policy-routes --no-run \
        --report docs/analyses

Draw ``k`` (k = 1..N) takes the parameter set ``draw_indices(posterior, N, seed)[k-1]`` of the
flagship's posterior and the simulation seed ``k``; the base and every lever run with that set and
that seed (common random numbers), as in ``scripts/policy_posterior.py``. Each run stops at the end
of 2022 and counts, over 2020-01-01..2022-12-31, the decisions taken at turning points (the daily
metrics ``route_<name>``: contract end, dismissal, a review while stranded, a status running out;
keeping one's place in the return queue is not counted) grouped into ways out (``OUTCOMES``), and
everyone who became irregular by any way (the runaway hazard included). ``runs.csv`` gains one
draw's rows at a time (a rerun skips the draws already there). ``--report`` writes
``policy_routes.csv`` and ``.md`` (paired differences with percentile-bootstrap intervals over
draws, :func:`tmpsim.policy.compare.paired_effect`) and ``policy_routes.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from policy_posterior import LEVERS as ESSAY_LEVERS  # noqa: E402
from policy_posterior import flagship_posterior, run_draws  # noqa: E402

from tmpsim.policy.compare import paired_effect  # noqa: E402
from tmpsim.results import metric_arrays  # noqa: E402
from tmpsim.simulation import Simulation  # noqa: E402

LEVERS: dict[str, dict[str, object]] = {
    name: lever for name, lever in ESSAY_LEVERS.items() if "stay_cap" not in name
}
"""The levers of ``tmpsim levers`` that act on the choices of 2020-2022 (not the stay caps; not
``free_exit``: the flagship's exit needs no sponsor's permission)."""
START, END = "2020-01-01", "2022-12-31"
OUTCOMES: dict[str, tuple[str, ...]] = {
    "went home": ("route_home",),
    "next stage: stage 2": ("route_next_stage_2",),
    "next stage: stage 3": ("route_next_stage_3",),
    "SSW (i)": ("route_specified_skilled_worker_i",),
    "bridge with work": ("route_cannot_return_working",),
    "bridge without work": ("route_cannot_return_idle",),
    "new employer (special route)": ("route_employment_maintenance", "route_other_field_switch"),
    "irregular at a turning point": ("route_irregular",),
    "became irregular (any way)": ("became_irregular",),
}
"""Way out -> the daily metrics summed over 2020-2022."""


def outcomes_of(sim: Simulation) -> dict[str, float]:
    """People (decisions) by way out over 2020-2022, at full-population scale."""
    arrays = metric_arrays(sim)
    start = sim.scenario.day(pd.Timestamp(START).date())
    return {
        name: float(sum(arrays[m][start:].sum() for m in metrics if m in arrays) / sim.scale)
        for name, metrics in OUTCOMES.items()
    }


def run(args: argparse.Namespace) -> None:
    """Run the draws not yet in ``runs.csv``; append each draw's rows when it is done."""

    def rows_of(k: int, row: int, label: str, sim: Simulation) -> list[dict[str, object]]:
        return [
            {"draw": k, "row": row, "variant": label, "outcome": o, "value": v}
            for o, v in outcomes_of(sim).items()
        ]

    run_draws(flagship_posterior(), args, LEVERS, END, rows_of)


def report(args: argparse.Namespace) -> pd.DataFrame:
    """Paired differences by way out and lever; the table and one figure."""
    runs = pd.read_csv(Path(args.out) / "runs.csv")
    wide = runs.pivot_table(index=["draw", "outcome"], columns="variant", values="value")
    table = []
    for outcome in OUTCOMES:
        sel = wide.xs(outcome, level="outcome")
        for lever in LEVERS:
            e = paired_effect(sel["base"].to_numpy(), sel[lever].to_numpy(), scale=args.scale)
            table.append(
                {
                    "outcome": outcome,
                    "lever": lever,
                    "draws": len(sel),
                    "base": e.base,
                    "difference": e.difference,
                    "low": e.low,
                    "high": e.high,
                    "note": e.note,
                }
            )
    frame = pd.DataFrame(table)
    rep = Path(args.report)
    rep.mkdir(parents=True, exist_ok=True)
    frame.to_csv(rep / "policy_routes.csv", index=False)
    (rep / "policy_routes.md").write_text(markdown(frame), encoding="utf-8")
    figure(frame, rep / "policy_routes.png")
    return frame


def figure(frame: pd.DataFrame, path: Path) -> None:
    """Differences (lever - base, thousands) by way out, one row of markers per lever."""
    outcomes = list(OUTCOMES)
    fig, ax = plt.subplots(figsize=(9, 5.2))
    for i, lever in enumerate(LEVERS):
        sel = frame[frame.lever == lever].set_index("outcome").loc[outcomes]
        y = np.arange(len(outcomes)) + (i - len(LEVERS) / 2) * 0.09
        err = [(sel.difference - sel.low) / 1e3, (sel.high - sel.difference) / 1e3]
        ax.errorbar(sel.difference / 1e3, y, xerr=err, fmt="o", ms=3, lw=0.8, label=lever)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(outcomes)), outcomes)
    ax.invert_yaxis()
    ax.set_xlabel("lever − base, thousands of people (decisions) 2020–2022, 95% interval")
    n = int(frame.draws.max())
    title = f"Who stays, bridges or leaves, per lever ({n} posterior draws, paired)"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _num(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{x:,.0f}"


def markdown(frame: pd.DataFrame) -> str:
    """Base and lever − base [95%] by way out (rows) and lever (columns)."""
    levers = list(LEVERS)
    lines = [
        "| 2020–2022 | base | " + " | ".join(f"`{lv}`" for lv in levers) + " |",
        "|---|---:|" + "---|" * len(levers),
    ]
    for outcome in OUTCOMES:
        sel = frame[frame.outcome == outcome].set_index("lever")
        cells = [
            f"{sel.at[lv, 'difference']:+,.0f} [{_num(sel.at[lv, 'low'])}, "
            f"{_num(sel.at[lv, 'high'])}]"
            for lv in levers
        ]
        lines.append(f"| {outcome} | {_num(sel.base.iloc[0])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: run the draws, then (with --report) write the table and the figure."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1, help="experiment seed of the draws")
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--out", default="runs/policy-routes")
    ap.add_argument("--report", help="write the table and the figure to this folder")
    ap.add_argument("--no-run", action="store_true", help="only the report")
    args = ap.parse_args(argv)
    if args.draws < 1:
        ap.error("--draws must be at least 1")
    if not args.no_run:
        run(args)
    if args.report:
        print(markdown(report(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
