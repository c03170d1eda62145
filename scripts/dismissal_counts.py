"""The pandemic's dismissals against the dated official counts, from paired ensembles.

Usage: python scripts/dismissal_counts.py WITH WITHOUT [--counts FILE] [--lag-days D] [--out CSV]

WITH and WITHOUT are ensemble folders of the same scenario, seeds and scale (``tmpsim run
SCENARIO --seeds N --no-posterior``), WITHOUT made with the dismissals' rule switched off
(``--set behaviour.dismissal_labour_need.elasticity=0``). Replicate ``r`` of one is paired with
replicate ``r`` of the other (common random numbers), so their difference is what the rule adds.

Each row of the counts file (default: the packaged ``data/observed/checks/covid_dismissals.csv``) is
compared with what the model says of the same thing:

``dismissed_covid_cumulative``
    dismissals from 2020-02-01 to the date, WITH less WITHOUT (the counts are of trainees
    dismissed for reasons of COVID-19);
``job_changes_support_measure_cumulative``
    people granted the special job-change route's status by the date: those who chose the
    route (``route_employment_maintenance``, counted on the day of the choice) from the run's
    first day to the date less the days the decision on a change of status takes
    (``--lag-days``; default the WITH folder's ``routes.processing.days``, rounded), in WITH
    (the model's route takes the dismissed of every cause).

Rows of other indicators are listed with no model figure: the two about the dismissed of a
period who were still in the host (``lost_job_in_host``, ``lost_job_still_without``) count a
cohort, which ``scripts/dismissed_cohort.py`` follows. Prints a table (mean and the 5-95%
range of the replicates) and writes it with ``--out``.
"""

from __future__ import annotations

import argparse
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from tmpsim.scenario import load_scenario
from tmpsim.validation.rundata import RunData, load_runs

COUNTS = "covid_dismissals.csv"
FROM = pd.Timestamp("2020-02-01")  # the count's first day: the rule's first month with a fall
METRICS = ("dismissals", "route_employment_maintenance")


def _by_rep(folder: Path) -> list[RunData]:
    """The folder's runs in replicate order."""
    runs = load_runs(folder, METRICS)
    return sorted(runs, key=lambda r: int(re.search(r"rep=(\d+)", r.label).group(1)))


def _total(run: RunData, metric: str, start: pd.Timestamp | None, end: pd.Timestamp) -> float:
    """A flow summed from ``start`` to ``end`` (both included), or a stock on ``end``."""
    series = run.metric(metric, "all")
    if series is None:
        raise SystemExit(f"{run.label}: no metric {metric!r}")
    if start is None:
        return float(series.loc[end])
    return float(series.loc[start:end].sum())


def processing_days(folder: Path) -> int:
    """Days from choosing a change of status to its grant in the folder's scenario (0: at once)."""
    routes = load_scenario(folder / "scenario.yaml").routes
    return 0 if routes is None or routes.processing is None else round(routes.processing.days)


def model_figures(
    with_rule: list[RunData],
    without: list[RunData],
    indicator: str,
    date: pd.Timestamp,
    lag_days: int = 0,
) -> np.ndarray | None:
    """The model's figure for one counted row, replicate by replicate (None: not modelled).

    ``lag_days``: the days between choosing the special route and holding its status.
    """
    if indicator == "dismissed_covid_cumulative":
        pairs = zip(with_rule, without, strict=True)
        return np.array(
            [
                _total(a, "dismissals", FROM, date) - _total(b, "dismissals", FROM, date)
                for a, b in pairs
            ]
        )
    if indicator == "job_changes_support_measure_cumulative":
        first = pd.Timestamp(with_rule[0].start)
        chosen_by = date - pd.Timedelta(days=lag_days)
        return np.array(
            [_total(a, "route_employment_maintenance", first, chosen_by) for a in with_rule]
        )
    return None


def compare(
    with_folder: Path, without_folder: Path, counts: pd.DataFrame, lag_days: int = 0
) -> pd.DataFrame:
    """One row per count: the count, the model's mean and 5-95% range, their ratio."""
    with_rule, without = _by_rep(with_folder), _by_rep(without_folder)
    if len(with_rule) != len(without):
        raise SystemExit(f"{len(with_rule)} runs with the rule, {len(without)} without: not paired")
    rows = []
    for row in counts.itertuples(index=False):
        date = pd.Timestamp(row.date)
        found = model_figures(with_rule, without, row.indicator, date, lag_days)
        figures = {"model": None, "model_p05": None, "model_p95": None, "ratio": None}
        if found is not None:
            lo, hi = np.percentile(found, [5, 95])
            figures = {
                "model": round(found.mean()),
                "model_p05": round(lo),
                "model_p95": round(hi),
                "ratio": round(found.mean() / row.value, 3),
            }
        rows.append(
            {"date": row.date, "indicator": row.indicator, "count": row.value, "bound": row.bound}
            | figures
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    """Compare and print."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("with_rule", type=Path, metavar="WITH")
    ap.add_argument("without", type=Path, metavar="WITHOUT")
    ap.add_argument("--counts", type=Path, default=None, help="dated counts (CSV)")
    ap.add_argument(
        "--lag-days",
        type=int,
        default=None,
        help="days from choosing the special route to its grant (default: the WITH folder's "
        "routes.processing.days)",
    )
    ap.add_argument("--out", type=Path, default=None, help="write the table here (CSV)")
    args = ap.parse_args(argv)
    if args.counts is None:
        with resources.as_file(
            resources.files("tmpsim") / "data" / "observed" / "checks" / COUNTS
        ) as p:
            counts = pd.read_csv(p)
    else:
        counts = pd.read_csv(args.counts)
    lag = processing_days(args.with_rule) if args.lag_days is None else args.lag_days
    print(f"the special route's grants: chosen {lag} days before each date")
    table = compare(args.with_rule, args.without, counts, lag)
    print(table.to_string(index=False))
    if args.out is not None:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
