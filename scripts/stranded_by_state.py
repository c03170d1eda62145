"""What the stranded are doing on one day: the people flagged stranded, by state.

Usage: python scripts/stranded_by_state.py SCENARIO DATE [--scale S] [--seed N] [--set KEY=VALUE]

Runs the scenario to DATE (included) and prints how many of those counted as stranded (the
``stranded`` metric: asked to go home, still in the host) are in each state, scaled to the full
population, with the share of those without work (no status, a status without work, or jobless).
The series holds the stranded split in two (``stranded_at_work``, ``stranded_out_of_work``); this
gives every state, from the counts the stranded flag keeps by state (docs/validation.md).
"""

from __future__ import annotations

import argparse
import datetime as dt

import tmpsim
from tmpsim.kinds import State
from tmpsim.simulation import Simulation
from tmpsim.states import NO_INCOME


def stranded_by_state(sim: Simulation) -> dict[State, int]:
    """Agents flagged stranded in each state (simulated agents, not scaled)."""
    counts = sim.pop.flag_of("stranded").by_state.sum(axis=1)
    return {s: int(counts[int(s)]) for s in State if counts[int(s)]}


def main(argv: list[str] | None = None) -> int:
    """Run to the date and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("date", type=dt.date.fromisoformat)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    sc = tmpsim.load_scenario(args.scenario, args.sets)
    sim = Simulation(sc, seed=args.seed, scale=args.scale)
    last = sc.day(args.date)
    if not 0 <= last < sim.n_days:
        ap.error(f"{args.date} is outside the run ({sc.start} to {sc.end})")
    for day in range(last + 1):
        sim.step(day)
    counts = stranded_by_state(sim)
    total = sum(counts.values())
    print(f"{sc.name}, {args.date}, scale {args.scale:g}, seed {args.seed}")
    print(f"{'state':<20} {'stranded':>10} {'share':>7}")
    for s, k in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"{s.name.lower():<20} {k / args.scale:>10,.0f} {k / max(total, 1):>7.1%}")
    idle = sum(counts.get(s, 0) for s in NO_INCOME)
    print(f"{'without work':<20} {idle / args.scale:>10,.0f} {idle / max(total, 1):>7.1%}")
    print(f"{'all stranded':<20} {total / args.scale:>10,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
