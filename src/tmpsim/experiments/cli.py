"""``tmpsim experiment run|status|summarize`` (registered by tmpsim.cli)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from tmpsim.experiments.experiment import Counts, Report, load_experiment, run_experiment, status
from tmpsim.experiments.spec import ExperimentError
from tmpsim.experiments.summarize import Summary, summarize
from tmpsim.terminal import stdout_console

app = typer.Typer(help="Ensembles, sweeps and sensitivity analyses.", no_args_is_help=True)
console = stdout_console()
err_console = Console(stderr=True)

MAX_POINTS_SHOWN = 20
MAX_OUTPUTS_SHOWN = 4


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: stop the workers, keep what finished, exit."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises Terminated (a KeyboardInterrupt) in the main thread."""

    def handler(signum: int, frame: object) -> None:
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def execute_with_bar(
    source,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    retry_failed: bool = True,
    quiet: bool = False,
    posterior: bool | None = None,
) -> Report:
    """Plan and run an experiment with a progress bar; exits 2 on an invalid experiment.

    ``posterior`` (the ``--posterior/--no-posterior`` flag), when given, replaces the file's.
    """
    from tmpsim.experiments.designs import make_plan
    from tmpsim.experiments.progress import experiment_bar
    from tmpsim.experiments.spec import load_spec

    try:
        if posterior is not None and isinstance(source, str | Path):
            spec, base = load_spec(source)
            spec = spec.model_copy(update={"posterior": posterior})
            plan = make_plan(spec, base, str(source))
        else:
            plan = load_experiment(source)
    except ExperimentError as exc:
        _fail(str(exc))
    where = scheduler or f"{workers if workers is not None else 'all'} local workers"
    err_console.print(
        f"{plan.spec.name}: {len(plan.points)} points x {plan.spec.seeds} seeds = "
        f"{len(plan.runs)} runs on {where} -> {out}",
        highlight=False,
    )
    try:
        with sigterm_as_interrupt():
            if quiet:
                return run_experiment(plan, out, workers, scheduler, None, retry_failed)
            with experiment_bar(plan.spec.name, err_console) as hook:
                return run_experiment(plan, out, workers, scheduler, hook, retry_failed)
    except ExperimentError as exc:
        _fail(str(exc))
    except KeyboardInterrupt as exc:
        counts, _, _ = status(out)
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        err_console.print(
            f"{what}: {_counts_text(counts)}. Run the same command again to "
            "resume (finished runs are kept)."
        )
        raise typer.Exit(143 if isinstance(exc, Terminated) else 130) from None
    raise AssertionError("unreachable")


@contextmanager
def summaries_of(out: Path) -> Iterator[None]:
    """After the runs: Ctrl-C, SIGTERM or a damaged folder end with one line, not a traceback."""
    try:
        with sigterm_as_interrupt():
            yield
    except ExperimentError as exc:
        _fail(str(exc))
    except KeyboardInterrupt as exc:
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        err_console.print(
            f"{what} while summarising; the runs are kept: `tmpsim experiment summarize {out}` "
            "writes the summary.",
            highlight=False,
        )
        raise typer.Exit(143 if isinstance(exc, Terminated) else 130) from None


def run_ensemble(
    scenario: str,
    seeds: int,
    seed: int,
    scale: float,
    out: Path | None,
    overrides: list[str],
    workers: int | None,
    scheduler: str | None,
    quiet: bool = False,
    posterior: bool | None = None,
) -> Path:
    """``tmpsim run SCENARIO --seeds N``: run the ensemble, print bands, exit 1 if a run failed.

    Returns the experiment folder.
    """
    from tmpsim.experiments.experiment import ensemble_spec
    from tmpsim.scenario import ScenarioError
    from tmpsim.scenario.loader import parse_override

    if seeds < 1:
        _fail(f"--seeds must be at least 1, got {seeds}")
    try:
        spec = ensemble_spec(
            scenario, seeds, seed, scale, dict(map(parse_override, overrides)), posterior
        )
    except (ScenarioError, ExperimentError) as exc:
        _fail(str(exc))
    out = out or default_ensemble_out(spec, seeds, seed, scale)
    report = execute_with_bar(spec, out, workers, scheduler, True, quiet)
    with summaries_of(out):
        print_summary(summarize(out), None)
        console.print(report_text(report), highlight=False)
        console.print(f"Bands show {uncertainty_text(out)}.", highlight=False)
    if report.counts.failed:
        _report_failures(out, report.counts.failed)
        raise typer.Exit(1)
    return out


