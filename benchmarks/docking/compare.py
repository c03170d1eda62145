"""Docking study: tmpsim against a per-agent Mesa model of the same rules, on one scenario.

Runs both implementations on ``docking.yaml`` at a small scale with an ensemble of seeds each
(alternating, in this one process), then checks that they agree statistically:

* key daily series (programme stock, employed, jobless, stranded, irregular, destitute,
  cumulative entries, returns and missing): how often each one's ensemble mean lies inside the
  other's 5-95% band, and a two-sample z-score of the means at fixed dates;
* per-agent debt and savings at return (whole yen): two-sample Kolmogorov-Smirnov tests on the
  returners pooled over the ensemble, with the usual p-value and one from shuffling whole runs;
* speed: agent-days per second of each (agent-days = sum over days of the agents alive, any state
  but returned/other status/dropped; the same definition for both), measured in the same process,
  at the docking scale and at larger scales (``--speed-scales``, one seed each).

Writes a Markdown table, a JSON file and figures to ``benchmarks/docking/results/``.

    .venv/bin/python benchmarks/docking/compare.py                      # 20 seeds at 0.01
    .venv/bin/python benchmarks/docking/compare.py --seeds 4 --scale 0.003 --speed-scales
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mesa_model import GONE, DockingModel, destitute, stocks  # noqa: E402

import tmpsim  # noqa: E402
from tmpsim.results import metric_arrays  # noqa: E402
from tmpsim.simulation import Simulation  # noqa: E402
from tmpsim.states import STOCK_METRICS, State  # noqa: E402

SCENARIO = HERE / "docking.yaml"
RESULTS = HERE / "results"

# Series compared: name -> (kind, what). Stocks are summed over states; "cumulative" flows are
# entries into the listed states from any other state, added up from the first day.
SERIES: dict[str, tuple[str, tuple[State, ...]]] = {
    "programme_stock": ("stock", STOCK_METRICS["programme_stock"]),
    "employed": ("stock", STOCK_METRICS["employed"]),
    "jobless": ("stock", STOCK_METRICS["jobless"]),
    # Asked to go home and still waiting in the host: tmpsim's "stranded" flag, which in this
    # scenario (no special statuses) is the same as being in the stranded state.
    "stranded": ("stock", (State.STRANDED,)),
    "irregular": ("stock", STOCK_METRICS["irregular"]),
    "awaiting_entry": ("stock", STOCK_METRICS["awaiting_entry"]),
    "destitute": ("flag", ()),
    "new_entries (cumulative)": ("cumulative", (State.EMPLOYED,)),
    "returns (cumulative)": ("cumulative", (State.RETURNED,)),
    "missing (cumulative)": ("cumulative", (State.IRREGULAR,)),
}
STRANDED_BY_ORIGIN = "stranded, {}"
CHECK_DATES = ("2020-03-31", "2020-09-30", "2021-01-31", "2021-06-30")


@dataclass
class Run:
    """What one run of one implementation produced (in agents, not scaled)."""

    series: dict[str, np.ndarray]  # name -> [day]
    debt_at_return: np.ndarray
    savings_at_return: np.ndarray
    agent_days: int
    seconds: float  # wall
    cpu: float  # CPU seconds of this process (threads included): less sensitive to load
    agents: int

    @property
    def speed(self) -> float:
        """Agent-days per wall second."""
        return self.agent_days / self.seconds

    @property
    def cpu_speed(self) -> float:
        """Agent-days per CPU second."""
        return self.agent_days / max(self.cpu, 1e-9)


# ---- the two implementations -------------------------------------------------------------------


def run_tmpsim(scenario: tmpsim.Scenario, seed: int, scale: float) -> Run:
    """Build and run tmpsim; read its daily records and its returners."""
    t, c = time.perf_counter(), time.process_time()
    sim = Simulation(scenario, seed=seed, scale=scale).run()
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    arrays = metric_arrays(sim)
    stocks = {s: arrays[f"state_{s.name.lower()}"] for s in State}
    flows_in = {
        State.EMPLOYED: arrays["new_entries"],
        State.RETURNED: arrays["returns"],
        State.IRREGULAR: arrays["became_irregular"],
    }
    series: dict[str, np.ndarray] = {}
    for name, (kind, states) in SERIES.items():
        if name == "stranded":
            series[name] = arrays["stranded"].sum(axis=1)
        elif kind == "stock":
            series[name] = sum(stocks[s] for s in states).sum(axis=1)
        elif kind == "flag":
            series[name] = arrays["destitute"].sum(axis=1)
        else:
            series[name] = np.cumsum(flows_in[states[0]].sum(axis=1))
    stranded = arrays["stranded"]
    for o_idx, origin in enumerate(sim.origins):
        series[STRANDED_BY_ORIGIN.format(origin)] = stranded[:, o_idx]
    pop = sim.pop
    back = np.flatnonzero(pop.state[: pop.n] == int(State.RETURNED))
    live = sum(stocks[s] for s in State if s not in GONE).sum()
    return Run(
        series,
        pop.debt[back].astype(float),
        pop.savings[back].astype(float),
        int(live),
        seconds,
        cpu,
        int(pop.n),
    )


def run_mesa(scenario: tmpsim.Scenario, seed: int, scale: float) -> Run:
    """Build and run the Mesa model; read its DataCollector, flows and returners."""
    t, c = time.perf_counter(), time.process_time()
    model = DockingModel(scenario, seed=seed, scale=scale).run()
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    st = stocks(model).astype(float)
    by_state = {s: st[:, int(s), :] for s in State}
    n_days = model.n_days
    entries = {s: np.zeros(n_days) for s in (State.EMPLOYED, State.RETURNED, State.IRREGULAR)}
    for day, flows in enumerate(model.flows):
        for (old, new, _), v in flows.items():
            if new is State.EMPLOYED and old is State.AWAITING_ENTRY:
                entries[new][day] += v
            elif new in (State.RETURNED, State.IRREGULAR) and old is not None and old is not new:
                entries[new][day] += v
    series: dict[str, np.ndarray] = {}
    for name, (kind, states) in SERIES.items():
        if kind == "stock":
            series[name] = sum(by_state[s] for s in states).sum(axis=1)
        elif kind == "flag":
            series[name] = destitute(model).sum(axis=1).astype(float)
        else:
            series[name] = np.cumsum(entries[states[0]])
    stranded = by_state[State.STRANDED]
    for o_idx, origin in enumerate(model.origins):
        series[STRANDED_BY_ORIGIN.format(origin)] = stranded[:, o_idx]
    live = sum(by_state[s] for s in State if s not in GONE).sum()
    return Run(
        series,
        np.array([r.debt for r in model.returned]),
        np.array([r.savings for r in model.returned]),
        int(live),
        seconds,
        cpu,
        int(st[-1].sum()),
    )


# ---- statistics ----------------------------------------------------------------------------------


def bands(runs: list[Run], name: str) -> dict[str, np.ndarray]:
    """Ensemble mean, 5% and 95% quantiles and standard deviation of one series, per day."""
    x = np.stack([r.series[name] for r in runs])
    return {
        "mean": x.mean(axis=0),
        "q05": np.quantile(x, 0.05, axis=0),
        "q95": np.quantile(x, 0.95, axis=0),
        "sd": x.std(axis=0, ddof=1) if len(runs) > 1 else np.zeros(x.shape[1]),
    }


def inside(mean: np.ndarray, other: dict[str, np.ndarray]) -> float:
    """Share of days on which ``mean`` lies inside the other ensemble's 5-95% band."""
    return float(np.mean((mean >= other["q05"] - 1e-9) & (mean <= other["q95"] + 1e-9)))


