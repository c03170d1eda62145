"""Where the time goes: the flagship under pyinstrument, by step of the day and by function.

Prints the seconds spent in each step of ``Simulation.step`` (each module's hook of each phase of
the day, and the recording: measured by wrapping them with a timer) and pyinstrument's call tree
of the whole run. ``--html`` saves the tree as HTML.

    .venv/bin/python benchmarks/profile_flagship.py --scale 1
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _bench import FLAGSHIP, table


def _timed(fn: Callable[..., Any], key: str, acc: dict[str, float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            acc[key] += time.perf_counter() - t

    return wrapper


def step_times(scale: float, seed: int) -> tuple[dict[str, float], float]:
    """Seconds per daily step (inclusive), and the whole run's seconds."""
    import tmpsim
    from tmpsim.simulation import Simulation

    sim = Simulation(tmpsim.load_scenario(FLAGSHIP), seed=seed, scale=scale)
    acc: dict[str, float] = defaultdict(float)
    names = {id(m): attr for attr, _cls in sim.MODULES for m in [getattr(sim, attr)]}
    for hook, calls in sim.phases.items():  # every module's hook in the day's order
        calls[:] = [_timed(f, f"{names[id(f.__self__)]}.{hook}", acc) for f in calls]
    sim.recorder.end_day = _timed(sim.recorder.end_day, "recorder.end_day", acc)
    t = time.perf_counter()
    sim.run()
    return dict(acc), time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    """Profile one flagship run."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--html", type=Path, default=None, help="save pyinstrument's tree as HTML")
    p.add_argument("--no-tree", action="store_true", help="only the per-step table")
    args = p.parse_args(argv)

    acc, total = step_times(args.scale, args.seed)
    rows = [
        [k, v, f"{100 * v / total:.0f}%"] for k, v in sorted(acc.items(), key=lambda kv: -kv[1])
    ]
    rows.append(["(rest of the loop)", total - sum(acc.values()), ""])
    rows.append(["whole run", total, "100%"])
    print(f"## Time by daily step, {FLAGSHIP} at scale {args.scale:g}\n")
    print(table(["step", "seconds", "share"], rows))

    if not args.no_tree:
        from pyinstrument import Profiler

        import tmpsim
        from tmpsim.simulation import Simulation

        sim = Simulation(tmpsim.load_scenario(FLAGSHIP), seed=args.seed, scale=args.scale)
        prof = Profiler(interval=0.001)
        prof.start()
        sim.run()
        prof.stop()
        print()
        print(prof.output_text(unicode=True, color=False, show_all=False))
        if args.html:
            args.html.write_text(prof.output_html())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
