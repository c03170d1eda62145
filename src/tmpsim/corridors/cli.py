"""``tmpsim corridors run|fit|closure``: the multi-destination sending market.

Registered by ``tmpsim.cli``; every bad input exits 2 with the file, line, key and reason.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tmpsim.corridors.config import (
    CorridorsConfig,
    CorridorsError,
    border_rules,
    load_corridors,
    with_all_rules,
)
from tmpsim.scenario.bounds import run_option_problem

app = typer.Typer(
    help="Multi-destination corridors: origins, brokers and competing destinations.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

ConfigArg = Annotated[str, typer.Argument(help="Shipped configuration name or a YAML file.")]
ScaleOpt = Annotated[float, typer.Option(help="Fraction of people simulated (0.0001 to 100).")]
SeedOpt = Annotated[int, typer.Option(help="Random seed (>= 0).")]


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _load(config: str, scale: float, seed: int, rules: bool = True) -> CorridorsConfig:
    """The configuration (with its dated border rules), or exit 2 with the reason."""
    problem = run_option_problem(seed=seed, scale=scale)
    if problem:
        _fail(problem)
    try:
        cfg = load_corridors(config)
    except CorridorsError as exc:
        _fail(str(exc))
    _warn_unsourced_years(cfg)
    try:
        return with_all_rules(cfg) if rules else cfg
    except CorridorsError as exc:
        _fail(str(exc))
    raise AssertionError  # unreachable: _fail exits


def _warn_unsourced_years(cfg: CorridorsConfig) -> None:
    """Say so when the run's years go beyond the sourced exchange rates and GDP per capita."""
    from tmpsim.model.origin_inputs import sourced_years

    first, last = sourced_years()
    if cfg.first_year < first or cfg.last_year > last:
        err_console.print(
            f"[bold yellow]warning:[/] the run covers {cfg.first_year}-{cfg.last_year}, the "
            f"exchange rates and GDP per capita {first}-{last}: years outside them take the "
            "nearest sourced year's values.",
            highlight=False,
            soft_wrap=True,
        )


def _out_dir(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        _fail(f"--out {out}: exists and is not a folder")
    return out


@app.command()
def run(
    out: Annotated[Path, typer.Option(help="Folder for flows.parquet and brokers.parquet.")],
    config: ConfigArg = "asia-corridors",
    scale: ScaleOpt = 1.0,
    seed: SeedOpt = 1,
    closures: Annotated[
        bool,
        typer.Option(
            help="Apply the dated rules: border_rules.csv, stay_extensions.csv, origin_stops.csv."
        ),
    ] = True,
) -> None:
    """Run a corridors configuration and write its tidy outputs."""
    from tmpsim.corridors.simulate import simulate
    from tmpsim.corridors.tables import write_outputs

    cfg = _load(config, scale, seed, closures)
    out = _out_dir(out)
    result = simulate(cfg, scale, seed)
    for path in write_outputs(result, out):
        console.print(str(path))
    console.print(
        f"{len(result.months)} months, {len(result.origins)} origins, "
        f"{len(result.destinations)} destinations, {result.per_origin * len(result.origins)} "
        f"brokers: {result.wall_seconds:.2f} s"
    )


@app.command()
def fit(
    config: ConfigArg = "asia-corridors",
    scale: ScaleOpt = 1.0,
    seed: SeedOpt = 1,
) -> None:
    """Fit the destination constants to the 2019 stocks (prints them; edit the YAML to keep)."""
    from tmpsim.corridors.fit import fit_constants

    cfg = _load(config, scale, seed, rules=False)
    try:
        result = fit_constants(cfg, scale, seed)
    except ValueError as exc:
        _fail(str(exc))
    table = Table(title=f"2019 stocks after {result.rounds} round(s)")
    for col in ("destination", "constant", "target", "simulated", "error"):
        table.add_column(col, justify="left" if col == "destination" else "right")
    errors = result.errors()
    for d, target in result.targets.items():
        table.add_row(
            d,
            f"{result.constants[d]:.3f}",
            f"{target:,.0f}",
            f"{result.simulated[d]:,.0f}",
            f"{errors[d]:+.1%}",
        )
    console.print(table)


@app.command()
def closure(
    config: ConfigArg = "asia-corridors",
    scale: ScaleOpt = 1.0,
    seed: SeedOpt = 1,
    close: Annotated[
        list[str],
        typer.Option(
            help="A destination (or the start of its name) whose dated border rules close it in "
            "the 'closed' run; repeatable."
        ),
    ] = ...,
    out: Annotated[Path | None, typer.Option(help="Folder for the comparison CSVs.")] = None,
) -> None:
    """Entries when the --close destinations close (and under every rule) against sources."""
    from tmpsim.corridors.closure import compare_intake, run_variants, yearly_entries

    cfg = _load(config, scale, seed, rules=False)
    if cfg.last_year < 2019:
        _fail(f"closure compares the years from 2019; last_year is {cfg.last_year}")
    if out is not None:
        _out_dir(out)  # before the runs, not after
    names = set(border_rules(cfg))
    unknown = [c for c in close if not any(d.startswith(c) for d in names)]
    if unknown:
        _fail(f"--close: no destination with dated border rules starts with {', '.join(unknown)}")
    runs = run_variants(cfg, scale, seed, close)
    yearly = yearly_entries(runs, range(2019, cfg.last_year + 1))
    intake = compare_intake(runs)
    for name, rows in (("closure_entries.csv", yearly), ("closure_vs_sources.csv", intake)):
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(
            {k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()} for r in rows
        )
        if out is None:
            sys.stdout.write(text.getvalue())
        else:
            from tmpsim.results import atomic_write_bytes

            atomic_write_bytes(out / name, text.getvalue().encode())
            console.print(str(out / name))
