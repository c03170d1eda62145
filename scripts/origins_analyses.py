#!/usr/bin/env python
"""The sending side's answers in docs/analyses.md: recovery, fee caps, crackdowns, the yen.

Recovery after the closures, and what a fee cap, a broker-licence crackdown or a yen recovery
does to who goes to Japan and at what debt.

Usage (from the repository root)::

    .venv/bin/python scripts/origins_analyses.py [--scale 0.25] [--seed 1]

Every variant is the shipped ``asia-corridors`` configuration with every destination's dated
border rules, run to 2025 on the same seed; a variant changes one thing from 2023-01-01. Prints
markdown tables (pasted into docs/analyses.md).
"""

from __future__ import annotations

import argparse
import datetime as dt

import numpy as np

from tmpsim.corridors.config import CorridorsConfig, load_corridors, with_all_rules
from tmpsim.corridors.simulate import CorridorsRun, simulate
from tmpsim.model.origin_inputs import fx_per_usd
from tmpsim.scenario.origins_schema import FeeCap, LicenceCrackdown

HOST = "Japan TITP"
FROM = dt.date(2023, 1, 1)
LAST = 2025


def base() -> CorridorsConfig:
    """The shipped configuration with its border rules, to 2025."""
    cfg = load_corridors("asia-corridors")
    return with_all_rules(cfg).model_copy(update={"last_year": LAST})


def fee_cap(cfg: CorridorsConfig, amount: float) -> CorridorsConfig:
    """Every origin's fee to Japan's TITP capped at ``amount`` US dollars from 2023."""
    market = cfg.market.model_copy(deep=True)
    market.fee_caps = [
        *market.fee_caps,
        *(FeeCap(origin=o, destination=HOST, amount=amount, date=FROM) for o in market.origins),
    ]
    return cfg.model_copy(update={"market": market})


def crackdown(cfg: CorridorsConfig) -> CorridorsConfig:
    """Every origin's unlicensed brokers stopped from 2023."""
    market = cfg.market.model_copy(deep=True)
    market.crackdowns = [LicenceCrackdown(origin=o, date=FROM) for o in market.origins]
    return cfg.model_copy(update={"market": market})


def yen_recovery(cfg: CorridorsConfig) -> CorridorsConfig:
    """The yen back at its 2021 rate from 2023: Japan's yen wages worth as much in dollars.

    The market converts a yen wage at the year's rate; a wage raised by (rate / 2021 rate) is
    worth in dollars what it would be at the 2021 rate, which is what a recovery would do.
    """
    market = cfg.market.model_copy(deep=True)
    ref = float(fx_per_usd("JPY", np.array([2021]))[0])
    for dest in market.destinations.values():
        if dest.currency != "JPY":
            continue
        wages = dict(dest.wage_per_month)
        latest = wages[max(wages)]
        for year in range(FROM.year, LAST + 1):
            rate = float(fx_per_usd("JPY", np.array([year]))[0])
            base_wage = wages.get(year, latest)
            wages[year] = base_wage * rate / ref
        dest.wage_per_month = wages
    return cfg.model_copy(update={"market": market})


def yearly(run: CorridorsRun, values: np.ndarray, year: int) -> np.ndarray:
    """Sum of monthly ``values`` [month, ...] over ``year``, full-population equivalent."""
    months = np.array([m.year for m in run.months])
    return values[months == year].sum(axis=0) / run.scale


def host_table(runs: dict[str, CorridorsRun], years: range) -> str:
    """Departures to the host by origin, and mean fee and debt at departure, per variant."""
    first = next(iter(runs.values()))
    j = first.destinations.index(HOST)
    y0 = first.years.index(years[0])
    y1 = first.years.index(years[-1]) + 1
    lines = [
        "| variant | departures to Japan TITP a year | of which Vietnam / China / Indonesia / "
        "Philippines / Myanmar / Cambodia / Nepal (%) | mean fee at departure (US$) | "
        "mean debt at departure (US$) |",
        "|---|---:|---|---:|---:|",
    ]
    for name, run in runs.items():
        dep = sum(yearly(run, run.departures[:, :, j], y) for y in years) / len(years)
        b = run.broker_departed[y0:y1, :, j].sum()
        fee = run.broker_fee[y0:y1, :, j].sum() / max(b, 1)
        debt = run.broker_debt[y0:y1, :, j].sum() / max(b, 1)
        share = " / ".join(f"{100 * v / max(dep.sum(), 1):.1f}" for v in dep)
        lines.append(f"| {name} | {dep.sum():,.0f} | {share} | {fee:,.0f} | {debt:,.0f} |")
    return "\n".join(lines)