def _report_failures(out: Path, n_failed: int) -> None:
    """Say how many runs failed, the first one's error, and where the others' are."""
    try:
        first = status(out)[2][:1]
    except ExperimentError:
        first = []
    console.print(f"[red]{n_failed} runs failed[/].", highlight=False)
    for rec in first:
        lines = str(rec["error"]).strip().splitlines() or [""]
        console.print(f"  run {rec['run']} (seed {rec['seed']}): {lines[-1]}", highlight=False,
                      soft_wrap=True)  # fmt: skip
    console.print(f"`tmpsim experiment status {out}` lists their errors.", highlight=False)


def default_ensemble_out(spec, seeds: int, seed: int, scale: float) -> Path:
    """``runs/NAME-ensembleN_seedS_scaleX[_HASH]``, where an ensemble goes by default.

    The hash (of the resolved scenario) is added when overrides are given, so that a variant
    never resumes in (or is refused by) its base's folder.
    """
    from tmpsim.runfolder import safe_name
    from tmpsim.scenario import load_scenario, scenario_hash

    folder = f"{safe_name(spec.name)}{seeds}_seed{seed}_scale{scale:g}"
    if spec.overrides:
        resolved = load_scenario(spec.scenario, dict(spec.overrides))
        folder += f"_{scenario_hash(resolved)[:8]}"
    return Path("runs") / folder


def uncertainty_text(folder: Path) -> str:
    """What an experiment's bands show, from its uncertainty.json."""
    from tmpsim.experiments.experiment import read_uncertainty

    info = read_uncertainty(folder)
    if info is None:
        return "stochastic (seed) uncertainty only"
    if not info.get("posterior"):
        return str(info["bands"])
    return f"{info['bands']} ({len(set(info['draws']))} parameter sets from {info['posterior']})"


def _counts_text(c: Counts) -> str:
    return f"{c.done} done, {c.failed} failed, {c.left} left of {c.total}"


def report_text(report: Report) -> str:
    """One line on what a run_experiment call did."""
    c = report.counts
    line = f"{_counts_text(c)} ({c.skipped} finished earlier, {report.ran} run now"
    if c.damaged:
        runs = ", ".join(map(str, sorted(c.damaged)[:20]))
        line += f", {len(c.damaged)} damaged and redone: runs {runs}"
    if c.removed:
        line += f", {len(c.removed)} record(s) outside the plan removed"
    if report.ran:
        rate = report.ran / report.elapsed_seconds
        line += f" in {report.elapsed_seconds:.1f} s, {rate:.2f} runs/s"
    return line + f"). Folder: {report.path}"


@app.command("run")
def run_cmd(
    file: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    out: Annotated[
        Path | None, typer.Option(help="Results folder (default experiments/NAME).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Local worker processes (default: usable CPUs; 0 runs in this process)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Run on a Dask cluster: address of its scheduler, tcp://HOST:PORT."),
    ] = None,
    retry_failed: Annotated[bool, typer.Option(help="Run failed runs again.")] = True,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    posterior: Annotated[
        bool | None,
        typer.Option(
            "--posterior/--no-posterior",
            help="Draw each replicate's free parameters from the scenario's posterior "
            "(default: the file's posterior key, else where the scenario has one).",
        ),
    ] = None,
) -> None:
    """Run an experiment (resumes: finished runs in the folder are skipped)."""
    if workers is not None and workers < 0:
        _fail(f"--workers must be >= 0, got {workers}")
    if out is None:
        from tmpsim.experiments.spec import load_spec

        try:
            spec, _ = load_spec(file)
        except ExperimentError as exc:
            _fail(str(exc))
        from tmpsim.runfolder import safe_name

        out = Path("experiments") / safe_name(spec.name, "experiment")
    report = execute_with_bar(file, out, workers, scheduler, retry_failed, quiet, posterior)
    with summaries_of(out):
        console.print(f"Bands show {uncertainty_text(out)}.", highlight=False)
        console.print(report_text(report), highlight=False)
    if report.counts.failed:
        _report_failures(out, report.counts.failed)
        raise typer.Exit(1)


