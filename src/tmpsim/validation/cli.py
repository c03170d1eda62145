"""``tmpsim validate`` and ``tmpsim calibrate`` (registered as top-level commands)."""

from __future__ import annotations

import datetime as dt
import re
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from tmpsim.runfolder import atomic_write_bytes, atomic_write_csv
from tmpsim.terminal import stdout_console

if TYPE_CHECKING:
    from tmpsim.uncertainty.posterior import Posterior

console = stdout_console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


# Options several commands share, said once.
Observed = Annotated[
    list[Path] | None,
    typer.Option(
        "--observed",
        help="Observed CSV (date,indicator,origin,value,source); "
        "repeatable. Default: the packaged official statistics.",
    ),
]


def date_problem(value: str) -> str | None:
    """Why ``value`` is not a day written YYYY-MM-DD (None if it is one)."""
    try:
        dt.date.fromisoformat(value)
    except ValueError as exc:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return f"not a date ({exc})"  # day is out of range for month, month must be in 1..12
        return "not a date (expected YYYY-MM-DD)"
    return None


def _iso_date(param: typer.CallbackParam, value: str | None) -> str | None:
    """An option's date; anything but a real YYYY-MM-DD day is refused in one line (status 2)."""
    problem = None if value is None else date_problem(value)
    if problem:
        option = param.opts[0] if param.opts else f"--{param.name}"
        _fail(f"{option} {value}: {problem}")
    return value


Start = Annotated[
    str | None,
    typer.Option(help="Only observations dated on or after (YYYY-MM-DD).", callback=_iso_date),
]
End = Annotated[
    str | None,
    typer.Option(help="Only observations dated on or before (YYYY-MM-DD).", callback=_iso_date),
]
Point = Annotated[int | None, typer.Option(help="Experiment with several points: the one to use.")]
Band = Annotated[float, typer.Option(help="Central band of an ensemble (0-1).")]


def _write_command(out: Path) -> None:
    """Keep the command line that made a calibration beside its results."""
    line = "tmpsim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) + "\n"
    atomic_write_bytes(Path(out) / "command.txt", line.encode())


METHODS = ("optuna-tpe", "abc-smc", "history-matching")
"""What ``tmpsim calibrate --method`` accepts."""


def _calibration_errors() -> tuple[type[Exception], ...]:
    """What a calibration reports as a bad input (message and exit status 2)."""
    from tmpsim.calibration.problem import CalibrationError
    from tmpsim.scenario import ScenarioError
    from tmpsim.validation.observed import ObservedDataError

    return CalibrationError, ScenarioError, ObservedDataError


def validate(
    source: Annotated[
        Path, typer.Argument(help="A run folder, or an experiment/ensemble folder of runs.")
    ],
    observed: Observed = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for validation.csv and figures (default: SOURCE).")
    ] = None,
    band: Band = 0.9,
    figures: Annotated[bool, typer.Option(help="Write one figure per indicator.")] = True,
    point: Point = None,
    start: Start = None,
    end: End = None,
    goals: Annotated[
        str | None,
        typer.Option(
            help="Check acceptance criteria: a goals YAML file, or 'packaged' for the shipped "
            "goals of the calibration window; writes goals.csv."
        ),
    ] = None,
) -> None:
    """Compare a run or an ensemble with observed statistics; write validation.csv and figures."""
    from tmpsim.validation.compare import summarise, validate_run
    from tmpsim.validation.goals import GoalsError, load_goals
    from tmpsim.validation.observed import ObservedDataError
    from tmpsim.validation.report import status_counts, summary_table, write_validation
    from tmpsim.validation.rundata import RunSourceError

    if not 0 < band < 1:
        _fail(f"--band must be between 0 and 1, got {band}")
    try:  # a bad goals file is refused before anything is computed or written
        wanted = None if goals is None else load_goals(None if goals == "packaged" else goals)
    except GoalsError as exc:
        _fail(str(exc))
    try:
        table = validate_run(source, observed or None, band=band, point=point, start=start, end=end)
    except (ObservedDataError, RunSourceError) as exc:
        _fail(str(exc))
    target = out or (source if source.is_dir() else source.parent)
    if figures:
        paths = write_validation(table, target)
    else:
        atomic_write_csv(target / "validation.csv", table)
        paths = [target / "validation.csv"]
    if not console.is_terminal:
        console.width = max(console.width, 110)  # logs and pipes: room for the whole table
    console.print(summary_table(summarise(table)))
    counts = ", ".join(f"{n} {s}" for s, n in status_counts(table).items())
    runs = int(table["n_runs"].max()) if "n_runs" in table else 1
    console.print(
        f"{len(table)} observations ({counts}); {runs} run(s). Wrote {paths[0]}"
        + (f" and {len(paths) - 1} more files" if len(paths) > 1 else "")
    )
    if wanted is not None:
        _check_goals(table, wanted, target)


