"""The ``tmpsim`` command line."""

from __future__ import annotations

import gc
import importlib
import sys
import warnings
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from typer.core import TyperGroup

from tmpsim import __version__
from tmpsim.extras import MissingExtra, require
from tmpsim.startup import announce_compilation, long_lived, small_page_allocators
from tmpsim.terminal import plain_flags_in_help, stdout_console, widen_piped_help

small_page_allocators()  # before NumPy and Arrow are imported, which read it
with long_lived():  # the model's libraries (numba, pydantic, pyarrow): made once, kept to the end
    from tmpsim.api import DEFAULT_SCENARIO
    from tmpsim.scenario import (
        Scenario,
        ScenarioError,
        load_scenario,
        scenario_hash,
        shipped_scenarios,
        to_yaml,
    )
announce_compilation()

# Commands that live with the concern they drive, by name: each module defines ``app`` (a command
# group of that name) or ``register(app)`` (adding top-level commands). They are imported only
# when one of their commands is run or help lists them, so that ``tmpsim run`` does not pay for
# pandas, Dask, FastAPI and the rest at start-up.
LAZY_COMMANDS = {
    "validate": "tmpsim.validation.cli",
    "calibrate": "tmpsim.validation.cli",
    "forecast": "tmpsim.validation.cli",
    "coverage": "tmpsim.validation.cli",
    "report": "tmpsim.reports.cli",
    "export": "tmpsim.reports.cli",
    "serve": "tmpsim.web.cli",
    "compare": "tmpsim.policy.cli",
    "levers": "tmpsim.policy.cli",
    "shock": "tmpsim.policy.cli",
    "experiment": "tmpsim.experiments.cli",  # groups are listed after commands
    "corridors": "tmpsim.corridors.cli",
}


def _lazy_commands(module: str) -> dict[str, click.Command] | None:
    """The commands a module adds (None when that part of tmpsim is not installed)."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise
    holder = typer.Typer()
    if hasattr(mod, "app"):
        name = next(k for k, v in LAZY_COMMANDS.items() if v == module)
        holder.add_typer(mod.app, name=name)
    else:
        mod.register(holder)
    return dict(typer.main.get_group(holder).commands)


class LazyGroup(TyperGroup):
    """The top-level command group; the commands of ``LAZY_COMMANDS`` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Built-in commands, then the lazy ones (in registration order)."""
        return [*super().list_commands(ctx), *(n for n in LAZY_COMMANDS if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A command by name, importing its module if it is a lazy one not loaded yet."""
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            for name, command in (_lazy_commands(LAZY_COMMANDS[cmd_name]) or {}).items():
                self.commands.setdefault(name, command)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; a missing optional dependency is an error that names its extra.

        So is a damaged run folder, and a path that cannot be written or read (a file where a
        folder is wanted or the reverse, a read-only place), whichever command meets it.
        """
        from tmpsim.corridors.config import CorridorsError
        from tmpsim.runfolder import RunFolderError

        try:
            return super().invoke(ctx)
        except (MissingExtra, RunFolderError, CorridorsError) as exc:
            # A sending market's file that cannot be used is met only when the run needs it.
            fail(str(exc))  # fail() prints plain text: the extra's [brackets] stay
        except OSError as exc:  # a path that cannot be written or read, a refused connection
            what = {
                FileExistsError: "a file is in the way (a folder is written there)",
                IsADirectoryError: "a folder is in the way (a file is written there)",
                NotADirectoryError: "a file is in the way (a folder is written there)",
            }.get(type(exc), exc.strerror or str(exc))
            path = exc.filename2 or exc.filename  # a rename's is its target
            fail(f"{path}: {what}" if path else what)


app = typer.Typer(
    cls=LazyGroup,
    help="tmpsim: simulate temporary migration programmes and their migration infrastructure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = stdout_console()
widen_piped_help()
plain_flags_in_help()
err_console = Console(stderr=True)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one plain line on stderr (no source line), as errors are shown."""
    err_console.print(f"[bold yellow]warning:[/] {message}", highlight=False, soft_wrap=True)