def z_score(
    a: dict[str, np.ndarray], b: dict[str, np.ndarray], n_a: int, n_b: int, day: int
) -> float:
    """Two-sample z of the ensemble means on one day (0 when both have no spread)."""
    se = np.sqrt(a["sd"][day] ** 2 / n_a + b["sd"][day] ** 2 / n_b)
    diff = a["mean"][day] - b["mean"][day]
    if se == 0:
        return 0.0 if diff == 0 else float("inf")
    return float(diff / se)


def ks(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value."""
    from scipy.stats import ks_2samp

    res = ks_2samp(a, b)
    return float(res.statistic), float(res.pvalue)


def ks_d(a: np.ndarray, b: np.ndarray) -> float:
    """The Kolmogorov-Smirnov distance between two samples' empirical distributions."""
    a, b = np.sort(a), np.sort(b)
    x = np.concatenate([a, b])
    fa = np.searchsorted(a, x, side="right") / a.size
    fb = np.searchsorted(b, x, side="right") / b.size
    return float(np.abs(fa - fb).max())


def ks_by_run(
    a_runs: list[np.ndarray], b_runs: list[np.ndarray], n_perm: int = 499, seed: int = 0
) -> float:
    """Permutation p-value of the KS distance with whole runs as the unit.

    Returners of one run share its queues and its seats, so they are not independent draws and
    the usual KS p-value (which assumes they are) is too small. Here the implementation labels
    of whole runs are shuffled: the p-value is the share of shuffles whose KS distance is at
    least the observed one.
    """
    runs = a_runs + b_runs
    n_a = len(a_runs)
    observed = ks_d(np.concatenate(a_runs), np.concatenate(b_runs))
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n_perm):
        order = rng.permutation(len(runs))
        a = np.concatenate([runs[i] for i in order[:n_a]])
        b = np.concatenate([runs[i] for i in order[n_a:]])
        hits += ks_d(a, b) >= observed - 1e-12
    return (hits + 1) / (n_perm + 1)


