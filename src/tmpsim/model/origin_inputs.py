"""The sourced yearly series the sending side reads: exchange rates and GDP per capita.

Both live in ``tmpsim/data/origins/`` with their sources (see its MANIFEST.md). A year outside a
series takes the nearest year's value; an unknown currency or country is an error naming the
file and the valid names.
"""

from __future__ import annotations

import csv
import functools
from importlib import resources

import numpy as np

DATA = "data/origins"


@functools.cache
def _table(name: str, key: str, value: str) -> dict[str, dict[int, float]]:
    """``{key: {year: value}}`` from one CSV of the origins data."""
    text = (resources.files("tmpsim") / DATA / name).read_text("utf-8")
    out: dict[str, dict[int, float]] = {}
    for row in csv.DictReader(text.splitlines()):
        out.setdefault(row[key], {})[int(row["year"])] = float(row[value])
    return out


def _lookup(
    name: str, table: dict[str, dict[int, float]], key: str, years: np.ndarray
) -> np.ndarray:
    if key not in table:
        raise KeyError(f"{DATA}/{name}: no series for {key!r}; known: {', '.join(sorted(table))}")
    series = table[key]
    known = np.array(sorted(series))
    clipped = np.clip(np.asarray(years, dtype=np.int64), known[0], known[-1])
    return np.array([series[int(y)] for y in clipped], dtype=np.float64)


def fx_per_usd(currency: str, years: np.ndarray) -> np.ndarray:
    """Units of ``currency`` per US dollar in each of ``years`` (USD is 1)."""
    if currency == "USD":
        return np.ones(np.shape(years))
    name = "exchange_rates.csv"
    return _lookup(name, _table(name, "currency", "per_usd"), currency, years)


def gdp_per_capita_usd(country: str, years: np.ndarray) -> np.ndarray:
    """GDP per capita in current US dollars of ``country`` in each of ``years``."""
    name = "gdp_per_capita.csv"
    return _lookup(name, _table(name, "country", "gdp_per_capita_usd"), country, years)
