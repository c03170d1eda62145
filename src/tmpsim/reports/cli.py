"""``tmpsim report DIR``: write the self-contained HTML report of a run or an experiment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the top-level CLI."""
    app.command(name="report")(report)


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
