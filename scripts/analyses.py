#!/usr/bin/env python
"""Regenerate the figures and tables of docs/analyses.md (the essay's four questions).

Usage (from the repository root)::

    .venv/bin/python scripts/analyses.py q1 --seeds 10 --scale 0.01          # q1 to q4 alike
    .venv/bin/python scripts/analyses.py calibration --seeds 3 --scale 0.1   # the programmes' fit

Each question writes ``docs/analyses/qN_*.png``, ``qN.csv`` (per-seed figures) and ``qN.md`` (the
tables pasted into docs/analyses.md) and prints the tables. Runs are sequential; every variant of
a question runs on the same seeds as its base (common random numbers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from tmpsim.grouping import group_table  # noqa: E402
from tmpsim.model.money import DAYS_PER_MONTH  # noqa: E402
from tmpsim.policy.compare import METRICS, compare, mean_interval, paired_effect  # noqa: E402
from tmpsim.policy.levers import apply_levers  # noqa: E402
from tmpsim.policy.shocks import standard_shock, without_shocks  # noqa: E402
from tmpsim.results import metric_arrays  # noqa: E402
from tmpsim.scenario import Scenario, load_scenario  # noqa: E402
from tmpsim.simulation import Simulation  # noqa: E402
from tmpsim.validation.observed import packaged_observed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "analyses"
YEAR = 365.25


def log(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


@dataclass
class Programme:
    """A programme of the comparison: its shipped files and the day its shock starts."""

    label: str
    base: str
    covid: str
    shock: dt.date


PROGRAMMES = [
    Programme("Japan TITP", "japan-titp-covid", "japan-titp-covid", dt.date(2020, 4, 1)),
    Programme("Japan ESD 2027", "japan-esd-2027", "japan-esd-2027-covid", dt.date(2030, 4, 1)),
    Programme(
        "Singapore Work Permit",
        "singapore-work-permit",
        "singapore-work-permit-covid",
        dt.date(2020, 3, 23),
    ),
    Programme("Hong Kong FDH", "hongkong-fdh", "hongkong-fdh-covid", dt.date(2020, 3, 25)),
    Programme("Gulf kafala (stylised)", "gulf-kafala", "gulf-kafala-covid", dt.date(2020, 3, 15)),
]


def no_shock(p: Programme, overrides: dict | None = None) -> Scenario:
    """The programme without any pandemic (Japan TITP: its file with the shock events removed)."""
    sc = load_scenario(p.base, overrides)
    return without_shocks(sc) if p.base == p.covid else sc


HORIZON_MONTHS = 84
"""Q1 follows every programme for seven years after its shock (runs are extended to that)."""


def horizon_end(p: Programme) -> dict[str, str]:
    """Override that ends a run seven years after the programme's shock."""
    end = p.shock + dt.timedelta(days=round(HORIZON_MONTHS * YEAR / 12))
    return {"end": str(max(end, load_scenario(p.covid).end))}


def simulate(sc: Scenario, seed: int, scale: float) -> tuple[Simulation, dict[str, np.ndarray]]:
    """Run one scenario and return it with its daily metrics scaled to the full population."""
    t0 = time.perf_counter()
    sim = Simulation(sc, seed=seed, scale=scale).run()
    arrays = {k: v / scale for k, v in metric_arrays(sim).items()}
    log(f"  {sc.name} seed {seed}: {time.perf_counter() - t0:.0f} s")
    return sim, arrays


