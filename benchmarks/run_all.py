"""Every benchmark of issue 4 in one command, one table: flagship, scaling, docking speed.

Each tmpsim run happens in a fresh interpreter (see ``_bench.py``); the docking speed ratio is
measured with both implementations in this one process, one seed each at ``--docking-scale``.
The docking agreement figures (bands, KS tests) come from the last ``docking/compare.py`` run,
read from ``docking/results/docking.json`` (run it for fresh ones: it takes minutes).

    .venv/bin/python benchmarks/run_all.py            # scales 0.1 0.3 1 3 10, docking at 0.1
    .venv/bin/python benchmarks/run_all.py --quick    # scales 0.1 0.3 1, docking at 0.03
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import flagship
import scaling
from _bench import HERE, machine, machine_table, si, table

DOCKING = HERE / "docking"
DOCKING_JSON = DOCKING / "results" / "docking.json"
GOAL_RATIO = 100.0


def _yes(ok: bool | None) -> str:
    return "–" if ok is None else ("yes" if ok else "NO")


def docking_speed(scale: float) -> dict[str, float]:
    """tmpsim and Mesa on the docking scenario, one seed each, in this process."""
    sys.path.insert(0, str(DOCKING))
    import compare

    return compare.speed_rows([scale], 1, None, log=lambda *_: None)[0]


def docking_agreement() -> list[list[object]]:
    """Rows summarising the saved ensemble comparison, if there is one."""
    if not DOCKING_JSON.exists():
        return [["docking agreement", "not run yet", "docking/compare.py", "", "–"]]
    res = json.loads(DOCKING_JSON.read_text())
    tag = f"docking, {res['seeds']} seeds at {res['scale']:g} (saved)"
    worst = min(
        min(s["mesa_mean_in_tmpsim_band"], s["tmpsim_mean_in_mesa_band"])
        for s in res["series"].values()
    )
    rows: list[list[object]] = [
        [tag, "worst share of days inside the other's 5-95% band", f"{100 * worst:.0f}%", "", "–"]
    ]
    for what, m in res["money"].items():
        p = m.get("ks_p_by_run", m["ks_p"])
        label = f"KS p (runs permuted), {what.replace('_', ' ')}"
        rows.append([tag, label, f"{p:.2f}", "> 0.05", _yes(p > 0.05)])
    sp = res["speed"]
    cpu = sp.get("cpu_ratio", sp["ratio"])
    rows.append([tag, "speed ratio, CPU (wall)", f"{cpu:.0f}x ({sp['ratio']:.0f}x)", "", "–"])
    for s in res.get("speed_by_scale", []):
        cpu = s.get("cpu_ratio", s["ratio"])
        rows.append(
            [
                f"docking at {s['scale']:g} (saved)",
                "speed ratio, CPU (wall)",
                f"{cpu:.0f}x ({s['ratio']:.0f}x)",
                f">= {GOAL_RATIO:g}x",
                _yes(cpu >= GOAL_RATIO),
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run everything and print one table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="scales up to 1, docking at 0.03")
    p.add_argument("--scales", type=float, nargs="+", default=None)
    p.add_argument("--flagship-scale", type=float, default=1.0, help="(for trying the script)")
    p.add_argument("--docking-scale", type=float, default=None)
    p.add_argument("--no-docking", action="store_true")
    p.add_argument("--save", type=Path, default=HERE / "results" / "run_all.json")
    args = p.parse_args(argv)
    scales = args.scales or ([0.1, 0.3, 1.0] if args.quick else list(scaling.DEFAULT_SCALES))
    dock_scale = args.docking_scale or (0.03 if args.quick else 0.1)
    info = machine()

    print("flagship ...", file=sys.stderr)
    fl = flagship.measure(args.flagship_scale, 1, 1, cli=True)
    print("scaling ...", file=sys.stderr)
    sc_rows = scaling.measure(scales)
    dock = None
    if not args.no_docking:
        print("docking speed ...", file=sys.stderr)
        dock = docking_speed(dock_scale)

    rows: list[list[object]] = []
    tag = f"flagship, scale {args.flagship_scale:g}"
    ratio = fl["whole_command_s"] / fl["reference_s"]
    goal = flagship.GOAL_RATIO
    rows += [
        [tag, "reference loop (numpy_life.py 400000 365) s", fl["reference_s"], "", "–"],
        [
            tag,
            "whole command / reference loop",
            f"{ratio:.2f}x",
            f"<= {goal:g}x",
            _yes(ratio <= goal),
        ],
        [tag, "whole command, wall s", fl["whole_command_s"], "", "–"],
        [tag, "  start-up s (interpreter, imports, load, build)", fl["startup_s"], "", "–"],
        [tag, "  simulation s", fl["simulate_s"], "", "–"],
        [tag, "  results s (tables, run folder)", fl["results_s"], "", "–"],
        [tag, "CPU s", fl["cpu_s"], "", "–"],
        [tag, "agents created", int(fl["agents"]), "", "–"],
        [tag, "agent-days per simulation second", si(fl["agent_days_per_s"]), "", "–"],
        [tag, "peak memory, MiB", fl["peak_rss_mib"], "<= 1024", _yes(fl["peak_rss_mib"] <= 1024)],
        [
            "`tmpsim run --quiet`",
            "wall s / reference loop",
            f"{fl['cli_wall_s'] / fl['reference_s']:.2f}x",
            f"<= {goal:g}x",
            _yes(fl["cli_wall_s"] / fl["reference_s"] <= goal),
        ],
        [
            "`tmpsim run --quiet`",
            "peak memory, MiB",
            fl["cli_peak_rss_mib"],
            "<= 1024",
            _yes(fl["cli_peak_rss_mib"] <= 1024),
        ],
    ]
    for s in sc_rows:
        tag = f"scale {s['scale']:g}"
        big = s["scale"] == 10
        rows += [
            [
                tag,
                "whole command s (simulation s)",
                f"{s['whole_s']:.2f} ({s['simulate_s']:.2f})",
                "<= 60" if big else "",
                _yes(s["whole_s"] <= 60) if big else "–",
            ],
            [
                tag,
                "peak memory, MiB",
                s["peak_rss_mib"],
                "<= 8192" if big else "",
                _yes(s["peak_rss_mib"] <= 8192) if big else "–",
            ],
            [
                tag,
                "agents; µs and KiB per agent",
                f"{int(s['agents']):,}; {s['whole_s'] / s['agents'] * 1e6:.1f}; "
                f"{s['peak_rss_mib'] * 1024 / s['agents']:.2f}",
                "",
                "–",
            ],
        ]
    if len(sc_rows) >= 2:
        lo = next((s for s in sc_rows if s["scale"] >= 1), sc_rows[0])
        hi = sc_rows[-1]
        if hi is not lo:
            k_t = scaling.growth(lo, hi, "whole_s")
            k_m = scaling.growth(lo, hi, "peak_rss_mib")
            span = f"growth {lo['scale']:g} -> {hi['scale']:g}"
            rows += [
                [span, "time exponent k (cost ~ agents^k)", k_t, "<= 1", _yes(k_t <= 1.05)],
                [span, "memory exponent k", k_m, "<= 1", _yes(k_m <= 1.05)],
            ]
    if dock is not None:
        tag = f"docking at {dock_scale:g}, 1 seed"
        rows += [
            [tag, "tmpsim agent-days/s", si(dock["speed_tmpsim"]), "", "–"],
            [tag, "Mesa agent-days/s", si(dock["speed_mesa"]), "", "–"],
            [
                tag,
                "speed ratio, CPU (wall)",
                f"{dock['cpu_ratio']:.0f}x ({dock['ratio']:.0f}x)",
                f">= {GOAL_RATIO:g}x",
                _yes(dock["cpu_ratio"] >= GOAL_RATIO),
            ],
        ]
    rows += docking_agreement()

    print(table(["benchmark", "figure", "value", "goal", "meets"], rows))
    print()
    print(machine_table(info))
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        out = {"machine": info, "flagship": fl, "scaling": sc_rows, "docking_speed": dock}
        args.save.write_text(json.dumps(out, indent=2, default=lambda x: None) + "\n")
    return 0 if not math.isnan(fl["whole_command_s"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
