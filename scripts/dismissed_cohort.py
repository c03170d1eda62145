"""Where the dismissed of a period are on a later day: a cohort the daily series cannot follow.

Usage: python scripts/dismissed_cohort.py SCENARIO [--scale S] [--seeds N ...] [--set KEY=VALUE]
       [--first 2020-02-01] [--last 2020-11-30] [--on 2021-01-15] [--without KEY=VALUE]

Runs the scenario to ``--on`` and follows the people dismissed between ``--first`` and
``--last`` (a move from employment into the jobless state) who are still in the host with a
status on ``--last``: how many there are, and where they are on ``--on`` (at work, without work,
irregular, gone). With ``--without`` (e.g. ``behaviour.dismissal_labour_need.elasticity=0``)
each seed runs again with that setting and the difference is printed too: the people the
setting adds, for counts that name only the dismissals of a shock. Figures are scaled to the
full population. The count it was written for (about 3,000 trainees who had lost their job in
the pandemic and were in Japan at the end of November 2020, about 100 of them still without a
next job in January 2021) is in ``tmpsim/data/observed/checks/covid_dismissals.csv``.
"""

from __future__ import annotations

import argparse
import datetime as dt

import numpy as np

import tmpsim
from tmpsim.kinds import State
from tmpsim.simulation import Simulation
from tmpsim.states import IN_HOST, NO_INCOME, WORKING

WHERE = {
    "at work": WORKING,
    "without work, looking for an employer": (State.JOBLESS,),
    "without work, waiting to go home or on a bridge without work": tuple(
        s for s in NO_INCOME if s is not State.JOBLESS
    ),
    "irregular": (State.IRREGULAR,),
}


def cohort(sim: Simulation, first: int, last: int, on: int) -> dict[str, float]:
    """Run ``sim`` to day ``on``; the dismissed of days ``first..last`` and where they are.

    Counts are of simulated agents divided by the scale (full-population equivalents).
    """
    pop = sim.pop
    dismissed = np.empty(0, dtype=np.int64)  # ids moved into the jobless state in the window
    members = dismissed
    was_jobless = np.empty(0, dtype=bool)
    for day in range(on + 1):
        sim.step(day)
        if not first - 1 <= day <= last:
            continue
        jobless = pop.state[: pop.n] == State.JOBLESS
        if day >= first:  # newly jobless today (agents created today were not jobless)
            before = np.zeros(pop.n, dtype=bool)
            before[: was_jobless.size] = was_jobless
            dismissed = np.union1d(dismissed, np.flatnonzero(jobless & ~before))
        was_jobless = jobless
        if day == last:
            with_status = [s for s in IN_HOST if s is not State.IRREGULAR]
            members = dismissed[np.isin(pop.state[dismissed], with_status)]
    counts = {"dismissed in the window, in the host with a status at its end": members.size}
    state = pop.state[members]
    placed = 0
    for name, states in WHERE.items():
        k = int(np.isin(state, states).sum())
        counts[f"of them on the day: {name}"] = k
        placed += k
    counts["of them on the day: gone (home, another status)"] = members.size - placed
    return {k: v / sim.scale for k, v in counts.items()}


def main(argv: list[str] | None = None) -> int:
    """Run each seed (with and without the setting) and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--without", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--first", type=dt.date.fromisoformat, default=dt.date(2020, 2, 1))
    ap.add_argument("--last", type=dt.date.fromisoformat, default=dt.date(2020, 11, 30))
    ap.add_argument("--on", type=dt.date.fromisoformat, default=dt.date(2021, 1, 15))
    args = ap.parse_args(argv)
    variants = {"with": args.sets} | ({"without": args.sets + args.without} if args.without else {})
    found: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for name, sets in variants.items():
        sc = tmpsim.load_scenario(args.scenario, sets)
        days = [sc.day(d) for d in (args.first, args.last, args.on)]
        if not 0 < days[0] <= days[1] <= days[2] < sc.n_days:
            ap.error(f"need {sc.start} < --first <= --last <= --on <= {sc.end}")
        for seed in args.seeds:
            found[name].append(cohort(Simulation(sc, seed=seed, scale=args.scale), *days))
    print(
        f"{args.scenario}, scale {args.scale:g}, seeds {args.seeds}: dismissed "
        f"{args.first}..{args.last}, where they are on {args.on} (mean over seeds)"
    )
    header = f"{'':<70}{'with':>10}" + (f"{'without':>10}{'added':>10}" if args.without else "")
    print(header)
    for key in found["with"][0]:
        mean = {n: float(np.mean([f[key] for f in runs])) for n, runs in found.items()}
        line = f"{key:<70}{mean['with']:>10,.0f}"
        if args.without:
            line += f"{mean['without']:>10,.0f}{mean['with'] - mean['without']:>10,.0f}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
