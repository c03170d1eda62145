"""Optional parts of tmpsim and the extras that install them.

The base install runs a scenario, writes its report and figures, validates it and compares policy
variants. Ensembles and experiments (DuckDB catalogs, SALib designs, Dask clusters), calibration
(Optuna; pyabc for a posterior) and the dashboard (FastAPI) come with pip extras; ``require``
imports such a module or says which extra brings it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRA_OF = {
    "duckdb": "experiments",
    "SALib": "experiments",
    "dask": "experiments",
    "distributed": "experiments",
    "optuna": "calibration",
    "pyabc": "posterior",
    "sklearn": "posterior",
    "fastapi": "web",
    "uvicorn": "web",
}
"""Top-level module -> the extra of pyproject.toml that installs it."""


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message says how to install it."""


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` (dotted), or raise MissingExtra naming ``feature`` and the extra to add."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        if exc.name is None or exc.name.split(".")[0] != top:
            raise
        extra = EXTRA_OF.get(top, "all")
        raise MissingExtra(
            f"{feature} needs {top}, which is not installed: pip install 'tmpsim[{extra}]' "
            f"(in a clone: ./scripts/setup {extra})"
        ) from exc
