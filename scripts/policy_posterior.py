#!/usr/bin/env python
r"""The policy levers the essay raises, on the flagship, over parameter sets drawn from a posterior.

Usage (from the repository root)::

    .venv/bin/python scripts/policy_posterior.py --draws 20 --scale 0.25 \
        --posterior docs/calibration/posterior-2019/posterior.parquet --out runs/policy-posterior
    .venv/bin/python scripts/policy_posterior.py --out runs/policy-posterior --report docs/analyses

Draw ``k`` (k = 1..N) takes the parameter set ``draw_indices(posterior, N, seed)[k-1]`` (by weight,
from the experiment seed's ``posterior-draws`` stream) and the simulation seed ``k``; the base and
every lever run with that set and that seed (common random numbers), so each draw gives one
paired difference that carries both parameter and seed uncertainty. ``runs.csv`` gains one draw's
rows at a time (a rerun skips the draws already there). ``--report`` writes the table
(``policy_posterior.csv`` and ``.md``) and one figure per question (``policy_posterior_*.png``).

The intervals are :func:`tmpsim.policy.compare.paired_effect`'s (percentile bootstrap over draws,
clipped to what is possible, a relative change only where the base supports one, a note below
10 draws). "Robust" means at least 90% of the draws' differences have the sign of the mean; a
lever whose draws split both ways by more than that "flips sign" across the posterior.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from tmpsim.policy.compare import measure, paired_effect  # noqa: E402
from tmpsim.policy.levers import apply_levers  # noqa: E402
from tmpsim.results import metric_arrays  # noqa: E402
from tmpsim.scenario import load_scenario  # noqa: E402
from tmpsim.scenario.loader import load_raw  # noqa: E402
from tmpsim.scenario.paths import crop_window  # noqa: E402
from tmpsim.simulation import Simulation  # noqa: E402
from tmpsim.uncertainty.posterior import (  # noqa: E402
    draw_indices,
    load_posterior,
    overrides_for,
    scenario_posterior,
)

SCENARIO = "japan-titp-covid"
LEVERS: dict[str, dict[str, object]] = {
    "welfare_eligible": {"welfare_eligible": True},
    "free_job_change": {"free_job_change": True},
    "no_recruitment_fees": {"worker_fee_share": 0.0},
    "charter_flights=300": {"charter_flights": 300},
    "proactive_supervision=0.8": {"proactive_supervision": 0.8},
    "own_language_info": {"own_language_info": True},
    "stay_cap_years=3": {"stay_cap_years": 3},
    "remove_stay_cap=0.5": {"remove_stay_cap": 0.5},
    "status_change=0.5": {"status_change": 0.5},
}
"""The levers of ``tmpsim levers`` the essay raises, at the values docs/analyses.md discusses."""
END = "2022-12-31"
"""The runs stop at the end of the observed years (the essay's period); figures cover 2017-2022."""
FIGURES: dict[str, tuple[str, bool]] = {
    "peak_stranded": ("peak stranded (people)", True),
    "person_days_stranded": ("person-days stranded", True),
    "peak_destitute": ("peak destitute (people)", True),
    "unmet_shelter_nights": ("unmet shelter need (person-nights)", True),
    "mean_debt_at_return": ("mean debt at return (yen)", False),
    "missing": ("runaways (left the employer)", True),
}
"""Figure key -> (label, a count scaled from agents)."""
ROBUST = 0.9


def log(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def figures_of(sim: Simulation) -> dict[str, float]:
    """The compared figures of one run (full-population scale)."""
    arrays = metric_arrays(sim)
    out = {k: v for k, v in measure(sim, None, arrays).items() if k in FIGURES}
    out["unmet_shelter_nights"] = float(np.nansum(arrays["unmet_shelter_need"]) / sim.scale)
    return out


def run_draws(
    path: Path,
    args: argparse.Namespace,
    levers: dict[str, dict[str, object]],
    end: str,
    rows_of: Callable[[int, int, str, Simulation], list[dict[str, object]]],
) -> None:
    """Run the draws of ``path``'s posterior not yet in runs.csv, the base and levers paired.

    Draw ``k`` takes row ``draw_indices(posterior, args.draws, args.seed)[k-1]`` and seed ``k``;
    ``rows_of(k, row, variant, sim)`` gives a finished run's rows, and each draw's rows are
    appended when the draw is done (a rerun skips the draws already there).
    """
    raw, _ = load_raw(SCENARIO)
    params = load_scenario(SCENARIO).calibration.parameters
    post = load_posterior(path, params)
    cropped, _ = crop_window(raw, None, end)
    rows = draw_indices(post, args.draws, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs_csv = out / "runs.csv"
    done = set(pd.read_csv(runs_csv)["draw"]) if runs_csv.exists() else set()
    for k in range(1, args.draws + 1):
        if k in done:
            continue
        row = int(rows[k - 1])
        base = load_scenario(cropped, overrides_for(post.row(row), params, raw))
        records = []
        for label, lever in {"base": {}, **levers}.items():
            t0 = time.perf_counter()
            sc = base if not lever else apply_levers(base, lever)
            sim = Simulation(sc, seed=k, scale=args.scale).run()
            records += rows_of(k, row, label, sim)
            log(f"draw {k} ({row}) {label}: {time.perf_counter() - t0:.1f} s")
            del sim
        frame = pd.DataFrame(records)
        frame.to_csv(runs_csv, mode="a", header=not runs_csv.exists(), index=False)


def flagship_posterior() -> Path:
    """The posterior file the flagship names."""
    found = scenario_posterior(SCENARIO)
    if found is None:
        raise SystemExit(f"{SCENARIO} names no posterior: give --posterior FILE")
    return found


def run(args: argparse.Namespace) -> None:
    """Run the draws not yet in ``runs.csv``; append each draw's rows when it is done."""
    path = Path(args.posterior) if args.posterior else flagship_posterior()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "settings.txt").write_text(
        f"posterior {path}\ndraws {args.draws}\nseed {args.seed}\nscale {args.scale}\n",
        encoding="utf-8",
    )

    def rows_of(k: int, row: int, label: str, sim: Simulation) -> list[dict[str, object]]:
        return [
            {"draw": k, "row": row, "seed": k, "variant": label, "metric": m, "value": v}
            for m, v in figures_of(sim).items()
        ]

    run_draws(path, args, LEVERS, END, rows_of)


def by_variant(runs: pd.DataFrame) -> pd.DataFrame:
    """runs.csv with a column per variant (the base and each lever), a row per draw and figure."""
    return runs.pivot_table(index=["draw", "metric"], columns="variant", values="value")


def effects(wide: pd.DataFrame, scale: float) -> pd.DataFrame:
    """The paired effect of each lever on each figure over the draws of ``by_variant``'s table."""
    table = []
    for metric, (label, count) in FIGURES.items():
        sel = wide.xs(metric, level="metric")
        for lever in LEVERS:
            if lever not in sel:
                continue
            b, v = sel["base"].to_numpy(), sel[lever].to_numpy()
            e = paired_effect(b, v, scale=scale, count=count)
            d = v - b
            sign = np.sign(e.difference)
            share = float(np.mean(np.sign(d) == sign)) if sign else float(np.mean(d == 0))
            verdict = (
                "no effect"
                if np.all(d == 0)
                else "robust"
                if share >= ROBUST
                else "flips sign"
                if (d > 0).any() and (d < 0).any()
                else "one sign (some draws 0)"
            )
            table.append(
                {
                    "metric": metric,
                    "label": label,
                    "lever": lever,
                    "draws": len(d),
                    "base": e.base,
                    "difference": e.difference,
                    "low": e.low,
                    "high": e.high,
                    "relative": e.relative,
                    "rel_low": e.rel_low,
                    "rel_high": e.rel_high,
                    "draws_same_sign": share,
                    "verdict": verdict,
                    "note": e.note,
                }
            )
    return pd.DataFrame(table)


def report(args: argparse.Namespace) -> pd.DataFrame:
    """The table of paired effects over draws, and one figure per question."""
    runs = pd.read_csv(Path(args.out) / "runs.csv")
    wide = by_variant(runs)
    draws = sorted(runs["draw"].unique())
    frame = effects(wide, args.scale)
    rep = Path(args.report)
    rep.mkdir(parents=True, exist_ok=True)
    frame.to_csv(rep / "policy_posterior.csv", index=False)
    (rep / "policy_posterior.md").write_text(markdown(frame, len(draws)), encoding="utf-8")
    for metric, (label, _) in FIGURES.items():
        sel = wide.xs(metric, level="metric")
        fig, ax = plt.subplots(figsize=(7.5, 4.2))
        levers = [lv for lv in LEVERS if lv in sel]
        for i, lever in enumerate(levers):
            d = (sel[lever] - sel["base"]).to_numpy()
            ax.scatter(
                d, np.full(d.size, i) + np.linspace(-0.2, 0.2, d.size), s=9, color="0.6", zorder=2
            )
            r = frame[(frame.metric == metric) & (frame.lever == lever)].iloc[0]
            ax.errorbar(
                r.difference,
                i,
                xerr=[[r.difference - r.low], [r.high - r.difference]],
                fmt="o",
                color="C3" if r.verdict == "flips sign" else "C0",
                zorder=3,
            )
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(range(len(levers)), levers)
        ax.invert_yaxis()
        ax.set_xlabel(f"lever - base, {label}")
        ax.set_title(
            f"{label}: mean paired difference and 95% interval\n"
            f"over {len(draws)} posterior draws (grey: each draw; red: the draws split in sign)",
            fontsize=9,
        )
        fig.tight_layout()
        fig.savefig(rep / f"policy_posterior_{metric}.png", dpi=110)
        plt.close(fig)
    return frame


def samples(folders: list[Path], scale: float) -> tuple[pd.DataFrame, list[str]]:
    """How far the verdicts hold from one sample of draws to another.

    Each folder holds one sample's runs.csv (another ``--seed``: other parameter sets, the
    same simulation seeds). Returns one row per lever and figure with each sample's mean
    difference, interval, share of draws with its sign and verdict, and the summary's lines.
    """
    tables = []
    for i, folder in enumerate(folders, start=1):
        t = effects(by_variant(pd.read_csv(Path(folder) / "runs.csv")), scale)
        keep = ["difference", "low", "high", "relative", "draws_same_sign", "verdict"]
        tables.append(t.set_index(["metric", "lever"])[keep].add_suffix(f"_{i}"))
    wide = pd.concat(tables, axis=1, join="inner").reset_index()
    k = len(folders)

    def each(column: str) -> pd.DataFrame:
        """The column of every sample, side by side."""
        return wide[[f"{column}_{i}" for i in range(1, k + 1)]]

    verdicts = each("verdict")
    diffs, lows, highs = (each(c).to_numpy() for c in ("difference", "low", "high"))
    same_verdict = verdicts.nunique(axis=1) == 1
    no_effect = (verdicts == "no effect").all(axis=1)
    signs = np.sign(diffs)
    same_sign = (signs == signs[:, :1]).all(axis=1)
    excludes = (lows > 0) | (highs < 0)
    firm = excludes.all(axis=1)
    robust = verdicts == "robust"
    wide["same_verdict"] = same_verdict
    wide["same_sign"] = same_sign
    lines = [
        f"{len(wide)} pairs of lever and figure over {k} samples of draws: the same verdict in all "
        f"for {int(same_verdict.sum())} ({int(no_effect.sum())} with no effect in any sample); "
        f"the same sign of the mean for {int(same_sign[~no_effect].sum())} of the other "
        f"{int((~no_effect).sum())}.",
        f"{int(firm.sum())} intervals exclude zero in every sample, "
        f"{int((firm & ~same_sign).sum())} of them changing sign between samples.",
        f"{int(robust.all(axis=1).sum())} effects are robust in every sample, "
        f"{int((robust.any(axis=1) & ~robust.all(axis=1)).sum())} in some but not all:",
    ]
    for r in wide[robust.any(axis=1) & ~robust.all(axis=1)].itertuples():
        shares = ", ".join(f"{getattr(r, f'draws_same_sign_{i}'):.0%}" for i in range(1, k + 1))
        rels = [x for i in range(1, k + 1) if np.isfinite(x := getattr(r, f"relative_{i}"))]
        change = f"{min(rels):+.0%} to {max(rels):+.0%}" if rels else "no change in %"
        if 0 < len(rels) < k:
            change += f" (in % in {len(rels)} of the samples)"
        lines.append(f"- {r.lever} on {r.metric}: {change}; draws with the sign {shares}")
    return wide, lines


def _num(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def markdown(frame: pd.DataFrame, n: int) -> str:
    """The table for docs/analyses.md."""
    lines = [
        f"{n} posterior draws (each with its own seed, base and lever paired on it).",
        "",
        "| figure | lever | base | lever − base [95%] | change [95%] | draws with this sign |"
        " verdict | note |",
        "|---|---|---:|---|---|---:|---|---|",
    ]
    for r in frame.itertuples():
        rel = (
            f"{r.relative:+.0%} [{r.rel_low:+.0%}, {r.rel_high:+.0%}]"
            if np.isfinite(r.relative)
            else "-"
        )
        lines.append(
            f"| {r.label} | `{r.lever}` | {_num(r.base)} | {_num(r.difference)} "
            f"[{_num(r.low)}, {_num(r.high)}] | {rel} | {r.draws_same_sign:.0%} | {r.verdict} | "
            f"{r.note if isinstance(r.note, str) else ''} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: run the draws, then (with --report) write the table and figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posterior", help="posterior file (default: the flagship's)")
    ap.add_argument("--draws", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1, help="experiment seed of the draws")
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--out", default="runs/policy-posterior")
    ap.add_argument("--report", help="write the table and figures to this folder")
    ap.add_argument("--no-run", action="store_true", help="only the report")
    ap.add_argument(
        "--samples",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="compare the verdicts of several samples' runs (each DIR an --out of its own "
        "--seed); writes policy_posterior_samples.csv to --report",
    )
    args = ap.parse_args(argv)
    if args.draws < 1:
        ap.error("--draws must be at least 1")
    if args.samples:
        if len(args.samples) < 2:
            ap.error("--samples needs at least two folders")
        wide, lines = samples(args.samples, args.scale)
        if args.report:
            Path(args.report).mkdir(parents=True, exist_ok=True)
            wide.to_csv(Path(args.report) / "policy_posterior_samples.csv", index=False)
        print("\n".join(lines))
        return 0
    if not args.no_run:
        run(args)
    if args.report:
        frame = report(args)
        print(markdown(frame, int(frame["draws"].max())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