warnings.showwarning = _show_warning


def _print_version(value: bool) -> None:
    if value:
        console.print(f"tmpsim {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """tmpsim: simulate temporary migration programmes and their migration infrastructure."""


def fail(message: str, code: int = 2) -> None:
    """Print an error (no traceback) and exit non-zero."""
    from rich.text import Text

    # Plain text: messages quote user input, whose [brackets] must not be read as markup.
    err_console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    raise typer.Exit(code)


def load_checked(scenario: str, set_: list[str] | None = None) -> Scenario:
    """A scenario as a run would take it; an error (exit status 2) names what is wrong.

    Besides the scenario's own keys, a sending market's configuration, host and anchor year
    (``origins_market``), which only building the market would otherwise meet: ``show`` and
    ``run`` say the same of the same file.
    """
    from tmpsim.corridors.config import CorridorsError, check_scenario_market

    try:
        sc = load_scenario(scenario, set_ or [])
        check_scenario_market(sc)
    except (ScenarioError, CorridorsError) as exc:
        fail(str(exc))
    return sc


def check_run_options(**options: float | None) -> None:
    """Refuse option values no run can use, naming the option (exit status 2)."""
    from tmpsim.scenario.bounds import run_option_problem

    problem = run_option_problem(**options)
    if problem:
        fail(problem)


def default_out(scenario: Scenario, seed: int, scale: float, overridden: bool = False) -> Path:
    """Where a run folder goes when --out is not given: ``runs/NAME_seedS_scaleX[_HASH]``.

    The name is made safe as one folder name (a scenario's ``name`` never leads outside
    ``runs/``). With overrides (``--set``) the first 8 hex digits of the resolved scenario's hash
    are added, so a variant never lands in its base's folder.
    """
    from tmpsim.runfolder import safe_name

    folder = f"{safe_name(scenario.name)}_seed{seed}_scale{scale:g}"
    if overridden:
        folder += f"_{scenario_hash(scenario)[:8]}"
    return Path("runs") / folder


def summary_table(summary: dict, scenario=None) -> Table:
    """The headline figures as a rich table (labels, units and currency from the scenario)."""
    from tmpsim.reports.glossary import summary_rows

    table = Table(title="Summary (scaled to the full population)", show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, value in summary_rows(summary, scenario):
        table.add_row(label, value)
    return table


def progress_bar() -> Progress:
    """A progress bar for simulated days."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} days"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


@app.command()
def run(
    scenario: Annotated[
        str, typer.Argument(help="Shipped scenario name or a YAML file.")
    ] = DEFAULT_SCENARIO,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    scale: Annotated[
        float, typer.Option(help="Fraction of people simulated (0.0001 to 100).")
    ] = 1.0,
    out: Annotated[
        Path | None,
        typer.Option(help="Run folder to write (must be new or empty unless --force)."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace the run folder --out if it already holds a run.")
    ] = False,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a parameter: path.to.key=value (repeatable)."),
    ] = None,
    agents: Annotated[bool, typer.Option(help="Write agents.parquet.")] = True,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    report: Annotated[bool, typer.Option(help="Also write RUN_FOLDER/report.html.")] = False,
    seeds: Annotated[
        int | None,
        typer.Option(help="Run an ensemble of this many seeds (an experiment with one point)."),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="With --seeds: local workers.")] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="With --seeds: Dask scheduler address, tcp://HOST:PORT.")
    ] = None,
    posterior: Annotated[
        bool | None,
        typer.Option(
            "--posterior/--no-posterior",
            help="With --seeds: draw each seed's free parameters from the scenario's posterior "
            "(default: where it has one).",
        ),
    ] = None,
) -> None:
    """Run a scenario, print its summary and write a run folder (or an ensemble's folder)."""
    from tmpsim.results import write_run
    from tmpsim.runfolder import RunFolderError, check_target
    from tmpsim.simulation import Simulation

    check_run_options(seed=seed, scale=scale, seeds=seeds, workers=workers)
    if seeds is not None:
        from tmpsim.experiments.cli import run_ensemble

        require("duckdb", "an ensemble (--seeds)")  # before the runs, not after them
        args = (set_ or [], workers, scheduler, quiet, posterior)
        if force:
            fail("--force applies to a single run; an ensemble resumes in its folder")
        folder = run_ensemble(scenario, seeds, seed, scale, out, *args)
        if report:
            from tmpsim.reports.build import build_report

            console.print(f"Report: [bold]{build_report(folder)}[/]")
        return
    ensemble_only = {"--workers": workers, "--scheduler": scheduler, "--posterior": posterior}
    given = [name for name, value in ensemble_only.items() if value is not None]
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        fail(f"{' and '.join(given)} {verb} to an ensemble only: add --seeds N")
    sc = load_checked(scenario, set_)
    out = out or default_out(sc, seed, scale, overridden=bool(set_))
    try:
        check_target(out, force)  # before simulating: a refused folder costs nothing
    except RunFolderError as exc:
        fail(str(exc))
    sim = Simulation(sc, seed=seed, scale=scale)
    gc.freeze()  # the model (and numba's compiled kernels, loaded by now) lives until exit
    if quiet:
        sim.run()
    else:
        with progress_bar() as bar:
            task = bar.add_task(sc.name, total=sim.n_days)
            sim.run(lambda done, total: bar.update(task, completed=done))
    try:
        result = write_run(sim, out, with_agents=agents, force=force)
    except (RunFolderError, OSError) as exc:
        fail(f"{out}: the run folder could not be written: {exc}")
    console.print(summary_table(result.summary, sc))
    console.print(
        f"{result.run_info['agents_created']:,} agents, {sim.n_days} days, "
        f"{sim.wall_seconds:.1f} s simulated. Run folder: [bold]{out}[/]"
    )
    if report:
        from tmpsim.reports.build import build_report

        console.print(f"Report: [bold]{build_report(out)}[/]")