# ---- the study ---------------------------------------------------------------------------


def ensemble(
    scale: float, seeds: list[int], overrides: list[str] | None = None, log=print
) -> tuple[list[Run], list[Run]]:
    """Both implementations on every seed, alternating (so both see the same machine load)."""
    sc = tmpsim.load_scenario(SCENARIO, overrides)
    t_runs, m_runs = [], []
    for seed in seeds:
        t_runs.append(run_tmpsim(sc, seed, scale))
        m_runs.append(run_mesa(sc, seed, scale))
        log(
            f"  seed {seed}: tmpsim {t_runs[-1].seconds:.2f} s, Mesa {m_runs[-1].seconds:.1f} s, "
            f"agent-days {t_runs[-1].agent_days:,} / {m_runs[-1].agent_days:,}"
        )
    return t_runs, m_runs


def speed_rows(
    scales: list[float], seed: int, overrides: list[str] | None = None, log=print
) -> list[dict[str, float]]:
    """One run of each at each scale, same process: agent-days per second and the ratio."""
    sc = tmpsim.load_scenario(SCENARIO, overrides)
    out = []
    for scale in scales:
        t = run_tmpsim(sc, seed, scale)
        m = run_mesa(sc, seed, scale)
        out.append(
            {
                "scale": scale,
                "agent_days_tmpsim": t.agent_days,
                "agent_days_mesa": m.agent_days,
                "seconds_tmpsim": t.seconds,
                "seconds_mesa": m.seconds,
                "speed_tmpsim": t.speed,
                "speed_mesa": m.speed,
                "ratio": t.speed / m.speed,
                "cpu_tmpsim": t.cpu,
                "cpu_mesa": m.cpu,
                "cpu_ratio": t.cpu_speed / m.cpu_speed,
            }
        )
        ratio = t.speed / m.speed
        log(f"  scale {scale:g}: tmpsim {t.seconds:.2f} s, Mesa {m.seconds:.1f} s, {ratio:.0f}x")
    return out


