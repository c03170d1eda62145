"""``tmpsim report DIR`` (the self-contained HTML report) and ``tmpsim export RUN`` (tables)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the ``report`` and ``export`` commands to the top-level CLI."""
    app.command(name="report")(report)
    app.command(name="export")(export)


def report(
    source: Annotated[Path, typer.Argument(help="A run folder or an experiment folder.")],
    out: Annotated[
        Path | None, typer.Option(help="HTML file to write (default: DIR/report.html).")
    ] = None,
) -> None:
    """Write one self-contained HTML report (opens offline) of a run or an experiment."""
    from tmpsim.cli import console, fail
    from tmpsim.reports.build import build_report

    if not source.is_dir():
        fail(f"{source}: no such folder")
    try:
        path = build_report(source, out)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    console.print(f"Report: [bold]{path}[/]", highlight=False)


def export(
    run: Annotated[Path, typer.Argument(help="A run folder written by `tmpsim run`.")],
    monthly: Annotated[
        bool,
        typer.Option(
            "--monthly/--daily",
            help="A wide monthly table (a row per month and origin) or the daily long series.",
        ),
    ] = True,
    xlsx: Annotated[
        bool, typer.Option(help="Also an .xlsx workbook: a sheet per group, notes and sources.")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Folder to write (default: RUN).")] = None,
) -> None:
    """Write tables of a run a spreadsheet opens: monthly.csv (and monthly.xlsx), or series.csv."""
    from tmpsim.cli import console, fail
    from tmpsim.runfolder import check_run_folder

    if not (run / "series.parquet").is_file():
        fail(f"{run}: not a run folder (no series.parquet)")
    check_run_folder(run)  # complete and unchanged since written, or RunFolderError
    target = out or run
    if not monthly:
        if xlsx:
            fail("--xlsx writes the monthly tables; drop --daily")
        from tmpsim.results import atomic_path, read_series

        target.mkdir(parents=True, exist_ok=True)
        with atomic_path(target / "series.csv") as tmp:
            read_series(run).to_csv(tmp, index=False)
        paths = [target / "series.csv"]
    else:
        from tmpsim.reports.export import export_run

        paths = export_run(run, target, xlsx=xlsx)
    for p in paths:
        console.print(str(p), highlight=False, soft_wrap=True)