@app.command()
def scenarios() -> None:
    """List the shipped scenarios."""
    for name, desc in shipped_scenarios().items():
        console.print(f"[bold]{name}[/]  {desc}", highlight=False)


@app.command()
def show(
    scenario: Annotated[str, typer.Argument(help="Shipped scenario name or a YAML file.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a parameter: path.to.key=value (repeatable)."),
    ] = None,
) -> None:
    """Print the fully resolved scenario (defaults filled in) as YAML."""
    sys.stdout.write(to_yaml(load_checked(scenario, set_)))


@app.command()
def plot(
    folder: Annotated[
        Path,
        typer.Argument(
            help="A run folder, an ensemble or experiment folder, or a comparison folder "
            "(`tmpsim compare --out`)."
        ),
    ],
    out: Annotated[
        Path | None, typer.Option(help="Folder for the PNGs (default: FOLDER/figures).")
    ] = None,
) -> None:
    """Write PNG figures of a run, an ensemble, an experiment or a comparison."""
    from tmpsim.reports.figures import write_folder_figures
    from tmpsim.runfolder import RunFolderError, check_run_folder

    if not folder.is_dir():
        fail(
            f"{folder}: a file, not a folder (give a run, experiment or comparison folder)"
            if folder.exists()
            else f"{folder}: no such folder"
        )
    try:
        if (folder / "series.parquet").is_file():
            check_run_folder(folder)  # a run folder: complete and unmixed
        paths = write_folder_figures(folder, out or folder / "figures")
    except (FileNotFoundError, ValueError, MissingExtra, RunFolderError) as exc:
        fail(str(exc))
    for p in paths:
        console.print(str(p), highlight=False, soft_wrap=True)
