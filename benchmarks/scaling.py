"""Scaling benchmark: the flagship at several scales, each in a fresh interpreter.

Scale 1 is Japan's programme; scale 10 is a synthetic programme ten times as large (about four
million workers in the country at once). For each scale: agents created, agent-days, start-up,
simulation and results seconds, the whole command, CPU seconds, peak memory, and the cost per agent
(microseconds and KiB), with the growth exponent between successive scales (d log cost / d log
agents: 1 is linear, below 1 is better than linear).

    .venv/bin/python benchmarks/scaling.py                       # 0.1 0.3 1 3 10
    .venv/bin/python benchmarks/scaling.py --scales 0.01 0.03 0.1 --output none
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from _bench import FLAGSHIP, HERE, machine, machine_table, run_tmpsim, si, startup_seconds, table

DEFAULT_SCALES = (0.1, 0.3, 1.0, 3.0, 10.0)
GOAL_10_SECONDS = 60.0
GOAL_10_MIB = 8 * 1024.0


def measure(
    scales: list[float], seed: int = 1, output: str = "write", timeout: float | None = None
) -> list[dict[str, float]]:
    """One fresh-subprocess run per scale, smallest first."""
    out = []
    for scale in sorted(scales):
        run = run_tmpsim(scale, seed, FLAGSHIP, output=output, timeout=timeout)
        r = run.report
        out.append(
            {
                "scale": scale,
                "agents": r["agents"],
                "agent_days": r["agent_days"],
                "startup_s": startup_seconds(run),
                "simulate_s": r["phases"]["simulate"],
                "results_s": r["phases"]["results"],
                "whole_s": run.wall,
                "cpu_s": run.cpu,
                "peak_rss_mib": run.max_rss_mib,
                "population_mib": r["population_mib"],
                "rss_simulate_mib": r["rss_mib"]["simulate"],
                "agent_days_per_s": r["agent_days"] / max(r["phases"]["simulate"], 1e-12),
            }
        )
    return out


def growth(a: dict[str, float], b: dict[str, float], key: str) -> float:
    """Exponent k in cost ~ agents**k between two runs."""
    if a[key] <= 0 or b[key] <= 0 or a["agents"] == b["agents"]:
        return float("nan")
    return math.log(b[key] / a[key]) / math.log(b["agents"] / a["agents"])


def rows(results: list[dict[str, float]]) -> list[list[object]]:
    """Table rows, one per scale."""
    out = []
    prev = None
    for s in results:
        k_t = growth(prev, s, "whole_s") if prev else float("nan")
        k_sim = growth(prev, s, "simulate_s") if prev else float("nan")
        k_m = growth(prev, s, "peak_rss_mib") if prev else float("nan")
        out.append(
            [
                f"{s['scale']:g}",
                int(s["agents"]),
                si(s["agent_days"]),
                s["startup_s"],
                s["simulate_s"],
                s["results_s"],
                s["whole_s"],
                s["cpu_s"],
                s["peak_rss_mib"],
                s["rss_simulate_mib"],
                si(s["agent_days_per_s"]),
                s["whole_s"] / s["agents"] * 1e6,
                s["peak_rss_mib"] * 1024 / s["agents"],
                k_sim,
                k_t,
                k_m,
            ]
        )
        prev = s
    return out


HEADER = [
    "scale",
    "agents",
    "agent-days",
    "start-up s",
    "simulate s",
    "results s",
    "whole s",
    "CPU s",
    "peak MiB",
    "MiB after sim",
    "agent-days/s",
    "µs/agent",
    "KiB/agent",
    "k sim",
    "k whole",
    "k mem",
]


def goals(results: list[dict[str, float]]) -> list[str]:
    """The issue's goals for scale 10, if it was run."""
    lines = []
    for s in results:
        if s["scale"] == 10:
            t_ok = "meets" if s["whole_s"] <= GOAL_10_SECONDS else "misses"
            m_ok = "meets" if s["peak_rss_mib"] <= GOAL_10_MIB else "misses"
            lines.append(
                f"Scale 10: {s['whole_s']:.1f} s ({t_ok} the {GOAL_10_SECONDS:g} s goal), "
                f"{s['peak_rss_mib'] / 1024:.2f} GiB peak ({m_ok} the 8 GiB goal)."
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Measure and print the scaling table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scales", type=float, nargs="+", default=list(DEFAULT_SCALES))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--output",
        choices=("none", "result", "write"),
        default="write",
        help="after simulating: nothing, build the Result, or also write the run folder (default)",
    )
    p.add_argument("--timeout", type=float, default=None, help="seconds before a run is killed")
    p.add_argument("--save", type=Path, default=HERE / "results" / "scaling.json")
    args = p.parse_args(argv)
    results = measure(args.scales, args.seed, args.output, args.timeout)
    info = machine()
    print(f"## Scaling {FLAGSHIP}, seed {args.seed}, output {args.output}\n")
    print(table(HEADER, rows(results)))
    print(
        "\nk: growth exponent against the previous scale (cost ~ agents^k; 1 = linear). "
        "Agent-days/s over the simulation phase."
    )
    for line in goals(results):
        print(line)
    print()
    print(machine_table(info))
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(
            json.dumps({"machine": info, "output": args.output, "scaling": results}, indent=2)
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