def analyse(t_runs: list[Run], m_runs: list[Run], start: dt.date) -> dict:
    """Band overlap, z-scores, KS tests and speed of an ensemble."""
    n_t, n_m = len(t_runs), len(m_runs)
    days = {d: (dt.date.fromisoformat(d) - start).days for d in CHECK_DATES}
    series = {}
    for name in t_runs[0].series:
        bt, bm = bands(t_runs, name), bands(m_runs, name)
        series[name] = {
            "tmpsim_end": float(bt["mean"][-1]),
            "mesa_end": float(bm["mean"][-1]),
            "mesa_mean_in_tmpsim_band": inside(bm["mean"], bt),
            "tmpsim_mean_in_mesa_band": inside(bt["mean"], bm),
            "z": {d: z_score(bm, bt, n_m, n_t, i) for d, i in days.items() if i < bt["mean"].size},
        }
    money = {}
    for what in ("debt_at_return", "savings_at_return"):
        # Whole yen: many returners share one amount (same wage, days and no savings left after
        # the fee), and tmpsim's closed-form settlement and Mesa's daily sums differ in the last
        # bits; unrounded, those float-split ties alone make the KS distance large.
        a_runs = [np.round(getattr(r, what)) for r in t_runs]
        b_runs = [np.round(getattr(r, what)) for r in m_runs]
        a, b = np.concatenate(a_runs), np.concatenate(b_runs)
        d, p = ks(a, b)
        money[what] = {
            "n_tmpsim": int(a.size),
            "n_mesa": int(b.size),
            "mean_tmpsim": float(a.mean()) if a.size else float("nan"),
            "mean_mesa": float(b.mean()) if b.size else float("nan"),
            "share_zero_tmpsim": float(np.mean(a <= 0)) if a.size else float("nan"),
            "share_zero_mesa": float(np.mean(b <= 0)) if b.size else float("nan"),
            "ks_d": d,
            "ks_p": p,
            "ks_p_by_run": ks_by_run(a_runs, b_runs),
        }
    speed_t = np.array([r.speed for r in t_runs])
    speed_m = np.array([r.speed for r in m_runs])
    ad_t = sum(r.agent_days for r in t_runs)
    ad_m = sum(r.agent_days for r in m_runs)
    sec_t = sum(r.seconds for r in t_runs)
    sec_m = sum(r.seconds for r in m_runs)
    cpu_t = sum(r.cpu for r in t_runs)
    cpu_m = sum(r.cpu for r in m_runs)
    speed = {
        "agent_days_tmpsim": ad_t,
        "agent_days_mesa": ad_m,
        "seconds_tmpsim": sec_t,
        "seconds_mesa": sec_m,
        "speed_tmpsim": ad_t / sec_t,
        "speed_mesa": ad_m / sec_m,
        "ratio": (ad_t / sec_t) / (ad_m / sec_m),
        "ratio_median_per_seed": float(np.median(speed_t / speed_m)),
        "cpu_tmpsim": cpu_t,
        "cpu_mesa": cpu_m,
        "cpu_ratio": (ad_t / cpu_t) / (ad_m / cpu_m),
    }
    return {"series": series, "money": money, "speed": speed, "n_tmpsim": n_t, "n_mesa": n_m}


# ---- output ------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    return "\n".join(
        [fmt(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(fmt, rows)]
    )


