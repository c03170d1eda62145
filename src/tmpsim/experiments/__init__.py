"""Experiments: ensembles, sweeps and sensitivity analyses, on a local pool or a Dask cluster.

``map_runs`` fans any picklable function out; ``run_experiment`` runs an experiment file into a
results folder (Parquet dataset + DuckDB catalog); ``summarize`` gives bands and SALib indices.
"""

from tmpsim.experiments.experiment import (
    Counts,
    Report,
    ensemble_spec,
    load_experiment,
    run_experiment,
    status,
)
from tmpsim.experiments.runner import iter_runs, map_runs
from tmpsim.experiments.spec import ExperimentError, ExperimentSpec, load_spec, parse_spec
from tmpsim.experiments.storage import ExperimentDir
from tmpsim.experiments.summarize import Summary, summarize

__all__ = [
    "Counts",
    "ExperimentDir",
    "ExperimentError",
    "ExperimentSpec",
    "Report",
    "Summary",
    "ensemble_spec",
    "iter_runs",
    "load_experiment",
    "load_spec",
    "map_runs",
    "parse_spec",
    "run_experiment",
    "status",
    "summarize",
]
