"""The closure experiment of docs/origins.md: its tables (Markdown) and its figure.

Runs ``tmpsim.corridors.closure`` on the shipped asia-corridors configuration (open, Japan's
rules only, every destination's rules), prints the entries by destination and year and the
comparison with the sourced intake of 2020-2022, and writes docs/figures/corridors_closure.png.

    .venv/bin/python scripts/corridors_closure.py [--scale 1] [--seed 1] [--figure PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tmpsim.corridors.closure import compare_intake, run_variants, yearly_entries  # noqa: E402
from tmpsim.corridors.config import load_corridors  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LABELS = {"open": "no closures", "closed": "Japan closed only", "all_rules": "all rules"}
# Sourced intake (intake_2020_2022.csv) as thousands a year over its period.
OBSERVED = {
    "Korea EPS": [
        ("2020-01-01", "2020-12-31", 6.7),
        ("2021-01-01", "2021-12-31", 6.5),
        ("2022-01-01", "2022-12-31", 88.1),
    ],
    "Taiwan": [("2020-08-01", "2020-09-30", 160 * 365.25 / 1000)],
    "Japan TITP": [
        ("2020-01-01", "2020-12-31", 83.8),
        ("2021-01-01", "2021-12-31", 23.0),
        ("2022-01-01", "2022-12-31", 179.0),
    ],
    "Hong Kong FDH": [("2020-07-01", "2020-12-31", 38.7), ("2021-01-01", "2021-12-31", 22.4)],
}
SHOWN = ("Japan TITP", "Korea EPS", "Taiwan", "Hong Kong FDH", "Singapore MDW", "Gulf")


def markdown(rows: list[dict], columns: list[str]) -> str:
    """A Markdown table of ``rows``."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = [f"{r[c]:,.0f}" if isinstance(r[c], float) else str(r[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure(runs: dict, path: Path) -> None:
    """Monthly departures (a year's rate) per destination in each variant, 2018-2022."""
    fig, axes = plt.subplots(2, 3, figsize=(12, 6), sharex=True)
    any_run = next(iter(runs.values()))
    t = [i for i, m in enumerate(any_run.months) if m >= dt.date(2018, 1, 1)]
    x = [any_run.months[i] for i in t]
    for ax, dest in zip(axes.flat, SHOWN, strict=True):
        j = any_run.destinations.index(dest)
        for name, run in runs.items():
            y = run.departures[t, :, j].sum(axis=1) * 12 / run.scale / 1000
            ax.plot(x, y, label=LABELS[name], lw=1.4)
        ax.set_title(dest)
        ax.set_ylabel("thousand a year")
        ax.set_ylim(bottom=0)
    for ax, dest in zip(axes.flat, SHOWN, strict=True):
        for a, b, v in OBSERVED.get(dest, []):
            ax.hlines(
                v,
                dt.date.fromisoformat(a),
                dt.date.fromisoformat(b),
                "black",
                lw=3,
                label="sourced",
            )
    legend = {}  # one entry per label over every panel
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=4, frameon=False)
    fig.suptitle("Departures to each destination (model, seed 1) and sourced intake (black)")
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    """Run the variants, print the tables, write the figure."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--figure", type=Path, default=ROOT / "docs/figures/corridors_closure.png")
    args = ap.parse_args()
    cfg = load_corridors("asia-corridors")
    runs = run_variants(cfg, args.scale, args.seed, close=("Japan",))
    yearly = yearly_entries(runs, range(2019, 2023))
    print(markdown(yearly, ["destination", "year", *runs]))
    diversion = []
    for d in cfg.market.destinations:
        rows = [r for r in yearly if r["destination"] == d and r["year"] >= 2020]
        diversion.append(
            {
                "destination": d,
                "Japan closed only": float(np.sum([r["closed"] - r["open"] for r in rows])),
                "all rules": float(np.sum([r["all_rules"] - r["open"] for r in rows])),
            }
        )
    print("\nchange in entries 2020-2022 against no closures\n")
    print(markdown(diversion, ["destination", "Japan closed only", "all rules"]))
    print(
        "\n"
        + markdown(
            compare_intake(runs), ["destination", "indicator", "period", "unit", "observed", *runs]
        )
    )
    figure(runs, args.figure)
    print(f"\nfigure: {args.figure}")


if __name__ == "__main__":
    main()
