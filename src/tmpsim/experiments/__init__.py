"""Experiments: ensembles, sweeps and sensitivity analyses, on a local pool or a Dask cluster."""

from tmpsim.experiments.runner import iter_runs, map_runs

__all__ = ["iter_runs", "map_runs"]