def total(arrays: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A daily metric summed over origins."""
    return np.nansum(arrays[name], axis=1)


def dates_of(sc: Scenario) -> pd.DatetimeIndex:
    """Calendar dates of a run's days."""
    return pd.date_range(sc.start, sc.end, freq="D")


def md_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def interval_text(values: np.ndarray, fmt: str = "{:,.0f}") -> str:
    """Mean and percentile bootstrap interval of per-seed values (never below 0), as text."""
    mean, lo, hi = mean_interval(np.asarray(values, dtype=float))
    if math.isnan(lo):
        return fmt.format(mean)
    return f"{fmt.format(mean)} [{fmt.format(lo)}, {fmt.format(hi)}]"


def difference_text(base: np.ndarray, variant: np.ndarray, fmt: str) -> str:
    """Mean paired difference ``variant - base`` and its bootstrap interval, as text.

    A difference may be negative: its interval is only kept from implying a negative figure
    (:func:`tmpsim.policy.compare.paired_effect`), not clipped at 0 like a level's.
    """
    e = paired_effect(base, variant)
    if math.isnan(e.low):
        return fmt.format(e.difference)
    return f"{fmt.format(e.difference)} [{fmt.format(e.low)}, {fmt.format(e.high)}]"


def write(name: str, text: str, frame: pd.DataFrame | None = None) -> None:
    """Write a question's markdown tables (and per-seed CSV) and print them."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.md").write_text(text + "\n", encoding="utf-8")
    if frame is not None:
        frame.to_csv(OUT / f"{name}.csv", index=False)
    print(text)


# ---- Q1: does the programme return to normal, and how long does it take? ------------------------


def months_between(a: dt.date, b: dt.date) -> float:
    """Months from a to b."""
    return (b - a).days / (YEAR / 12)


def q1(seeds: list[int], scale: float) -> None:
    """Employed workers under the pandemic, relative to the same programme without it."""
    rows, curves = [], {}
    for p in PROGRAMMES:
        log(f"Q1 {p.label}")
        longer = horizon_end(p)
        covid_sc, calm_sc = load_scenario(p.covid, longer), no_shock(p, longer)
        ratios = []
        for seed in seeds:
            _, a = simulate(covid_sc, seed, scale)
            _, b = simulate(calm_sc, seed, scale)
            dates = dates_of(covid_sc)
            emp_a = pd.Series(total(a, "state_employed"), index=dates).resample("ME").last()
            emp_b = pd.Series(total(b, "state_employed"), index=dates).resample("ME").last()
            ratio = emp_a / emp_b
            ratios.append(ratio)
            after = ratio[ratio.index >= pd.Timestamp(p.shock)]
            trough_at = after.idxmin()
            later = after[after.index >= trough_at]
            below = later[later < 0.95]
            if below.empty:
                back = trough_at
            elif below.index[-1] == later.index[-1]:
                back = None  # not back within the run
            else:
                back = later.index[later.index > below.index[-1]][0]
            entries_a = total(a, "new_entries")[covid_sc.day(p.shock) :].sum()
            entries_b = total(b, "new_entries")[covid_sc.day(p.shock) :].sum()
            normal_year = (
                total(b, "new_entries")[: covid_sc.day(p.shock)].sum()
                / (covid_sc.day(p.shock) / YEAR)
                if covid_sc.day(p.shock) > 0
                else np.nan
            )
            rows.append(
                {
                    "programme": p.label,
                    "seed": seed,
                    "trough": float(after.min()),
                    "trough_months": months_between(p.shock, trough_at.date()),
                    "back_months": (
                        months_between(p.shock, back.date()) if back is not None else np.nan
                    ),
                    "end_ratio": float(ratio.iloc[-1]),
                    "run_months": months_between(p.shock, covid_sc.end),
                    "entries_lost_years": (entries_b - entries_a) / normal_year,
                }
            )
        curves[p.label] = (p.shock, ratios)
    frame = pd.DataFrame(rows)
    table = []
    for label, g in frame.groupby("programme", sort=False):
        back = g.back_months.to_numpy()
        back_text = (
            interval_text(back, "{:.0f}")
            if np.isfinite(back).all()
            else f"not within the run ({g.run_months.iloc[0]:.0f} months) in "
            f"{int(np.isnan(back).sum())} of {len(back)} seeds"
        )
        table.append(
            {
                "programme": label,
                "lowest employed, % of no-pandemic": interval_text(
                    100 * g.trough.to_numpy(), "{:.0f}"
                ),
                "months to the lowest point": interval_text(g.trough_months.to_numpy(), "{:.0f}"),
                "months until back within 5%": back_text,
                "employed at the run's end, %": interval_text(
                    100 * g.end_ratio.to_numpy(), "{:.0f}"
                ),
                "entries lost, in years of normal recruitment": interval_text(
                    g.entries_lost_years.to_numpy(), "{:.2f}"
                ),
            }
        )
    fig, ax = plt.subplots(figsize=(9, 5))
    for label, (shock, ratios) in curves.items():
        months = [(r.index - pd.Timestamp(shock)).days / (YEAR / 12) for r in ratios]
        stack = np.vstack([100 * r.to_numpy() for r in ratios])
        (line,) = ax.plot(months[0], stack.mean(axis=0), label=label)
        ax.fill_between(
            months[0], stack.min(axis=0), stack.max(axis=0), alpha=0.2, color=line.get_color()
        )
    ax.axhline(95, color="grey", lw=0.8, ls="--")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlim(-12, HORIZON_MONTHS)
    ax.set_xlabel("months since the pandemic shock")
    ax.set_ylabel("employed, % of the run without the pandemic")
    ax.set_title(f"Q1: return to normal ({len(seeds)} seeds, scale {scale:g}; band: seed range)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "q1_recovery.png", dpi=120)
    write("q1", md_table(pd.DataFrame(table)), frame)


# ---- Q2: more efficient infrastructure: who gains, who bears the next shock? ------------------


def faster_selection(sc: Scenario) -> Scenario:
    """Selection every day, twice the applicants per place, half the training and clearance."""
    data = sc.model_dump(mode="json")
    data["recruitment"]["selection_interval_days"] = 1
    data["recruitment"]["applicants_per_place"] = 2 * data["recruitment"]["applicants_per_place"]
    for o in data["origins"].values():
        o["training_days"] = max(1, o["training_days"] // 2)
        o["clearance_days"] = max(1, o["clearance_days"] // 2)
    data["name"] = sc.name + "+faster_selection"
    return load_scenario(data)


def q2(seeds: list[int], scale: float) -> None:
    """Japan TITP with a second shock in 2026: faster sorting, more flights, both."""
    base = load_scenario("japan-titp-covid", {"end": "2027-12-31"})
    second = dt.date(2026, 4, 1)
    base = standard_shock(base, second, keep_events=True)
    variants: dict[str, Callable[[Scenario], Scenario]] = {
        "base": lambda s: s,
        "faster selection": faster_selection,
        "more flights": lambda s: apply_levers(s, {"charter_flights": 300}),
        "both": lambda s: apply_levers(faster_selection(s), {"charter_flights": 300}),
    }
    reopen = dt.date(2022, 3, 1)
    windows = {"first": (dt.date(2020, 4, 1), dt.date(2025, 12, 31)), "second": (second, base.end)}
    rows = []
    origin_rows = []
    for label, make in variants.items():
        sc = make(base)
        log(f"Q2 {label}")
        for seed in seeds:
            sim, a = simulate(sc, seed, scale)
            d = {k: (sc.day(w[0]), sc.day(w[1]) + 1) for k, w in windows.items()}
            emp = total(a, "state_employed")
            level = emp[sc.day(dt.date(2019, 12, 31))]
            after = np.flatnonzero(emp[sc.day(reopen) : sc.day(second)] >= 0.95 * level)
            refill = after[0] / (YEAR / 12) if after.size else np.nan
            w1, w2 = slice(*d["first"]), slice(*d["second"])
            rows.append(
                {
                    "variant": label,
                    "seed": seed,
                    "months_to_refill": refill,
                    "person_years_worked_2022_25": emp[
                        sc.day(reopen) : sc.day(dt.date(2025, 12, 31)) + 1
                    ].sum()
                    / YEAR,
                    "stranded_person_days_first": total(a, "stranded")[w1].sum(),
                    "stranded_person_days_second": total(a, "stranded")[w2].sum(),
                    "peak_destitute_second": total(a, "destitute")[w2].max(),
                    "peak_waiting_abroad_second": (
                        total(a, "awaiting_entry")[w2] + total(a, "in_training")[w2]
                    ).max(),
                    "new_entries_2022_25": total(a, "new_entries")[
                        sc.day(reopen) : sc.day(dt.date(2025, 12, 31)) + 1
                    ].sum(),
                }
            )
            stranded = np.nansum(a["stranded"][w2], axis=0)
            for i, origin in enumerate(sim.origins):
                origin_rows.append(
                    {
                        "variant": label,
                        "seed": seed,
                        "origin": origin,
                        "stranded_person_days_second": stranded[i],
                    }
                )
    frame = pd.DataFrame(rows)
    by_origin = pd.DataFrame(origin_rows)
    base_rows = frame[frame.variant == "base"].set_index("seed")
    labels = {
        "months_to_refill": (
            "months after reopening (2022-03) until employed is back to 95% of 2019-12",
            "{:.1f}",
        ),
        "new_entries_2022_25": ("new entries 2022-03..2025-12 (employers)", "{:,.0f}"),
        "person_years_worked_2022_25": (
            "person-years worked 2022-03..2025-12 (employers)",
            "{:,.0f}",
        ),
        "stranded_person_days_first": ("person-days stranded, 2020 shock (workers)", "{:,.0f}"),
        "stranded_person_days_second": ("person-days stranded, 2026 shock (workers)", "{:,.0f}"),
        "peak_destitute_second": ("peak destitute, 2026 shock (workers)", "{:,.0f}"),
        "peak_waiting_abroad_second": (
            "peak selected, fees paid, waiting at home, 2026 shock (sending side)",
            "{:,.0f}",
        ),
    }
    table = []
    for key, (text, fmt) in labels.items():
        row = {"figure": text, "base": interval_text(base_rows[key].to_numpy(), fmt)}
        for v in list(variants)[1:]:
            other = frame[frame.variant == v].set_index("seed")[key].reindex(base_rows.index)
            row[f"{v}: difference"] = difference_text(
                base_rows[key].to_numpy(), other.to_numpy(),
                "{:+,.1f}" if "months" in key else "{:+,.0f}",
            )  # fmt: skip
        table.append(row)
    pivot = by_origin.groupby(["variant", "origin"]).stranded_person_days_second.mean().unstack(0)
    share = pivot.div(pivot.sum(axis=0), axis=1)
    origin_table = pd.DataFrame(
        {
            "origin": pivot.index,
            **{
                f"{v}: person-days stranded (2026 shock)": [f"{x:,.0f}" for x in pivot[v]]
                for v in variants
            },
            "base: share": [f"{x:.0%}" for x in share["base"]],
            "more flights: share": [f"{x:.0%}" for x in share["more flights"]],
        }
    )
    fig, ax = plt.subplots(figsize=(9, 5))
    for v in variants:
        vals = []
        for seed in seeds:
            r = frame[(frame.variant == v) & (frame.seed == seed)].iloc[0]
            vals.append((r.stranded_person_days_second, r.person_years_worked_2022_25))
        vals = np.array(vals)
        ax.scatter(vals[:, 1] / 1e3, vals[:, 0] / 1e6, label=v, s=40)
    ax.set_xlabel("thousand person-years worked 2022-03..2025-12 (employers' gain: right)")
    ax.set_ylabel("person-days stranded in the 2026 shock, millions")
    ax.set_title(
        f"Q2: Japan TITP, faster sorting and more flights ({len(seeds)} seeds, scale {scale:g})"
    )
    ax.legend()
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "q2_efficiency.png", dpi=120)
    text = md_table(pd.DataFrame(table)) + "\n\n" + md_table(origin_table)
    write("q2", text, frame)


# ---- Q3: changing employer or status -------------------------------------------------------------


def q3(seeds: list[int], scale: float) -> None:
    """Paired comparisons of job-change and status-change levers on two pandemic scenarios."""
    studies = {
        "japan-titp-covid": {
            "free job change": {"free_job_change": True},
            "status change 0.5/yr": {"status_change": 0.5},
            "both": {"free_job_change": True, "status_change": 0.5},
            "welfare (for contrast)": {"welfare_eligible": True},
        },
        "gulf-kafala-covid": {
            "free job change": {"free_job_change": True},
            "free exit": {"free_exit": True},
            "both (kafala abolished)": {"free_job_change": True, "free_exit": True},
        },
    }
    keys = [
        "person_days_stranded",
        "peak_stranded",
        "peak_destitute",
        "shelter_nights_needed",
        "missing",
    ]
    labels = {m.key: m.label for m in METRICS}
    texts, frames = [], []
    fig, axes = plt.subplots(1, len(studies), figsize=(11, 4.5))
    for ax, (base, variants) in zip(axes, studies.items(), strict=True):
        log(f"Q3 {base}")
        result = compare(
            base, variants, seeds=seeds, scale=scale, progress=lambda v, s: log(f"  {v} seed {s}")
        )
        t = result.table()
        runs = result.runs.assign(base=base)
        frames.append(runs)
        rows = []
        for key in keys:
            sel = t[t.metric == key]
            row = {"figure": labels[key], "base": f"{sel.base.iloc[0]:,.0f}"}
            for r in sel.itertuples():
                row[r.variant] = (
                    f"{r.relative:+.0%} [{r.rel_low:+.0%}, {r.rel_high:+.0%}]"
                    if np.isfinite(r.relative) and np.isfinite(r.rel_low)
                    else f"{r.difference:+,.0f} [{r.low:+,.0f}, {r.high:+,.0f}] (small base: no %)"
                )
            rows.append(row)
        texts.append(
            f"**{base}** (change against the base, 95% bootstrap interval over paired seeds)\n\n"
            + md_table(pd.DataFrame(rows))
        )
        sub = t[t.metric.isin(["person_days_stranded", "shelter_nights_needed"])]
        names = list(variants)
        x = np.arange(len(names))
        for j, key in enumerate(["person_days_stranded", "shelter_nights_needed"]):
            s = sub[sub.metric == key].set_index("variant").loc[names]
            rel = 100 * s.relative.to_numpy()  # NaN (no bar) where the base is too small
            err = np.vstack([rel - 100 * s.rel_low, 100 * s.rel_high - rel])
            ax.bar(x + (j - 0.5) * 0.38, rel, 0.38, yerr=np.abs(err), capsize=3, label=labels[key])
        ax.set_xticks(x, names, rotation=20, ha="right", fontsize=8)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_title(base, fontsize=10)
        ax.set_ylabel("% change against the base")
        ax.legend(fontsize=8)
    fig.suptitle(f"Q3: changing employer or status ({len(seeds)} seeds, scale {scale:g})")
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "q3_mobility.png", dpi=120)
    write("q3", "\n\n".join(texts), pd.concat(frames))


# ---- Q4: the same shock under each programme --------------------------------------------------


def q4(seeds: list[int], scale: float) -> None:
    """The standard shock on every programme's no-pandemic file, per 1,000 workers."""
    horizon = 44  # months after the shock start, the same for every programme
    rows, curves = [], {}
    for p in PROGRAMMES:
        log(f"Q4 {p.label}")
        sc = standard_shock(no_shock(p), p.shock)
        per = []
        for seed in seeds:
            sim, a = simulate(sc, seed, scale)
            s0 = sc.day(p.shock)
            s1 = min(s0 + round(horizon * YEAR / 12), sim.n_days)
            workers = total(a, "state_employed")[s0 - 1]
            stranded = total(a, "stranded")
            spells = total(a, "became_stranded")[s0:s1].sum()
            pre = stranded[max(0, s0 - 365) : s0].mean()
            rows.append(
                {
                    "programme": p.label,
                    "seed": seed,
                    "workers": workers,
                    "stranded_days_per_worker": stranded[s0:s1].sum() / workers,
                    "peak_stranded_per_1000": 1000 * stranded[s0:s1].max() / workers,
                    "peak_destitute_per_1000": 1000 * total(a, "destitute")[s0:s1].max() / workers,
                    "mean_days_per_spell": stranded[s0:s1].sum() / spells if spells else np.nan,
                    "stranded_per_1000_before": 1000 * pre / workers,
                    "missing_per_1000": 1000 * total(a, "missing")[s0:s1].sum() / workers,
                }
            )
            per.append(1000 * stranded[s0 - 365 : s1] / workers)
        curves[p.label] = per
    frame = pd.DataFrame(rows)
    cols = {
        "stranded_per_1000_before": ("stranded per 1,000, year before the shock", "{:.1f}"),
        "peak_stranded_per_1000": ("peak stranded per 1,000 workers", "{:.0f}"),
        "stranded_days_per_worker": ("person-days stranded per worker", "{:.1f}"),
        "mean_days_per_spell": ("mean days per stranding spell", "{:.0f}"),
        "peak_destitute_per_1000": ("peak destitute per 1,000", "{:.1f}"),
        "missing_per_1000": ("missing per 1,000", "{:.0f}"),
    }
    table = []
    for label, g in frame.groupby("programme", sort=False):
        row = {"programme": label, "workers at the shock": f"{g.workers.mean():,.0f}"}
        for key, (text, fmt) in cols.items():
            row[text] = interval_text(g[key].to_numpy(), fmt)
        table.append(row)
    table = sorted(table, key=lambda r: -float(r["person-days stranded per worker"].split()[0]))
    fig, ax = plt.subplots(figsize=(9, 5))
    for label, per in curves.items():
        n = min(len(c) for c in per)
        stack = np.vstack([c[:n] for c in per])
        months = (np.arange(n) - 365) / (YEAR / 12)
        (line,) = ax.plot(months, stack.mean(axis=0), label=label)
        ax.fill_between(
            months, stack.min(axis=0), stack.max(axis=0), alpha=0.2, color=line.get_color()
        )
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("months since the shock")
    ax.set_ylabel("stranded per 1,000 workers employed at the shock")
    ax.set_title(f"Q4: the same shock under each programme ({len(seeds)} seeds, scale {scale:g})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "q4_same_shock.png", dpi=120)
    write("q4", md_table(pd.DataFrame(table)), frame)


# ---- calibration: pre-2020 counts in shared/data -----------------------------------------------

SG_MDW = "singapore_work_permit_mdw.csv"
# (scenario, date, origins (None: all; "segment:NAME": that segment's), observed, source)
TARGETS = [
    ("hongkong-fdh", "2019-12-31", None, 399_320, "hongkong_fdh.csv (Labour Department)"),
    ("hongkong-fdh", "2019-12-31", ["Philippines"], 219_073, "hongkong_fdh.csv"),
    ("hongkong-fdh", "2019-12-31", ["Indonesia"], 170_828, "hongkong_fdh.csv"),
    (
        "singapore-work-permit",
        "2015-12-31",
        "segment:mdw",
        231_500,
        "singapore_work_permit_mdw.csv",
    ),
    (
        "singapore-work-permit",
        "2016-12-31",
        "segment:mdw",
        239_800,
        "singapore_work_permit_mdw.csv",
    ),
    (
        "singapore-work-permit",
        "2019-12-31",
        "segment:mdw",
        261_800,
        "singapore_work_permit_mdw.csv",
    ),
]


# Hong Kong's helpers through the pandemic: the packaged counts of its host (data/observed/
# hosts/hongkong). The year-end totals of 2020 and 2021 set employers' keep_offer (the
# scenario's sources); the rest were not used.
HK_TARGETS = {("all", "2020-12-31"), ("all", "2021-12-31")}


def hongkong_counts() -> pd.DataFrame:
    """Hong Kong's packaged helper counts from 2020 on (what the pandemic run is checked by)."""
    obs = packaged_observed("Hong Kong")
    obs = obs[(obs["indicator"] == "programme_stock") & (obs["date"] >= "2020-01-01")]
    return obs.sort_values(["date", "origin"], ignore_index=True)


# Inbound helper trips (LegCo reply; they include helpers back from leave, which the scenario
# does not model, so they bound its new entries from above): (first day, last day, trips).
HK_PANDEMIC_ARRIVALS = [("2020-07-01", "2020-12-31", 19_328), ("2021-01-01", "2021-12-31", 22_394)]


def singapore_pandemic_counts() -> pd.DataFrame:
    """Singapore's packaged counts of domestic workers from 2020 on (hosts/singapore).

    None of them set a parameter.
    """
    obs = packaged_observed("Singapore")
    obs = obs[(obs["indicator"] == "programme_stock_segment_mdw") & (obs["date"] >= "2020-01-01")]
    return obs.sort_values("date", ignore_index=True)


def short_source(file: str, source: str) -> str:
    """A packaged row's source for the table: its file and the site it came from."""
    parts = str(source).split(" | ")
    url = next((p for p in parts if p.startswith("http")), "")
    where = "computed: total less named" if parts[0].startswith("computed") else ""
    return f"{file} ({where or urlparse(url).netloc})"


SG = "singapore-work-permit-covid"
# Domestic workers who entered Singapore a month, on average (MOM's reply to a parliamentary
# question, 2021-09-13): (first day, last day, observed).
SG_PANDEMIC_MDW_ENTRIES = [("2020-09-01", "2021-04-30", 3_300), ("2021-05-01", "2021-08-31", 800)]
# The other Work Permit holders let in a month: MOM's counts of S Pass and Work Permit holders
# (Parliament 2021-05-11; written answer 2022-01-10) times the Work Permit holders' share, 0.8
# (the scenario's sources: events.work_permits_*).
SG_PANDEMIC_WP_ENTRIES = [
    ("2020-11-01", "2021-04-30", 5_100),
    ("2021-05-01", "2021-10-31", 5_000),
    ("2021-11-01", "2021-12-31", 28_000),
]
SG_WORK_PERMIT_SHARE = 0.8
# Work Permit holders who are not domestic workers at 2020-12-31, derived from MOM's table as
# copied on the page singapore_work_permit_mdw.csv cites for 2020-12 (lavidalaura.com): the
# foreign workforce without domestic workers (984,100, in the csv) less Employment and S Pass
# holders (351,100) and other work passes (32,200), both from the same page.
SG_OTHER_WORK_PERMITS_2020 = 984_100 - 351_100 - 32_200


def count_row(
    scenario: str, date: str, who: str, role: str, observed: float, values: np.ndarray, source: str
) -> dict[str, str]:
    """A row of the check table: a count, the runs' values and their error against it."""
    return {
        "scenario": scenario,
        "date": date,
        "who": who,
        "role": role,
        "observed": f"{observed:,}",
        "simulated": interval_text(values),
        "error": f"{values.mean() / observed - 1:+.1%}",
        "source": source,
    }


def segment_entries_a_month(sim: Simulation, segment: str, first: str, last: str) -> float:
    """Agents of ``segment`` who first entered between two dates, a month (full scale)."""
    sc, pop = sim.scenario, sim.pop
    lo, hi = sc.day(dt.date.fromisoformat(first)), sc.day(dt.date.fromisoformat(last))
    n = pop.n
    code = list(sc.segments).index(segment)
    came = (pop.entered[:n] >= lo) & (pop.entered[:n] <= hi) & (pop.segment[:n] == code)
    return float(came.sum()) / sim.scale / ((hi - lo + 1) / DAYS_PER_MONTH)


def hongkong_pandemic(seeds: list[int], scale: float) -> list[dict[str, str]]:
    """Rows of the Hong Kong pandemic check: stocks, then arrivals against inbound trips."""
    sc = load_scenario("hongkong-fdh-covid")
    runs = [simulate(sc, seed, scale) for seed in seeds]
    rows = []
    for obs in hongkong_counts().itertuples():
        date, origin, observed = str(obs.date.date()), str(obs.origin), int(obs.value)
        day = sc.day(obs.date.date())
        values = []
        for sim, a in runs:
            pick = range(len(sim.origins)) if origin == "all" else [sim.origins.index(origin)]
            values.append(a["programme_stock"][day, list(pick)].sum())
        values = np.array(values)
        source = short_source("hongkong_fdh.csv", obs.source)
        role = "target" if (origin, date) in HK_TARGETS else "check"
        rows.append(count_row("hongkong-fdh-covid", date, origin, role, observed, values, source))
    for first, last, trips in HK_PANDEMIC_ARRIVALS:
        lo = sc.day(dt.date.fromisoformat(first))
        hi = sc.day(dt.date.fromisoformat(last))
        values = np.array([total(a, "new_entries")[lo : hi + 1].sum() for _, a in runs])
        rows.append(
            count_row(
                "hongkong-fdh-covid",
                f"{first[:7]} to {last[:7]}",
                "new entries (inbound trips, with returns from leave)",
                "check",
                trips,
                values,
                "hongkong_fdh_flows.csv (LegCo reply 2022-01-19)",
            )
        )
    return rows


def segment_stock(groups: pd.DataFrame, metric: str, segment: str, date: str) -> float:
    """A stock metric of one segment, all origins, on a month end (from the grouped table)."""
    row = groups[
        (groups["metric"] == metric)
        & (groups["segment"] == segment)
        & (groups["origin"] == "all")
        & (groups["date"] == pd.Timestamp(date).date())
    ]
    return float(row["value"].item())


def calibration(seeds: list[int], scale: float) -> None:
    """Programme stocks at the dates of the shared data's counts, and two pandemic checks."""
    rows = []
    cache: dict[tuple[str, int], tuple[Scenario, dict[str, np.ndarray], Simulation]] = {}
    for name, date, origins, observed, source in TARGETS:
        values = []
        for seed in seeds:
            if (name, seed) not in cache:
                sc = load_scenario(name, {"end": "2019-12-31"})
                sim, a = simulate(sc, seed, scale)
                cache[(name, seed)] = (sc, a, sim)
            sc, a, sim = cache[(name, seed)]
            day = sc.day(dt.date.fromisoformat(date))
            if isinstance(origins, str):  # a segment
                segment = origins.removeprefix("segment:")
                values.append(total(a, f"programme_stock_segment_{segment}")[day])
                continue
            pick = range(len(sim.origins)) if origins is None else map(sim.origins.index, origins)
            values.append(a["programme_stock"][day, list(pick)].sum())
        values = np.array(values)
        who = (
            "all"
            if origins is None
            else ("domestic workers" if origins == "segment:mdw" else ", ".join(origins))
        )
        rows.append(count_row(name, date, who, "target", observed, values, source))
    # Work Permit holders fell by about 6% from 2019-12 to 2020-06 (a check), domestic workers
    # by 3.5% (the target of their exposure to the labour market's fall);
    # singapore_work_permit_mdw.csv. Holders = employed + jobless (a stranded worker whose
    # permit ended waits on another pass).
    change, change_mdw = [], []
    counts = singapore_pandemic_counts()
    mdw_stock: dict[str, list[float]] = {str(d.date()): [] for d in counts["date"]}
    mdw_entries: dict[str, list[float]] = {first: [] for first, _, _ in SG_PANDEMIC_MDW_ENTRIES}
    wp_entries: dict[str, list[float]] = {first: [] for first, _, _ in SG_PANDEMIC_WP_ENTRIES}
    wp_stock = []
    for seed in seeds:
        sc = load_scenario(SG)
        sim, a = simulate(sc, seed, scale)
        holders = a["state_employed"] + a["state_jobless"]
        d0, d1 = sc.day(dt.date(2019, 12, 31)), sc.day(dt.date(2020, 6, 30))
        change.append(holders[d1].sum() / holders[d0].sum() - 1)
        groups = group_table(sim).to_pandas()
        mdw = [
            sum(segment_stock(groups, m, "mdw", d) for m in ("employed", "jobless"))
            for d in ("2019-12-31", "2020-06-30")
        ]
        change_mdw.append(mdw[1] / mdw[0] - 1)
        for date in mdw_stock:
            mdw_stock[date].append(
                total(a, "programme_stock_segment_mdw")[sc.day(dt.date.fromisoformat(date))]
            )
        for first, last, _ in SG_PANDEMIC_MDW_ENTRIES:
            mdw_entries[first].append(segment_entries_a_month(sim, "mdw", first, last))
        for first, last, _ in SG_PANDEMIC_WP_ENTRIES:
            wp_entries[first].append(segment_entries_a_month(sim, "work_permit", first, last))
        day = sc.day(dt.date(2020, 12, 31))
        wp_stock.append(total(a, "programme_stock_segment_work_permit")[day])
    rows.append(
        {
            "scenario": SG,
            "date": "2019-12 to 2020-06",
            "who": "all (domestic workers)",
            "role": "check (target)",
            "observed": "-6% (-3.5%)",
            "simulated": f"{100 * np.mean(change):+.1f}% ({100 * np.mean(change_mdw):+.1f}%)",
            "error": "",
            "source": "singapore_work_permit_mdw.csv (TWC2 from MOM)",
        }
    )
    for obs in counts.itertuples():
        date, observed = str(obs.date.date()), int(obs.value)
        values = np.array(mdw_stock[date])
        source = short_source("singapore_mdw.csv", obs.source)
        rows.append(count_row(SG, date, "domestic workers", "check", observed, values, source))
    who, observed = "other Work Permit holders", SG_OTHER_WORK_PERMITS_2020
    source = "singapore_work_permit_mdw.csv and its page (984,100 - 351,100 - 32,200)"
    rows.append(count_row(SG, "2020-12-31", who, "check", observed, np.array(wp_stock), source))
    for first, last, observed in SG_PANDEMIC_MDW_ENTRIES:
        values = np.array(mdw_entries[first])
        period, who = f"{first[:7]} to {last[:7]}", "domestic workers entering, a month"
        source = "singapore_work_permit_mdw.csv (MOM, 2021-09-13)"
        # Their quota is set from these averages (events.mdw_quota_*): not a check.
        rows.append(count_row(SG, period, who, "quota's source", observed, values, source))
    for first, last, with_s_pass in SG_PANDEMIC_WP_ENTRIES:
        values = np.array(wp_entries[first])
        period = f"{first[:7]} to {last[:7]}"
        who = (
            "other Work Permit holders entering, a month "
            f"(x{SG_WORK_PERMIT_SHARE} of {with_s_pass:,} with S Pass)"
        )
        source = "MOM in Parliament, 2021-05-11" if first < "2021" else "MOM, 2022-01-10"
        # The host-wide cap is set from these counts (events.work_permits_*): not a check.
        observed = round(with_s_pass * SG_WORK_PERMIT_SHARE)
        rows.append(count_row(SG, period, who, "cap's source", observed, values, source))
    rows.extend(hongkong_pandemic(seeds, scale))
    write("calibration", md_table(pd.DataFrame(rows)))


QUESTIONS = {"calibration": calibration, "q1": q1, "q2": q2, "q3": q3, "q4": q4}


def main(argv: list[str] | None = None) -> int:
    """Run the questions asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", choices=[*QUESTIONS, "all"])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 1..N (default 10)")
    parser.add_argument("--scale", type=float, default=0.01, help="fraction simulated (0.01)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or not 0 < args.scale <= 1:
        parser.error("--seeds must be at least 1 and --scale in (0, 1]")
    seeds = list(range(1, args.seeds + 1))
    for name in QUESTIONS if args.question == "all" else [args.question]:
        t0 = time.perf_counter()
        QUESTIONS[name](seeds, args.scale)
        log(f"{name}: {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