def report(
    res: dict, scale: float, speeds: list[dict[str, float]], overrides: list[str] | None = None
) -> str:
    """The docking results as Markdown."""
    changed = f" with {', '.join(f'`{o}`' for o in overrides)}" if overrides else ""
    lines = [
        f"Docking scenario `benchmarks/docking/docking.yaml`{changed} at scale {scale:g}, "
        f"{res['n_tmpsim']} seeds of each implementation (figures in agents at this scale).",
        "",
    ]
    header = [
        "series",
        "tmpsim mean, end",
        "Mesa mean, end",
        "Mesa mean in tmpsim band",
        "tmpsim mean in Mesa band",
        "z (Mesa-tmpsim) at " + ", ".join(CHECK_DATES),
    ]
    rows = []
    for name, s in res["series"].items():
        z = ", ".join(f"{v:+.1f}" for v in s["z"].values())
        rows.append(
            [
                name,
                f"{s['tmpsim_end']:,.1f}",
                f"{s['mesa_end']:,.1f}",
                f"{100 * s['mesa_mean_in_tmpsim_band']:.0f}% of days",
                f"{100 * s['tmpsim_mean_in_mesa_band']:.0f}% of days",
                z,
            ]
        )
    lines += [_table(header, rows), ""]
    header = [
        "at return",
        "n tmpsim",
        "n Mesa",
        "mean tmpsim",
        "mean Mesa",
        "zero: tmpsim / Mesa",
        "KS D",
        "KS p (agents iid)",
        "KS p (runs permuted)",
    ]
    rows = []
    for what, m in res["money"].items():
        rows.append(
            [
                what.replace("_", " "),
                f"{m['n_tmpsim']:,}",
                f"{m['n_mesa']:,}",
                f"{m['mean_tmpsim']:,.0f}",
                f"{m['mean_mesa']:,.0f}",
                f"{100 * m['share_zero_tmpsim']:.0f}% / {100 * m['share_zero_mesa']:.0f}%",
                f"{m['ks_d']:.3f}",
                f"{m['ks_p']:.3f}",
                f"{m['ks_p_by_run']:.3f}",
            ]
        )
    lines += [_table(header, rows), ""]
    sp = res["speed"]
    header = [
        "scale",
        "seeds",
        "agent-days (each)",
        "tmpsim s",
        "Mesa s",
        "tmpsim agent-days/s",
        "Mesa agent-days/s",
        "ratio (wall)",
        "tmpsim CPU s",
        "Mesa CPU s",
        "ratio (CPU)",
    ]
    rows = [
        [
            f"{scale:g}",
            str(res["n_tmpsim"]),
            f"{sp['agent_days_tmpsim'] / res['n_tmpsim']:,.0f}",
            f"{sp['seconds_tmpsim']:.1f}",
            f"{sp['seconds_mesa']:.1f}",
            f"{sp['speed_tmpsim']:,.0f}",
            f"{sp['speed_mesa']:,.0f}",
            f"{sp['ratio']:.0f}x",
            f"{sp['cpu_tmpsim']:.1f}",
            f"{sp['cpu_mesa']:.1f}",
            f"{sp['cpu_ratio']:.0f}x",
        ]
    ]
    for s in speeds:
        rows.append(
            [
                f"{s['scale']:g}",
                "1",
                f"{s['agent_days_tmpsim']:,.0f}",
                f"{s['seconds_tmpsim']:.1f}",
                f"{s['seconds_mesa']:.1f}",
                f"{s['speed_tmpsim']:,.0f}",
                f"{s['speed_mesa']:,.0f}",
                f"{s['ratio']:.0f}x",
                f"{s['cpu_tmpsim']:.1f}",
                f"{s['cpu_mesa']:.1f}",
                f"{s['cpu_ratio']:.0f}x",
            ]
        )
    lines += [_table(header, rows), ""]
    return "\n".join(lines)


def speed_report(speeds: list[dict[str, float]]) -> str:
    """Speed rows alone (``--seeds 0``) as Markdown."""
    header = [
        "scale",
        "agent-days",
        "tmpsim s",
        "Mesa s",
        "tmpsim agent-days/s",
        "Mesa agent-days/s",
        "ratio (wall)",
        "ratio (CPU)",
    ]
    rows = [
        [
            f"{s['scale']:g}",
            f"{s['agent_days_tmpsim']:,.0f}",
            f"{s['seconds_tmpsim']:.2f}",
            f"{s['seconds_mesa']:.1f}",
            f"{s['speed_tmpsim']:,.0f}",
            f"{s['speed_mesa']:,.0f}",
            f"{s['ratio']:.0f}x",
            f"{s['cpu_ratio']:.0f}x",
        ]
        for s in speeds
    ]
    return _table(header, rows)


