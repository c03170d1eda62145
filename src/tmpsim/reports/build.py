"""Write the HTML report of a run folder or an experiment folder (the one entry point)."""

from __future__ import annotations

from pathlib import Path

from tmpsim.reports.context import is_experiment_folder, is_run_folder, load_run
from tmpsim.reports.experiment import experiment_report_html
from tmpsim.reports.html import run_report_html
from tmpsim.results import atomic_write_bytes

REPORT_NAME = "report.html"


def build_report(source: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of a run folder or an experiment folder; return its path."""
    source = Path(source)
    if is_experiment_folder(source):
        text = experiment_report_html(source)
    elif is_run_folder(source):
        text = run_report_html(load_run(source))
    else:
        raise FileNotFoundError(
            f"{source}: neither a run folder (series.parquet) nor an experiment folder "
            "(experiment.json)"
        )
    path = Path(out) if out is not None else source / REPORT_NAME
    atomic_write_bytes(path, text.encode("utf-8"))
    return path
