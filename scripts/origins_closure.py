"""Closure experiment on the sending side: departures by destination with Japan open or closed.

Runs ``SendingMarket`` (docs/origins.md) on a sending-side configuration month by month, once as
given and once with Japan's entry seats closed (and the other destinations partly open), and
prints departures by destination and year, the diversion, fees and debt at departure by origin,
and the time per simulated month next to the reference loop timed in the same run.

    .venv/bin/python scripts/origins_closure.py [CONFIG.yaml] [--reference PATH] [--seed N]

CONFIG defaults to the bundled uncalibrated ``asia-corridors.origins.yaml``. The closure dates
are the experiment's, stated here: the host (Japan) closed from 2020-04-01 to 2022-03-01, the
others at ``--others-open`` of their seats (default 30%) over the same window.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from tmpsim.model.sending_market import SendingMarket
from tmpsim.scenario.origins_schema import OriginsConfig

CLOSED = (dt.date(2020, 4, 1), dt.date(2022, 3, 1))


def month_ends(first: int, last: int) -> list[dt.date]:
    """Last day of every month from January ``first`` to December ``last``."""
    out = []
    for y in range(first, last + 1):
        for m in range(1, 13):
            nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
            out.append(nxt - dt.timedelta(days=1))
    return out


def closed(cfg: OriginsConfig, host: str, others_open: float) -> OriginsConfig:
    """The configuration with ``host`` closed and the others partly open over ``CLOSED``."""
    data = cfg.model_dump(mode="json")
    for name, dest in data["destinations"].items():
        share = 0.0 if name == host else others_open
        dest["borders"] = [{"date": str(CLOSED[0]), "end": str(CLOSED[1]), "open_share": share}]
    return OriginsConfig.model_validate(data)


def run(cfg: OriginsConfig, seed: int, first: int, last: int) -> tuple[dict, float, int]:
    """Yearly departures [origin, destination], fees and debt; wall seconds; months."""
    market = SendingMarket(cfg, first, last, seed=seed)
    when = month_ends(first, last)
    per_year: dict[int, dict[str, np.ndarray]] = {}
    t0 = time.perf_counter()
    for m in when:
        month = market.step(m)
        acc = per_year.setdefault(m.year, {k: 0 for k in ("departed", "fee", "debt")})
        acc["departed"] = acc["departed"] + market.by_origin(month.departed)
        acc["fee"] = acc["fee"] + market.by_origin(month.fee_paid)
        acc["debt"] = acc["debt"] + market.by_origin(month.debt)
    return per_year, time.perf_counter() - t0, len(when)


def reference_seconds(path: Path) -> float:
    """Wall time of the reference loop ``numpy_life.py 400000 365`` in a fresh interpreter."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(path), "400000", "365"], check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    """Run both variants and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", help="sending-side YAML (default: asia-corridors)")
    ap.add_argument("--reference", type=Path, help="path of the reference numpy_life.py")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--host", default="Japan")
    ap.add_argument("--others-open", type=float, default=0.3, help="others' open share")
    ap.add_argument("--per-origin", type=int, help="brokers per origin (default: the config's)")
    args = ap.parse_args()
    if args.config:
        text = Path(args.config).read_text("utf-8")
    else:
        text = (resources.files("tmpsim") / "data/origins/asia-corridors.origins.yaml").read_text(
            "utf-8"
        )
    data = yaml.safe_load(text)
    if args.per_origin:
        data["brokers"]["per_origin"] = args.per_origin
    cfg = OriginsConfig.model_validate(data)
    first, last = 2017, 2023
    base, secs, months = run(cfg, args.seed, first, last)
    shut, _, _ = run(closed(cfg, args.host, args.others_open), args.seed, first, last)
    dests, origins = list(cfg.destinations), list(cfg.origins)
    print(
        f"departures by destination and year (as given | {args.host} closed "
        f"{CLOSED[0]}..{CLOSED[1]}, others at {args.others_open:.0%})"
    )
    print("year  " + "  ".join(f"{d:>21}" for d in dests))
    for y in range(first, last + 1):
        a, b = base[y]["departed"].sum(axis=0), shut[y]["departed"].sum(axis=0)
        print(f"{y}  " + "  ".join(f"{x:>10,.0f}|{z:<10,.0f}" for x, z in zip(a, b, strict=True)))
    years = range(CLOSED[0].year, CLOSED[1].year + 1)
    extra = sum(shut[y]["departed"].sum(axis=0) - base[y]["departed"].sum(axis=0) for y in years)
    print(
        f"\nchange {years.start}-{years.stop - 1}: "
        + ", ".join(f"{d} {x:+,.0f}" for d, x in zip(dests, extra, strict=True))
    )
    y = 2019
    dep = base[y]["departed"]
    print(f"\n{y} departures, mean fee and debt at departure (US dollars) by origin")
    for i, o in enumerate(origins):
        n = dep[i].sum()
        fee = base[y]["fee"][i].sum() / n if n else float("nan")
        debt = base[y]["debt"][i].sum() / n if n else float("nan")
        print(f"{o:>12} {n:>10,.0f} {fee:>8,.0f} {debt:>8,.0f}")
    per_month = secs / months
    print(f"\n{months} months in {secs:.3f} s ({per_month * 1e3:.2f} ms a month)")
    if args.reference:
        ref = reference_seconds(args.reference)
        print(
            f"reference loop numpy_life.py 400000 365: {ref:.2f} s; run / reference = "
            f"{secs / ref:.4f}"
        )


if __name__ == "__main__":
    main()