def figures(t_runs: list[Run], m_runs: list[Run], start: dt.date, out: Path) -> list[Path]:
    """Bands of the key series, and the distributions of debt and savings at return."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(t_runs[0].series)
    n_days = t_runs[0].series[names[0]].size
    dates = np.array([start + dt.timedelta(days=i) for i in range(n_days)])
    cols = 3
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.6 * rows), sharex=True)
    for ax, name in zip(axes.ravel(), names, strict=False):
        for runs, colour, label in ((t_runs, "C0", "tmpsim"), (m_runs, "C3", "Mesa")):
            b = bands(runs, name)
            ax.fill_between(dates, b["q05"], b["q95"], color=colour, alpha=0.25, lw=0)
            ax.plot(dates, b["mean"], color=colour, lw=1.2, label=f"{label} (mean, 5-95%)")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7)
    fig.autofmt_xdate()
    fig.suptitle(
        f"Docking: tmpsim vs Mesa, {len(t_runs)} seeds each (agents at this scale)", fontsize=10
    )
    fig.tight_layout()
    p1 = out / "docking_series.png"
    fig.savefig(p1, dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, what in zip(axes, ("debt_at_return", "savings_at_return"), strict=True):
        for runs, colour, label in ((t_runs, "C0", "tmpsim"), (m_runs, "C3", "Mesa")):
            x = np.sort(np.concatenate([getattr(r, what) for r in runs]))
            ax.step(
                x,
                np.arange(1, x.size + 1) / max(x.size, 1),
                color=colour,
                where="post",
                label=label,
            )
        ax.set_title(what.replace("_", " ") + " (JPY, per returner)", fontsize=9)
        ax.set_ylabel("cumulative share", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    fig.tight_layout()
    p2 = out / "docking_money.png"
    fig.savefig(p2, dpi=110)
    plt.close(fig)
    return [p1, p2]


def main(argv: list[str] | None = None) -> int:
    """Run the docking study and write its table, JSON and figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--seeds", type=int, default=20, help="ensemble size of each implementation (0: speed only)"
    )
    p.add_argument("--scale", type=float, default=0.01)
    p.add_argument(
        "--speed-scales",
        type=float,
        nargs="*",
        default=[0.03, 0.1],
        help="larger scales for the speed ratio (one seed each); none to skip",
    )
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario parameter for both implementations (repeatable)",
    )
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sc = tmpsim.load_scenario(SCENARIO, args.set)
    if args.seeds == 0:  # speed only
        speeds = speed_rows(args.speed_scales or [args.scale], 1, args.set)
        text = speed_report(speeds)
        print(text)
        (args.out / "speed.md").write_text(text + "\n")
        (args.out / "speed.json").write_text(json.dumps(speeds, indent=2) + "\n")
        return 0
    print(f"Docking ensemble: {args.seeds} seeds at scale {args.scale:g}")
    t_runs, m_runs = ensemble(args.scale, list(range(1, args.seeds + 1)), args.set)
    res = analyse(t_runs, m_runs, sc.start)
    speeds = []
    if args.speed_scales:
        print("Speed at larger scales (one seed each, same process):")
        speeds = speed_rows(args.speed_scales, 1, args.set)
    text = report(res, args.scale, speeds, args.set)
    print()
    print(text)
    (args.out / "docking.md").write_text(text + "\n")
    (args.out / "docking.json").write_text(
        json.dumps(
            {
                "scale": args.scale,
                "seeds": args.seeds,
                "overrides": args.set,
                **res,
                "speed_by_scale": speeds,
            },
            indent=2,
        )
        + "\n"
    )
    for path in figures(t_runs, m_runs, sc.start, args.out):
        print(f"figure: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