@app.command("status")
def status_cmd(
    directory: Annotated[Path, typer.Argument(help="Experiment results folder.")],
) -> None:
    """Show runs done, failed and left, with the errors of failed runs."""
    from tmpsim.experiments.storage import ExperimentDir

    try:
        counts, info, failed = status(directory)
    except ExperimentError as exc:
        _fail(str(exc))
    try:
        ExperimentDir(directory).build_catalog()
    except (ExperimentError, OSError) as exc:  # a read-only folder: status only reads
        err_console.print(f"warning: catalog.duckdb not rebuilt: {exc}", highlight=False)
    console.print(
        f"[bold]{info['name']}[/] ({info['design']}, {info['n_points']} points): "
        f"{_counts_text(counts)}",
        highlight=False,
    )
    if counts.damaged:
        console.print(
            f"[red]{len(counts.damaged)} damaged run(s)[/], not counted as done "
            "(`tmpsim experiment run` redoes them):",
            highlight=False,
        )
        for run, why in sorted(counts.damaged.items())[:50]:
            console.print(f"  run {run}: {why}", highlight=False, soft_wrap=True)
    for rec in failed[:50]:
        console.print(
            f"  run {rec['run']} (point {rec['point']}, rep {rec['rep']}, seed "
            f"{rec['seed']}): {rec['error']}",
            highlight=False,
            soft_wrap=True,
        )
    if len(failed) > 50:
        console.print(f"  ... and {len(failed) - 50} more (see the runs table in catalog.duckdb)")


@app.command("summarize")
def summarize_cmd(
    directory: Annotated[Path, typer.Argument(help="Experiment results folder.")],
    output: Annotated[
        list[str] | None,
        typer.Option("--output", help="Headline figure to show (repeatable; all are written)."),
    ] = None,
    as_csv: Annotated[
        bool,
        typer.Option("--csv", help="Print the bands as CSV: every point and output, full values."),
    ] = False,
) -> None:
    """Mean and 5-95% bands per output, and sensitivity indices where the design allows."""
    try:
        result = summarize(directory)
    except ExperimentError as exc:
        _fail(str(exc))
    if as_csv:
        bands = result.scalar_bands
        if output:
            bands = bands[bands["output"].isin(output)]
        sys.stdout.write(bands.to_csv(index=False))
        return
    print_summary(result, output)


def print_summary(result: Summary, outputs: list[str] | None = None) -> None:
    """Print the bands (and indices) as tables."""
    bands = result.scalar_bands
    if bands.empty:
        console.print("no finished runs yet")
        return
    names = outputs or list(dict.fromkeys(bands["output"]))
    unknown = sorted(set(names) - set(bands["output"]))
    if unknown:
        _fail(f"--output {unknown}: not among {sorted(set(bands['output']))}")
    n_points = bands["point"].nunique()
    if n_points == 1:
        table = Table(title="Across runs: mean and 5-95% band")
        for col in ("output", "mean", "p05", "p95", "n"):
            table.add_column(col, justify="left" if col == "output" else "right")
        for name in names:
            row = bands[bands["output"] == name].iloc[0]
            table.add_row(
                name, _num(row["mean"]), _num(row["p05"]), _num(row["p95"]), str(int(row["n"]))
            )
        console.print(table)
    else:
        shown = names[:MAX_OUTPUTS_SHOWN]
        params = [
            c for c in bands.columns if c not in {"point", "output", "mean", "p05", "p95", "n"}
        ]
        table = Table(title="Per point: mean [5%, 95%] across runs")
        for col in ["point", *params, *shown]:
            table.add_column(col, justify="right")
        for point, grp in list(bands.groupby("point"))[:MAX_POINTS_SHOWN]:
            by = grp.set_index("output")
            cells = [str(point), *[_num(grp[p].iloc[0]) for p in params]]
            cells += [
                f"{_num(by.at[o, 'mean'])} [{_num(by.at[o, 'p05'])}, {_num(by.at[o, 'p95'])}]"
                if o in by.index
                else "-"
                for o in shown
            ]
            table.add_row(*cells)
        console.print(table)
        if n_points > MAX_POINTS_SHOWN or len(names) > len(shown):
            console.print(
                f"({n_points} points, {len(names)} outputs: all in "
                "summary/scalar_bands.parquet; choose outputs with --output)"
            )
    if result.sensitivity is not None:
        sens = result.sensitivity
        if outputs:
            sens = sens[sens["output"].isin(outputs)]
        table = Table(title=f"Sensitivity ({result.method})")
        for col in sens.columns:
            table.add_column(col, justify="left" if col in ("output", "parameter") else "right")
        for row in sens.itertuples(index=False):
            table.add_row(*[v if isinstance(v, str) else f"{v:.3f}" for v in row])
        console.print(table)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)
    for path in result.files:
        console.print(str(path), highlight=False)


def _num(v: object) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int | float):
        if pd.isna(v):
            return "-"
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return str(v)
