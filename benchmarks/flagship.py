"""Flagship benchmark: ``japan-titp-covid`` at full scale, each run in a fresh interpreter.

Prints the wall seconds of the whole command split into start-up (interpreter, imports, scenario
load, population build) and simulation (and results: building the tables and writing the run
folder), CPU seconds, agents created, agent-days per second and peak resident memory, then times the
user's own command ``tmpsim run japan-titp-covid --quiet`` the same way.

Agent-days: the sum over simulated days of the agents alive that day (any state but returned,
other status, dropped), i.e. the sum over agents of the days each spent in the run.

    .venv/bin/python benchmarks/flagship.py            # one run of each
    .venv/bin/python benchmarks/flagship.py --repeat 3 # median of three
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _bench import (
    FLAGSHIP,
    HERE,
    ChildRun,
    agent_days_per_second,
    machine,
    machine_table,
    reference_seconds,
    run_cli,
    run_tmpsim,
    si,
    startup_seconds,
    table,
)

GOAL_RATIO = 2.3  # the whole command over the reference loop, timed in the same run
GOAL_MIB = 1024.0


def median_run(runs: list[ChildRun]) -> ChildRun:
    """The run with the median whole-command wall time."""
    return sorted(runs, key=lambda r: r.wall)[len(runs) // 2]


def summarise(run: ChildRun, cli: ChildRun | None = None) -> dict[str, float]:
    """The flagship figures of one measured run as a flat dict."""
    r = run.report
    p = r["phases"]
    out = {
        "whole_command_s": run.wall,
        "interpreter_s": r.get("interpreter_seconds", 0.0),
        "imports_s": p["imports"],
        "load_s": p["load"],
        "build_s": p["build"],
        "startup_s": startup_seconds(run),
        "simulate_s": p["simulate"],
        "results_s": p["results"],
        "cpu_s": run.cpu,
        "agents": r["agents"],
        "days": r["days"],
        "agent_days": r["agent_days"],
        "agent_days_per_s": agent_days_per_second(run),
        "agent_days_per_whole_s": r["agent_days"] / run.wall,
        "peak_rss_mib": run.max_rss_mib,
        "population_mib": r["population_mib"],
        "rss_imports_mib": r["rss_mib"]["imports"],
        "rss_build_mib": r["rss_mib"]["build"],
        "rss_simulate_mib": r["rss_mib"]["simulate"],
    }
    if cli is not None:
        out["cli_wall_s"] = cli.wall
        out["cli_cpu_s"] = cli.cpu
        out["cli_peak_rss_mib"] = cli.max_rss_mib
    return out


def rows(s: dict[str, float]) -> list[list[object]]:
    """Rows of the flagship table (figure, value)."""
    ratio = s["whole_command_s"] / s["reference_s"]
    ok = "meets" if ratio <= GOAL_RATIO else "misses"
    mem_ok = "meets" if s["peak_rss_mib"] <= GOAL_MIB else "misses"
    out: list[list[object]] = [
        ["reference loop (numpy_life.py 400000 365), s", s["reference_s"]],
        ["whole command / reference loop", f"{ratio:.2f}x"],
        ["simulation / reference loop", f"{s['simulate_s'] / s['reference_s']:.2f}x"],
        ["whole command, wall s", s["whole_command_s"]],
        ["  start-up: interpreter start", s["interpreter_s"]],
        ["  start-up: imports", s["imports_s"]],
        ["  start-up: scenario load", s["load_s"]],
        ["  start-up: population build", s["build_s"]],
        ["  start-up, total", s["startup_s"]],
        ["  simulation", s["simulate_s"]],
        ["  results (tables + run folder)", s["results_s"]],
        ["CPU s (user + system)", s["cpu_s"]],
        ["agents created", int(s["agents"])],
        ["days simulated", int(s["days"])],
        ["agent-days (alive)", int(s["agent_days"])],
        ["agent-days per simulation second", si(s["agent_days_per_s"])],
        ["agent-days per whole-command second", si(s["agent_days_per_whole_s"])],
        ["peak resident memory, MiB", s["peak_rss_mib"]],
        ["  of which agent arrays, MiB", s["population_mib"]],
        ["  resident after imports, MiB", s["rss_imports_mib"]],
        ["  resident after population build, MiB", s["rss_build_mib"]],
        ["  resident after simulation, MiB", s["rss_simulate_mib"]],
        [f"goal: whole command <= {GOAL_RATIO:g}x the reference loop", ok],
        [f"goal: peak memory <= {GOAL_MIB:g} MiB", mem_ok],
    ]
    if "cold_cpu_s" in s:
        # numba compiles lazily, on a kernel's first call: the cost shows up in the simulation.
        out += [
            ["empty caches (first run ever): whole command s", s["cold_whole_command_s"]],
            ["empty caches (first run ever): CPU s", s["cold_cpu_s"]],
        ]
    if "cli_wall_s" in s:
        out += [
            ["`tmpsim run --quiet`, wall s", s["cli_wall_s"]],
            ["`tmpsim run --quiet`, CPU s", s["cli_cpu_s"]],
            ["`tmpsim run --quiet`, peak MiB", s["cli_peak_rss_mib"]],
        ]
    return out


def cold_start(scale: float, seed: int) -> ChildRun:
    """One run with empty caches (as on the very first run after installing).

    numba's compiled kernels and tmpsim's kept precomputations (``tmpsim.cache``: the sending
    market's run) both start empty.
    """
    with (
        tempfile.TemporaryDirectory(prefix="tmpsim-numba-") as numba_cache,
        tempfile.TemporaryDirectory(prefix="tmpsim-cache-") as cache,
    ):
        env = {"NUMBA_CACHE_DIR": numba_cache, "TMPSIM_CACHE_DIR": cache}
        return run_tmpsim(scale, seed, FLAGSHIP, output="write", env=env)


def measure(scale: float, seed: int, repeat: int, cli: bool, cold: bool = True) -> dict[str, float]:
    """Run the flagship ``repeat`` times (and the CLI once per repeat); the median run's figures.

    With ``cold`` one more run starts from empty caches, so compilation and the sending market's
    run are in its start-up (the first run ever; later runs load the cached machine code and
    the kept market, ``tmpsim.cache``).
    """
    runs, refs = [], []
    for _ in range(repeat):  # the reference loop in turn with the runs, under the same load
        refs.append(reference_seconds())
        runs.append(run_tmpsim(scale, seed, FLAGSHIP, output="write"))
    run = median_run(runs)
    cli_run = median_run([run_cli(scale, seed, FLAGSHIP) for _ in range(repeat)]) if cli else None
    s = summarise(run, cli_run)
    s["reference_s"] = sorted(refs)[len(refs) // 2]
    if cold:
        c = cold_start(scale, seed)
        s["cold_whole_command_s"] = c.wall
        s["cold_cpu_s"] = c.cpu
    s["scale"] = scale
    s["repeat"] = repeat
    return s


def main(argv: list[str] | None = None) -> int:
    """Measure and print the flagship table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeat", type=int, default=1, help="runs of each; the median is shown")
    p.add_argument("--no-cli", action="store_true", help="skip timing `tmpsim run`")
    p.add_argument("--no-cold", action="store_true", help="skip the run with empty caches")
    p.add_argument(
        "--save", type=Path, default=HERE / "results" / "flagship.json", help="JSON of the figures"
    )
    args = p.parse_args(argv)
    s = measure(args.scale, args.seed, max(args.repeat, 1), not args.no_cli, not args.no_cold)
    info = machine()
    print(f"## Flagship {FLAGSHIP}, scale {args.scale:g}, seed {args.seed}\n")
    print(table(["figure", "value"], rows(s)))
    print()
    print(machine_table(info))
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps({"machine": info, "flagship": s}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
