"""The closure experiment: who goes where when some destinations close and the others partly close.

Three runs of one configuration with the same seed: ``open`` (no border rule of
``border_rules.csv``), ``closed`` (only the dated rules of the destinations named to close, with
their stay extensions: the diversion the model predicts when nothing else closes) and
``all_rules`` (every destination's dated border rules and stay extensions and every origin's
stops: what happened, as far as the rules are known). Entries per destination and year from each
run, beside the sourced intake of ``intake_2020_2022.csv`` where the periods match.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from tmpsim.corridors.config import (
    CorridorsConfig,
    border_rules,
    read_rows,
    stay_extensions,
    with_all_rules,
    with_border_rules,
)
from tmpsim.corridors.simulate import CorridorsRun, simulate

VARIANTS = ("open", "closed", "all_rules")


def variants(cfg: CorridorsConfig, close: Sequence[str]) -> dict[str, CorridorsConfig]:
    """The three configurations of the experiment; ``close``: destinations (or name prefixes)."""
    rules, ext = border_rules(cfg), stay_extensions(cfg)
    closing = {d: w for d, w in rules.items() if any(d.startswith(c) for c in close)}
    kept = {d: e for d, e in ext.items() if d in closing}
    return {
        "open": cfg,
        "closed": with_border_rules(cfg, closing, kept),
        "all_rules": with_all_rules(cfg),
    }


def run_variants(
    cfg: CorridorsConfig, scale: float, seed: int, close: Sequence[str]
) -> dict[str, CorridorsRun]:
    """Each variant run with the same scale and seed."""
    return {name: simulate(c, scale, seed) for name, c in variants(cfg, close).items()}


def entries(run: CorridorsRun, first: dt.date, last: dt.date) -> np.ndarray:
    """Departures per destination over the month-ends from ``first`` to ``last`` (inclusive)."""
    pick = [i for i, m in enumerate(run.months) if first <= m <= last]
    return run.departures[pick].sum(axis=(0, 1)) / run.scale


def yearly_entries(runs: dict[str, CorridorsRun], years: range) -> list[dict]:
    """Rows: destination, year, entries in each variant."""
    out = []
    any_run = next(iter(runs.values()))
    for y in years:
        per = {k: entries(r, dt.date(y, 1, 1), dt.date(y, 12, 31)) for k, r in runs.items()}
        for j, d in enumerate(any_run.destinations):
            out.append({"destination": d, "year": y, **{k: float(v[j]) for k, v in per.items()}})
    return out


def _period(text: str) -> tuple[dt.date, dt.date]:
    """A period of intake_2020_2022.csv (YYYY, YYYY-MM or a date, or two joined by ..)."""
    if ".." in text:
        a, b = text.split("..")
    else:
        a = b = text
    first = dt.date.fromisoformat(a + "-01-01" if len(a) == 4 else a + "-01" if len(a) == 7 else a)
    if len(b) == 4:
        last = dt.date(int(b), 12, 31)
    elif len(b) == 7:
        y, m = map(int, b.split("-"))
        last = dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)
    else:
        last = dt.date.fromisoformat(b)
    return first, last


def compare_intake(runs: dict[str, CorridorsRun]) -> list[dict]:
    """Sourced entries (per year or per day) beside each variant's, on the same periods.

    Stocks and backlogs (orders held back by border rules) are compared at the month-end
    nearest the sourced date.
    """
    rows = []
    any_run = next(iter(runs.values()))
    for row in read_rows("intake_2020_2022.csv"):
        d = row["destination"]
        if d not in any_run.destinations:
            continue
        j = any_run.destinations.index(d)
        first, last = _period(row["period"])
        unit, observed = row["unit"], float(row["value"])
        sim = {}
        for k, r in runs.items():
            if row["indicator"] in ("stock", "backlog"):
                t = int(np.argmin([abs((m - last).days) for m in r.months]))
                if row["indicator"] == "stock":
                    sim[k] = float(r.stock[t, :, j].sum() / r.scale)
                else:  # orders held back by border rules (already full-population)
                    sim[k] = float(r.backlog[t, j])
                continue
            # whole months only: the month-ends inside the period
            total = float(entries(r, first, last)[j])
            months = sum(1 for m in r.months if first <= m <= last)
            if unit == "persons/day":
                sim[k] = total / max(months, 1) * 12 / 365.25
            elif unit == "persons/year":
                sim[k] = total / max(months / 12, 1e-9)
            elif unit == "persons/month":
                sim[k] = total / max(months, 1)
            else:  # persons/half-year and the like: the period's total
                sim[k] = total
        rows.append(
            {
                "destination": d,
                "indicator": row["indicator"],
                "period": row["period"],
                "unit": unit,
                "observed": observed,
                **sim,
                "source": row["source"],
            }
        )
    return rows