def fees_by_origin(runs: dict[str, CorridorsRun], years: range) -> str:
    """Mean fee and debt at departure to the host by origin, per variant."""
    first = next(iter(runs.values()))
    j = first.destinations.index(HOST)
    y0, y1 = first.years.index(years[0]), first.years.index(years[-1]) + 1
    per = first.per_origin
    head = "| origin | " + " | ".join(f"{n} fee / debt" for n in runs) + " |"
    lines = [head, "|---|" + "---:|" * len(runs)]
    for k, origin in enumerate(first.origins):
        cells = []
        for run in runs.values():
            sl = slice(k * per, (k + 1) * per)
            b = run.broker_departed[y0:y1, sl, j].sum()
            fee = run.broker_fee[y0:y1, sl, j].sum() / max(b, 1)
            debt = run.broker_debt[y0:y1, sl, j].sum() / max(b, 1)
            cells.append(f"{fee:,.0f} / {debt:,.0f}")
        lines.append(f"| {origin} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def recovery_table(closed: CorridorsRun, open_: CorridorsRun) -> str:
    """Departures per destination by year, with every rule, against the run with none."""
    years = [2019, 2020, 2021, 2022, 2023, 2024, 2025]
    lines = [
        "| destination | " + " | ".join(str(y) for y in years) + " |",
        "|---|" + "---:|" * len(years),
    ]
    for j, d in enumerate(closed.destinations):
        cells = []
        for y in years:
            c = yearly(closed, closed.departures[:, :, j], y).sum()
            o = yearly(open_, open_.departures[:, :, j], y).sum()
            cells.append(f"{c:,.0f} ({100 * c / max(o, 1):.0f}%)")
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def forecast_table(run: CorridorsRun, cfg: CorridorsConfig) -> str:
    """Japan's TITP departures by origin 2022-2025 and what drives them (earnings ratio).

    The share of each origin in the market, and its 2022 share of e-Stat's first-year (1号)
    stock carried forward by the market's change from 2022 (the market's level is off; its
    change is the forecast).
    """
    from tmpsim.model.sending_market import SendingMarket

    j = run.destinations.index(HOST)
    market = SendingMarket(cfg.market, cfg.first_year, LAST, seed=0)
    observed_2022 = {  # 1号 stock at 2022-12, e-Stat (data/observed: titp_stock_stage_1)
        "Vietnam": 82941,
        "China": 11411,
        "Indonesia": 30040,
        "Philippines": 13686,
        "Myanmar": 10960,
        "Cambodia": 6763,
        "Nepal": 986,
    }
    years = [2022, 2023, 2024, 2025]
    shares = {}
    for y in years:
        dep = yearly(run, run.departures[:, :, j], y)
        shares[y] = dep / max(dep.sum(), 1)
    obs = np.array([observed_2022[o] for o in run.origins], dtype=float)
    obs /= obs.sum()
    lines = [
        "| origin | earnings ratio 2021 / 2022 / 2023 / 2025 | market share 2022 / 2023 / "
        "2024 / 2025 (%) | forecast share 2023 / 2024 / 2025 (%) |",
        "|---|---|---|---|",
    ]
    forecast = {}
    for y in years[1:]:
        f = obs * np.divide(shares[y], shares[2022], out=np.ones_like(obs), where=shares[2022] > 0)
        forecast[y] = f / f.sum()
    for k, origin in enumerate(run.origins):
        ratios = [market._earnings(y)[0][k, j] for y in (2021, 2022, 2023, 2025)]
        lines.append(
            f"| {origin} | "
            + " / ".join(f"{r:.1f}" for r in ratios)
            + " | "
            + " / ".join(f"{100 * shares[y][k]:.1f}" for y in years)
            + " | "
            + " / ".join(f"{100 * forecast[y][k]:.1f}" for y in years[1:])
            + " |"
        )
    return "\n".join(lines)


# The ISA survey 2021-22 (shared data titp_predeparture_fees_debt.csv): mean total paid by
# payers and mean debt of the indebted, yen.
ISA_FEE = {
    "Vietnam": 688143,
    "China": 591777,
    "Indonesia": 235343,
    "Philippines": 94821,
    "Myanmar": 287405,
    "Cambodia": 573607,
}
ISA_DEBT = {"Vietnam": 674480, "China": 528847, "Cambodia": 566889}


def isa_table(seeds: list[int], scale: float, year: int = 2021) -> str:
    """Fees and debt at departure to Japan's TITP by origin against the ISA survey.

    As the flagship takes them with ``origins_market`` (``fees: true``): the market's mean fee
    and debt over everyone placed in ``year``, in yen at the year's rate, over the flagship's
    paying share (fee of a payer) and paying × borrowing share (debt of a borrower); mean of
    ``seeds``.
    """
    from types import SimpleNamespace

    from tmpsim.model.host_market import host_split
    from tmpsim.scenario.loader import load_scenario
    from tmpsim.scenario.schema import OriginsMarketSpec
    from tmpsim.simulation import Simulation

    sc = load_scenario("japan-titp-covid")
    demand = lambda y: Simulation.demand_total(SimpleNamespace(scenario=sc), y)  # noqa: E731
    fee, debt, own_debt, own_share = [], [], [], []
    for seed in seeds:
        spec = OriginsMarketSpec(
            host=HOST, scale=scale, seed=seed, fees=True, source="calibrated: docs/origins.md"
        )
        split = host_split(spec, sc, demand)
        k = int(np.flatnonzero(split.years == year)[0])
        fee.append(split.fee[k])
        debt.append(split.debt[k])
        run = split.run  # the market's own borrowers: those whose fee exceeded their savings
        j, r = run.destinations.index(HOST), run.years.index(year)
        per = run.per_origin
        b = run.broker_borrowers[r, :, j].reshape(-1, per).sum(axis=1)
        placed = run.broker_departed[r, :, j].reshape(-1, per).sum(axis=1)
        owed = run.broker_debt[r, :, j].reshape(-1, per).sum(axis=1)
        rate = float(fx_per_usd("JPY", np.array([year]))[0])
        col = [run.origins.index(n) if n in run.origins else -1 for n in split.origins]
        own_debt.append([owed[c] / max(b[c], 1) * rate if c >= 0 else np.nan for c in col])
        own_share.append([b[c] / max(placed[c], 1) if c >= 0 else np.nan for c in col])
    fee_m, debt_m = np.mean(fee, axis=0), np.mean(debt, axis=0)
    own_d, own_s = np.mean(own_debt, axis=0), np.mean(own_share, axis=0)
    lines = [
        "| origin | survey fee (yen) | model fee of a payer | error | survey debt | "
        "model debt, flagship's borrowing share | error | market's own debt of a borrower "
        "(share with debt) | error |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, name in enumerate(split.origins):
        if name not in ISA_FEE:
            continue
        t = sc.origins[name]
        f = fee_m[i] / max(t.fee_pay_share, 1e-9)
        d = debt_m[i] / max(t.fee_pay_share * t.borrow_share, 1e-9)
        fe = f"{100 * (f / ISA_FEE[name] - 1):+.1f}%"
        own = f"{own_d[i]:,.0f} ({100 * own_s[i]:.0f}%)"
        if name in ISA_DEBT:
            dcell = (
                f"{ISA_DEBT[name]:,} | {d:,.0f} | {100 * (d / ISA_DEBT[name] - 1):+.1f}% | "
                f"{own} | {100 * (own_d[i] / ISA_DEBT[name] - 1):+.1f}%"
            )
        else:
            dcell = f" | {d:,.0f} | | {own} | "
        lines.append(f"| {name} | {ISA_FEE[name]:,} | {f:,.0f} | {fe} | {dcell} |")
    return "\n".join(lines)


def main() -> None:
    """Run the variants and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--isa",
        action="store_true",
        help="only the fees and debt against the ISA survey (seeds 1-3)",
    )
    args = ap.parse_args()
    if args.isa:
        print(isa_table([1, 2, 3], args.scale))
        return
    cfg = base()
    no_rules = load_corridors("asia-corridors").model_copy(update={"last_year": LAST})
    runs = {
        "as observed": simulate(cfg, args.scale, args.seed),
        "fee cap US$1,500": simulate(fee_cap(cfg, 1500.0), args.scale, args.seed),
        "licence crackdown": simulate(crackdown(cfg), args.scale, args.seed),
        "yen at its 2021 rate": simulate(yen_recovery(cfg), args.scale, args.seed),
    }
    open_run = simulate(no_rules, args.scale, args.seed)
    print("## Departures with every closure, and as % of the run without closures\n")
    print(recovery_table(runs["as observed"], open_run))
    print("\n## Japan TITP, 2023-2025, by variant\n")
    print(host_table(runs, range(2023, LAST + 1)))
    print("\n## Fees and debt at departure to Japan TITP by origin, 2023-2025 (US$)\n")
    print(fees_by_origin(runs, range(2023, LAST + 1)))
    print("\n## Forecast of Japan's TITP mix 2023-2025 (first-year entries)\n")
    print(forecast_table(runs["as observed"], cfg))


if __name__ == "__main__":
    main()
