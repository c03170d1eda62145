"""One timed tmpsim run, meant to be started in a fresh interpreter by the benchmark scripts.

Prints one JSON object on stdout: the wall seconds of each phase (imports, scenario load,
population build, simulation, results), agents created, agent-days and resident memory after each
phase. The parent measures the whole command (interpreter start to exit) and the peak memory.

Agent-days are the sum over simulated days of the agents alive that day, i.e. in any state but
the terminal ones (returned, other status, dropped); equivalently the sum over agents of the days
each spent in the run. They count simulated agents (not scaled to the full population).

    python benchmarks/_child.py --scenario japan-titp-covid --scale 1 --seed 1 --output write
"""

from __future__ import annotations

import time

T_START = time.perf_counter()
WALL_START = time.time()

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402


def _rss_mb() -> float:
    """Resident memory of this process now, in MiB."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # pragma: no cover - psutil is a bench dependency
        return float("nan")


def main(argv: list[str] | None = None) -> int:
    """Run one scenario with phase timings and print them as JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="japan-titp-covid")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--output",
        choices=("none", "result", "write"),
        default="write",
        help="after the run: nothing, build the Result in memory, or build it and write the run "
        "folder to a temporary directory (what `tmpsim run` does)",
    )
    args = p.parse_args(argv)

    out: dict[str, object] = {"wall_start": WALL_START, "scale": args.scale, "seed": args.seed}
    phases: dict[str, float] = {}
    rss: dict[str, float] = {"interpreter": _rss_mb()}

    t = time.perf_counter()
    from tmpsim.startup import long_lived, small_page_allocators

    small_page_allocators()  # as the command line starts (tmpsim.cli)
    with long_lived():  # as the command line imports them
        import numpy as np

        import tmpsim
        from tmpsim.results import build_result, write_run
        from tmpsim.simulation import Simulation
        from tmpsim.states import State

    phases["imports"] = time.perf_counter() - t
    rss["imports"] = _rss_mb()

    t = time.perf_counter()
    scenario = tmpsim.load_scenario(args.scenario)
    phases["load"] = time.perf_counter() - t

    t = time.perf_counter()
    sim = Simulation(scenario, seed=args.seed, scale=args.scale)
    gc.freeze()  # as `tmpsim run` does once the model is built
    phases["build"] = time.perf_counter() - t
    rss["build"] = _rss_mb()

    t = time.perf_counter()
    sim.run()
    phases["simulate"] = time.perf_counter() - t
    rss["simulate"] = _rss_mb()

    t = time.perf_counter()
    if args.output == "write":  # as `tmpsim run` does it
        with tempfile.TemporaryDirectory(prefix="tmpsim-bench-") as tmp:
            result = write_run(sim, tmp, with_agents=True)
        del result
    elif args.output == "result":
        result = build_result(sim, with_agents=True)
        del result
    phases["results"] = time.perf_counter() - t
    rss["results"] = _rss_mb()

    terminal = [int(State.RETURNED), int(State.OTHER_STATUS), int(State.DROPPED)]
    live = np.ones(sim.recorder.stocks.shape[1], dtype=bool)
    live[terminal] = False
    out["agent_days"] = int(sim.recorder.stocks[:, live, :].sum(dtype=np.int64))
    out["agents"] = int(sim.pop.n)
    out["days"] = int(sim.n_days)
    out["population_mib"] = sim.pop.nbytes() / 2**20
    out["phases"] = phases
    out["rss_mib"] = rss
    out["child_seconds"] = time.perf_counter() - T_START
    out["numpy"] = np.__version__
    out["tmpsim"] = tmpsim.__version__
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