def _check_goals(table, goals, target: Path) -> None:
    from tmpsim.validation.goals import GoalsError, check_goals

    try:
        checked = check_goals(table, goals)
    except GoalsError as exc:
        _fail(str(exc))
    atomic_write_csv(target / "goals.csv", checked)
    for r in checked.itertuples():
        mark = {True: "met", False: "NOT met", None: "no data"}[r.met if r.n else None]
        if not r.n:
            console.print(f"{mark:>8}  {r.goal}", highlight=False)
            continue
        value = (
            f"{r.ratio_min:.2f}-{r.ratio_max:.2f}x"
            if r.measure == "ratio"
            else f"{r.value:.1%}"
            if r.measure == "mape"
            else f"{r.value:+.1%}"
        )
        console.print(
            f"{mark:>8}  {r.goal}: {r.indicator} {r.origin} {r.measure} {value} ({r.bound})",
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"Wrote {target / 'goals.csv'}")


def calibrate(
    scenario: Annotated[str, typer.Argument(help="Scenario name or YAML file with calibration:.")],
    out: Annotated[Path, typer.Option(help="Folder for the results.")] = Path("calibration"),
    trials: Annotated[int | None, typer.Option(help="Trials (default: the scenario's).")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampler seed (default: the scenario's).")] = (
        None
    ),
    scale: Annotated[float | None, typer.Option(help="Scale of the trial runs.")] = None,
    batch: Annotated[int | None, typer.Option(help="Trials proposed at once.")] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (0: inline).")] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (tcp://host:port).")
    ] = None,
    observed: Observed = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a parameter: path.to.key=value.")
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(help="Fit only this declared parameter (repeatable); others stay as written."),
    ] = None,
    method: Annotated[
        str | None,
        typer.Option(
            help="optuna-tpe (best point), abc-smc or history-matching (posteriors); "
            "default: the scenario's."
        ),
    ] = None,
    population: Annotated[
        int | None, typer.Option(help="abc-smc: parameter sets per generation.")
    ] = None,
    generations: Annotated[int | None, typer.Option(help="abc-smc: most generations.")] = None,
    holdout_from: Annotated[
        str | None,
        typer.Option(
            help="Hold out the observations dated on or after this day (YYYY-MM-DD): "
            "calibrate on the years before, check the forecast on the rest."
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            help="abc-smc: continue the interrupted run in OUT/abc.db after its last finished "
            "generation (same scenario, options and seed) instead of starting afresh."
        ),
    ] = False,
) -> None:
    """Fit the free parameters: a best point (TPE) or a posterior (ABC-SMC, history matching)."""
    if method is not None and method not in METHODS:
        _fail(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    try:
        held = dt.date.fromisoformat(holdout_from) if holdout_from else None
    except ValueError:
        _fail(f"--holdout-from must be a date YYYY-MM-DD, got {holdout_from!r}")
    common = {
        "seed": seed,
        "scale": scale,
        "workers": workers,
        "scheduler": scheduler,
        "observed_files": observed,
        "overrides": set_ or None,
        "only": only or None,
        "holdout_from": held,
    }
    method = method or _declared_method(scenario, set_)
    if method == "abc-smc":
        _calibrate_posterior(scenario, out, population, generations, common, resume)
        return
    if resume:
        _fail("--resume applies to --method abc-smc only (history-matching always resumes)")
    if method == "history-matching":
        _calibrate_history_matching(scenario, out, common)
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tmpsim.calibration.optimise import calibrate as run_calibration
    from tmpsim.scenario.bounds import run_option_problem

    problem = run_option_problem(seed=seed, scale=scale, workers=workers)
    if problem:
        _fail(problem)
    if trials is not None and trials < 1:
        _fail(f"--trials must be at least 1, got {trials}")
    if batch is not None and batch < 1:
        _fail(f"--batch must be at least 1, got {batch}")
    bar = Progress(
        TextColumn("[bold]calibrating"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("best loss {task.fields[best]}"),
        TimeElapsedColumn(),
        console=err_console,
    )
    try:
        with bar:
            task = bar.add_task("trials", total=trials or 1, best="-")

            def progress(done: int, total: int, best: float) -> None:
                bar.update(task, completed=done, total=total, best=f"{best:.4f}")
                if not err_console.is_terminal:  # a log file: one line per batch
                    err_console.print(f"trials {done}/{total}, best loss {best:.4f}")

            result = run_calibration(
                scenario, out, trials=trials, batch=batch, progress=progress, **common
            )
    except _calibration_errors() as exc:
        _fail(str(exc))
    _write_command(out)
    console.print(
        f"best loss {result.best_loss:.4f}"
        + ("" if result.base_loss is None else f" (scenario as written: {result.base_loss:.4f})")
    )
    for name, value in result.best.items():
        console.print(f"  {name} = {value:.6g}")
    console.print(
        f"Results in [bold]{out}[/] (best.yaml, trials.csv, fit.csv, scenario.yaml, "
        "diagnostics.png)"
    )


def _calibrate_history_matching(scenario: str, out: Path, common: dict) -> None:
    """``tmpsim calibrate --method history-matching``: write out/posterior.parquet and waves.csv.

    Runs already saved in ``out/runs`` by the same calibration are read back, not run again.
    """
    from tmpsim.calibration.history_matching import calibrate_history_matching

    _posterior_checks("sklearn", "tmpsim calibrate --method history-matching", common)
    try:
        result = calibrate_history_matching(
            scenario, out, progress=lambda line: err_console.print(line), **common
        )
    except _calibration_errors() as exc:
        _fail(str(exc))
    _write_command(out)
    _print_posterior(
        result.posterior,
        f"within loss {result.tolerance:.4f}, from {len(result.runs)} runs in "
        f"{len(result.waves)} waves",
        out,
        "waves.csv, runs.parquet",
    )


def _posterior_checks(module: str, feature: str, common: dict) -> None:
    """Fail (status 2) without the extra that ``feature`` needs, or with a scale out of range."""
    from tmpsim.extras import MissingExtra, require
    from tmpsim.scenario.bounds import run_option_problem

    try:
        require(module, feature)
    except MissingExtra as exc:
        _fail(str(exc))
    scale = common["scale"]
    problem = run_option_problem(scale=scale)
    if problem:
        _fail(problem)


def _print_posterior(post: Posterior, what: str, out: Path, files: str) -> None:
    """A posterior's size, each parameter's mean and 90% interval, and where it was written."""
    lo, hi = post.quantile(0.05), post.quantile(0.95)
    console.print(f"posterior: {len(post)} parameter sets, {what}")
    for name, mean in post.mean().items():
        console.print(f"  {name} = {mean:.6g}  (90%: {lo[name]:.4g} .. {hi[name]:.4g})")
    console.print(
        f"Results in [bold]{out}[/] (posterior.parquet, {files}). To use it, copy "
        "posterior.parquet next to the scenario file and set calibration.posterior to its name."
    )


def _declared_method(scenario: str, set_: list[str] | None) -> str | None:
    from tmpsim.scenario import ScenarioError, load_scenario

    try:
        sc = load_scenario(scenario, set_ or [])
    except ScenarioError as exc:
        _fail(str(exc))
    return sc.calibration.method if sc.calibration is not None else None


def _calibrate_posterior(
    scenario: str,
    out: Path,
    population: int | None,
    generations: int | None,
    common: dict,
    resume: bool = False,
) -> None:
    """``tmpsim calibrate --method abc-smc``: write out/posterior.parquet and generations.csv.

    ``common``: the options the two methods share, as ``calibrate`` passes them on.
    """
    from tmpsim.calibration.abc import calibrate_posterior

    _posterior_checks("pyabc", "tmpsim calibrate --method abc-smc", common)
    for name, value, least in (("--population", population, 10), ("--generations", generations, 1)):
        if value is not None and value < least:
            _fail(f"{name} must be at least {least}, got {value}")

    def progress(t: int, epsilon: float, evaluations: int) -> None:
        err_console.print(f"generation {t}: tolerance {epsilon:.4f}, {evaluations} simulations")

    try:
        result = calibrate_posterior(
            scenario,
            out,
            population=population,
            generations=generations,
            progress=progress,
            resume=resume,
            **common,
        )
    except _calibration_errors() as exc:
        _fail(str(exc))
    _write_command(out)
    post = result.posterior
    _print_posterior(
        post,
        f"effective size {post.effective_size():.0f}, {len(result.generations)} generations",
        out,
        "generations.csv",
    )


def forecast(
    source: Annotated[
        Path, typer.Argument(help="An experiment/ensemble folder (or a run folder).")
    ],
    start: Annotated[str, typer.Option(help="First date of the forecast (YYYY-MM-DD).")] = (
        "2023-01-01"
    ),
    end: Annotated[str, typer.Option(help="Last date of the forecast (YYYY-MM-DD).")] = (
        "2025-12-31"
    ),
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for forecast.csv and forecast.png (default: SOURCE)."),
    ] = None,
    band: Band = 0.9,
    point: Point = None,
) -> None:
    """Ensemble forecast of the main indicators after the observed data, with bands."""
    import datetime as dt

    from tmpsim.validation.forecast import BY_ORIGIN, forecast_figure
    from tmpsim.validation.forecast import forecast as make_forecast
    from tmpsim.validation.rundata import RunSourceError

    for option, value in (("--start", start), ("--end", end)):
        problem = date_problem(value)
        if problem:
            _fail(f"{option} {value}: {problem}")
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    if not 0 < band < 1:
        _fail(f"--band must be between 0 and 1, got {band}")
    try:
        table = make_forecast(source, first, last, band=band, point=point, by_origin=BY_ORIGIN)
        target = out or (source if source.is_dir() else source.parent)
        atomic_write_csv(target / "forecast.csv", table)
        figure = forecast_figure(source, target / "forecast.png", first, band=band, point=point)
    except RunSourceError as exc:
        _fail(str(exc))
    if not console.is_terminal:
        console.width = max(console.width, 110)
    from rich.table import Table

    shown = Table(title=f"Forecast {first}..{last} (mean and {int(band * 100)}% band)")
    for col in ("indicator", "date", "mean", "band"):
        shown.add_column(col, justify="right" if col in ("mean", "band") else "left")
    for r in table.itertuples(index=False):
        lo, hi = getattr(r, "lo", float("nan")), getattr(r, "hi", float("nan"))
        name = r.indicator if r.origin == "all" else f"{r.indicator} {r.origin}"
        spread = f"{lo:,.0f} - {hi:,.0f}" if lo == lo and hi == hi else "(one run)"
        shown.add_row(name, str(r.date), f"{r.mean:,.0f}", spread)
    console.print(shown)
    console.print(f"Wrote {target / 'forecast.csv'} and {figure}")


def coverage(
    source: Annotated[Path, typer.Argument(help="An experiment/ensemble folder.")],
    observed: Observed = None,
    start: Start = None,
    end: End = None,
    point: Point = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write coverage.csv and bands.csv (and discrepancy.csv) to this folder."),
    ] = None,
    discrepancy_until: Annotated[
        str | None,
        typer.Option(
            help="Add a model-discrepancy term to the bands: a relative error per indicator, "
            "estimated from the ensemble's misses on the observations dated up to this day "
            "(YYYY-MM-DD; the calibration window); indicators without observations then get none.",
            callback=_iso_date,
        ),
    ] = None,
    discrepancy_min_observed: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Leave observations below this count out of the discrepancy estimate "
            "(a status's first few holders).",
        ),
    ] = 100.0,
    discrepancy_skip_opening_months: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Leave out of the discrepancy estimate the observations within this many months "
            "of their series' first, where that first is below --discrepancy-min-observed (a "
            "status's opening; 0 keeps them).",
        ),
    ] = 0.0,
) -> None:
    """How many observations fall inside the ensemble's 50% and 90% bands, by indicator."""
    from rich.table import Table

    from tmpsim.uncertainty.coverage import bands_shown, estimate_discrepancy
    from tmpsim.uncertainty.coverage import coverage as measure
    from tmpsim.validation.observed import ObservedDataError
    from tmpsim.validation.rundata import RunSourceError

    sigma = None
    try:
        if discrepancy_until is not None:
            sigma = estimate_discrepancy(
                source,
                observed or None,
                end=discrepancy_until,
                point=point,
                min_observed=discrepancy_min_observed,
                opening_months=discrepancy_skip_opening_months,
            )
            by_indicator = (
                sigma[sigma["indicator"] != "all"].set_index("indicator")["sigma"].to_dict()
            )
        bands, table = measure(
            source,
            observed or None,
            start=start,
            end=end,
            point=point,
            discrepancy=by_indicator if sigma is not None else None,
        )
    except (ObservedDataError, RunSourceError, ValueError) as exc:
        _fail(str(exc))
    runs = int(bands["n_runs"].max()) if len(bands) else 0
    what = bands_shown(source)
    if sigma is not None:
        what += f", plus model discrepancy estimated up to {discrepancy_until}"
    t = Table(title=f"Coverage of {source} ({runs} runs; bands show {what})", title_justify="left")
    t.add_column("indicator", no_wrap=True)
    t.add_column("scope")
    for col in (
        "n", "in 50%", "in 90%", "50% width", "90% width", "median |error|", "not above 90%",
    ):  # fmt: skip
        t.add_column(col, justify="right")
    for r in table.itertuples():
        t.add_row(
            r.indicator,
            r.scope,
            str(r.n),
            f"{r.in_50} ({r.share_50:.0%})",
            f"{r.in_90} ({r.share_90:.0%})",
            f"{r.width_50:.1%}",
            f"{r.width_90:.1%}",
            f"{r.median_abs_rel_error:.1%}",
            f"{r.not_above_90:.0%}",
        )
    console.print(t)
    console.print(
        "Widths: median over observations of (upper - lower) / |observed|. Scope 'part': the "
        "model simulates only part of those the statistic counts (not expected inside the "
        "bands); 'not above 90%': the share of observations at or above the 90% band's lower "
        "end (the model does not count more than the statistic)."
    )
    if sigma is not None:
        d = Table(
            title="Model discrepancy (sd on the log scale; indicators not listed get none; "
            "'all' pools every observation, for reference)",
            title_justify="left",
        )
        for col in ("indicator", "n", "rms log error", "runs' sd", "discrepancy"):
            d.add_column(col, justify="left" if col == "indicator" else "right")
        for r in sigma.itertuples():
            d.add_row(
                r.indicator, str(r.n), f"{r.rms_log_error:.3f}", f"{r.run_sd:.3f}", f"{r.sigma:.3f}"
            )
        console.print(d)
    if out is not None:
        atomic_write_csv(out / "coverage.csv", table)
        atomic_write_csv(out / "bands.csv", bands)
        if sigma is not None:
            atomic_write_csv(out / "discrepancy.csv", sigma)
        files = "coverage.csv, bands.csv" + (", discrepancy.csv" if sigma is not None else "")
        console.print(f"Tables in [bold]{out}[/] ({files})")


def register(app: typer.Typer) -> None:
    """Add ``validate``, ``calibrate``, ``forecast`` and ``coverage`` to the command line."""
    app.command()(validate)
    app.command()(calibrate)
    app.command()(forecast)
    app.command()(coverage)
